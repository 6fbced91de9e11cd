//! The traffic changes the engine makes and how each can end, as enums:
//! the journal and the messages take their words from here, and nothing
//! compares strings to find out what a change was.

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

/// A traffic change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, Display)]
#[strum(serialize_all = "lowercase")]
pub enum Action {
    Advance,
    #[strum(serialize = "step back")]
    StepBack,
    Set,
    Rollback,
    Promote,
}

impl Action {
    /// The word in the journal's `action` field and in messages.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How a traffic change ended (the journal's `outcome` field).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WriteOutcome {
    /// The router confirmed the new split.
    Ok,
    /// Refused; the previous split is still in force.
    Failed,
    /// The router took the write but did not confirm it: traffic may have
    /// moved.
    Unverified,
    /// The router's state changed since it was read; nothing was written.
    Conflict,
    /// A rollback cancelled it; the journal's detail says where it stopped.
    Preempted,
    /// The engine stopped, or gave up waiting for a safe point, while the
    /// write was in flight.
    Abandoned,
}

impl WriteOutcome {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words the journal and the messages have always used.
    #[test]
    fn the_words_are_the_journals() {
        let actions = [
            (Action::Advance, "advance"),
            (Action::StepBack, "step back"),
            (Action::Set, "set"),
            (Action::Rollback, "rollback"),
            (Action::Promote, "promote"),
        ];
        for (a, word) in actions {
            assert_eq!((a.name(), a.to_string()), (word, word.to_string()));
        }
        for o in [
            WriteOutcome::Ok,
            WriteOutcome::Failed,
            WriteOutcome::Unverified,
            WriteOutcome::Conflict,
            WriteOutcome::Preempted,
            WriteOutcome::Abandoned,
        ] {
            let serde = serde_json::to_value(o).unwrap();
            assert_eq!(serde.as_str(), Some(o.name()));
            assert_eq!(o.to_string(), o.name());
        }
    }
}
