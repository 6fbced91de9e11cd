//! The step plan: where each split sits in the plan, what the next and the
//! previous step are, and whether an advance may go ahead. Pure: the time is
//! always passed in.

use std::time::{Duration, Instant};

use crate::config::PlanConfig;
use crate::gates::CheckReason;
use crate::model::Split;
use crate::router::{Capabilities, Replicas};

use super::gate_reason::GateReason;
use super::state::Phase;

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Strictly increasing green percentages ending at 100 (validated).
    pub steps: Vec<u8>,
    pub dwell: Duration,
    pub bake: Duration,
    pub standby: Duration,
    pub progress_deadline: Duration,
}

impl Plan {
    /// The plan of a config, or why it cannot be run: steps must rise
    /// strictly from above 0 and end at 100 (the config loader checks this
    /// too; a config built in code must not skip it).
    pub fn from_config(c: &PlanConfig) -> Result<Plan, String> {
        if c.steps.is_empty() {
            return Err("plan.steps is empty: give the green percentages, ending at 100".into());
        }
        if c.steps[0] == 0 {
            return Err("plan.steps: the first step must be above 0 %".into());
        }
        if let Some(w) = c.steps.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "plan.steps must rise strictly: {} is followed by {}",
                w[0], w[1]
            ));
        }
        if c.steps.last() != Some(&100) {
            return Err("plan.steps must end at 100".into());
        }
        if let Some(s) = c.steps.iter().find(|s| **s > 100) {
            return Err(format!("plan.steps: {s} is above 100 %"));
        }
        Ok(Plan {
            steps: c.steps.clone(),
            dwell: c.dwell,
            bake: c.bake,
            standby: c.standby,
            progress_deadline: c.progress_deadline,
        })
    }

    /// The steps `caps` cannot set, for a message; empty when all can be.
    pub fn unsettable_steps(&self, caps: &Capabilities) -> Vec<u8> {
        self.steps
            .iter()
            .copied()
            .filter(|s| Split::new(*s).is_some_and(|s| !caps.can_set(s)))
            .collect()
    }

    /// The index of the step nearest to `split` (ties go to the lower step).
    /// `None` at 0 %, which is before the plan.
    pub fn nearest_step(&self, split: Split) -> Option<usize> {
        if split.green() == 0 {
            return None;
        }
        self.steps
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| (i16::from(**s) - i16::from(split.green())).abs())
            .map(|(i, _)| i)
    }

    /// The first step above `split`, or `None` at 100 %.
    pub fn next_target(&self, split: Split) -> Option<Split> {
        self.steps
            .iter()
            .find(|s| **s > split.green())
            .and_then(|s| Split::new(*s))
    }

    /// The last step below `split`, or 0 % before the first step.
    pub fn prev_target(&self, split: Split) -> Split {
        self.steps
            .iter()
            .rev()
            .find(|s| **s < split.green())
            .and_then(|s| Split::new(*s))
            .unwrap_or(Split::ZERO)
    }

    /// The phase a split reached by an ordinary change puts us in.
    pub fn phase_for(&self, split: Split) -> Phase {
        match split.green() {
            0 => Phase::Ready,
            100 => Phase::Baking,
            _ => Phase::Canary {
                step: self.nearest_step(split).unwrap_or(0),
            },
        }
    }
}

/// Everything the advance gate looks at, gathered by the engine.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    pub now: Instant,
    pub split: Option<Split>,
    pub phase: &'a Phase,
    pub write_in_flight: bool,
    pub dwell_until: Option<Instant>,
    /// Age of the latest snapshot, `None` before the first.
    pub data_age: Option<Duration>,
    /// Data older than this is stale.
    pub stale_after: Duration,
    /// Every target of green answered the latest poll.
    pub green_up: bool,
    /// Green's guardrail findings short of OK (see `guardrail::gate_reasons`).
    pub guardrail_reasons: Vec<GateReason>,
    /// Green is in breach or without data, so the dwell restarts on every
    /// poll (see `guardrail::holds_dwell`).
    pub green_holds_dwell: bool,
    /// The router's last read failed with this.
    pub router_error: Option<&'a str>,
    /// The latest snapshot's window starts before the split last changed,
    /// so it partly measures the previous split.
    pub data_predates_split: bool,
    /// The cutover was rolled back: going again is a deliberate act.
    pub rolled_back: bool,
    /// Green's replicas as the router reports them, where it can tell.
    pub green_replicas: Option<Replicas>,
    /// Smoke checks and command gates not yet passed for this move (see
    /// `gates::Checks::reasons`).
    pub check_reasons: Vec<CheckReason>,
}

