//! The event log: newest at the bottom, `HH:MM:SS` UTC and the text,
//! coloured by level.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::State;

use super::super::app::App;
use crate::format::clock_utc;

pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App) {
    let t = app.theme();
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.dim)
        .title(Span::styled(" events (UTC) ", t.label));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = inner.height as usize;
    let skip = state.events.len().saturating_sub(rows);
    let lines: Vec<Line> = state
        .events
        .iter()
        .skip(skip)
        .map(|e| {
            Line::from(vec![
                Span::styled(format!(" {} ", clock_utc(e.wall)), t.dim),
                Span::styled(e.text.as_str(), t.event(e.level)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
