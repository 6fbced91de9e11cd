//! The words of the journal's `action` and `origin` fields, as enums that
//! write exactly the words every earlier version wrote. A word this
//! version does not know (a journal from an older or newer cockpit) is
//! kept as `Other`, never an error: `status` and `report` read journals of
//! any version.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::action::Action;
use super::command::Origin;
use super::journal::ReadingRecord;

/// Declares a journal vocabulary: the enum, its words both ways, and serde
/// and `Display` through the words, so the word of each variant is written
/// once.
macro_rules! journal_words {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $var:ident => $word:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A word this version does not write, kept as read.
            Other(String),
        }

        impl $name {
            /// The word in the journal.
            pub fn word(&self) -> &str {
                match self {
                    $( $name::$var => $word, )*
                    $name::Other(w) => w,
                }
            }

            /// The variant for a word of any version.
            pub fn from_word(word: &str) -> $name {
                match word {
                    $( $word => $name::$var, )*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl Word for $name {
            fn is_empty_word(&self) -> bool {
                self.word().is_empty()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.word())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.word())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Words;
                impl Visitor<'_> for Words {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    // Borrowed or not, a known word costs no allocation.
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_word(v))
                    }
                }
                d.deserialize_str(Words)
            }
        }
    };
}

journal_words! {
    /// What a record did (`action`): the traffic changes and every
    /// control, check, alert and breach word.
    RecordAction, "a journal action word" {
        Advance => "advance",
        StepBack => "step back",
        Set => "set",
        Rollback => "rollback",
        Promote => "promote",
        /// The bake passed (`promoted` records).
        Promoted => "promoted",
        /// The cockpit started (`start` records).
        Start => "start",
        Note => "note",
        Arm => "arm",
        Disarm => "disarm",
        Pause => "pause",
        Resume => "resume",
        /// The cockpit lost its terminal.
        TerminalLost => "terminal lost",
        /// The journal's last change had no outcome; the split was read back.
        Reconcile => "reconcile",
        /// A smoke check finished (`check` records).
        Smoke => "smoke",
        /// A command gate finished (`check` records).
        Command => "command",
        AlertSent => "alert sent",
        AlertFailed => "alert failed",
        /// A reading went into breach (`breach` records).
        Breach => "breach",
        /// A reading came out of breach (`breach` records).
        Cleared => "cleared",
        ScaleDownGreen => "scale_down_green",
        DecommissionBlue => "decommission_blue",
        /// After a rollback's outcome: when the traffic showed green at zero.
        RollbackTrafficZero => "rollback_traffic_zero",
        /// A rollback's `ok` was disproved by the data plane; it is retried.
        RollbackRetrying => "rollback_retrying",
        /// A one-shot gave up on a rollback that has not landed.
        RollbackNotLanded => "rollback_not_landed",
    }
}

journal_words! {
    /// Who or what made a record (`origin`).
    RecordOrigin, "a journal origin word" {
        Tui => "tui",
        Cli => "cli",
        Autopilot => "autopilot",
        AutoRollback => "auto-rollback",
        /// The alert task reporting how a webhook call went.
        Alerts => "alerts",
        /// A rehearsal by `cutover drill`: never remembered as a rollback of
        /// green.
        Drill => "drill",
        /// A guardrail's verdict changed (`breach` records): nobody asked.
        Guardrail => "guardrail",
    }
}

impl From<Action> for RecordAction {
    fn from(a: Action) -> RecordAction {
        match a {
            Action::Advance => RecordAction::Advance,
            Action::StepBack => RecordAction::StepBack,
            Action::Set => RecordAction::Set,
            Action::Rollback => RecordAction::Rollback,
            Action::Promote => RecordAction::Promote,
        }
    }
}

impl From<Origin> for RecordOrigin {
    fn from(o: Origin) -> RecordOrigin {
        match o {
            Origin::Tui => RecordOrigin::Tui,
            Origin::Cli => RecordOrigin::Cli,
            Origin::Autopilot => RecordOrigin::Autopilot,
            Origin::AutoRollback => RecordOrigin::AutoRollback,
            Origin::Alerts => RecordOrigin::Alerts,
            Origin::Drill => RecordOrigin::Drill,
        }
    }
}

