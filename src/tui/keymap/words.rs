//! The `:` words: the parser accepts only these, and the help lists them.

/// What a `:` word asks for; `command_line` turns it into a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Set,
    Rollback,
    Promote,
    Advance,
    Back,
    Pause,
    Decommission,
    Arm,
    Disarm,
    Note,
    Checks,
    Events,
    Gate,
    Chart,
    Help,
    Quit,
}

/// One line of the help's `:` section and the words it covers (aliases
/// such as `rb` are accepted but not shown).
#[derive(Debug, Clone, Copy)]
pub struct LineWords {
    pub usage: &'static str,
    pub help: &'static str,
    pub words: &'static [(&'static str, Verb)],
}

pub const LINE_WORDS: &[LineWords] = &[
    LineWords {
        usage: "set <pct>",
        help: "set green's share to pct (0-100)",
        words: &[("set", Verb::Set)],
    },
    LineWords {
        usage: "rollback [reason...]",
        help: "0% on green now",
        words: &[("rollback", Verb::Rollback), ("rb", Verb::Rollback)],
    },
    LineWords {
        usage: "promote",
        help: "flip 100% to green now",
        words: &[("promote", Verb::Promote)],
    },
    LineWords {
        usage: "advance | back",
        help: "next / previous plan step",
        words: &[
            ("advance", Verb::Advance),
            ("next", Verb::Advance),
            ("back", Verb::Back),
        ],
    },
    LineWords {
        usage: "pause",
        help: "hold or resume the plan",
        words: &[("pause", Verb::Pause), ("resume", Verb::Pause)],
    },
    LineWords {
        usage: "decommission",
        help: "scale blue to 0 after standby (asks)",
        words: &[("decommission", Verb::Decommission)],
    },
    LineWords {
        usage: "arm | disarm",
        help: "auto-rollback on / off",
        words: &[("arm", Verb::Arm), ("disarm", Verb::Disarm)],
    },
    LineWords {
        usage: "note <text...>",
        help: "write a note to the journal",
        words: &[("note", Verb::Note)],
    },
    LineWords {
        usage: "smoke | checks",
        help: "run the smoke checks and eval gates now",
        words: &[("smoke", Verb::Checks), ("checks", Verb::Checks)],
    },
    LineWords {
        usage: "events | gate",
        help: "the event log / the gate's reasons (Esc)",
        words: &[
            ("events", Verb::Events),
            ("log", Verb::Events),
            ("gate", Verb::Gate),
        ],
    },
    LineWords {
        usage: "chart [id]",
        help: "chart one metric by id; alone, all",
        words: &[("chart", Verb::Chart)],
    },
    LineWords {
        usage: "help | q",
        help: "this help / quit",
        words: &[
            ("help", Verb::Help),
            ("h", Verb::Help),
            ("?", Verb::Help),
            ("q", Verb::Quit),
            ("quit", Verb::Quit),
        ],
    },
];

/// The verb a `:` word names, if the table has it.
pub fn line_verb(word: &str) -> Option<Verb> {
    LINE_WORDS
        .iter()
        .flat_map(|l| l.words)
        .find(|(w, _)| *w == word)
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_word_is_listed_once() {
        let mut seen = Vec::new();
        for (w, v) in LINE_WORDS.iter().flat_map(|l| l.words) {
            assert!(!seen.contains(w), "{w} listed twice");
            seen.push(*w);
            assert_eq!(line_verb(w), Some(*v));
        }
    }
}
