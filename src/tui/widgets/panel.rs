//! One colour's panel: traffic share, ready replicas and pods up, rps, and per metric the value, its
//! bounds, the verdict (colour + word + symbol), green's delta vs blue, the
//! no-data reason with the last good value, and a history chart.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::State;
use crate::engine::guardrail::Judgement;
use crate::metricspec::MetricSpec;
use crate::model::{Color, NoData, Reading, Verdict};

use super::super::app::App;
use super::super::theme::Theme;
use super::history_chart;
pub use super::panel_rows::allocate_rows;
use crate::format::age;

/// Rows a chart needs to be worth drawing.
const MIN_CHART_ROWS: u16 = 4;
const MIN_CHART_COLS: u16 = 30;
/// The labels' column at least; a longer label widens it, up to what
/// leaves [`VALUE_ROOM`] for the value and verdict.
const LABEL_WIDTH: usize = 12;
const VALUE_ROOM: usize = 24;
/// Below this inner width, labels and values are not padded into columns,
/// so the verdict word still fits.
const COMPACT_BELOW: u16 = 36;

pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App, color: Color, now: Instant) {
    let t = app.theme();
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(t.accent(color))
        .title(title(state, t, color, now));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let compact = inner.width < COMPACT_BELOW;
    let longest = state.metrics.iter().map(|m| m.label.chars().count());
    let room = usize::from(inner.width).saturating_sub(VALUE_ROOM);
    // One space after the longest label, as after today's.
    let label_width = (longest.max().unwrap_or(0) + 1).min(room).max(LABEL_WIDTH);
    let metrics: Vec<Metric> = state
        .metrics
        .iter()
        .enumerate()
        .map(|(index, spec)| Metric {
            index,
            spec,
            label_width,
        })
        .collect();
    let texts: Vec<_> = metrics
        .iter()
        .map(|&m| metric_lines(state, t, color, m, now, compact))
        .collect();
    let needs: Vec<u16> = texts.iter().map(|l| l.len() as u16).collect();
    let ranks: Vec<u8> = metrics.iter().map(|&m| rank(state, color, m)).collect();
    let picked = app.chart().and_then(|id| state.metric_index(id));
    let rows = allocate_rows(inner.height, &needs, &ranks, picked);
    let rects = Layout::vertical(rows.iter().map(|&n| Constraint::Length(n))).split(inner);
    for (((metric, rect), n), lines) in metrics.into_iter().zip(rects.iter()).zip(rows).zip(texts) {
        if n > 0 {
            render_metric(
                frame,
                *rect,
                state,
                app,
                color,
                now,
                MetricRow { metric, lines },
            );
        }
    }
}

/// One of the config's metrics, with its place in the config's order
/// (where its readings, history and last value are).
#[derive(Clone, Copy)]
struct Metric<'a> {
    index: usize,
    spec: &'a MetricSpec,
    /// The panel's label column.
    label_width: usize,
}

/// How much a metric's row matters: a breach most, then warn, no data,
/// OK (and a value shown, not judged), and a metric that is not measured
/// least.
fn rank(state: &State, color: Color, metric: Metric) -> u8 {
    match lines_kind(state, color, metric) {
        Kind::NotMeasured => 0,
        Kind::Judged(j) => 1 + j.verdict.severity(),
        // Shown, never judged: never worth a row a verdict needs.
        Kind::Unjudged(_) if !metric.spec.judged() => 1,
        Kind::Unjudged(_) => 1 + Verdict::NoData.severity(),
    }
}

/// Time left until the latest window holds only the current split, when it
/// still holds some of the old one (`Some(0)`: the window has passed but no
/// newer snapshot has come yet).
fn settling(state: &State, now: Instant) -> Option<std::time::Duration> {
    let changed = state.traffic.split_changed_at?;
    let snap = state.guard.snapshot.as_ref()?;
    let clean_from = changed + snap.window;
    (snap.at < clean_from).then(|| clean_from.saturating_duration_since(now))
}

