//! The `?` overlay: every key and every `:` command.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::app::App;
use super::super::command_line::LINE_HELP;
use super::popup;

pub const KEYS: &[(&str, &str)] = &[
    ("n  →", "advance to the next step (gated)"),
    ("b  ←", "step back"),
    ("r", "ROLLBACK to 0% now, no confirmation"),
    ("P", "promote: flip 100% to green (asks)"),
    ("f", "force advance past a closed gate (asks)"),
    ("space", "pause / resume the plan"),
    ("a", "arm / disarm auto-rollback"),
    (":", "command line (Enter runs, Esc cancels)"),
    ("?  Esc", "open / close this help"),
    ("q  Ctrl-C", "quit (traffic stays as it is)"),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let mut lines = vec![Line::from(Span::styled(" keys", t.label))];
    for (k, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<10}"), t.label),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::from(Span::styled(" commands after :", t.label)));
    for (c, what) in LINE_HELP {
        lines.push(Line::from(vec![
            Span::styled(format!("  {c:<22}"), t.label),
            Span::raw(*what),
        ]));
    }
    if app.readonly() {
        lines.push(Line::from(Span::styled(
            " read-only: commands that move traffic are refused",
            t.warn,
        )));
    }
    popup(
        frame,
        area,
        68,
        lines,
        Span::styled(" help · Esc or ? closes ", t.label),
        t.label,
    );
}
