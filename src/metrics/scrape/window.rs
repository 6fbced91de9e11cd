//! Per-colour history of cumulative totals, and the deltas between the
//! current poll and the start of the window. Counters only make sense as
//! differences, so this is where baselines and resets are decided.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::histogram::{self, Bucket};
use super::watch::PodTotals;

/// Upper bound on kept polls, so a very short interval with a long window
/// cannot grow memory without end. Dropping the oldest only shortens the
/// span, and the span is reported with every snapshot.
const MAX_ENTRIES: usize = 512;

#[derive(Debug, Clone)]
struct Entry {
    at: Instant,
    pods: Vec<PodTotals>,
}

/// Differences between the start of the window and now, in the order of
/// the watch's lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Deltas {
    /// How much time the differences cover.
    pub span: Duration,
    /// Bucket deltas summed over pods, sorted by `le`; `None` when no pod
    /// has the histogram.
    pub histograms: Vec<Option<Vec<Bucket>>>,
    pub counters: Vec<CounterDelta>,
}

/// One counter's increase over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterDelta {
    /// Summed over pods; `None` when no pod has the counter.
    pub total: Option<f64>,
    /// Each pod's, in target order (`None`: that pod has no counter).
    pub pods: Vec<Option<f64>>,
}

/// What a new poll means for the rates.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The first poll (or the first after a failure): nothing to compare.
    Baseline,
    /// A cumulative value went backwards; the history starts again here.
    CounterReset,
    Delta(Deltas),
}

/// The history of one colour.
#[derive(Debug, Clone)]
pub struct Window {
    span: Duration,
    history: VecDeque<Entry>,
}

impl Window {
    pub fn new(span: Duration) -> Self {
        Window {
            span,
            history: VecDeque::new(),
        }
    }

