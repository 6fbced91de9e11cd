//! The `:` command line: one line of text to one command.

use crate::engine::Command;
use crate::model::Split;

use super::keymap::{Verb, line_verb};

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum LineCommand {
    Send(Command),
    Help,
    /// The full-screen event log.
    Events,
    /// Every reason the gate is closed.
    Gate,
    /// Chart the metric with this id; `None`: every metric.
    Chart(Option<String>),
    Quit,
}

/// Parses one command line (without the leading `:`). The error names the
/// problem in words fit for the status line.
pub fn parse_line(line: &str) -> Result<LineCommand, String> {
    let line = line.trim();
    let line = line.strip_prefix(':').unwrap_or(line).trim_start();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    let no_args = |cmd: LineCommand| {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("{word}: takes no arguments (got \"{rest}\")"))
        }
    };
    if word.is_empty() {
        return Err("empty command (try :help)".into());
    }
    // Only words in the key table's `:` list are commands, so the help
    // lists every one.
    let Some(verb) = line_verb(word) else {
        return Err(format!("unknown command \"{word}\" (try :help)"));
    };
    match verb {
        Verb::Set => parse_set(rest).map(|split| {
            LineCommand::Send(Command::SetSplit {
                split,
                reason: None,
                force: false,
            })
        }),
        Verb::Rollback => Ok(LineCommand::Send(Command::Rollback {
            reason: if rest.is_empty() {
                "operator rollback".into()
            } else {
                rest.to_string()
            },
        })),
        Verb::Note => {
            if rest.is_empty() {
                Err("note: needs text, e.g. :note paged the model team".into())
            } else {
                Ok(LineCommand::Send(Command::Note(rest.to_string())))
            }
        }
        Verb::Promote => no_args(LineCommand::Send(Command::Promote)),
        Verb::Decommission => no_args(LineCommand::Send(Command::DecommissionBlue)),
        Verb::Checks => no_args(LineCommand::Send(Command::RunChecks)),
        Verb::Advance => no_args(LineCommand::Send(Command::Advance { force: false })),
        Verb::Back => no_args(LineCommand::Send(Command::StepBack)),
        Verb::Pause => no_args(LineCommand::Send(Command::TogglePause)),
        Verb::Arm => no_args(LineCommand::Send(Command::SetArmed(true))),
        Verb::Disarm => no_args(LineCommand::Send(Command::SetArmed(false))),
        Verb::Help => no_args(LineCommand::Help),
        Verb::Events => no_args(LineCommand::Events),
        Verb::Gate => no_args(LineCommand::Gate),
        Verb::Chart => match rest.split_whitespace().collect::<Vec<_>>()[..] {
            [] => Ok(LineCommand::Chart(None)),
            [id] => Ok(LineCommand::Chart(Some(id.to_string()))),
            _ => Err(format!("chart: one metric id (got \"{rest}\")")),
        },
        Verb::Quit => no_args(LineCommand::Quit),
    }
}

