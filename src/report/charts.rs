//! The HTML report's charts, drawn by `plotters` into SVG text: green's
//! share of traffic, then one chart per metric with both colours. Points
//! come from the journal's samples and the readings at each decision; the
//! time axis counts seconds from the first step.

use plotters::prelude::*;
use plotters::style::Color as _;

use super::Cutover;
use super::entry::Entry;
use super::metrics;
use crate::engine::journal::{RecordAction, RecordKind};
use crate::model::Color;

const SIZE: (u32, u32) = (760, 240);
const BLUE_LINE: RGBColor = RGBColor(31, 100, 200);
const GREEN_LINE: RGBColor = RGBColor(30, 150, 60);
const ROLLBACK: RGBColor = RGBColor(210, 40, 40);

/// A point in time (seconds from the first step) and a value, or a gap.
type Series = Vec<(f64, Option<f64>)>;

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
    for id in metrics::charted_ids(shown) {
        let series = |color: Color| metric_series(shown, x, color, &id);
        out.push(draw(
            &format!("{} ({id})", metrics::label(&id)),
            range,
            &[
                ("blue", BLUE_LINE, series(Color::Blue)),
                ("green", GREEN_LINE, series(Color::Green)),
            ],
            &rollbacks,
            |v| metrics::format(&id, v),
        )?);
    }
    Ok(out)
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
fn y_range(lines: &[(&str, RGBColor, Series)]) -> (f64, f64) {
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

fn draw(
    title: &str,
    (x0, x1): (f64, f64),
    lines: &[(&str, RGBColor, Series)],
    rollbacks: &[f64],
    ylabel: impl Fn(f64) -> String,
) -> Result<String, String> {
    let (y0, y1) = y_range(lines);
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
            .build_cartesian_2d(x0..x1, y0..y1)
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
        for &(name, color, ref series) in lines {
            let mut labelled = false;
            for run in runs(series) {
                let drawn = chart
                    .draw_series(LineSeries::new(run, color.stroke_width(2)))
                    .map_err(|x| e(&x))?;
                if !labelled {
                    drawn.label(name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                    labelled = true;
                }
            }
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