    /// Forgets everything: after a failed target the pod set of the next
    /// poll may differ, and a missing pod would corrupt the sums.
    pub fn clear(&mut self) {
        self.history.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// The totals of the latest poll, per pod.
    pub fn latest(&self) -> &[PodTotals] {
        self.history.back().map_or(&[], |e| e.pods.as_slice())
    }

    /// Records a poll taken at `at` and compares it with the oldest kept poll
    /// within the window of `at`, or with the previous poll when that is
    /// older (the rate always covers at least one interval).
    pub fn record(&mut self, at: Instant, pods: Vec<PodTotals>) -> Progress {
        let Some(prev) = self.history.back() else {
            self.history.push_back(Entry { at, pods });
            return Progress::Baseline;
        };
        // Checked pod by pod: one pod restarting while another grows could
        // leave the sum rising and the delta silently wrong.
        let reset = prev.pods.len() != pods.len()
            || pods.iter().zip(&prev.pods).any(|(n, p)| went_down(n, p));
        if reset {
            self.history.clear();
            self.history.push_back(Entry { at, pods });
            return Progress::CounterReset;
        }
        self.history.push_back(Entry { at, pods });

        let last = self.history.len() - 1;
        let base = (0..last)
            .find(|&i| at.saturating_duration_since(self.history[i].at) <= self.span)
            .unwrap_or(last - 1)
            .max(self.history.len().saturating_sub(MAX_ENTRIES));
        self.history.drain(..base);
        let (base, now) = (&self.history[0], &self.history[self.history.len() - 1]);
        Progress::Delta(deltas(base, now))
    }
}

/// True when any cumulative value of one pod is lower than before.
fn went_down(now: &PodTotals, prev: &PodTotals) -> bool {
    let counters = now
        .counters
        .iter()
        .zip(&prev.counters)
        .any(|pair| match pair {
            (Some(n), Some(p)) => n < p,
            (None, Some(p)) => *p > 0.0,
            _ => false,
        });
    let histograms = now
        .histograms
        .iter()
        .zip(&prev.histograms)
        .any(|pair| match pair {
            (Some(n), Some(p)) => histogram::went_down(n, p),
            (None, Some(p)) => p.iter().any(|b| b.count > 0.0),
            _ => false,
        });
    counters || histograms
}

fn deltas(base: &Entry, now: &Entry) -> Deltas {
    let shape = now
        .pods
        .first()
        .map_or((0, 0), |p| (p.histograms.len(), p.counters.len()));
    let histograms = (0..shape.0)
        .map(|i| {
            now.pods.iter().any(|p| p.histograms[i].is_some()).then(|| {
                let sum = |e: &Entry| {
                    histogram::merge(
                        e.pods
                            .iter()
                            .flat_map(|p| p.histograms[i].iter().flatten().copied()),
                    )
                };
                histogram::delta(&sum(now), &sum(base))
            })
        })
        .collect();
    let counters = (0..shape.1)
        .map(|i| {
            // A series that appears during the window counted from zero.
            let pods: Vec<Option<f64>> = now
                .pods
                .iter()
                .zip(&base.pods)
                .map(|(n, b)| n.counters[i].map(|v| v - b.counters[i].unwrap_or(0.0)))
                .collect();
            let total = pods.iter().flatten().copied().reduce(|a, b| a + b);
            CounterDelta { total, pods }
        })
        .collect();
    Deltas {
        span: now.at.saturating_duration_since(base.at),
        histograms,
        counters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One histogram; counter 0 the requests, counter 1 the errors.
    fn pod(requests: f64, errors: f64, fast: f64) -> PodTotals {
        PodTotals {
            sums: vec![None],
            histograms: vec![Some(vec![
                Bucket::new(0.1, fast),
                Bucket::new(f64::INFINITY, requests),
            ])],
            counters: vec![Some(requests), Some(errors)],
            gauges: vec![None],
        }
    }

    fn requests(d: &Deltas) -> Option<f64> {
        d.counters[0].total
    }

    /// A window of `span` seconds whose first poll, at the returned
    /// instant, saw `pods`.
    fn opened(span: u64, pods: Vec<PodTotals>) -> (Window, Instant) {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(span));
        assert_eq!(w.record(t0, pods), Progress::Baseline);
        (w, t0)
    }

    fn delta(p: Progress) -> Deltas {
        match p {
            Progress::Delta(d) => d,
            other => panic!("expected deltas, got {other:?}"),
        }
    }

    #[test]
    fn baseline_then_deltas_summed_over_pods() {
        let (mut w, t0) = opened(30, vec![pod(100.0, 1.0, 90.0), pod(50.0, 0.0, 50.0)]);
        let t1 = t0 + Duration::from_secs(5);
        let d = delta(w.record(t1, vec![pod(200.0, 3.0, 180.0), pod(150.0, 10.0, 120.0)]));
        assert_eq!(d.span, Duration::from_secs(5));
        assert_eq!(requests(&d), Some(200.0));
        assert_eq!(d.counters[1].total, Some(12.0));
        assert_eq!(d.counters[0].pods, vec![Some(100.0), Some(100.0)]);
        assert_eq!(
            d.histograms[0],
            Some(vec![
                Bucket::new(0.1, 160.0),
                Bucket::new(f64::INFINITY, 200.0)
            ])
        );
    }

    #[test]
    fn base_is_the_oldest_poll_within_the_window() {
        let s = Duration::from_secs;
        let (mut w, t0) = opened(10, vec![pod(0.0, 0.0, 0.0)]);
        w.record(t0 + s(5), vec![pod(10.0, 0.0, 0.0)]);
        w.record(t0 + s(10), vec![pod(20.0, 0.0, 0.0)]);
        let d = delta(w.record(t0 + s(15), vec![pod(30.0, 0.0, 0.0)]));
        // t0 is 15 s old, outside the 10 s window; t0+5 is exactly 10 s old.
        assert_eq!(d.span, s(10));
        assert_eq!(requests(&d), Some(20.0));
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn previous_poll_is_used_when_older_than_the_window() {
        let (mut w, t0) = opened(1, vec![pod(0.0, 0.0, 0.0)]);
        let d = delta(w.record(t0 + Duration::from_secs(5), vec![pod(10.0, 0.0, 0.0)]));
        assert_eq!(d.span, Duration::from_secs(5));
        assert_eq!(requests(&d), Some(10.0));
    }

    #[test]
    fn one_pod_restarting_is_a_reset_even_if_the_sum_grows() {
        let (mut w, t0) = opened(30, vec![pod(100.0, 0.0, 0.0), pod(100.0, 0.0, 0.0)]);
        let p = w.record(
            t0 + Duration::from_secs(5),
            vec![pod(5.0, 0.0, 0.0), pod(1000.0, 0.0, 0.0)],
        );
        assert_eq!(p, Progress::CounterReset);
        assert_eq!(w.len(), 1);
        // The next poll compares with the reset poll.
        let d = delta(w.record(
            t0 + Duration::from_secs(10),
            vec![pod(15.0, 0.0, 0.0), pod(1010.0, 0.0, 0.0)],
        ));
        assert_eq!(requests(&d), Some(20.0));
    }

    #[test]
    fn errors_or_buckets_going_down_are_resets() {
        let s = Duration::from_secs;
        let (mut w, t0) = opened(30, vec![pod(100.0, 5.0, 50.0)]);
        assert_eq!(
            w.record(t0 + s(1), vec![pod(100.0, 4.0, 50.0)]),
            Progress::CounterReset
        );
        assert_eq!(
            w.record(t0 + s(2), vec![pod(100.0, 4.0, 40.0)]),
            Progress::CounterReset
        );
        let mut gone = pod(100.0, 4.0, 40.0);
        gone.histograms[0] = None;
        assert_eq!(w.record(t0 + s(3), vec![gone]), Progress::CounterReset);
    }

    #[test]
    fn series_appearing_count_from_zero() {
        let empty = PodTotals {
            sums: vec![None],
            histograms: vec![None],
            counters: vec![None, None],
            gauges: vec![None],
        };
        let (mut w, t0) = opened(30, vec![empty]);
        let d = delta(w.record(t0 + Duration::from_secs(2), vec![pod(8.0, 2.0, 4.0)]));
        assert_eq!(requests(&d), Some(8.0));
        assert_eq!(d.counters[1].total, Some(2.0));
    }
}