fn title<'a>(state: &State, t: &Theme, color: Color, now: Instant) -> Line<'a> {
    let share = state
        .traffic
        .split
        .map(|s| format!("{}%", s.share(color)))
        .unwrap_or_else(|| "?%".into());
    let mut spans = vec![
        Span::styled(format!(" {} ", color.upper()), t.accent(color)),
        Span::raw(format!("{share} of traffic")),
    ];
    // Before the rate: a title too long for the panel loses its end, and
    // replicas that are not ready matter more than the rate.
    if let Some(r) = state.traffic.readiness.and_then(|r| r.get(color)) {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("{}/{} ready", r.ready, r.desired),
            count_style(state, t, color, r.ready, r.desired),
        ));
    }
    if let Some((up, all)) = state
        .guard
        .snapshot
        .as_ref()
        .and_then(|s| s.color(color).pods_up)
    {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("pods {up}/{all} up"),
            count_style(state, t, color, up, all),
        ));
    }
    if let Some(left) = settling(state, now) {
        // The window still holds traffic from before the split change:
        // its rate and verdicts are about a share this colour no longer has.
        let text = if left.is_zero() {
            " · settling".to_string()
        } else {
            format!(" · settling {}", age(left))
        };
        spans.push(Span::styled(text, t.warn));
    }
    if let Some(snap) = &state.guard.snapshot {
        let r = snap.color(color);
        if let Some(rps) = r.rps
            && settling(state, now).is_none()
        {
            // The rate is an average over the window, so it lags a split
            // change; say over what it was measured.
            spans.push(Span::raw(format!(
                " · {rps:.1} rps over {}",
                crate::format::age(snap.window)
            )));
        }
        if let Some(silent) = source_silent(state, now) {
            // The query source did not answer: that says nothing of the
            // pods, so neither panel claims they are DOWN.
            spans.push(Span::raw(" · "));
            spans.push(Span::styled(
                format!("{} NOT ANSWERING {silent}", state.source.kind),
                t.warn,
            ));
            spans.push(Span::styled(" (pods unknown, not down)", t.dim));
        } else if !r.up {
            spans.push(Span::raw(" · "));
            spans.push(Span::styled("DOWN", t.breach));
        }
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// How long a query source (Prometheus) has not answered, when its latest
/// poll got no answer at all for either colour (a timeout or a refused
/// connection on every query): since its last answered value. A scrape
/// target that does not answer is a pod that is down; a Prometheus that
/// does not answer is not.
pub(super) fn source_silent(state: &State, now: Instant) -> Option<String> {
    if !state.source.queries {
        return None;
    }
    let snap = state.guard.snapshot.as_ref()?;
    let unanswered = |c: Color| {
        let r = snap.color(c);
        !r.up
            && r.metrics.iter().all(|m| {
                matches!(
                    m,
                    Reading::NoData(
                        NoData::Timeout(_) | NoData::Unreachable(_) | NoData::NotConfigured
                    )
                )
            })
    };
    if !Color::BOTH.iter().all(|&c| unanswered(c)) {
        return None;
    }
    let last = state
        .guard
        .last_values
        .iter()
        .flatten()
        .flatten()
        .map(|v| v.at)
        .max();
    Some(match last {
        Some(at) => format!("for {}", age(now.saturating_duration_since(at))),
        None => "since the start".into(),
    })
}

/// None of a colour's replicas or pods: a breach when the colour is sent
/// traffic (or the split is unknown), a warning when it is idle; some
/// missing: a warning.
fn count_style(state: &State, t: &Theme, color: Color, n: u32, of: u32) -> Style {
    let serves = state.traffic.split.is_none_or(|s| s.share(color) > 0);
    match n {
        0 if serves => t.breach,
        0 => t.warn,
        _ if n < of => t.warn,
        _ => Style::default(),
    }
}

/// One metric's text lines, ready to draw above its chart.
struct MetricRow<'a> {
    metric: Metric<'a>,
    lines: Vec<Line<'a>>,
}

