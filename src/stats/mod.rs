//! Green judged against blue with evidence that may be looked at on every
//! poll: sequential tests on the increments between polls.
//!
//! Pure: no IO, no clock. The caller feeds each poll's cumulative counters
//! per colour and reads back a [`Finding`] per metric; docs/statistics.md
//! says what is computed and why it keeps its false-alarm rate.
//!
//! - [`increments`]: counter deltas per colour, robust to resets and gaps;
//! - [`histogram`]: requests over a latency bound, spread from buckets;
//! - [`tally`]: the sources' cumulative tallies as the count test's increments;
//! - [`counts`]: the count test (plug-in e-process, valid as the split moves);
//! - [`means`]: the mixture SPRT for means, after a burn-in;
//! - [`effect`]: `min_effect` and `test = { alpha, min_effect }`;
//! - [`evidence`]: per-metric findings, the Bonferroni split, restarts;
//! - [`needed`] and [`text`]: the countdown and the words on the screen.

pub mod counts;
pub mod effect;
pub mod evidence;
pub mod histogram;
pub mod increments;
pub mod means;
pub mod needed;
pub mod tally;
pub mod text;

#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod simulation_tests;

pub use effect::{MinEffect, TestConfig};
pub use evidence::{EvidenceSet, Finding, Judged, bonferroni};
pub use increments::{Counts, Moments, PairTracker, Step};
pub use needed::Needed;