/// Why an advance may not go ahead. `hard` reasons cannot be forced past;
/// `soft` ones (dwell, guardrails, missing data) can, and the forced advance
/// is journaled as such.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GateCheck {
    pub hard: Vec<GateReason>,
    pub soft: Vec<GateReason>,
}

impl GateCheck {
    pub fn open(&self) -> bool {
        self.hard.is_empty() && self.soft.is_empty()
    }

    pub fn reasons(&self) -> Vec<GateReason> {
        self.hard.iter().chain(&self.soft).cloned().collect()
    }
}

pub fn check_gate(g: &GateInput<'_>) -> GateCheck {
    let mut c = GateCheck::default();
    if g.write_in_flight {
        c.hard.push(GateReason::WriteInFlight);
    }
    if let Some(e) = g.router_error {
        // Never advance from a split we cannot currently confirm.
        c.hard.push(GateReason::RouterUnreadable(e.to_string()));
    }
    let Some(split) = g.split else {
        c.hard.push(GateReason::SplitUnknown);
        return c;
    };
    if split.green() == 100 {
        c.hard.push(GateReason::AtFull);
        return c;
    }
    if let Some(r) = g.green_replicas
        && r.ready == 0
    {
        // No force past this: every request sent to green would fail.
        c.hard
            .push(GateReason::GreenNotReady { desired: r.desired });
    }
    if matches!(g.phase, Phase::Paused { .. }) {
        c.soft.push(GateReason::Paused);
    }
    match g.data_age {
        None => c.soft.push(GateReason::NoData),
        Some(age) if age > g.stale_after => c.soft.push(GateReason::DataStale { age }),
        Some(_) => {}
    }
    // Worst first: green's findings (breaches first) before the clocks.
    if split.green() > 0 {
        c.soft.extend(g.guardrail_reasons.iter().cloned());
    }
    if g.rolled_back {
        c.soft.push(GateReason::RolledBack);
    }
    // Checks gate the first step too: they are what green at 0 % can show.
    c.soft
        .extend(g.check_reasons.iter().cloned().map(GateReason::Check));
    if split.green() == 0 {
        // Green has no traffic yet, so its metrics cannot be judged: the
        // first step only needs green to be up.
        if g.data_age.is_some() && !g.green_up {
            c.soft.push(GateReason::GreenNotUp);
        }
        return c;
    }
    if g.data_predates_split {
        c.soft.push(GateReason::DataPredatesSplit);
    }
    if let Some(until) = g.dwell_until
        && g.now < until
    {
        let left = until - g.now;
        if g.green_holds_dwell {
            // Else it reads as a countdown stuck at one poll from the end.
            c.soft.push(GateReason::DwellHeld { left });
        } else {
            c.soft.push(GateReason::Dwell { left });
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;

    fn plan() -> Plan {
        Plan::from_config(&PlanConfig::default()).unwrap()
    }

    fn s(v: u8) -> Split {
        Split::new(v).unwrap()
    }

    #[test]
    fn next_and_previous_steps() {
        let p = plan();
        assert_eq!(p.next_target(s(0)), Some(s(1)));
        assert_eq!(p.next_target(s(1)), Some(s(5)));
        assert_eq!(p.next_target(s(30)), Some(s(50)));
        assert_eq!(p.next_target(s(100)), None);
        assert_eq!(p.prev_target(s(25)), s(5));
        assert_eq!(p.prev_target(s(30)), s(25));
        assert_eq!(p.prev_target(s(1)), s(0));
        assert_eq!(p.prev_target(s(0)), s(0));
    }

    #[test]
    fn a_plan_that_cannot_run_is_refused_with_the_reason() {
        let with = |steps: Vec<u8>| {
            Plan::from_config(&PlanConfig {
                steps,
                ..PlanConfig::default()
            })
        };
        assert!(with(vec![]).unwrap_err().contains("empty"));
        assert!(with(vec![0, 100]).unwrap_err().contains("above 0"));
        assert_eq!(
            with(vec![5, 5, 100]).unwrap_err(),
            "plan.steps must rise strictly: 5 is followed by 5"
        );
        assert_eq!(with(vec![5, 50]).unwrap_err(), "plan.steps must end at 100");
        assert!(with(vec![1, 100]).is_ok());
    }

    #[test]
    fn steps_a_router_cannot_set_are_named() {
        let p = plan();
        assert_eq!(
            p.unsettable_steps(&Capabilities::Only(vec![0, 100])),
            vec![1, 5, 25, 50]
        );
        assert!(p.unsettable_steps(&Capabilities::AnySplit).is_empty());
    }

    #[test]
    fn a_hand_set_split_sits_at_the_nearest_step() {
        let p = plan();
        assert_eq!(p.nearest_step(s(0)), None);
        assert_eq!(p.nearest_step(s(30)), Some(2));
        assert_eq!(p.nearest_step(s(3)), Some(0)); // tie 1 vs 5 goes low
        assert_eq!(p.nearest_step(s(40)), Some(3));
        assert_eq!(p.phase_for(s(30)), Phase::Canary { step: 2 });
        assert_eq!(p.phase_for(s(100)), Phase::Baking);
        assert_eq!(p.phase_for(s(0)), Phase::Ready);
    }

    fn finding(verdict: crate::model::Verdict, summary: &str) -> GateReason {
        GateReason::Guardrail {
            metric: "p99_ms".into(),
            verdict,
            summary: summary.into(),
        }
    }

    const READY: &Phase = &Phase::Ready;
    const STEP_1: &Phase = &Phase::Canary { step: 1 };

    /// A gate at the first canary step, now, with everything else fine.
    fn canary_input() -> GateInput<'static> {
        input(Instant::now(), STEP_1)
    }

    /// A gate at 0 % (Ready), now, with everything else fine.
    fn ready_input() -> GateInput<'static> {
        input(Instant::now(), READY)
    }

    fn input(now: Instant, phase: &Phase) -> GateInput<'_> {
        GateInput {
            now,
            split: Some(s(5)),
            phase,
            write_in_flight: false,
            dwell_until: Some(now),
            data_age: Some(Duration::from_secs(1)),
            stale_after: Duration::from_secs(15),
            green_up: true,
            guardrail_reasons: vec![],
            green_holds_dwell: false,
            router_error: None,
            data_predates_split: false,
            rolled_back: false,
            green_replicas: None,
            check_reasons: vec![],
        }
    }

    #[test]
    fn gate_opens_when_dwell_is_over_and_green_is_ok() {
        let now = Instant::now();
        let phase = Phase::Canary { step: 1 };
        assert!(check_gate(&input(now, &phase)).open());

        let mut g = input(now, STEP_1);
        g.dwell_until = Some(now + Duration::from_secs(61));
        let c = check_gate(&g);
        assert_eq!(
            c.soft,
            vec![GateReason::Dwell {
                left: Duration::from_secs(61)
            }]
        );
        assert!(c.hard.is_empty());

        let mut g = input(now, STEP_1);
        g.guardrail_reasons = vec![finding(Verdict::Warn, "green p99 latency 900 ms WARN")];
        assert!(!check_gate(&g).open());
    }

    /// Issue 15, point 7: a breach shows before the dwell, and a dwell held
    /// by a breaching green says so instead of sitting at 00:03.
    #[test]
    fn the_worst_reason_comes_first_and_a_held_dwell_says_why() {
        let now = Instant::now();
        let mut g = input(now, STEP_1);
        g.dwell_until = Some(now + Duration::from_secs(3));
        g.guardrail_reasons = vec![finding(
            Verdict::Breach,
            "green error rate 7.90 % BREACH (≤ 5.00 %)",
        )];
        g.green_holds_dwell = true;
        let c = check_gate(&g);
        assert!(
            matches!(
                c.soft[0],
                GateReason::Guardrail {
                    verdict: Verdict::Breach,
                    ..
                }
            ),
            "{:?}",
            c.soft
        );
        assert_eq!(
            c.soft[1],
            GateReason::DwellHeld {
                left: Duration::from_secs(3)
            }
        );
    }

    #[test]
    fn first_step_needs_only_green_up() {
        let mut g = ready_input();
        g.split = Some(s(0));
        g.guardrail_reasons = vec![finding(Verdict::NoData, "green p99 no data")];
        assert!(check_gate(&g).open());
        g.green_up = false;
        assert_eq!(check_gate(&g).soft, vec![GateReason::GreenNotUp]);
    }

    #[test]
    fn green_with_no_ready_replica_closes_the_gate_for_good() {
        let mut g = canary_input();
        g.green_replicas = Some(Replicas {
            ready: 0,
            desired: 3,
        });
        assert_eq!(
            check_gate(&g).hard,
            vec![GateReason::GreenNotReady { desired: 3 }]
        );
        g.green_replicas = Some(Replicas {
            ready: 1,
            desired: 3,
        });
        assert!(check_gate(&g).open());
    }

    #[test]
    fn unpassed_checks_hold_the_gate_and_can_be_forced() {
        let mut g = ready_input();
        g.split = Some(s(0));
        let failed = CheckReason::SmokeFailed {
            name: "health".into(),
            reason: "status 503, want 2xx".into(),
        };
        g.check_reasons = vec![failed.clone()];
        let c = check_gate(&g);
        assert!(c.hard.is_empty());
        assert_eq!(c.soft, vec![GateReason::Check(failed)]);
    }

    #[test]
    fn stale_or_missing_data_holds_the_gate() {
        let mut g = canary_input();
        g.data_age = None;
        assert_eq!(check_gate(&g).soft, vec![GateReason::NoData]);
        g.data_age = Some(Duration::from_secs(40));
        assert_eq!(
            check_gate(&g).soft,
            vec![GateReason::DataStale {
                age: Duration::from_secs(40)
            }]
        );
    }

    #[test]
    fn data_from_before_the_split_change_holds_the_gate() {
        let mut g = canary_input();
        g.data_predates_split = true;
        assert_eq!(check_gate(&g).soft, vec![GateReason::DataPredatesSplit]);
    }

    #[test]
    fn an_unreadable_router_is_a_hard_stop() {
        let mut g = canary_input();
        g.router_error = Some("connection refused");
        assert_eq!(
            check_gate(&g).hard,
            vec![GateReason::RouterUnreadable("connection refused".into())]
        );
    }

    #[test]
    fn hard_reasons_cannot_be_forced() {
        let now = Instant::now();
        let mut g = input(now, STEP_1);
        g.write_in_flight = true;
        assert_eq!(check_gate(&g).hard, vec![GateReason::WriteInFlight]);
        let mut g = input(now, STEP_1);
        g.split = None;
        assert_eq!(check_gate(&g).hard, vec![GateReason::SplitUnknown]);
        let baking = Phase::Baking;
        let mut g = input(now, &baking);
        g.split = Some(s(100));
        assert_eq!(check_gate(&g).hard, vec![GateReason::AtFull]);
        let paused = Phase::Paused { step: 1 };
        assert_eq!(
            check_gate(&input(now, &paused)).soft,
            vec![GateReason::Paused]
        );
    }
}