fn render_metric(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    app: &App,
    color: Color,
    now: Instant,
    row: MetricRow<'_>,
) {
    let t = app.theme();
    let MetricRow { metric, lines } = row;
    let text_rows = (lines.len() as u16).min(area.height);
    let chart_rows = area.height - text_rows;
    let measured = !matches!(lines_kind(state, color, metric), Kind::NotMeasured);
    let [text_area, chart_area] = Layout::vertical([
        Constraint::Length(text_rows),
        Constraint::Length(chart_rows),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines), text_area);
    if measured && chart_rows >= MIN_CHART_ROWS && area.width >= MIN_CHART_COLS {
        history_chart::render(frame, chart_area, state, t, color, metric.index, now);
    }
}

enum Kind<'a> {
    NotMeasured,
    Judged(&'a Judgement),
    /// No judgement: before the first snapshot, or a reading not judged.
    Unjudged(Option<&'a Reading>),
}

fn lines_kind<'a>(state: &'a State, color: Color, metric: Metric) -> Kind<'a> {
    if let Some(j) = state.guard.judgement(color, &metric.spec.id) {
        return Kind::Judged(j);
    }
    match &state.guard.snapshot {
        Some(s) => {
            let r = s.color(color).at(metric.index);
            if r.is_configured() {
                Kind::Unjudged(Some(r))
            } else {
                Kind::NotMeasured
            }
        }
        None => Kind::Unjudged(None),
    }
}

fn label(metric: Metric, t: &Theme, compact: bool) -> Span<'static> {
    let text = if compact {
        format!(" {} ", metric.spec.label)
    } else {
        let w = metric.label_width;
        let text: String = if metric.spec.label.chars().count() >= w {
            let cut: String = metric.spec.label.chars().take(w - 2).collect();
            format!("{cut}…")
        } else {
            metric.spec.label.clone()
        };
        format!(" {text:<w$}")
    };
    Span::styled(text, t.label)
}

/// A value, padded into its column unless the panel is compact.
fn value_text(metric: Metric, v: f64, compact: bool) -> String {
    if compact {
        metric.spec.format(v)
    } else {
        format!("{:<9}", metric.spec.format(v))
    }
}

fn verdict_span(v: Verdict, t: &Theme) -> Span<'static> {
    Span::styled(format!("{} {}", v.symbol(), v.word()), t.verdict(v))
}

/// What every line of a panel's metric rows is drawn with.
struct Rows<'a, 't> {
    state: &'a State,
    t: &'t Theme,
    color: Color,
    now: Instant,
    compact: bool,
    /// The indent of the lines under a label.
    pad: String,
}

fn metric_lines<'a>(
    state: &'a State,
    t: &Theme,
    color: Color,
    metric: Metric<'a>,
    now: Instant,
    compact: bool,
) -> Vec<Line<'a>> {
    let pad = if compact {
        "  ".to_string()
    } else {
        " ".repeat(metric.label_width + 1)
    };
    let r = Rows {
        state,
        t,
        color,
        now,
        compact,
        pad,
    };
    match lines_kind(state, color, metric) {
        Kind::NotMeasured => vec![Line::from(vec![
            label(metric, t, compact),
            Span::styled("not measured", t.dim),
        ])],
        Kind::Judged(j) => judged_lines(&r, metric, j),
        // Shown, never judged (`guard = false`): the value, no verdict.
        Kind::Unjudged(Some(Reading::Value(v))) if !metric.spec.judged() && v.is_finite() => {
            vec![Line::from(vec![
                label(metric, t, compact),
                Span::styled(value_text(metric, *v, compact), t.label),
                Span::styled("  not judged", t.dim),
            ])]
        }
        Kind::Unjudged(reading) => {
            let first = match reading {
                None => Line::from(vec![
                    label(metric, t, compact),
                    verdict_span(Verdict::NoData, t),
                    Span::styled("  no data yet", t.no_data),
                ]),
                Some(Reading::NoData(why)) => no_data_line(metric, t, compact, Some(why)),
                Some(r @ Reading::Value(_)) => match r.value() {
                    Some(v) => Line::from(vec![
                        label(metric, t, compact),
                        Span::styled(value_text(metric, v, compact), t.label),
                        Span::raw(" "),
                        verdict_span(Verdict::NoData, t),
                        Span::styled("  not judged", t.no_data),
                    ]),
                    None => no_data_line(
                        metric,
                        t,
                        compact,
                        Some(&NoData::Other("value is NaN or infinite".into())),
                    ),
                },
            };
            vec![first, last_value_line(state, t, color, metric, now, &r.pad)]
        }
    }
}

