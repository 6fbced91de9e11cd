//! The results of smoke checks and command gates as the engine publishes
//! them, and what they mean for a move of green's traffic. Pure: the time
//! is always passed in.

use std::time::{Duration, Instant};

use super::reason::CheckReason;
use crate::format::countdown;

/// One smoke check's latest result.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeResult {
    pub passed: bool,
    /// `status 200`, or why it failed (`status 503, want 2xx`, `timed out
    /// after 5s`, ...).
    pub reason: String,
    /// From sending the request to the end of the body (or the failure).
    pub latency: Duration,
    /// When it finished.
    pub at: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmokeStatus {
    pub name: String,
    /// Set while a run is in flight.
    pub running_since: Option<Instant>,
    pub last: Option<SmokeResult>,
}

/// How one run of a command gate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRun {
    pub passed: bool,
    /// `exit 0`, `exit 3`, `timed out after 10m`, `killed by rollback`,
    /// `cannot start: ...`.
    pub reason: String,
    /// Green's share when it started: a pass counts for moves from there.
    pub split: u8,
    pub started: Instant,
    pub elapsed: Duration,
    /// Its last lines of output (stdout and stderr, bounded).
    pub output: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandStatus {
    pub name: String,
    /// The plan percentages it must pass before.
    pub before: Vec<u8>,
    /// When the run in flight started, and at which split.
    pub running: Option<(Instant, u8)>,
    pub last: Option<CommandRun>,
}

/// Every configured check, in config order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checks {
    pub smoke: Vec<SmokeStatus>,
    pub commands: Vec<CommandStatus>,
}

impl Checks {
    pub fn is_empty(&self) -> bool {
        self.smoke.is_empty() && self.commands.is_empty()
    }

    /// True when a move from `from` to `to` must first pass the command's
    /// gate: it names a percentage above `from` and at most `to`.
    pub fn command_due(c: &CommandStatus, from: u8, to: u8) -> bool {
        c.before.iter().any(|p| *p > from && *p <= to)
    }

    /// Indexes of the commands a move from `from` to `to` needs.
    pub fn due(&self, from: u8, to: u8) -> Vec<usize> {
        (0..self.commands.len())
            .filter(|i| Self::command_due(&self.commands[*i], from, to))
            .collect()
    }

    /// Whether command `i` has a run that counts at this split: one that
    /// started at `from` after the split last changed (`since`).
    pub fn has_current_run(&self, i: usize, from: u8, since: Instant) -> bool {
        self.commands[i]
            .last
            .as_ref()
            .is_some_and(|r| r.split == from && r.started >= since)
    }

    /// Why a move of green from `from` to `to` (a raise) may not go ahead
    /// yet: smoke checks before the first step, command gates before the
    /// percentages they name. Force passes these (journaled as forced).
    pub fn reasons(&self, from: u8, to: u8, since: Instant, now: Instant) -> Vec<CheckReason> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        if from == 0 {
            for s in &self.smoke {
                let name = s.name.clone();
                match (&s.running_since, &s.last) {
                    (Some(t), _) => out.push(CheckReason::SmokeRunning {
                        name,
                        running: now.saturating_duration_since(*t),
                    }),
                    (None, None) => out.push(CheckReason::SmokeNotRun { name }),
                    (None, Some(r)) if !r.passed => out.push(CheckReason::SmokeFailed {
                        name,
                        reason: r.reason.clone(),
                    }),
                    (None, Some(_)) => {}
                }
            }
        }
        for i in self.due(from, to) {
            let c = &self.commands[i];
            let name = c.name.clone();
            if let Some((t, _)) = c.running {
                out.push(CheckReason::CommandRunning {
                    name,
                    running: now.saturating_duration_since(t),
                });
                continue;
            }
            match c
                .last
                .as_ref()
                .filter(|_| self.has_current_run(i, from, since))
            {
                Some(r) if r.passed => {}
                Some(r) => out.push(CheckReason::CommandFailed {
                    name,
                    reason: r.reason.clone(),
                }),
                None => out.push(CheckReason::CommandNotRun { name, at: from }),
            }
        }
        out
    }
}

