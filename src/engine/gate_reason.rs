//! Why the advance gate is closed, as data: the engine decides on the
//! variants (hard or soft, which come first), the TUI and `status` show
//! them through `Display`, which gives the words they always showed.

use std::fmt;
use std::time::Duration;

use crate::format::countdown;
use crate::gates::CheckReason;
use crate::model::Verdict;
use crate::stats::text::about;

use super::guardrail::Judgement;

#[derive(Debug, Clone, PartialEq)]
pub enum GateReason {
    /// Hard: another traffic change has not landed yet.
    WriteInFlight,
    /// Hard: the router's last read failed with this.
    RouterUnreadable(String),
    /// Hard: the router has not answered yet.
    SplitUnknown,
    /// Hard: green already has all the traffic.
    AtFull,
    /// Hard: every request sent to green would fail.
    GreenNotReady {
        desired: u32,
    },
    Paused,
    NoData,
    /// The latest poll is older than the stale limit.
    DataStale {
        age: Duration,
    },
    /// A finding of green's guardrails short of OK (`summary` is the
    /// judgement's line, e.g. `green error rate 7.90 % BREACH (≤ 5.00 %)`).
    Guardrail {
        /// The metric's id.
        metric: String,
        verdict: Verdict,
        summary: String,
    },
    /// The cutover was rolled back: going again is a deliberate act.
    RolledBack,
    /// A smoke check or command gate not yet passed for this move.
    Check(CheckReason),
    /// Before the first step: green's targets do not answer.
    GreenNotUp,
    /// The latest window starts before the split last changed.
    DataPredatesSplit,
    /// The dwell's time left.
    Dwell {
        left: Duration,
    },
    /// The dwell restarts on every poll while green breaches or has no
    /// data; `left` is what remains once it is clean.
    DwellHeld {
        left: Duration,
    },
    /// `[gates] evidence = "no regression"`: the green requests still
    /// needed before a regression of each tested metric's `min_effect`
    /// would have been seen (`None`: not yet known), and how long they take
    /// at green's rate now.
    Evidence {
        green_requests: Option<f64>,
        left: Option<Duration>,
    },
}

impl GateReason {
    pub fn guardrail(j: &Judgement) -> GateReason {
        GateReason::Guardrail {
            metric: j.id().to_string(),
            verdict: j.verdict,
            summary: j.summary(),
        }
    }
}

impl fmt::Display for GateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateReason::WriteInFlight => f.write_str("a traffic change is in flight"),
            GateReason::RouterUnreadable(e) => write!(f, "router unreadable: {e}"),
            GateReason::SplitUnknown => f.write_str("split unknown: the router has not answered"),
            GateReason::AtFull => f.write_str("at 100 %: nothing left to advance"),
            GateReason::GreenNotReady { desired } => {
                write!(f, "green has 0 of {desired} replicas ready")
            }
            GateReason::Paused => f.write_str("paused"),
            GateReason::NoData => f.write_str("no data yet"),
            GateReason::DataStale { age } => {
                write!(f, "data stale: last poll {}s ago", age.as_secs())
            }
            GateReason::Guardrail { summary, .. } => f.write_str(summary),
            GateReason::RolledBack => {
                f.write_str("rolled back: sending traffic to green again needs force")
            }
            GateReason::Check(c) => c.fmt(f),
            GateReason::GreenNotUp => f.write_str("green is not up: its targets do not answer"),
            GateReason::DataPredatesSplit => {
                f.write_str("waiting for a full window of data at this split")
            }
            GateReason::Dwell { left } => write!(f, "dwell: {} left", countdown(*left)),
            GateReason::DwellHeld { left } => write!(
                f,
                "dwell: restarts on every poll while green breaches or has no data ({} once clean)",
                countdown(*left)
            ),
            GateReason::Evidence {
                green_requests: Some(n),
                left,
            } => {
                write!(f, "evidence: about {} more green requests", about(*n))?;
                if let Some(left) = left {
                    write!(f, " ({} at the current rate)", countdown(*left))?;
                }
                f.write_str(" to rule out a regression")
            }
            GateReason::Evidence {
                green_requests: None,
                ..
            } => f.write_str("evidence: too little yet to rule out a regression"),
        }
    }
}

/// Reasons joined as the cockpit and the refusals show them: `a; b`.
pub fn joined<R: fmt::Display>(reasons: &[R]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are the point here: the cockpit, `status` and the
    /// refusals show them.
    #[test]
    fn reasons_read_as_before() {
        let s = Duration::from_secs;
        let cases = [
            (GateReason::WriteInFlight, "a traffic change is in flight"),
            (
                GateReason::RouterUnreadable("connection refused".into()),
                "router unreadable: connection refused",
            ),
            (
                GateReason::SplitUnknown,
                "split unknown: the router has not answered",
            ),
            (GateReason::AtFull, "at 100 %: nothing left to advance"),
            (
                GateReason::GreenNotReady { desired: 3 },
                "green has 0 of 3 replicas ready",
            ),
            (GateReason::Paused, "paused"),
            (GateReason::NoData, "no data yet"),
            (
                GateReason::DataStale { age: s(40) },
                "data stale: last poll 40s ago",
            ),
            (
                GateReason::RolledBack,
                "rolled back: sending traffic to green again needs force",
            ),
            (
                GateReason::GreenNotUp,
                "green is not up: its targets do not answer",
            ),
            (
                GateReason::DataPredatesSplit,
                "waiting for a full window of data at this split",
            ),
            (GateReason::Dwell { left: s(61) }, "dwell: 01:01 left"),
            (
                GateReason::DwellHeld { left: s(3) },
                "dwell: restarts on every poll while green breaches or has no data (00:03 once clean)",
            ),
        ];
        let evidence = |n, left| GateReason::Evidence {
            green_requests: n,
            left,
        };
        let more = [
            (
                evidence(Some(1_874.0), Some(s(75))),
                "evidence: about 1,900 more green requests (01:15 at the current rate) to rule out a regression",
            ),
            (
                evidence(None, None),
                "evidence: too little yet to rule out a regression",
            ),
        ];
        for (reason, text) in cases.into_iter().chain(more) {
            assert_eq!(reason.to_string(), text);
        }
        assert_eq!(
            joined(&[GateReason::Paused, GateReason::NoData]),
            "paused; no data yet"
        );
    }
}
