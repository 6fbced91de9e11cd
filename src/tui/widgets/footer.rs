//! Key hints, and below them the status message or the `:` command line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::app::{App, Mode, StatusLevel};
use super::super::keymap::{Binding, Footer, KEYMAP, KeyAction, footer_keys};
use crate::engine::State;

/// The footer's bindings: the key map less what read-only refuses (a key
/// the operator cannot use is noise) and the help-only keys.
fn hints(readonly: bool) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |b| b.footer != Footer::HelpOnly && !(readonly && b.refused_readonly()))
}

/// What the binding does now: `a` says `disarm` while armed.
fn hint(b: &Binding, armed: bool, narrow: bool) -> &'static str {
    match b.action {
        KeyAction::ToggleArmed if armed => "disarm",
        KeyAction::CommandLine if narrow => "cmd",
        _ => b.hint,
    }
}

/// The keys as shown: on a narrow line only the first of the alternatives.
fn keys(b: &Binding, narrow: bool) -> &'static str {
    let keys = footer_keys(b);
    if narrow {
        keys.split('/').next().unwrap_or(keys)
    } else {
        keys
    }
}

/// Width of the full hint line.
fn full_width(readonly: bool, armed: bool) -> usize {
    1 + hints(readonly)
        .map(|b| keys(b, false).chars().count() + hint(b, armed, false).chars().count() + 4)
        .sum::<usize>()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &State) {
    let t = app.theme();
    let [hints_area, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let armed = app.armed_intent(state);
    // On narrow screens keep the essential hints, tighter (at 80 columns
    // every Always key fits: f and a included); `?` lists all.
    let narrow = full_width(app.readonly(), armed) > area.width as usize;
    let mut spans = vec![Span::raw(" ")];
    for b in hints(app.readonly()) {
        if narrow && b.footer != Footer::Always {
            continue;
        }
        let (keys, hint) = (keys(b, narrow), hint(b, armed, narrow));
        if narrow {
            spans.push(Span::styled(keys, t.highlight));
            spans.push(Span::styled(format!(" {hint} "), t.dim));
        } else {
            spans.push(Span::styled(format!(" {keys} "), t.highlight));
            spans.push(Span::styled(format!(" {hint} "), t.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), hints_area);

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
    let line = match app.status_now(state) {
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
