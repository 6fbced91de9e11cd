//! The `:` line parser over every word of the key table and any text:
//! it never panics, every listed word parses to its verb however it is
//! spaced, a percentage parses exactly when it is a whole number 0-100,
//! and everything else is an error that names what was wrong.

use proptest::prelude::*;

use super::command_line::{LineCommand, parse_line};
use super::keymap::{LINE_WORDS, Verb};
use crate::engine::Command;
use crate::model::Split;

/// Every `(word, verb)` the table lists.
fn words() -> Vec<(&'static str, Verb)> {
    LINE_WORDS
        .iter()
        .flat_map(|l| l.words.iter().copied())
        .collect()
}

/// Blanks as a person types them around words.
fn blank() -> impl Strategy<Value = String> {
    "[ \t]{0,3}"
}

/// Whether `verb` came back from the parser as `got`.
fn is_verb(verb: Verb, got: &LineCommand) -> bool {
    use LineCommand as L;
    matches!(
        (verb, got),
        (Verb::Set, L::Send(Command::SetSplit { force: false, .. }))
            | (Verb::Rollback, L::Send(Command::Rollback { .. }))
            | (Verb::Promote, L::Send(Command::Promote))
            | (Verb::Decommission, L::Send(Command::DecommissionBlue))
            | (Verb::Checks, L::Send(Command::RunChecks))
            | (Verb::Advance, L::Send(Command::Advance { force: false }))
            | (Verb::Back, L::Send(Command::StepBack))
            | (Verb::Pause, L::Send(Command::TogglePause))
            | (Verb::Arm, L::Send(Command::SetArmed(true)))
            | (Verb::Disarm, L::Send(Command::SetArmed(false)))
            | (Verb::Note, L::Send(Command::Note(_)))
            | (Verb::Help, L::Help)
            | (Verb::Events, L::Events)
            | (Verb::Gate, L::Gate)
            | (Verb::Chart, L::Chart(_))
            | (Verb::Quit, L::Quit)
    )
}

proptest! {
    #[test]
    fn any_line_parses_or_is_refused_in_words(line in any::<String>()) {
        if let Err(e) = parse_line(&line) {
            prop_assert!(!e.is_empty());
        }
    }

    /// A listed word with an argument where it takes one (a percentage,
    /// a reason, a note), alone where it takes none, with a `:` or not and
    /// blanks around: the word's verb.
    #[test]
    fn every_listed_word_parses_to_its_verb(
        i in 0..words().len(),
        colon in any::<bool>(),
        (before, between, after) in (blank(), "[ \t]{1,3}", blank()),
        pct in 0u8..=100,
        text in "[a-z][a-z0-9 .,'-]{0,30}",
    ) {
        let (word, verb) = words()[i];
        let arg = match verb {
            Verb::Set => format!("{between}{pct}"),
            Verb::Note => format!("{between}{text}"),
            Verb::Rollback if !text.is_empty() => format!("{between}{text}"),
            _ => String::new(),
        };
        let colon = if colon { ":" } else { "" };
        let line = format!("{before}{colon}{word}{arg}{after}");
        let got = parse_line(&line);
        prop_assert!(
            got.as_ref().is_ok_and(|c| is_verb(verb, c)),
            "{line:?} ({verb:?}): {got:?}"
        );
        if verb == Verb::Set {
            let want = Command::SetSplit { split: Split::new(pct).unwrap(), reason: None, force: false };
            prop_assert_eq!(got.unwrap(), LineCommand::Send(want));
        }
    }

    /// `set` takes a whole percentage 0-100 (a `%` may follow) and nothing
    /// else; a refusal quotes the number or the text it could not take.
    #[test]
    fn set_takes_exactly_a_whole_percentage(arg in prop_oneof![
        (0u64..=300).prop_map(|n| n.to_string()),
        (0u64..=300).prop_map(|n| format!("{n}%")),
        "[-+]?[0-9]{1,12}(\\.[0-9]{1,2})?%?",
        "[a-z%.,-]{1,8}",
    ]) {
        let got = parse_line(&format!("set {arg}"));
        let digits = arg.strip_suffix('%').unwrap_or(&arg);
        match digits.parse::<u64>() {
            Ok(n) if n <= 100 => {
                let want = Command::SetSplit {
                    split: Split::new(n as u8).unwrap(),
                    reason: None,
                    force: false,
                };
                prop_assert_eq!(got, Ok(LineCommand::Send(want)));
            }
            Ok(n) => {
                let e = got.unwrap_err();
                prop_assert!(e.contains(&n.to_string()) || e.contains(&arg), "{arg}: {e}");
            }
            Err(_) => {
                let e = got.unwrap_err();
                prop_assert!(e.contains(&arg), "{arg}: {e}");
            }
        }
    }

    /// A word the table does not list is refused, naming the word.
    #[test]
    fn an_unlisted_word_is_refused_naming_it(word in "[a-z?]{1,12}") {
        prop_assume!(!words().iter().any(|(w, _)| *w == word));
        let e = parse_line(&word).unwrap_err();
        prop_assert!(e.contains(&format!("\"{word}\"")), "{word}: {e}");
    }
}