/// The value with its verdict (or why there is none), then each check.
fn judged_lines<'a>(r: &Rows<'a, '_>, metric: Metric, j: &Judgement) -> Vec<Line<'a>> {
    let (t, compact) = (r.t, r.compact);
    let mut lines = Vec::new();
    match j.value {
        Some(v) => {
            let mut spans = vec![
                label(metric, t, compact),
                Span::styled(value_text(metric, v, compact), t.label),
                Span::raw(" "),
                verdict_span(j.verdict, t),
            ];
            if r.color == Color::Green
                && let Some(d) = delta(r.state, metric, v)
            {
                spans.push(Span::styled(format!("  Δ {d} vs blue"), t.dim));
            }
            lines.push(Line::from(spans));
        }
        None => {
            lines.push(no_data_line(metric, t, compact, j.no_data.as_ref()));
            lines.push(last_value_line(r.state, t, r.color, metric, r.now, &r.pad));
        }
    }
    for c in &j.checks {
        lines.push(Line::from(vec![
            Span::raw(r.pad.clone()),
            Span::styled(c.verdict.symbol(), t.verdict(c.verdict)),
            Span::styled(
                format!(
                    " {}  warn {}",
                    c.bound_text(metric.spec),
                    c.warn_text(metric.spec)
                ),
                t.dim,
            ),
        ]));
    }
    if r.color == Color::Green {
        lines.extend(evidence_line(r, metric));
    }
    lines
}

/// Green's evidence on a tested metric (see `evidence_line`).
fn evidence_line<'a>(r: &Rows<'a, '_>, metric: Metric) -> Option<Line<'a>> {
    let e = r
        .state
        .guard
        .evidence
        .iter()
        .find(|e| e.id == metric.spec.id)?;
    Some(super::evidence_line::line(e, r.t, &r.pad))
}

fn no_data_line<'a>(metric: Metric, t: &Theme, compact: bool, why: Option<&NoData>) -> Line<'a> {
    let why = why
        .map(|w| w.to_string())
        .unwrap_or_else(|| "no value".into());
    Line::from(vec![
        label(metric, t, compact),
        verdict_span(Verdict::NoData, t),
        Span::styled(format!("  {why}"), t.no_data),
    ])
}

fn last_value_line<'a>(
    state: &State,
    t: &Theme,
    color: Color,
    metric: Metric,
    now: Instant,
    pad: &str,
) -> Line<'a> {
    let text = match state.guard.last_value_at(color, metric.index) {
        Some(lv) => format!(
            "last {}, {} ago",
            metric.spec.format(lv.value),
            age(now.saturating_duration_since(lv.at))
        ),
        None => "no earlier value".into(),
    };
    Line::from(vec![
        Span::raw(pad.to_string()),
        Span::styled(text, t.no_data),
    ])
}

/// Green's value minus blue's, formatted, when both have a value.
fn delta(state: &State, metric: Metric, green: f64) -> Option<String> {
    let blue = state.guard.judgement(Color::Blue, &metric.spec.id)?.value?;
    Some(metric.spec.unit.format_delta(green - blue))
}
