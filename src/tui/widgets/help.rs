//! The `?` overlay: every key, every view's keys and every `:` command,
//! all generated from the key tables in `keymap`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::app::App;
use super::super::keymap::{Binding, KEYMAP, LINE_WORDS, VIEW_KEYS, ViewAction, ViewKeys};
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
    lines.push(Line::from(Span::styled(views_heading(), t.label)));
    for v in VIEW_KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<KEY_COLUMN$}", v.name), t.label),
            Span::raw(view_line(v)),
        ]));
    }
    lines.push(Line::from(Span::styled(" commands after :", t.label)));
    for l in LINE_WORDS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<COMMAND_COLUMN$}", l.usage), t.label),
            Span::raw(l.help),
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

/// The views' heading, naming those where `r` still rolls back (said once
/// here rather than on every view's line).
fn views_heading() -> String {
    let names: Vec<&str> = VIEW_KEYS
        .iter()
        .filter(|v| v.keys.iter().any(|b| b.action == ViewAction::Rollback))
        .map(|v| v.name)
        .collect();
    format!(" in views · r rolls back in {}", names.join(", "))
}

/// One view's keys on one line, `r` left to the heading.
fn view_line(v: &ViewKeys) -> String {
    v.keys
        .iter()
        .filter(|b| b.action != ViewAction::Rollback)
        .map(|b| format!("{} {}", b.keys, b.hint))
        .collect::<Vec<_>>()
        .join(" · ")
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
        for l in LINE_WORDS {
            let width = 2 + l.usage.chars().count().max(COMMAND_COLUMN) + l.help.chars().count();
            assert!(width <= room, "{}: {} is {width} wide", l.usage, l.help);
        }
        for v in VIEW_KEYS {
            assert!(v.name.chars().count() < KEY_COLUMN, "{}", v.name);
            let width = 2 + KEY_COLUMN + view_line(v).chars().count();
            assert!(
                width <= room,
                "{}: {} is {width} wide",
                v.name,
                view_line(v)
            );
        }
        assert!(
            views_heading().chars().count() <= room,
            "{}",
            views_heading()
        );
    }

    /// The overlay is the tables: every view's keys and every `:` row show
    /// as the tables say.
    #[test]
    fn the_overlay_shows_every_table_row() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let app = App::new(false, false);
        let mut term = Terminal::new(TestBackend::new(100, 60)).unwrap();
        term.draw(|f| render(f, f.area(), &app)).unwrap();
        let buf = term.backend().buffer();
        let text: String = (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        for b in KEYMAP {
            assert!(text.contains(b.help), "{}\n{text}", b.help);
        }
        assert!(text.contains(&views_heading()), "{text}");
        for v in VIEW_KEYS {
            let line = format!("{:<KEY_COLUMN$}{}", v.name, view_line(v));
            assert!(text.contains(&line), "{line}\n{text}");
        }
        for l in LINE_WORDS {
            let line = format!("{:<COMMAND_COLUMN$}{}", l.usage, l.help);
            assert!(text.contains(&line), "{line}\n{text}");
        }
    }
}
