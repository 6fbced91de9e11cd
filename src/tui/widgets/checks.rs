//! The checks under the gate line: each eval gate running (with its
//! elapsed time) or its last result, first because it changes; then each
//! smoke check with pass or fail, its reason, latency and age. And the `o` popup with the eval gates' last output.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::engine::State;
use crate::gates::status::{CommandStatus, SmokeStatus, secs};
use crate::tui::theme::Theme;

use super::super::app::App;
use super::popup;

/// The checks line, or `None` when no checks are configured.
pub fn line(state: &State, t: &Theme, now: Instant) -> Option<Line<'static>> {
    let c = &state.checks;
    if c.is_empty() {
        return None;
    }
    let items = c.commands.iter().map(|cmd| command_item(cmd, t, now));
    let items = items.chain(c.smoke.iter().map(|s| smoke_item(s, t, now)));
    let mut spans = vec![Span::styled(" checks", t.label)];
    for (i, (mark, text, tail)) in items.enumerate() {
        if i > 0 {
            spans.push(Span::styled(" ·", t.dim));
        }
        spans.push(Span::raw(" "));
        spans.push(Span::styled(mark.0, mark.1));
        spans.push(Span::raw(text));
        if let Some(tail) = tail {
            spans.push(Span::styled(tail, t.dim));
        }
    }
    Some(Line::from(spans))
}

/// One check on the line: its mark, what it says, and a dim tail (time).
type Item = ((&'static str, Style), String, Option<String>);

/// Pass or fail, as marked on the line.
fn verdict_mark(t: &Theme, passed: bool) -> (&'static str, Style) {
    if passed {
        ("✓ PASS ", t.ok)
    } else {
        ("✗ FAIL ", t.breach)
    }
}

/// An eval gate: running, not run yet (and at which splits it runs), or
/// its last result.
fn command_item(cmd: &CommandStatus, t: &Theme, now: Instant) -> Item {
    let before: Vec<String> = cmd.before.iter().map(|p| format!("{p}%")).collect();
    item(
        t,
        now,
        cmd.running
            .as_ref()
            .map(|(since, _)| (*since, format!("running {}", cmd.name))),
        format!("{} before {}", cmd.name, before.join(", ")),
        cmd.last.as_ref().map(|r| {
            (
                r.passed,
                format!("{}: {} at {}% ", cmd.name, r.reason, r.split),
                format!(
                    "{}, {} ago",
                    secs(r.elapsed),
                    secs(now.saturating_duration_since(r.started + r.elapsed))
                ),
            )
        }),
    )
}

/// A smoke check: running, not run yet, or its last result.
fn smoke_item(s: &SmokeStatus, t: &Theme, now: Instant) -> Item {
    item(
        t,
        now,
        s.running_since
            .map(|since| (since, format!("smoke {} running", s.name))),
        format!("smoke {} not run", s.name),
        s.last.as_ref().map(|r| {
            (
                r.passed,
                format!("smoke {}: {} ", s.name, r.reason),
                format!(
                    "{} ms, {} ago",
                    r.latency.as_millis(),
                    secs(now.saturating_duration_since(r.at))
                ),
            )
        }),
    )
}

/// A check running (since when, saying what), never run (saying `idle`),
/// or its last result (passed, what it says, the dim tail).
fn item(
    t: &Theme,
    now: Instant,
    running: Option<(Instant, String)>,
    idle: String,
    last: Option<(bool, String, String)>,
) -> Item {
    match (running, last) {
        (Some((since, what)), _) => (
            ("… ", t.no_data),
            format!("{what} {}", secs(now.saturating_duration_since(since))),
            None,
        ),
        (None, None) => (("? ", t.no_data), idle, None),
        (None, Some((passed, text, tail))) => (verdict_mark(t, passed), text, Some(tail)),
    }
}

/// The `o` popup: each eval gate's last run and its last lines of output.
pub fn render_output(frame: &mut Frame, area: Rect, state: &State, app: &App, now: Instant) {
    let t = app.theme();
    let mut lines = Vec::new();
    for cmd in &state.checks.commands {
        let head = match (&cmd.running, &cmd.last) {
            (Some((since, split)), _) => format!(
                "{}: running at {split}% for {}",
                cmd.name,
                secs(now.saturating_duration_since(*since))
            ),
            (None, Some(r)) => format!(
                "{}: {} {} at {}% after {}",
                cmd.name,
                if r.passed { "PASS" } else { "FAIL" },
                r.reason,
                r.split,
                secs(r.elapsed)
            ),
            (None, None) => format!("{}: not run yet", cmd.name),
        };
        lines.push(Line::from(Span::styled(head, t.label)));
        match &cmd.last {
            Some(r) if r.output.is_empty() => {
                lines.push(Line::from(Span::styled("  (no output)", t.dim)));
            }
            Some(r) => {
                for l in &r.output {
                    lines.push(Line::raw(format!("  {l}")));
                }
            }
            None => {}
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled(
        "Esc / o closes · s runs the checks again · r rolls back",
        t.dim,
    )));
    let width = area.width.saturating_sub(4).min(110);
    popup(
        frame,
        area,
        width,
        lines,
        Span::styled(" eval output ", t.label),
        t.dim,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::PlanView;
    use crate::gates::{CommandRun, CommandStatus, SmokeResult, SmokeStatus};

    fn state() -> State {
        State::new(
            "svc",
            "demo",
            "demo",
            PlanView {
                steps: vec![1, 100],
                dwell: Duration::from_secs(60),
                bake: Duration::from_secs(60),
                standby: Duration::from_secs(60),
            },
            true,
            2,
        )
    }

    fn text(l: &Line<'_>) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn no_checks_no_line() {
        assert!(line(&state(), &Theme::color(), Instant::now()).is_none());
    }

    #[test]
    fn each_check_shows_result_reason_latency_and_age_or_running_time() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(7);
        let mut s = state();
        s.checks.smoke = vec![
            SmokeStatus {
                name: "completion".into(),
                running_since: None,
                last: Some(SmokeResult {
                    passed: true,
                    reason: "status 200, body matches".into(),
                    latency: Duration::from_millis(42),
                    at: t0,
                }),
            },
            SmokeStatus {
                name: "health".into(),
                running_since: None,
                last: Some(SmokeResult {
                    passed: false,
                    reason: "status 503, want 2xx".into(),
                    latency: Duration::from_millis(3),
                    at: t0 + Duration::from_secs(2),
                }),
            },
        ];
        s.checks.commands = vec![CommandStatus {
            name: "eval suite".into(),
            before: vec![1, 100],
            running: Some((t0 + Duration::from_secs(5), 0)),
            last: None,
        }];
        let t = Theme::color();
        let l = line(&s, &t, now).unwrap();
        assert_eq!(
            text(&l),
            " checks … running eval suite 2s · ✓ PASS smoke completion: status 200, body matches \
             42 ms, 7s ago · ✗ FAIL smoke health: status 503, want 2xx 3 ms, 5s ago"
        );
        let fail = l
            .spans
            .iter()
            .find(|sp| sp.content.contains("FAIL"))
            .unwrap();
        assert_eq!(fail.style, t.breach);

        s.checks.commands[0].running = None;
        s.checks.commands[0].last = Some(CommandRun {
            passed: false,
            reason: "exit 3".into(),
            split: 0,
            started: t0,
            elapsed: Duration::from_secs(4),
            output: vec!["accuracy 0.61".into()],
        });
        let l = text(&line(&s, &t, now).unwrap());
        assert!(
            l.starts_with(" checks ✗ FAIL eval suite: exit 3 at 0% 4s, 3s ago · "),
            "{l}"
        );
    }
}
