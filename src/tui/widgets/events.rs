//! The event log: newest at the bottom, `HH:MM:SS` UTC and the text,
//! coloured by level. Repeats of one event in a row show once with a count,
//! so a held key or a stuck gate does not push everything else out. The
//! log scrolls (PgUp/PgDn), and `:events` shows it on the full screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::{Event, State};

use super::super::app::App;
use super::super::theme::Theme;
use crate::format::clock_utc;

/// One line of the log: the latest of `count` identical events in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collapsed<'a> {
    pub event: &'a Event,
    pub count: usize,
}

/// Folds runs of events with the same level and text into one, keeping
/// the time of the latest. Oldest first, like the log.
pub fn collapse(events: &imbl::Vector<Event>) -> Vec<Collapsed<'_>> {
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
    // Newest at the bottom: wrap events from the newest back until the
    // rows are full, so a long reason is read whole, not cut mid-word.
    // Only whole events: an event cut at its top would lose its time.
    let mut shown: Vec<Line> = Vec::new();
    for c in lines[..end].iter().rev() {
        let mut wrapped = wrap_event(c, inner.width as usize, t);
        if !shown.is_empty() && shown.len() + wrapped.len() > rows {
            break;
        }
        wrapped.append(&mut shown);
        shown = wrapped;
    }
    // The newest alone may be longer than the pane: its beginning shows.
    shown.truncate(rows);
    frame.render_widget(Paragraph::new(shown), inner);
}

/// Width of ` HH:MM:SS `, the indent of an event's continuation lines.
const CLOCK: usize = 10;

/// One event as lines of at most `width` columns: the time, then the text
/// wrapped at words with its continuation lines indented under it.
fn wrap_event<'a>(c: &Collapsed<'a>, width: usize, t: &Theme) -> Vec<Line<'a>> {
    let mut text = c.event.text.clone();
    if c.count > 1 {
        text.push_str(&format!(" ×{}", c.count));
    }
    let style = t.event(c.event.level);
    super::wrap_words(&text, width.saturating_sub(CLOCK).max(10))
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let lead = if i == 0 {
                Span::styled(format!(" {} ", clock_utc(c.event.wall)), t.dim)
            } else {
                Span::raw(" ".repeat(CLOCK))
            };
            Line::from(vec![lead, Span::styled(part, style)])
        })
        .collect()
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
        let events: imbl::Vector<Event> = [
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