/// For `action` and `origin`: absent and empty are the same (samples
/// leave both out; an empty word names nobody and nothing).
pub(super) fn non_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Word,
{
    let v = Option::<T>::deserialize(d)?;
    Ok(v.filter(|w| !w.is_empty_word()))
}

/// A journal word, for [`non_empty`].
pub(super) trait Word {
    fn is_empty_word(&self) -> bool;
}

/// A reading's verdict as the journal words it: `OK`, `WARN`, `BREACH`,
/// `NO DATA` (the screen's words, not the config's).
pub(super) mod verdict_word {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Verdict;

    const ALL: [Verdict; 4] = [Verdict::Ok, Verdict::Warn, Verdict::Breach, Verdict::NoData];

    pub fn serialize<S: Serializer>(v: &Verdict, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.word())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
        let word = std::borrow::Cow::<str>::deserialize(d)?;
        ALL.into_iter()
            .find(|v| v.word() == word)
            .ok_or_else(|| serde::de::Error::custom(format!("`{word}` is not a verdict word")))
    }
}

/// A record's readings, leaving out any this version cannot read (a
/// metric or colour of another version), so the record itself still loads.
pub(super) fn known_readings<'de, D>(d: D) -> Result<Vec<ReadingRecord>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Vec::<serde_json::Value>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself_and_unknown_words_are_kept() {
        for a in [
            Action::Advance,
            Action::StepBack,
            Action::Set,
            Action::Rollback,
            Action::Promote,
        ] {
            let r = RecordAction::from(a);
            assert_eq!(r.word(), a.name());
            assert_eq!(RecordAction::from_word(a.name()), r);
        }
        let json = serde_json::to_string(&RecordAction::StepBack).unwrap();
        assert_eq!(json, "\"step back\"");
        let old: RecordAction = serde_json::from_str("\"drill_raise\"").unwrap();
        assert_eq!(old, RecordAction::Other("drill_raise".into()));
        assert_eq!(serde_json::to_string(&old).unwrap(), "\"drill_raise\"");
        let o: RecordOrigin = serde_json::from_str("\"auto-rollback\"").unwrap();
        assert_eq!(o, RecordOrigin::AutoRollback);
        assert_eq!(
            RecordOrigin::from(Origin::AutoRollback).word(),
            Origin::AutoRollback.name()
        );
    }

    #[test]
    fn an_empty_word_is_no_word() {
        let line = r#"{"time":"2026-01-01T00:00:00.000Z","kind":"intent","origin":"","action":""}"#;
        let rec: super::super::journal::Record = serde_json::from_str(line).unwrap();
        assert_eq!((rec.origin, rec.action), (None, None));
    }

    #[test]
    fn readings_write_todays_words_and_unreadable_ones_are_left_out() {
        use crate::model::{Color, Verdict};
        let line = r#"{"time":"2026-01-01T00:00:00.000Z","kind":"intent","origin":"tui","action":"rollback","readings":[
            {"color":"green","metric":"error_rate","value":7.2,"verdict":"BREACH","bounds":["≤ 5.00 %"]},
            {"color":"blue","metric":"p99_ms","value":null,"verdict":"NO DATA","bounds":[],"no_data":"stale"},
            {"color":"green","metric":"ttft_ms","value":1.0,"verdict":"OK","bounds":[]},
            {"color":"purple","metric":"p99_ms","value":1.0,"verdict":"OK","bounds":[]}]}"#;
        let rec: super::super::journal::Record = serde_json::from_str(line).unwrap();
        assert_eq!(
            rec.readings.len(),
            3,
            "any metric id reads; the unknown colour is left out"
        );
        let r = &rec.readings[0];
        assert_eq!(
            (r.color, r.metric.as_str(), r.verdict),
            (Color::Green, "error_rate", Verdict::Breach)
        );
        assert_eq!(rec.readings[2].metric, "ttft_ms");
        assert_eq!(rec.readings[1].verdict, Verdict::NoData);
        let back = serde_json::to_value(&rec.readings).unwrap();
        assert_eq!(back[0]["color"], "green");
        assert_eq!(back[0]["metric"], "error_rate");
        assert_eq!(back[0]["verdict"], "BREACH");
        assert_eq!(back[1]["verdict"], "NO DATA");
    }
}
