//! The evidence on every judged metric of one green, and what it says.
//!
//! Evidence runs from green's first request for as long as green is the
//! same build: a new step of the plan only changes the share, which the
//! tests take from each increment. Only a new green (`green_is` with
//! another identity, or `reset`) starts it again.

use super::counts::CountTest;
use super::effect::TestConfig;
use super::increments::{Counts, Moments, PairTracker, Step};
use super::means::MeanTest;
use super::needed::Needed;

/// What the cockpit can say about one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// Green is significantly worse: the evidence reached 1/level.
    Worse { e_value: f64 },
    /// No difference detectable yet; `needed` green requests more would
    /// show one of the minimum effect (`None`: blue has no rate to scale
    /// from yet).
    Inconclusive {
        e_value: f64,
        needed: Option<Needed>,
    },
    /// The test of means waits for this many more green requests, and
    /// polls with requests of each colour (to estimate the spread).
    BurnIn { green_requests: f64, polls: f64 },
    /// Enough green requests that a regression of the minimum effect would
    /// have been seen, and none was.
    NoRegression { e_value: f64 },
    /// No valid test on this data (a per-pod gauge).
    NotTestable { why: &'static str },
}

#[derive(Debug, Clone)]
enum Test {
    Counts(PairTracker<Counts>, CountTest),
    Means(PairTracker<Moments>, MeanTest),
    /// No test can judge it, and why (a gauge; a source without counts).
    Untestable(&'static str),
}

/// One judged metric: its test, its data, its level.
#[derive(Debug, Clone)]
pub struct Judged {
    pub name: String,
    pub higher_is_worse: bool,
    pub config: TestConfig,
    test: Test,
    /// α split across the judged metrics (Bonferroni).
    level: f64,
    /// Once the evidence has crossed 1/level the verdict stands until a
    /// new green: Ville's inequality bounds ever crossing, so a later dip
    /// does not undo the finding.
    worse: bool,
    last_share: Option<f64>,
}

impl Judged {
    /// Errors, schema failures or requests over a latency bound.
    pub fn counts(name: &str, config: TestConfig) -> Judged {
        let test = Test::Counts(PairTracker::new(), CountTest::new(config.min_effect));
        Judged::with(name, true, config, test)
    }

    /// A per-request value with count, sum and (where known) sum of
    /// squares; without one, the spread comes from the polls' batch means.
    pub fn means(name: &str, config: TestConfig, higher_is_worse: bool) -> Judged {
        let test = Test::Means(
            PairTracker::new(),
            MeanTest::new(config.min_effect, higher_is_worse),
        );
        Judged::with(name, higher_is_worse, config, test)
    }

    /// A metric with a test that its data cannot feed: shown as not
    /// testable, with `why`.
    pub fn untestable(
        name: &str,
        config: TestConfig,
        higher_is_worse: bool,
        why: &'static str,
    ) -> Judged {
        Judged::with(name, higher_is_worse, config, Test::Untestable(why))
    }

    fn with(name: &str, higher_is_worse: bool, config: TestConfig, test: Test) -> Judged {
        Judged {
            name: name.to_string(),
            higher_is_worse,
            config,
            test,
            level: config.alpha,
            worse: false,
            last_share: None,
        }
    }

    pub fn is_testable(&self) -> bool {
        !matches!(self.test, Test::Untestable(_))
    }

    /// The level this metric is tested at: its α over the judged metrics.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The evidence now (E, or Λ for means); 1 for a gauge.
    pub fn e_value(&self) -> f64 {
        match &self.test {
            Test::Counts(_, t) => t.e_value(),
            Test::Means(_, t) => t.e_value(),
            Test::Untestable(_) => 1.0,
        }
    }

    /// The largest evidence so far: 1 / it is an always-valid p-value.
    pub fn max_e_value(&self) -> f64 {
        match &self.test {
            Test::Counts(_, t) => t.max_e_value(),
            Test::Means(_, t) => t.max_e_value(),
            Test::Untestable(_) => 1.0,
        }
    }

    /// Green found significantly worse (the evidence reached 1/level).
    pub fn is_worse(&self) -> bool {
        self.worse
    }

    /// Green's share of the requests in the last increment.
    pub fn last_share(&self) -> Option<f64> {
        self.last_share
    }

    /// One poll's cumulative counts of a count metric (`None`: no data).
    /// Ignored on a metric of another kind.
    pub fn observe_counts(&mut self, blue: Option<Counts>, green: Option<Counts>) {
        let Test::Counts(tracker, test) = &mut self.test else {
            return;
        };
        if let Step::Increment { blue, green } = tracker.poll(blue, green) {
            let n = blue.requests + green.requests;
            if n > 0.0 {
                self.last_share = Some(green.requests / n);
            }
            test.update(blue, green);
            self.worse |= test.e_value() >= 1.0 / self.level;
        }
    }

