//! The HTML report's charts, drawn by `plotters` into SVG text: green's
//! share of traffic, then one chart per metric with both colours, and
//! beside a metric with a test its evidence (log scale). Points come from
//! the journal's samples and the readings at each decision; the time axis
//! counts seconds from the first step.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::Color as _;

use super::Cutover;
use super::entry::Entry;
use super::evidence::{self, EvidenceSeries};
use super::metrics;
use crate::engine::journal::{RecordAction, RecordKind};
use crate::model::Color;

const SIZE: (u32, u32) = (760, 240);
const BLUE_LINE: RGBColor = RGBColor(31, 100, 200);
const GREEN_LINE: RGBColor = RGBColor(30, 150, 60);
const ROLLBACK: RGBColor = RGBColor(210, 40, 40);
const EVIDENCE: RGBColor = RGBColor(120, 60, 160);
const GREY: RGBColor = RGBColor(110, 110, 110);

/// A point in time (seconds from the first step) and a value, or a gap.
pub(super) type Series = Vec<(f64, Option<f64>)>;

/// A line of a chart: its name in the legend, its colour, its points.
type Line<'a> = (&'a str, RGBColor, Series);

/// Points marked with a dot each: a name, a colour, the points.
type Dots<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// Points per line at most: more than a 760-pixel chart can show, and a
/// long cutover's samples would otherwise make the page megabytes.
pub const MAX_POINTS: usize = 2000;

/// One SVG per chart: the split first, then each metric.
pub fn charts(c: &Cutover) -> Result<Vec<String>, String> {
    let shown = c.shown_entries();
    let x = |e: &Entry| seconds(c, e);
    let xs: Vec<f64> = shown.iter().filter_map(x).collect();
    let x0 = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let x1 = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !x0.is_finite() {
        return Ok(Vec::new());
    }
    // A little room after the last line, so a rollback at the very end
    // is not drawn on the frame.
    let x1 = if x1 > x0 {
        x1 + (x1 - x0) * 0.03
    } else {
        x0 + 1.0
    };
    let range = (x0, x1);
    let rollbacks: Vec<f64> = shown
        .iter()
        .filter(|e| {
            e.is(RecordKind::Intent) && e.action() == Some(RecordAction::Rollback) && !e.is_drill()
        })
        .filter_map(x)
        .collect();

    let split = split_series(shown, x);
    let mut out = vec![draw(
        "green's share of traffic (%)",
        range,
        &[(
            "green %",
            GREEN_LINE,
            steps(&downsample(&split, MAX_POINTS / 2)),
        )],
        &rollbacks,
        |v| format!("{v:.0}"),
    )?];
    let charted = metrics::charted_ids(shown);
    let mut tested = evidence::tested_ids(shown);
    let evidence_of =
        |id: &str| evidence_chart(id, &evidence::series(shown, x, id), range, &rollbacks);
    for id in &charted {
        let series = |color: Color| metric_series(shown, x, color, id);
        out.push(draw(
            &format!("{} ({id})", metrics::label(id)),
            range,
            &[
                ("blue", BLUE_LINE, series(Color::Blue)),
                ("green", GREEN_LINE, series(Color::Green)),
            ],
            &rollbacks,
            |v| metrics::format(id, v),
        )?);
        // Its evidence right after it; any other tested metric's at the end.
        if let Some(i) = tested.iter().position(|t| t == id) {
            tested.remove(i);
            out.push(evidence_of(id)?);
        }
    }
    for id in &tested {
        out.push(evidence_of(id)?);
    }
    Ok(out)
}

/// The evidence on `id` (log scale), the line it rejects at, and the
/// decisions marked on it: the steps in grey, the rollbacks in red.
fn evidence_chart(
    id: &str,
    s: &EvidenceSeries,
    range: (f64, f64),
    rollbacks: &[f64],
) -> Result<String, String> {
    let (y0, y1) = s.y_range();
    let on_axis = |v: f64| v.clamp(y0, y1);
    let points = |p: &Series| -> Series { p.iter().map(|&(t, v)| (t, v.map(on_axis))).collect() };
    let line_name = match s.one_level() {
        Some(r) => format!("rejects at 1/α = {}", evidence::label(r)),
        None => "rejects at 1/α".into(),
    };
    let marks = |rollback: bool| -> Vec<(f64, f64)> {
        let d = s.decisions.iter().filter(|d| d.2 == rollback);
        d.map(|&(t, e, _)| (t, on_axis(e))).collect()
    };
    let title = format!("evidence on {} ({id}), log scale", metrics::label(id));
    let lines = [(
        "green against blue",
        EVIDENCE,
        downsample(&points(&s.evidence), MAX_POINTS),
    )];
    let dashed = [(line_name.as_str(), GREY, points(&s.rejects_at))];
    let marks = [
        ("step", GREY, marks(false)),
        ("rollback decided", ROLLBACK, marks(true)),
    ];
    let p = Plot {
        title: &title,
        x: range,
        y: (y0, y1),
        lines: &lines,
        dashed: &dashed,
        marks: &marks,
        rollbacks,
    };
    plot(&p, (y0..y1).log_scale(), evidence::label)
}

