//! Running counts from CloudWatch's minutes, for the tests of green against
//! blue. CloudWatch keeps no counter that only grows: it answers each poll
//! with the sums of the minutes in its window, and consecutive windows
//! overlap. The book adds each minute once, the first time a poll's window
//! holds it, so that the difference between two polls' totals is the
//! minutes that ended between them: the non-overlapping increments the
//! tests need (`stats::tally`).
//!
//! A minute is taken once its period lies `delay` in the past (the span
//! ends there); a datapoint CloudWatch revises after that is not seen
//! again, which is what `[source.cloudwatch] delay` is for. A failed poll
//! takes nothing; the next one takes every minute since, back to the start
//! of its window. Pure.

use std::collections::HashMap;

use super::query::{Points, Span, epoch, part_ids};
use crate::metricspec::{CloudWatch, MetricSpec};
use crate::model::{Color, Tally};

/// The running sums of every ratio's two parts, per colour.
#[derive(Debug, Default)]
pub struct TallyBook {
    /// The end of the last span taken (seconds since the epoch): minutes
    /// from here on are new.
    taken_to: Option<u64>,
    /// A query id's running sum.
    totals: HashMap<String, f64>,
}

impl TallyBook {
    /// Takes the minutes of `span` not taken before from `values` (one
    /// successful poll's datapoints), for every ratio of `specs`.
    pub fn take(&mut self, specs: &[MetricSpec], span: Span, values: &HashMap<String, Points>) {
        let end = epoch(span.end);
        if self.taken_to.is_some_and(|t| end <= t) {
            return;
        }
        let from = self.taken_to.unwrap_or(0);
        for color in Color::BOTH {
            for (i, _, sides) in ratios(specs) {
                for key in sides
                    .iter()
                    .flat_map(|(side, names)| part_ids(color, i, *side, names))
                {
                    let new: f64 = values
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .filter(|(t, _)| *t >= from && *t < end)
                        .map(|(_, v)| v)
                        .sum();
                    *self.totals.entry(key).or_default() += new;
                }
            }
        }
        self.taken_to = Some(end);
    }

    /// `color`'s running tallies in the order of `specs`: a share's events
    /// over its requests, a mean's sum (in the metric's unit) over its
    /// count; none before the first poll that answered, and none for what
    /// is not a ratio.
    pub fn tallies(&self, specs: &[MetricSpec], color: Color) -> Vec<Option<Tally>> {
        let mut out = vec![None; specs.len()];
        if self.taken_to.is_none() {
            return out;
        }
        for (i, cw, [numerator, denominator]) in ratios(specs) {
            let total = |(side, names): (char, &[String])| -> f64 {
                part_ids(color, i, side, names)
                    .iter()
                    .map(|k| self.totals.get(k).copied().unwrap_or(0.0))
                    .sum()
            };
            let (n, d) = (total(numerator), total(denominator));
            out[i] = Some(if cw.is_mean() {
                Tally::Moments {
                    count: d,
                    sum: specs[i].shown(n, cw.unit()),
                }
            } else {
                Tally::Counts {
                    requests: d,
                    events: n,
                }
            });
        }
        out
    }
}

/// A ratio's two sides, each with the letter of its query ids (`n`, `d`)
/// and the metrics it adds.
type Sides<'a> = [(char, &'a [String]); 2];

