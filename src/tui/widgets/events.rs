//! The event log: newest at the bottom, `HH:MM:SS` UTC and the text,
//! coloured by level. Repeats of one event in a row show once with a count,
//! so a held key or a stuck gate does not push everything else out. The
//! log scrolls (PgUp/PgDn), and `:events` shows it on the full screen.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::{Event, State};

use super::super::app::App;
use crate::format::clock_utc;

/// One line of the log: the latest of `count` identical events in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collapsed<'a> {
    pub event: &'a Event,
    pub count: usize,
}

/// Folds runs of events with the same level and text into one, keeping
/// the time of the latest. Oldest first, like the log.
pub fn collapse(events: &VecDeque<Event>) -> Vec<Collapsed<'_>> {
    let mut out: Vec<Collapsed> = Vec::new();
    for e in events {
        match out.last_mut() {
            Some(last) if last.event.level == e.level && last.event.text == e.text => {
                last.event = e;
                last.count += 1;
            }
            _ => out.push(Collapsed { event: e, count: 1 }),
        }
    }
    out
}

/// The log in the bottom strip.
pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App) {
    render_log(frame, area, state, app, " events (UTC) ");
}

/// The whole screen for the log (`:events`).
pub fn render_full(frame: &mut Frame, area: Rect, state: &State, app: &App) {
    frame.render_widget(ratatui::widgets::Clear, area);
    render_log(
        frame,
        area,
        state,
        app,
        " events (UTC) · PgUp/PgDn ↑/↓ scroll · Esc closes · r rolls back ",
    );
}

fn render_log(frame: &mut Frame, area: Rect, state: &State, app: &App, title: &str) {
    let t = app.theme();
    let lines = collapse(&state.events);
    let scroll = app.events_scroll().min(lines.len().saturating_sub(1));
    let title = if scroll > 0 {
        format!("{title}· {scroll} newer below ")
    } else {
        title.to_string()
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.dim)
        .title(Span::styled(title, t.label));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = inner.height as usize;
    let end = lines.len() - scroll;
    let start = end.saturating_sub(rows);
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .map(|c| {
            let mut spans = vec![
                Span::styled(format!(" {} ", clock_utc(c.event.wall)), t.dim),
                Span::styled(c.event.text.as_str(), t.event(c.event.level)),
            ];
            if c.count > 1 {
                spans.push(Span::styled(format!(" ×{}", c.count), t.label));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventLevel;
    use std::time::{Duration, UNIX_EPOCH};

    fn ev(secs: u64, level: EventLevel, text: &str) -> Event {
        Event {
            wall: UNIX_EPOCH + Duration::from_secs(secs),
            level,
            text: text.into(),
        }
    }

    #[test]
    fn runs_of_the_same_event_fold_into_one_with_a_count() {
        let events: VecDeque<Event> = [
            ev(1, EventLevel::Warn, "refused: gate closed"),
            ev(2, EventLevel::Warn, "refused: gate closed"),
            ev(3, EventLevel::Warn, "refused: gate closed"),
            ev(4, EventLevel::Info, "note"),
            ev(5, EventLevel::Warn, "refused: gate closed"),
            ev(6, EventLevel::Error, "refused: gate closed"),
        ]
        .into_iter()
        .collect();
        let c = collapse(&events);
        let got: Vec<(u64, &str, usize)> = c
            .iter()
            .map(|c| {
                (
                    c.event.wall.duration_since(UNIX_EPOCH).unwrap().as_secs(),
                    c.event.text.as_str(),
                    c.count,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "refused: gate closed", 3),
                (4, "note", 1),
                (5, "refused: gate closed", 1),
                (6, "refused: gate closed", 1),
            ]
        );
    }
}