/// Seconds from the first step to `e` (negative before it).
fn seconds(c: &Cutover, e: &Entry) -> Option<f64> {
    let t0 = c.entries[c.span.first].wall?;
    let t = e.wall?;
    Some(match t.duration_since(t0) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    })
}

/// The split: every change that landed, and the samples between.
fn split_series(shown: &[Entry], x: impl Fn(&Entry) -> Option<f64>) -> Series {
    let mut split: Series = Vec::new();
    for e in shown.iter().filter(|e| !e.is_drill()) {
        let pct = if e.landed() {
            e.to()
        } else if let Some(s) = e.record.as_ref().and_then(|r| r.sample.as_ref()) {
            s.green_pct
        } else if e.is(RecordKind::Intent) && split.is_empty() {
            // Where green stood before the first step.
            e.from()
        } else {
            None
        };
        if let (Some(t), Some(p)) = (x(e), pct) {
            split.push((t, Some(f64::from(p))));
        }
    }
    split
}

/// One colour's values of the metric `id`: the samples, and the readings
/// at each decision.
fn metric_series(
    shown: &[Entry],
    x: impl Fn(&Entry) -> Option<f64>,
    color: Color,
    id: &str,
) -> Series {
    let mut s: Series = Vec::new();
    for e in shown.iter().filter(|e| !e.is_drill()) {
        let (Some(t), Some(r)) = (x(e), &e.record) else {
            continue;
        };
        if let Some(sample) = &r.sample {
            s.push((t, sample.get(color, id)));
        } else if let Some(rd) = r
            .readings
            .iter()
            .find(|rd| rd.color == color && rd.metric == id)
            && rd.value.is_some()
        {
            s.push((t, rd.value));
        }
    }
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    downsample(&s, MAX_POINTS)
}

/// A step line: the split holds until the next change.
fn steps(points: &Series) -> Series {
    let mut out: Series = Vec::new();
    for &(t, v) in points {
        if let Some(&(_, prev)) = out.last() {
            out.push((t, prev));
        }
        out.push((t, v));
    }
    out
}

/// At most `max` points: the series cut into `max / 3` runs of points,
/// each kept as its lowest and highest value in time order, and one gap
/// when it had one. A spike or a dip survives; only the dense middle goes.
pub fn downsample(series: &Series, max: usize) -> Series {
    if series.len() <= max || max < 3 {
        return series.clone();
    }
    let size = series.len().div_ceil(max / 3);
    let mut out = Series::with_capacity(max);
    for chunk in series.chunks(size) {
        let values = || {
            chunk
                .iter()
                .filter(|p| p.1.is_some_and(f64::is_finite))
                .copied()
        };
        let lo = values().min_by(|a, b| a.1.unwrap().total_cmp(&b.1.unwrap()));
        let hi = values().max_by(|a, b| a.1.unwrap().total_cmp(&b.1.unwrap()));
        let gap = chunk.iter().find(|p| !p.1.is_some_and(f64::is_finite));
        let mut keep: Vec<(f64, Option<f64>)> =
            lo.into_iter().chain(hi).chain(gap.copied()).collect();
        keep.sort_by(|a, b| a.0.total_cmp(&b.0));
        keep.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        out.extend(keep);
    }
    out
}

/// Runs of points without a gap: a missing reading breaks the line.
fn runs(series: &Series) -> Vec<Vec<(f64, f64)>> {
    crate::model::unbroken_runs(series.iter().copied())
}

/// The y axis for `lines`: from zero when no value is negative, with a
/// little room above the highest.
fn y_range(lines: &[Line]) -> (f64, f64) {
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.2.iter().filter_map(|p| p.1))
        .filter(|v| v.is_finite())
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        (0.0, 1.0)
    } else {
        // From zero when the values are not negative: a rate or a share
        // read from a baseline of zero is not exaggerated.
        let y0 = if lo >= 0.0 { 0.0 } else { lo };
        let pad = ((hi - y0).abs() * 0.1).max(hi.abs() * 0.05).max(1e-3);
        (y0, hi + pad)
    }
}