/// `12s`, or `03:05` from a minute on.
pub fn secs(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{}s", d.as_secs())
    } else {
        countdown(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoke(name: &str, last: Option<bool>, at: Instant) -> SmokeStatus {
        SmokeStatus {
            name: name.into(),
            running_since: None,
            last: last.map(|passed| SmokeResult {
                passed,
                reason: if passed {
                    "status 200".into()
                } else {
                    "status 503, want 2xx".into()
                },
                latency: Duration::from_millis(12),
                at,
            }),
        }
    }

    fn command(before: Vec<u8>) -> CommandStatus {
        CommandStatus {
            name: "eval suite".into(),
            before,
            running: None,
            last: None,
        }
    }

    fn run(passed: bool, split: u8, started: Instant) -> CommandRun {
        CommandRun {
            passed,
            reason: if passed { "exit 0" } else { "exit 1" }.into(),
            split,
            started,
            elapsed: Duration::from_secs(3),
            output: vec![],
        }
    }

    #[test]
    fn smoke_checks_hold_only_the_first_step_until_all_pass() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(5);
        let mut c = Checks {
            smoke: vec![smoke("a", Some(true), t0), smoke("b", None, t0)],
            commands: vec![],
        };
        assert_eq!(
            c.reasons(0, 1, t0, now),
            vec![CheckReason::SmokeNotRun { name: "b".into() }]
        );
        c.smoke[1].running_since = Some(t0 + Duration::from_secs(2));
        assert_eq!(
            c.reasons(0, 1, t0, now),
            vec![CheckReason::SmokeRunning {
                name: "b".into(),
                running: Duration::from_secs(3)
            }]
        );
        c.smoke[1] = smoke("b", Some(false), t0);
        assert_eq!(
            c.reasons(0, 30, t0, now),
            vec![CheckReason::SmokeFailed {
                name: "b".into(),
                reason: "status 503, want 2xx".into()
            }]
        );
        // Above 0 % smoke checks no longer gate; lowering is never gated.
        assert!(c.reasons(1, 5, t0, now).is_empty());
        assert!(c.reasons(0, 0, t0, now).is_empty());
        c.smoke[1] = smoke("b", Some(true), t0);
        assert!(c.reasons(0, 1, t0, now).is_empty());
    }

    #[test]
    fn a_command_gates_the_moves_that_reach_its_percentages() {
        let c = Checks {
            smoke: vec![],
            commands: vec![command(vec![1, 100])],
        };
        assert_eq!(c.due(0, 1), vec![0]);
        assert!(c.due(1, 5).is_empty());
        assert!(c.due(25, 50).is_empty());
        assert_eq!(c.due(50, 100), vec![0]);
        // A jump past a named step needs it too.
        assert_eq!(c.due(5, 100), vec![0]);
    }

    #[test]
    fn a_command_must_pass_at_this_split_since_it_last_changed() {
        let t0 = Instant::now();
        let since = t0 + Duration::from_secs(10);
        let now = t0 + Duration::from_secs(20);
        let mut c = Checks {
            smoke: vec![],
            commands: vec![command(vec![100])],
        };
        assert_eq!(
            c.reasons(50, 100, since, now),
            vec![CheckReason::CommandNotRun {
                name: "eval suite".into(),
                at: 50
            }]
        );
        c.commands[0].running = Some((since, 50));
        assert_eq!(
            c.reasons(50, 100, since, now),
            vec![CheckReason::CommandRunning {
                name: "eval suite".into(),
                running: Duration::from_secs(10)
            }]
        );
        c.commands[0].running = None;
        c.commands[0].last = Some(run(false, 50, since));
        assert_eq!(
            c.reasons(50, 100, since, now),
            vec![CheckReason::CommandFailed {
                name: "eval suite".into(),
                reason: "exit 1".into()
            }]
        );
        c.commands[0].last = Some(run(true, 50, since));
        assert!(c.reasons(50, 100, since, now).is_empty());
        // A pass from another split, or from before the split changed, is old.
        c.commands[0].last = Some(run(true, 25, since));
        assert_eq!(c.reasons(50, 100, since, now).len(), 1);
        c.commands[0].last = Some(run(true, 50, t0));
        assert_eq!(c.reasons(50, 100, since, now).len(), 1);
        // Not due below its percentage.
        assert!(c.reasons(25, 50, since, now).is_empty());
    }

    /// The words are the point here: the cockpit and `status` show them.
    #[test]
    fn reasons_read_as_before() {
        let name = || "eval suite".to_string();
        let cases = [
            (
                CheckReason::SmokeRunning {
                    name: "b".into(),
                    running: Duration::from_secs(3),
                },
                "smoke b: running 3s",
            ),
            (
                CheckReason::SmokeNotRun { name: "b".into() },
                "smoke b: not run yet (s runs it)",
            ),
            (
                CheckReason::SmokeFailed {
                    name: "b".into(),
                    reason: "status 503, want 2xx".into(),
                },
                "smoke b failed: status 503, want 2xx",
            ),
            (
                CheckReason::CommandNotRun {
                    name: name(),
                    at: 50,
                },
                "eval suite: not run yet at 50 % (s runs it)",
            ),
            (
                CheckReason::CommandRunning {
                    name: name(),
                    running: Duration::from_secs(10),
                },
                "running eval suite 10s",
            ),
            (
                CheckReason::CommandFailed {
                    name: name(),
                    reason: "exit 1".into(),
                },
                "eval suite failed: exit 1 (o shows its output)",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn long_runs_read_as_minutes() {
        assert_eq!(secs(Duration::from_secs(12)), "12s");
        assert_eq!(
            secs(Duration::from_secs(185)),
            countdown(Duration::from_secs(185))
        );
    }
}
