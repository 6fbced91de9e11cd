//! A metric's recent history as a line chart, x = time before now with
//! time labels, y fitted to the data, and the breach and warn levels drawn
//! as horizontal lines when they fall on the axis.

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};

use crate::engine::State;
use crate::engine::guardrail::CheckKind;
use crate::engine::state::HistoryPoint;
use crate::metricspec::{Better, MetricSpec};
use crate::model::Color;

use super::super::theme::Theme;
use crate::format::age;

/// The shortest time span drawn, so a young history is not stretched.
const MIN_SPAN_SECS: f64 = 60.0;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    t: &Theme,
    color: Color,
    metric: usize,
    now: Instant,
) {
    let Some(spec) = state.metrics.get(metric) else {
        return;
    };
    let series = state.guard.history.series(color, metric);
    let span = series
        .front()
        .map(|p| now.saturating_duration_since(p.at).as_secs_f64())
        .unwrap_or(0.0)
        .max(MIN_SPAN_SECS);

    let runs = runs_of(series, now);

    // The axis fits the data; a warn or breach level far from it is left
    // off (its bound is written beside the value) rather than squashing
    // the data into a flat line at one edge.
    let ys: Vec<f64> = runs.iter().flatten().map(|p| p.1).collect();
    let (lo, hi) = y_bounds(&ys, spec);
    let on_axis = |y: f64| (lo..=hi).contains(&y);
    let (warn, breach) = levels(state, color, spec);
    let (warn, breach) = (warn.filter(|y| on_axis(*y)), breach.filter(|y| on_axis(*y)));

    let line = |y: f64| vec![(-span, y), (0.0, y)];
    let warn_line = warn.map(line);
    let breach_line = breach.map(line);

    let levels = [(&warn_line, t.warn), (&breach_line, t.breach)];
    let mut datasets: Vec<Dataset> = levels
        .into_iter()
        .filter_map(|(data, style)| Some(dataset(data.as_ref()?, GraphType::Line, style)))
        .collect();
    for r in &runs {
        // A lone point is drawn as a point; a line needs two.
        let kind = if r.len() > 1 {
            GraphType::Line
        } else {
            GraphType::Scatter
        };
        datasets.push(dataset(r, kind, t.accent(color)));
    }

    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([-span, 0.0])
                .style(t.dim)
                .labels(x_labels(span)),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .style(t.dim)
                .labels([Span::raw(spec.format(lo)), Span::raw(spec.format(hi))]),
        );
    frame.render_widget(chart, area);
}

/// Contiguous runs of values, x in seconds before now; a poll with no
/// data breaks the line.
fn runs_of<'a>(
    series: impl IntoIterator<Item = &'a HistoryPoint>,
    now: Instant,
) -> Vec<Vec<(f64, f64)>> {
    crate::model::unbroken_runs(
        series
            .into_iter()
            .map(|p| (-now.saturating_duration_since(p.at).as_secs_f64(), p.value)),
    )
}

/// One drawn series in braille.
fn dataset(data: &[(f64, f64)], kind: GraphType, style: Style) -> Dataset<'_> {
    Dataset::default()
        .data(data)
        .graph_type(kind)
        .marker(Marker::Braille)
        .style(style)
}

/// Time labels for an x axis `span_secs` long, ending now.
fn x_labels(span_secs: f64) -> [Span<'static>; 3] {
    let ago = |secs: f64| format!("-{}", age(Duration::from_secs_f64(secs)));
    [
        Span::raw(ago(span_secs)),
        Span::raw(ago(span_secs / 2.0)),
        Span::raw("now"),
    ]
}

/// The tightest warn and breach levels for this colour's metric: absolute
/// levels as they are, comparisons with blue placed at blue's current value.
fn levels(state: &State, color: Color, spec: &MetricSpec) -> (Option<f64>, Option<f64>) {
    let Some(j) = state.guard.judgement(color, &spec.id) else {
        return (None, None);
    };
    let blue = state
        .guard
        .judgement(Color::Blue, &spec.id)
        .and_then(|b| b.value);
    let worse = spec.higher_is_worse();
    let place = |kind: CheckKind, level: f64| -> Option<f64> {
        match kind {
            CheckKind::Absolute => Some(level),
            CheckKind::VsBlue if worse => blue.map(|b| b + level),
            CheckKind::VsBlue => blue.map(|b| b - level),
        }
    };
    let tightest = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(if worse { a.min(b) } else { a.max(b) }),
        (a, b) => a.or(b),
    };
    let mut warn = None;
    let mut breach = None;
    for c in &j.checks {
        warn = tightest(warn, place(c.kind, c.levels.warn));
        breach = tightest(breach, place(c.kind, c.levels.breach));
    }
    (warn, breach)
}

/// The axis around the data; it stops at zero for a lower-is-better
/// metric (a latency or a rate is never negative, and its bad side is up).
fn y_bounds(ys: &[f64], spec: &MetricSpec) -> (f64, f64) {
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let range = (hi - lo).max(hi.abs() * 0.1).max(1e-3);
    let mut lo = lo - range * 0.05;
    let hi = hi + range * 0.05;
    if spec.better == Better::Lower {
        lo = lo.max(0.0);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_fits_the_data_not_the_thresholds() {
        let p99 = &crate::config::default_specs()[0];
        let (lo, hi) = y_bounds(&[410.0, 430.0, 450.0], p99);
        assert!(lo > 390.0 && hi < 470.0, "{lo}..{hi}");
        assert_eq!(y_bounds(&[], p99), (0.0, 1.0));
    }

    #[test]
    fn x_labels_say_how_long_ago() {
        let l = x_labels(120.0);
        assert_eq!(l[0].content, "-2m00s");
        assert_eq!(l[1].content, "-1m00s");
        assert_eq!(l[2].content, "now");
    }
}
