//! The `?` overlay: every key and every `:` command.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::app::App;
use super::super::command_line::LINE_HELP;
use super::super::keymap::{Binding, KEYMAP};
use super::popup;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let mut lines = vec![Line::from(Span::styled(" keys", t.label))];
    for b in KEYMAP {
        let k = help_keys(b);
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<10}"), t.label),
            Span::raw(b.help),
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
    // On a short terminal the help scrolls rather than losing its end.
    let visible = (area.height as usize).saturating_sub(2).max(1);
    let title = if lines.len() > visible {
        let skip = app.help_scroll().min(lines.len() - visible);
        lines.drain(..skip);
        lines.truncate(visible);
        " help · ↑/↓ more · Esc or ? closes "
    } else {
        " help · Esc or ? closes "
    };
    popup(
        frame,
        area,
        68,
        lines,
        Span::styled(title, t.label),
        t.label,
    );
}

/// The help's name for a binding's keys: alternatives side by side.
fn help_keys(b: &Binding) -> String {
    b.keys.replace('/', "  ")
}