/// One chart: what [`plot`] draws.
struct Plot<'a> {
    title: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    lines: &'a [Line<'a>],
    /// Dashed lines: a bound the values are read against.
    dashed: &'a [Line<'a>],
    /// Points marked with a dot each, no line between.
    marks: &'a [Dots<'a>],
    rollbacks: &'a [f64],
}

/// A chart of `lines` on a linear y axis from their values.
fn draw(
    title: &str,
    x: (f64, f64),
    lines: &[Line],
    rollbacks: &[f64],
    ylabel: impl Fn(f64) -> String,
) -> Result<String, String> {
    let (y0, y1) = y_range(lines);
    let p = Plot {
        title,
        x,
        y: (y0, y1),
        lines,
        dashed: &[],
        marks: &[],
        rollbacks,
    };
    plot(&p, y0..y1, ylabel)
}

/// Draws `p` with the y axis `y_axis` (linear, or a log scale) over
/// `p.y`.
fn plot<Y>(p: &Plot, y_axis: Y, ylabel: impl Fn(f64) -> String) -> Result<String, String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let Plot {
        title,
        x: (x0, x1),
        y: (y0, y1),
        lines,
        rollbacks,
        ..
    } = *p;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| format!("chart {title}: {e}");
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y_axis)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .x_desc("seconds from the first step")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| ylabel(*v))
            .draw()
            .map_err(|x| e(&x))?;
        draw_lines(&mut chart, lines, false).map_err(|x| e(&x))?;
        draw_lines(&mut chart, p.dashed, true).map_err(|x| e(&x))?;
        for (name, color, points) in p.marks.iter().filter(|m| !m.2.is_empty()) {
            let color = *color;
            chart
                .draw_series(points.iter().map(|&pt| Circle::new(pt, 4, color.filled())))
                .map_err(|x| e(&x))?
                .label(*name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        for &t in rollbacks {
            chart
                .draw_series(LineSeries::new(
                    vec![(t, y0), (t, y1)],
                    ROLLBACK.stroke_width(1),
                ))
                .map_err(|x| e(&x))?
                .label("rollback")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], ROLLBACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    // Inline in HTML an SVG needs no namespace; dropping it leaves the page
    // without a single URL.
    Ok(svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", ""))
}

/// `lines` onto `chart`, solid or dashed, each named once in the legend
/// however many runs its gaps cut it into.
fn draw_lines<Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<SVGBackend, Cartesian2d<RangedCoordf64, Y>>,
    lines: &[Line],
    dashed: bool,
) -> Result<(), String> {
    for &(name, color, ref series) in lines {
        let style = color.stroke_width(if dashed { 1 } else { 2 });
        for (i, run) in runs(series).into_iter().enumerate() {
            let drawn = if dashed {
                chart.draw_series(DashedLineSeries::new(run, 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(run, style))
            }
            .map_err(|x| x.to_string())?;
            if i == 0 {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_hold_until_the_next_change_and_gaps_break_lines() {
        let s = steps(&vec![(0.0, Some(0.0)), (5.0, Some(10.0))]);
        assert_eq!(
            s,
            vec![(0.0, Some(0.0)), (5.0, Some(0.0)), (5.0, Some(10.0))]
        );
        let r = runs(&vec![
            (0.0, Some(1.0)),
            (1.0, None),
            (2.0, Some(2.0)),
            (3.0, Some(3.0)),
        ]);
        assert_eq!(r, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
    }

    #[test]
    fn long_series_are_cut_to_what_a_chart_shows_keeping_spikes_and_gaps() {
        let mut s: Series = (0..100_000).map(|i| (f64::from(i), Some(1.0))).collect();
        s[50_000].1 = Some(99.0);
        s[70_000].1 = None;
        let d = downsample(&s, MAX_POINTS);
        assert!(d.len() <= MAX_POINTS, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == Some(99.0)), "the spike");
        assert!(d.iter().any(|p| p.1.is_none()), "the gap");
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
        assert_eq!(downsample(&s[..10].to_vec(), MAX_POINTS), s[..10].to_vec());
    }

    #[test]
    fn a_chart_is_svg_without_urls() {
        let svg = draw(
            "p99",
            (0.0, 10.0),
            &[("blue", BLUE_LINE, vec![(0.0, Some(1.0)), (10.0, Some(2.0))])],
            &[5.0],
            |v| format!("{v}"),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(!svg.contains("http"), "{svg}");
        assert!(svg.contains("rollback"));
    }
}
