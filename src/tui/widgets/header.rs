//! Top lines: phase, service, split as the router reports it, pending write,
//! step, countdowns, auto-rollback, data age, lock and autopilot.

use std::time::{Instant, SystemTime};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::{Phase, State};

use super::super::app::App;
use super::super::theme::Theme;
use crate::format::{age, countdown, split_unknown};

pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App, now: Instant) {
    let t = app.theme();
    let lines = vec![
        first_line(state, app, now),
        join(second_line(state, t, now), t),
    ];
    let block = Block::new().borders(Borders::BOTTOM).border_style(t.dim);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn first_line<'a>(state: &'a State, app: &App, now: Instant) -> Line<'a> {
    let t = app.theme();
    let phase_style = match &state.phase {
        Phase::RolledBack { .. } => t.breach,
        Phase::Paused { .. } => t.warn,
        Phase::Baking | Phase::Promoted => t.ok,
        Phase::Canary { .. } => t.traffic,
        Phase::Ready => t.label,
    };
    let phase = format!(" {} ", state.phase.name());
    let mut spans = vec![Span::styled(phase, phase_style)];
    spans.push(Span::styled(" │ ", t.dim));
    spans.push(Span::styled(state.service.as_str(), t.label));
    spans.push(Span::styled(
        format!(
            " · router {} · metrics {}",
            state.router_kind, state.source_kind
        ),
        t.dim,
    ));
    spans.push(Span::styled(" │ ", t.dim));
    spans.push(data_age(state, app, now));
    if let Some(seen) = app.data_plane() {
        spans.push(Span::styled(" │ ", t.dim));
        spans.push(Span::styled(format!("data plane {seen}"), t.label));
    }
    if state.autopilot {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" AUTOPILOT ", t.highlight));
    }
    if app.readonly() {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" ⊘ READ-ONLY ", t.highlight));
    }
    // Last, so a long reason is what a narrow screen cuts, not the service
    // or the data age (the event log has it whole).
    if let Phase::RolledBack { reason } = &state.phase {
        spans.push(Span::styled(" │ ", t.dim));
        spans.push(Span::styled(format!("why: {reason}"), t.breach));
    }
    Line::from(spans)
}

fn data_age<'a>(state: &State, app: &App, now: Instant) -> Span<'a> {
    let t = app.theme();
    match state.data_age(now) {
        None => Span::styled("no data yet", t.no_data),
        Some(a) if a > app.poll_interval() * 3 => {
            Span::styled(format!("STALE {}", age(a)), t.breach)
        }
        Some(a) => Span::styled(format!("data {}", age(a)), t.dim),
    }
}

/// The items of the second line, each a few spans; joined with separators.
fn second_line<'a>(state: &'a State, t: &Theme, now: Instant) -> Vec<Vec<Span<'a>>> {
    let mut items = Vec::new();
    match state.split {
        Some(s) => {
            let mut it = vec![
                Span::styled(format!("green {}%", s.green()), t.green),
                Span::styled(format!(" · blue {}%", s.blue()), t.blue),
            ];
            if let Some(e) = &state.router_error {
                it.push(Span::styled(format!("  router error: {e}"), t.warn));
            }
            items.push(it);
        }
        None => items.push(vec![Span::styled(
            split_unknown(state.router_error.as_deref()),
            t.breach,
        )]),
    }
    if let Some(p) = &state.pending {
        let from = p
            .from
            .map(|s| format!("{}%", s.green()))
            .unwrap_or_else(|| "?".into());
        let secs = now.saturating_duration_since(p.started).as_secs_f64();
        items.push(vec![Span::styled(
            format!("applying {from} → {}% {secs:.1}s", p.to.green()),
            t.warn,
        )]);
    }
    let n = state.plan.steps.len();
    items.push(vec![Span::raw(match state.step_index() {
        Some(i) => format!(
            "step {}/{n} · {}%",
            i + 1,
            state.plan.steps.get(i).copied().unwrap_or(0)
        ),
        None => format!("step 0/{n}"),
    })]);
    if let Phase::Paused { .. } = state.phase {
        if let Some(left) = state.dwell_left {
            items.push(vec![Span::styled(
                format!("paused {} left", countdown(left)),
                t.warn,
            )]);
        }
    } else if let Some(until) = state.dwell_until {
        let left = until.saturating_duration_since(now);
        items.push(vec![if left.is_zero() {
            Span::styled("dwell done", t.ok)
        } else {
            Span::raw(format!("dwell {}", countdown(left)))
        }]);
    }
    if let Some(until) = state.bake_until {
        let left = until.saturating_duration_since(now);
        items.push(vec![if left.is_zero() {
            Span::styled("bake done", t.ok)
        } else {
            Span::raw(format!("bake {}", countdown(left)))
        }]);
    }
    if let Some(until) = state.standby_until {
        let left = until.duration_since(SystemTime::now()).unwrap_or_default();
        items.push(vec![Span::raw(if left.is_zero() {
            "standby ended".to_string()
        } else {
            format!("blue standby {}", countdown(left))
        })]);
    }
    items.push(if state.armed {
        let style = if state.breach_streak > 0 {
            t.breach
        } else {
            t.ok
        };
        vec![
            Span::raw("auto-rollback "),
            Span::styled(
                format!("ARMED {}/{}", state.breach_streak, state.breach_needed),
                style,
            ),
        ]
    } else {
        vec![
            Span::raw("auto-rollback "),
            Span::styled("DISARMED", t.warn),
        ]
    });
    items
}

fn join<'a>(items: Vec<Vec<Span<'a>>>, t: &Theme) -> Line<'a> {
    let mut spans = vec![Span::raw(" ")];
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", t.dim));
        }
        spans.extend(item);
    }
    Line::from(spans)
}