    /// One poll's cumulative moments of a per-request value.
    pub fn observe_moments(&mut self, blue: Option<Moments>, green: Option<Moments>) {
        let Test::Means(tracker, test) = &mut self.test else {
            return;
        };
        if let Step::Increment { blue, green } = tracker.poll(blue, green) {
            if blue.count + green.count > 0.0 {
                self.last_share = Some(green.count / (blue.count + green.count));
            }
            test.update(blue, green);
            self.worse |= test.points_worse() && test.e_value() >= 1.0 / self.level;
        }
    }

    /// What the evidence says, with the requests still needed at green's
    /// share `share` (default: the share of the last increment).
    pub fn finding(&self, share: Option<f64>) -> Finding {
        let share = share.or(self.last_share);
        let e_value = self.e_value();
        let needed = match &self.test {
            Test::Untestable(why) => return Finding::NotTestable { why },
            _ if self.worse => {
                return Finding::Worse {
                    e_value: self.max_e_value(),
                };
            }
            Test::Means(_, t) if t.burning_in() => {
                return Finding::BurnIn {
                    green_requests: t.burn_in_left(),
                    polls: t.polls_left(),
                };
            }
            Test::Counts(_, t) => share.and_then(|s| t.needed(s, self.level)),
            Test::Means(_, t) => share.and_then(|s| t.needed(s, self.level)),
        };
        match needed {
            Some(n) if n.is_done() => Finding::NoRegression { e_value },
            needed => Finding::Inconclusive { e_value, needed },
        }
    }

    fn restart(&mut self) {
        self.test = match &self.test {
            Test::Counts(..) => {
                Test::Counts(PairTracker::new(), CountTest::new(self.config.min_effect))
            }
            Test::Means(..) => Test::Means(
                PairTracker::new(),
                MeanTest::new(self.config.min_effect, self.higher_is_worse),
            ),
            Test::Untestable(why) => Test::Untestable(why),
        };
        self.worse = false;
        self.last_share = None;
    }
}

/// α for each of `judged` metrics so that the chance of any false alarm
/// stays at most α (Bonferroni: no independence needed, and errors and
/// slow requests are not independent).
pub fn bonferroni(alpha: f64, judged: usize) -> f64 {
    alpha / judged.max(1) as f64
}

/// The judged metrics of the green being watched.
#[derive(Debug, Clone)]
pub struct EvidenceSet {
    green: Option<String>,
    metrics: Vec<Judged>,
}

impl EvidenceSet {
    /// Splits each metric's α across the testable ones.
    pub fn new(mut metrics: Vec<Judged>) -> EvidenceSet {
        let judged = metrics.iter().filter(|m| m.is_testable()).count();
        for m in &mut metrics {
            m.level = bonferroni(m.config.alpha, judged);
        }
        EvidenceSet {
            green: None,
            metrics,
        }
    }

    /// Names the green being judged; a different one restarts all
    /// evidence (a new build owes nothing to the last one's record).
    /// Returns true when it restarted.
    pub fn green_is(&mut self, id: &str) -> bool {
        let changed = self.green.as_deref().is_some_and(|g| g != id);
        if changed {
            self.reset();
        }
        self.green = Some(id.to_string());
        changed
    }

    /// Starts all evidence again from E = 1.
    pub fn reset(&mut self) {
        for m in &mut self.metrics {
            m.restart();
        }
    }

    pub fn metrics(&self) -> &[Judged] {
        &self.metrics
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Judged> {
        self.metrics.iter_mut().find(|m| m.name == name)
    }

    /// The metrics on which green is significantly worse: the reasons to
    /// roll back.
    pub fn worse(&self) -> Vec<&Judged> {
        self.metrics.iter().filter(|m| m.worse).collect()
    }

    /// The gate's `evidence = "no regression"`: the most green requests any
    /// testable metric still needs at `share`; `None` while one cannot say
    /// (burn-in, no blue rate yet) or one found green worse.
    /// Gauges are left out: they are shown as not testable, not waited on.
    pub fn still_needed(&self, share: Option<f64>) -> Option<Needed> {
        let mut most = Needed::none();
        for m in self.metrics.iter().filter(|m| m.is_testable()) {
            let n = match m.finding(share) {
                Finding::NoRegression { .. } => Needed::none(),
                Finding::Inconclusive {
                    needed: Some(n), ..
                } => n,
                _ => return None,
            };
            if n.green_requests > most.green_requests {
                most = n;
            }
        }
        Some(most)
    }
}