/// The ratios of `specs`, with their places and sides.
fn ratios(specs: &[MetricSpec]) -> impl Iterator<Item = (usize, &CloudWatch, Sides<'_>)> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.compute.cloudwatch {
            Some(
                cw @ CloudWatch::Ratio {
                    numerator,
                    denominator,
                    ..
                },
            ) => Some((i, cw, [('n', &numerator[..]), ('d', &denominator[..])])),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::metrics::cloudwatch::query::id;
    use crate::metricspec::preset;

    /// The span of the 5 minutes that end at minute `m`.
    fn span(m: u64) -> Span {
        Span {
            start: UNIX_EPOCH + Duration::from_secs((m - 5) * 60),
            end: UNIX_EPOCH + Duration::from_secs(m * 60),
        }
    }

    /// Green's errors and invocations of each minute in `minutes`, as one
    /// poll's answer holds them (newest first).
    fn answer(i: usize, minutes: &[(u64, f64, f64)]) -> HashMap<String, Points> {
        let mut v = HashMap::new();
        let points = |f: fn(&(u64, f64, f64)) -> f64| {
            minutes
                .iter()
                .rev()
                .map(|p| (p.0 * 60, f(p)))
                .collect::<Points>()
        };
        v.insert(id(Color::Green, i, "n"), points(|p| p.1));
        v.insert(id(Color::Green, i, "d"), points(|p| p.2));
        v
    }

    /// A share's running tally.
    fn counts(requests: f64, events: f64) -> Option<Tally> {
        Some(Tally::Counts { requests, events })
    }

    fn error_rate(specs: &[MetricSpec]) -> usize {
        specs.iter().position(|s| s.id == "error_rate").unwrap()
    }

    #[test]
    fn each_minute_counts_once_across_overlapping_windows() {
        let specs = preset::specs("lambda", 0).unwrap();
        let i = error_rate(&specs);
        let mut book = TallyBook::default();
        assert_eq!(book.tallies(&specs, Color::Green)[i], None, "no poll yet");
        // Minutes 95..100, then 96..101: minute 100 is the only new one.
        let first: Vec<_> = (95..100).map(|m| (m, 1.0, 100.0)).collect();
        book.take(&specs, span(100), &answer(i, &first));
        let green = |b: &TallyBook| b.tallies(&specs, Color::Green)[i].clone();
        assert_eq!(green(&book), counts(500.0, 5.0));
        let second: Vec<_> = (96..101)
            .map(|m| (m, if m == 100 { 7.0 } else { 1.0 }, 100.0))
            .collect();
        book.take(&specs, span(101), &answer(i, &second));
        assert_eq!(green(&book), counts(600.0, 12.0));
        // A poll within the same minute takes nothing again.
        book.take(&specs, span(101), &answer(i, &second));
        assert_eq!(green(&book), counts(600.0, 12.0));
        // Blue had no datapoint: zero counts, not none.
        assert_eq!(book.tallies(&specs, Color::Blue)[i], counts(0.0, 0.0));
    }

    #[test]
    fn after_failed_polls_the_missed_minutes_in_the_window_are_taken() {
        let specs = preset::specs("lambda", 0).unwrap();
        let i = error_rate(&specs);
        let mut book = TallyBook::default();
        let window = |end: u64| -> Vec<_> { (end - 5..end).map(|m| (m, 1.0, 10.0)).collect() };
        book.take(&specs, span(100), &answer(i, &window(100)));
        // Polls at 101 and 102 failed; 103's window holds 98..103.
        book.take(&specs, span(103), &answer(i, &window(103)));
        assert_eq!(
            book.tallies(&specs, Color::Green)[i],
            counts(80.0, 8.0),
            "95..100 then 100, 101 and 102"
        );
    }

    #[test]
    fn a_duration_over_invocations_is_a_mean_in_the_metrics_unit() {
        let mut specs = preset::specs("lambda", 0).unwrap();
        let i = error_rate(&specs);
        // Duration (ms) summed over invocations, shown in seconds.
        specs[i].unit = crate::metricspec::Unit::Seconds;
        specs[i].compute.cloudwatch = Some(CloudWatch::Ratio {
            namespace: None,
            numerator: vec!["Duration".into()],
            denominator: vec!["Invocations".into()],
            unit: crate::metricspec::Unit::Millis,
        });
        let mut book = TallyBook::default();
        book.take(&specs, span(100), &answer(i, &[(99, 5000.0, 10.0)]));
        assert_eq!(
            book.tallies(&specs, Color::Green)[i],
            Some(Tally::Moments {
                count: 10.0,
                sum: 5.0
            })
        );
    }

    #[test]
    fn a_numerator_of_several_metrics_adds_their_minutes() {
        let mut specs = preset::specs("sagemaker", 0).unwrap();
        let i = error_rate(&specs);
        specs[i].compute.cloudwatch = Some(CloudWatch::Ratio {
            namespace: None,
            numerator: vec!["Invocation4XXErrors".into(), "Invocation5XXErrors".into()],
            denominator: vec!["Invocations".into()],
            unit: crate::metricspec::Unit::Ratio,
        });
        let mut values = answer(i, &[(99, 2.0, 100.0)]);
        values.insert(id(Color::Green, i, "n1"), vec![(99 * 60, 3.0)]);
        let mut book = TallyBook::default();
        book.take(&specs, span(100), &values);
        assert_eq!(book.tallies(&specs, Color::Green)[i], counts(100.0, 5.0));
    }
}
