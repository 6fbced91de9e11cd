//! Key hints, and below them the status message or the `:` command line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::app::{App, Mode, StatusLevel};

/// (keys, what, moves traffic, kept on narrow screens)
const HINTS: &[(&str, &str, bool, bool)] = &[
    ("n/→", "advance", true, true),
    ("b/←", "back", true, true),
    ("r", "ROLLBACK", true, true),
    ("P", "promote", true, true),
    ("f", "force", true, false),
    ("space", "pause", false, true),
    ("a", "arm", false, false),
    (":", "command", false, true),
    ("?", "help", false, true),
    ("q", "quit", false, true),
];

/// Width of the full hint line.
fn full_width() -> usize {
    1 + HINTS
        .iter()
        .map(|(k, w, _, _)| k.chars().count() + w.chars().count() + 4)
        .sum::<usize>()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme();
    let [hints, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    // On narrow screens keep the essential hints, tighter; `?` lists all.
    let narrow = full_width() > area.width as usize;
    let mut spans = vec![Span::raw(" ")];
    for (keys, what, moves, essential) in HINTS {
        if narrow && !essential {
            continue;
        }
        let off = app.readonly() && *moves;
        let key_style = if off { t.dim } else { t.highlight };
        if narrow {
            spans.push(Span::styled(*keys, key_style));
            spans.push(Span::styled(format!(" {what} "), t.dim));
        } else {
            spans.push(Span::styled(format!(" {keys} "), key_style));
            spans.push(Span::styled(format!(" {what} "), t.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), hints);

    if *app.mode() == Mode::CommandLine {
        let input = app.input();
        let width = status.width.saturating_sub(2).max(1) as usize;
        let scroll = input.visual_scroll(width);
        let shown: String = input.value().chars().skip(scroll).collect();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(":", t.label),
                Span::raw(shown),
            ])),
            status,
        );
        let x = status.x + 1 + (input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position(Position::new(
            x.min(status.right().saturating_sub(1)),
            status.y,
        ));
        return;
    }
    let line = match app.status() {
        Some((StatusLevel::Error, msg)) => {
            Line::from(vec![Span::raw(" "), Span::styled(msg.to_string(), t.warn)])
        }
        Some((StatusLevel::Info, msg)) => {
            Line::from(vec![Span::raw(" "), Span::styled(msg.to_string(), t.dim)])
        }
        None => Line::from(Span::styled(" ready · ? for help", t.dim)),
    };
    frame.render_widget(Paragraph::new(line), status);
}
