//! The `?` overlay: every key and every `:` command.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::app::App;
use super::super::command_line::LINE_HELP;
use super::super::keymap::{Binding, KEYMAP};
use super::popup;

/// The overlay's width. Every line fits inside it unwrapped (a test checks),
/// because the scrolling counts lines, not wrapped rows.
const WIDTH: u16 = 68;
/// Key names, padded to this.
const KEY_COLUMN: usize = 11;
const COMMAND_COLUMN: usize = 22;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let mut lines = vec![Line::from(Span::styled(" keys", t.label))];
    for b in KEYMAP {
        let k = help_keys(b);
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<KEY_COLUMN$}"), t.label),
            Span::raw(b.help),
        ]));
    }
    lines.push(Line::from(Span::styled(" commands after :", t.label)));
    for (c, what) in LINE_HELP {
        lines.push(Line::from(vec![
            Span::styled(format!("  {c:<COMMAND_COLUMN$}"), t.label),
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
        WIDTH,
        lines,
        Span::styled(title, t.label),
        t.label,
    );
}

/// The help's name for a binding's keys: alternatives side by side.
fn help_keys(b: &Binding) -> String {
    b.keys.replace('/', "  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_fits_the_overlay_unwrapped() {
        // Borders take two columns; each line starts with two spaces.
        let room = WIDTH as usize - 2;
        for b in KEYMAP {
            let k = help_keys(b);
            assert!(k.chars().count() < KEY_COLUMN, "{k} leaves no space");
            let width = 2 + KEY_COLUMN + b.help.chars().count();
            assert!(width <= room, "{k}: {} is {width} wide", b.help);
        }
        for (c, what) in LINE_HELP {
            let width = 2 + c.chars().count().max(COMMAND_COLUMN) + what.chars().count();
            assert!(width <= room, "{c}: {what} is {width} wide");
        }
    }
}
