//! One frame: header, BLUE | GREEN panels, split bar, event log, footer,
//! and the help or confirm overlay on top. Below the smallest useful size,
//! one compact view that still says the split, the worst verdict and how
//! to roll back.

use std::time::{Instant, SystemTime};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use crate::engine::State;
use crate::model::Color;

use super::app::{App, Mode};
use super::widgets::{checks, confirm, events, footer, header, help, panel, split_bar, too_small};

/// The smallest terminal the full cockpit is drawn in; below it, the
/// compact view.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;

/// Draws one frame of `state` as `app` sees it at `now`.
pub fn draw(frame: &mut Frame, state: &State, app: &App, now: Instant) {
    draw_at(frame, state, app, now, SystemTime::now());
}

/// [`draw`] with the wall clock given too (the header's "rolled back 4m
/// ago" and standby countdown), so a test can draw a frame that does not
/// depend on when it runs.
pub fn draw_at(frame: &mut Frame, state: &State, app: &App, now: Instant, wall: SystemTime) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small::render(frame, area, state, app);
        return;
    }
    if *app.mode() == Mode::Events {
        let [log, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(area);
        events::render_full(frame, log, state, app);
        footer::render(frame, foot, app, state);
        return;
    }
    // The event log shrinks first on short terminals; the panels keep the rest.
    // At 80×24 the log keeps four rows (its border takes one).
    let events_rows = match area.height {
        h if h >= 36 => 7,
        h if h >= 22 => 5,
        _ => 3,
    };
    let [head, panels, split, log, foot] = Layout::vertical([
        Constraint::Length(header::height(state, app, now, wall, area.width)),
        Constraint::Min(3),
        Constraint::Length(split_bar::height(state)),
        Constraint::Length(events_rows),
        Constraint::Length(2),
    ])
    .areas(area);

    header::render(frame, head, state, app, now, wall);
    let [blue, green] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panels);
    panel::render(frame, blue, state, app, Color::Blue, now);
    panel::render(frame, green, state, app, Color::Green, now);
    split_bar::render(frame, split, state, app, now);
    events::render(frame, log, state, app);
    footer::render(frame, foot, app, state);

    match app.mode() {
        Mode::Help => help::render(frame, area, app),
        Mode::Confirm { kind, yes_focused } => {
            confirm::render(frame, area, state, app, *kind, *yes_focused)
        }
        Mode::Output => checks::render_output(frame, area, state, app, now),
        Mode::Gate => split_bar::render_gate(frame, area, state, app),
        Mode::Normal | Mode::CommandLine | Mode::Events => {}
    }
}
