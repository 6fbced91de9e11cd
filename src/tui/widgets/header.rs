//! Top lines: phase, service, split as the router reports it beside the
//! splits the metrics and the data plane show, pending write, step,
//! countdowns, auto-rollback, data age, lock and autopilot.

use std::time::{Duration, Instant, SystemTime};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::{Phase, State};

use super::super::app::App;
use super::super::theme::Theme;
use super::{truth, wrap_words};
use crate::format::{age, countdown, split_unknown};

/// Rows of the rollback reason at most; the event log has it whole.
const MAX_REASON_ROWS: usize = 4;

/// The rollback reason as it wraps in a header `width` wide: it names the
/// metric that caused the rollback, so it is wrapped, never cut.
/// A rollback remembered across restarts says when and what it takes
/// ("force needed") before the reason, so a cut never hides the warning.
fn reason_lines(state: &State, width: u16, now: Instant, wall: SystemTime) -> Vec<String> {
    let text = match (&state.rollback.rolled_back, &state.phase) {
        // A rollback that has not landed says why first: the rest can wait.
        _ if state.rollback.failed.is_some() => {
            let r = state.rollback.failed.as_ref().expect("checked");
            let since = now.saturating_duration_since(r.decided);
            format!(
                "{} {} since the decision: {}",
                tries(r.tries),
                age(since),
                r.reason
            )
        }
        (Some(m), _) => {
            let ago = wall.duration_since(m.at).unwrap_or_default();
            format!(
                "green rolled back {} ago — force needed: {}",
                age(ago),
                m.reason
            )
        }
        (None, Phase::RolledBack { reason }) => format!("why: {reason}"),
        _ => return Vec::new(),
    };
    let mut lines = wrap_words(&text, width.saturating_sub(2) as usize);
    lines.truncate(MAX_REASON_ROWS);
    lines
}

/// `1 try`, `3 tries`.
fn tries(n: u32) -> String {
    if n == 1 {
        "1 try,".into()
    } else {
        format!("{n} tries,")
    }
}

/// Rows the header needs at `width`, its bottom border included.
pub fn height(state: &State, app: &App, now: Instant, wall: SystemTime, width: u16) -> u16 {
    let t = app.theme();
    let status = join(second_line(state, t, now, wall), t, width).len();
    2 + reason_lines(state, width, now, wall).len() as u16 + status as u16
}

/// Draws the header as of `now` on the monotonic clock and `wall` on the
/// wall clock (the same moment: the caller reads both once per frame).
pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    app: &App,
    now: Instant,
    wall: SystemTime,
) {
    let t = app.theme();
    let mut lines = vec![first_line(state, app, now)];
    for l in reason_lines(state, area.width, now, wall) {
        lines.push(Line::from(vec![Span::raw(" "), Span::styled(l, t.breach)]));
    }
    // The status items wrap as whole items, so none (auto-rollback last)
    // is cut off on a narrow terminal.
    lines.extend(join(second_line(state, t, now, wall), t, area.width));
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
    let (phase, phase_style) = match &state.rollback.failed {
        Some(_) => (" ROLLBACK FAILED — retrying ".to_string(), t.breach),
        None => (format!(" {} ", state.phase.name()), phase_style),
    };
    let mut spans = vec![Span::styled(phase, phase_style)];
    spans.push(Span::styled(" │ ", t.dim));
    spans.push(Span::styled(state.service.as_str(), t.label));
    // The source's TLS warning is an item of its own on the second line,
    // in the warn style, where it wraps instead of being cut.
    spans.push(Span::styled(
        format!(
            " · router {} · metrics {}",
            state.router_kind, state.source.kind
        ),
        t.dim,
    ));
    spans.push(Span::styled(" │ ", t.dim));
    spans.push(data_age(state, app, now));
    if let Some(seen) = app.data_plane() {
        spans.push(Span::styled(" │ ", t.dim));
        spans.push(Span::styled(format!("load generator {seen}"), t.label));
    }
    if state.autopilot {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" AUTOPILOT ", t.highlight));
    }
    if app.readonly() {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" ⊘ READ-ONLY ", t.highlight));
    }
    Line::from(spans)
}

fn data_age<'a>(state: &State, app: &App, now: Instant) -> Span<'a> {
    let t = app.theme();
    // A poll that got no answer at all is fresh but empty: its age would
    // say `data 1s` while nothing has been heard for much longer.
    if let Some(silent) = super::panel::source_silent(state, now) {
        return Span::styled(
            format!("{} NOT ANSWERING {silent}", state.source.kind),
            t.warn,
        );
    }
    match state.guard.data_age(now) {
        None => Span::styled("no data yet", t.no_data),
        Some(a) if a > app.poll_interval() * 3 => {
            Span::styled(format!("STALE {}", age(a)), t.breach)
        }
        Some(a) => Span::styled(format!("data {}", age(a)), t.dim),
    }
}

