//! The pieces of the screen, one file each.

pub mod confirm;
pub mod events;
pub mod footer;
pub mod header;
pub mod help;
pub mod history_chart;
pub mod panel;
pub mod split_bar;

use ratatui::layout::{Constraint, Rect};

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    )
}
