//! The pieces of the screen, one file each.

pub mod confirm;
pub mod events;
pub mod footer;
pub mod header;
pub mod help;
pub mod history_chart;
pub mod panel;
pub mod split_bar;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// A bordered box of `lines`, at most `width` wide, centred over `area`
/// (what is under it is cleared first).
pub fn popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    lines: Vec<Line<'_>>,
    title: Span<'_>,
    border: Style,
) {
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    )
}
