//! The `:` command line: one line of text to one command.

use crate::engine::Command;
use crate::model::Split;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum LineCommand {
    Send(Command),
    Help,
    /// The full-screen event log.
    Events,
    /// Every reason the gate is closed.
    Gate,
    Quit,
}

/// The commands the line understands, for the help overlay.
pub const LINE_HELP: &[(&str, &str)] = &[
    ("set <pct>", "set green's share to pct (0-100)"),
    ("rollback [reason...]", "0% on green now"),
    ("promote", "flip 100% to green now"),
    ("advance | back", "next / previous plan step"),
    ("pause", "hold or resume the plan"),
    ("decommission", "scale blue to 0 after standby (asks)"),
    ("arm | disarm", "auto-rollback on / off"),
    ("note <text...>", "write a note to the journal"),
    ("smoke | checks", "run the smoke checks and eval gates now"),
    ("events | gate", "the event log / the gate's reasons (Esc)"),
    ("help | q", "this help / quit"),
];

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
    match word {
        "" => Err("empty command (try :help)".into()),
        "set" => parse_set(rest).map(|split| {
            LineCommand::Send(Command::SetSplit {
                split,
                reason: None,
                force: false,
            })
        }),
        "rollback" | "rb" => Ok(LineCommand::Send(Command::Rollback {
            reason: if rest.is_empty() {
                "operator rollback".into()
            } else {
                rest.to_string()
            },
        })),
        "note" => {
            if rest.is_empty() {
                Err("note: needs text, e.g. :note paged the model team".into())
            } else {
                Ok(LineCommand::Send(Command::Note(rest.to_string())))
            }
        }
        "promote" => no_args(LineCommand::Send(Command::Promote)),
        "decommission" => no_args(LineCommand::Send(Command::DecommissionBlue)),
        "smoke" | "checks" => no_args(LineCommand::Send(Command::RunChecks)),
        "advance" | "next" => no_args(LineCommand::Send(Command::Advance { force: false })),
        "back" => no_args(LineCommand::Send(Command::StepBack)),
        "pause" | "resume" => no_args(LineCommand::Send(Command::TogglePause)),
        "arm" => no_args(LineCommand::Send(Command::SetArmed(true))),
        "disarm" => no_args(LineCommand::Send(Command::SetArmed(false))),
        "help" | "h" | "?" => no_args(LineCommand::Help),
        "events" | "log" => no_args(LineCommand::Events),
        "gate" => no_args(LineCommand::Gate),
        "q" | "quit" => no_args(LineCommand::Quit),
        other => Err(format!("unknown command \"{other}\" (try :help)")),
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
}