/// The items of the second line, each a few spans; joined with separators.
fn second_line<'a>(
    state: &'a State,
    t: &Theme,
    now: Instant,
    wall: SystemTime,
) -> Vec<Vec<Span<'a>>> {
    let mut items = Vec::new();
    items.push(split_item(state, t, now));
    items.extend(truth::metrics_view(state, t, now));
    items.extend(truth::data_plane_view(state, t, now));
    if let Some(warning) = state.source.tls_warning() {
        items.push(vec![Span::styled(format!("metrics {warning}"), t.warn)]);
    }
    if let Some(p) = &state.traffic.pending {
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
    if let Some(item) = rollback_time(state, t) {
        items.push(item);
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
    items.extend(timer_items(state, t, now, wall));
    items.push(armed_item(state, t));
    items
}

/// The split the router has, how old it is, and whether it is still being
/// verified or the router failed.
fn split_item<'a>(state: &'a State, t: &Theme, now: Instant) -> Vec<Span<'a>> {
    match state.traffic.split {
        Some(s) => {
            let mut it = vec![
                Span::styled(format!("green {}%", s.green()), t.green),
                Span::styled(format!(" · blue {}%", s.blue()), t.blue),
            ];
            it.extend(truth::router_age(state, t, now));
            // Taken by the router, not yet seen served by the data plane.
            if let Some(v) = state.traffic.verifying.filter(|v| v.split == s) {
                let secs = now.saturating_duration_since(v.since).as_secs_f64();
                it.push(Span::styled(format!(" verifying {secs:.1}s"), t.warn));
            }
            if let Some(e) = &state.traffic.router_error {
                it.push(Span::styled(format!("  router error: {e}"), t.warn));
            }
            it
        }
        None => vec![Span::styled(
            split_unknown(state.traffic.router_error.as_deref()),
            t.breach,
        )],
    }
}

/// The step's clocks: dwell or pause, bake, blue's standby.
fn timer_items<'a>(state: &State, t: &Theme, now: Instant, wall: SystemTime) -> Vec<Vec<Span<'a>>> {
    let mut items = Vec::new();
    if let Phase::Paused { .. } = state.phase {
        if let Some(left) = state.clock.dwell_left {
            items.push(vec![Span::styled(
                format!("paused {} left", countdown(left)),
                t.warn,
            )]);
        }
    } else if let Some(until) = state.clock.dwell_until {
        items.push(countdown_item(
            "dwell",
            until.saturating_duration_since(now),
            t,
        ));
    }
    if let Some(until) = state.clock.bake_until {
        items.push(countdown_item(
            "bake",
            until.saturating_duration_since(now),
            t,
        ));
    }
    if let Some(until) = state.clock.standby_until {
        let left = until.duration_since(wall).unwrap_or_default();
        items.push(vec![Span::raw(if left.is_zero() {
            "standby ended".to_string()
        } else {
            format!("blue standby {}{}", countdown(left), idle_cost(state))
        })]);
    }
    items
}

/// ` · idle $6.00/h`: what blue's replicas cost while they wait, when
/// `[cost]` gives a fleet price; nothing otherwise.
fn idle_cost(state: &State) -> String {
    let specs = state.metrics.iter().map(|s| s.as_ref());
    crate::metricspec::cost::idle_cost_per_hour(specs, crate::model::Color::Blue)
        .map(|d| format!(" · idle {}/h", crate::metricspec::Unit::Dollars.format(d)))
        .unwrap_or_default()
}

/// `dwell 0:12`, or `dwell done` in the ok style.
fn countdown_item<'a>(what: &str, left: Duration, t: &Theme) -> Vec<Span<'a>> {
    vec![if left.is_zero() {
        Span::styled(format!("{what} done"), t.ok)
    } else {
        Span::raw(format!("{what} {}", countdown(left)))
    }]
}

/// Auto-rollback armed (with the breach streak) or disarmed.
fn armed_item<'a>(state: &State, t: &Theme) -> Vec<Span<'a>> {
    if state.guard.armed {
        let style = if state.guard.breach_streak > 0 {
            t.breach
        } else {
            t.ok
        };
        vec![
            Span::raw("auto-rollback "),
            Span::styled(
                format!(
                    "ARMED {}/{}",
                    state.guard.breach_streak, state.guard.breach_needed
                ),
                style,
            ),
        ]
    } else {
        vec![
            Span::raw("auto-rollback "),
            Span::styled("DISARMED", t.warn),
        ]
    }
}

/// The last rollback's measured time while traffic stays at 0 %: in the
/// ok style within `rollback_sla`, the warn style over it, plain without.
fn rollback_time<'a>(state: &State, t: &Theme) -> Option<Vec<Span<'a>>> {
    use crate::engine::rollback_figure as figure;
    let r = state.rollback.last.as_ref()?;
    if state.traffic.split.is_some_and(|s| s.green() > 0) {
        return None;
    }
    let (style, sla) = match (r.sla, r.over_sla()) {
        (Some(sla), Some(true)) => (t.warn, format!(" OVER {} SLA", figure(sla))),
        (Some(sla), _) => (t.ok, format!(" ≤ {} SLA", figure(sla))),
        _ => (Style::new(), String::new()),
    };
    let what = if r.drill {
        "drill rollback"
    } else {
        "rolled back"
    };
    let mut item = vec![Span::styled(
        format!("{what} in {}{sla}", figure(r.to_router)),
        style,
    )];
    if let Some(z) = r.to_zero.seen() {
        item.push(Span::styled(
            format!(" · traffic 0 % in {}", figure(z)),
            t.dim,
        ));
    }
    Some(item)
}

/// The items joined with separators into as few lines of `width` as they
/// fit, breaking only between items.
fn join<'a>(items: Vec<Vec<Span<'a>>>, t: &Theme, width: u16) -> Vec<Line<'a>> {
    let width = width as usize;
    let mut lines = Vec::new();
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    for item in items {
        let w: usize = item.iter().map(|s| s.content.chars().count()).sum();
        if used > 1 && used + 3 + w > width {
            lines.push(Line::from(std::mem::replace(
                &mut spans,
                vec![Span::raw(" ")],
            )));
            used = 1;
        }
        if used > 1 {
            spans.push(Span::styled(" │ ", t.dim));
            used += 3;
        }
        spans.extend(item);
        used += w;
    }
    lines.push(Line::from(spans));
    lines
}