fn parse_set(arg: &str) -> Result<Split, String> {
    if arg.is_empty() {
        return Err("set: needs a percentage, e.g. :set 30".into());
    }
    let digits = arg.strip_suffix('%').unwrap_or(arg).trim();
    let n: u32 = digits
        .parse()
        .map_err(|_| format!("set: \"{arg}\" is not a whole percentage 0-100"))?;
    u8::try_from(n)
        .ok()
        .and_then(Split::new)
        .ok_or_else(|| format!("set: {n}% is over 100"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(line: &str) -> Command {
        match parse_line(line) {
            Ok(LineCommand::Send(c)) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn set_parses_a_percentage() {
        assert_eq!(
            send("set 30"),
            Command::SetSplit {
                split: Split::new(30).unwrap(),
                reason: None,
                force: false,
            }
        );
        assert_eq!(
            send("  :set 0%  "),
            Command::SetSplit {
                split: Split::ZERO,
                reason: None,
                force: false,
            }
        );
        assert_eq!(
            send("set 100"),
            Command::SetSplit {
                split: Split::FULL,
                reason: None,
                force: false,
            }
        );
    }

    #[test]
    fn set_out_of_range_or_garbage_is_an_error() {
        let e = parse_line("set 130").unwrap_err();
        assert!(e.contains("130") && e.contains("over 100"), "{e}");
        assert!(parse_line("set -1").unwrap_err().contains("not a whole"));
        assert!(parse_line("set abc").unwrap_err().contains("abc"));
        assert!(
            parse_line("set")
                .unwrap_err()
                .contains("needs a percentage")
        );
        assert!(parse_line("set 99999999999").is_err());
    }

    #[test]
    fn rollback_and_note_keep_their_words() {
        assert_eq!(
            send("rollback green is slow on long prompts"),
            Command::Rollback {
                reason: "green is slow on long prompts".into()
            }
        );
        assert_eq!(
            send("rollback"),
            Command::Rollback {
                reason: "operator rollback".into()
            }
        );
        assert_eq!(
            send("note paged  the team"),
            Command::Note("paged  the team".into())
        );
        assert!(parse_line("note").unwrap_err().contains("needs text"));
    }

    #[test]
    fn simple_words() {
        assert_eq!(send("promote"), Command::Promote);
        assert_eq!(send("pause"), Command::TogglePause);
        assert_eq!(send("arm"), Command::SetArmed(true));
        assert_eq!(send("disarm"), Command::SetArmed(false));
        assert_eq!(parse_line("help"), Ok(LineCommand::Help));
        assert_eq!(parse_line("q"), Ok(LineCommand::Quit));
        assert_eq!(parse_line("events"), Ok(LineCommand::Events));
        assert!(
            parse_line("promote now")
                .unwrap_err()
                .contains("no arguments")
        );
        assert!(
            parse_line("frobnicate")
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(parse_line("   ").unwrap_err().contains("empty"));
    }

    /// Whether the parser takes `word` as a command (its arguments may
    /// still be wrong).
    fn accepted(word: &str) -> bool {
        match parse_line(word) {
            Ok(_) => true,
            Err(e) => !e.starts_with("unknown command") && !e.starts_with("empty command"),
        }
    }

    /// Every word the parser accepts is in the key table (so the help,
    /// generated from it, lists it), and every word there is accepted:
    /// tried over every one- and two-letter word, the words the help
    /// shows, and every word the parser has ever known.
    #[test]
    fn every_word_the_parser_accepts_is_in_the_key_table() {
        use super::super::keymap::LINE_WORDS;
        let letters: Vec<char> = ('a'..='z').chain(['?', '!', '%']).collect();
        let mut words: Vec<String> = letters.iter().map(|c| c.to_string()).collect();
        for a in &letters {
            for b in &letters {
                words.push(format!("{a}{b}"));
            }
        }
        for l in LINE_WORDS {
            words.extend(
                l.usage
                    .split(|c: char| c == '|' || c.is_whitespace())
                    .map(String::from),
            );
        }
        let known = [
            "set",
            "rollback",
            "rb",
            "note",
            "promote",
            "decommission",
            "smoke",
            "checks",
            "advance",
            "next",
            "back",
            "pause",
            "resume",
            "arm",
            "disarm",
            "help",
            "h",
            "?",
            "events",
            "log",
            "gate",
            "q",
            "quit",
            "stop",
            "abort",
            "undo",
            "exit",
            "status",
        ];
        words.extend(known.iter().map(|w| w.to_string()));
        for w in words.iter().filter(|w| !w.is_empty()) {
            let in_table = line_verb(w).is_some();
            assert_eq!(accepted(w), in_table, ":{w}: accepted vs in the table");
        }
        // Every verb has a word, so no command is reachable only by code.
        for verb in [
            Verb::Set,
            Verb::Rollback,
            Verb::Promote,
            Verb::Advance,
            Verb::Back,
            Verb::Pause,
            Verb::Decommission,
            Verb::Arm,
            Verb::Disarm,
            Verb::Note,
            Verb::Checks,
            Verb::Events,
            Verb::Gate,
            Verb::Chart,
            Verb::Help,
            Verb::Quit,
        ] {
            let shown = LINE_WORDS.iter().any(|l| {
                l.words
                    .iter()
                    .any(|(w, v)| *v == verb && l.usage.contains(w))
            });
            assert!(shown, "{verb:?} has no word the help shows");
        }
    }
}
