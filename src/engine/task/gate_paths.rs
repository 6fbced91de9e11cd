//! One gate for every path that raises green's traffic (`n`, `:set N`,
//! `cutover set N`, the autopilot), and what the gate counts as green's
//! data: green's own span, and a dwell that restarts on any poll where
//! green breaches or has no data.

use super::Engine;
use super::said_once::first;

use crate::engine::clock::now;
use crate::engine::guardrail::Judgement;
use crate::engine::reply::Refusal;
use crate::engine::state::{EventLevel, Phase};
use crate::format::countdown;
use crate::model::{Color, Snapshot, Split, Verdict};

impl Engine {
    /// Whether a move from `from` to `to` may go ahead: lowering green's
    /// traffic is never gated; raising it passes the advance gate, or
    /// `force` passes its soft reasons. Ok(true) means it goes as forced.
    pub(super) fn raise_check(&self, from: Split, to: Split, force: bool) -> Result<bool, Refusal> {
        if to.green() <= from.green() {
            return Ok(false);
        }
        let gate = self.gate_check_to(Some(to));
        if !gate.hard.is_empty() {
            return Err(Refusal::GateHard(gate.hard));
        }
        if gate.soft.is_empty() {
            return Ok(false);
        }
        if force {
            return Ok(true);
        }
        Err(Refusal::GateClosed(gate.soft))
    }

    /// True when `color`'s own data in `snap` is a full window taken
    /// wholly after the split last changed. A colour whose history just
    /// restarted (a failed scrape) has a short span and does not count.
    pub(super) fn color_covers_split(&self, snap: &Snapshot, color: Color) -> bool {
        let span = snap.color(color).span;
        // A source's span falls short of the window by up to an interval
        // (its oldest kept poll is the first inside the window), and polls
        // jitter: half an interval more slack keeps a steady colour full.
        let slack = self.config.source.interval + self.config.source.interval / 2;
        let full = span + slack >= self.config.source.window;
        !span.is_zero()
            && full
            && snap
                .at
                .checked_sub(span)
                .is_some_and(|start| start >= self.clock.split_since())
    }

    /// After judging a snapshot: any breach or no-data poll of green
    /// restarts the dwell, so the gate opens only on a whole dwell of
    /// clean green data, not on one good poll at its end.
    pub(super) fn restart_dwell_on_bad_green(&mut self) {
        let Phase::Canary { .. } = self.state.phase else {
            return;
        };
        if self.state.clock.dwell_until.is_none()
            || self.state.traffic.split.is_none_or(|s| s.green() == 0)
        {
            return;
        }
        let bad: Vec<String> = self
            .state
            .guard
            .judgements
            .iter()
            .filter(|j| {
                j.color == Color::Green && matches!(j.verdict, Verdict::Breach | Verdict::NoData)
            })
            .map(Judgement::summary)
            .collect();
        if bad.is_empty() {
            self.said.dwell_restart = false;
            return;
        }
        // The engine's clock (tokio's), as every other deadline: the std
        // clock would not move with paused time in tests.
        self.state.clock.dwell_until = Some(now() + self.plan.dwell);
        // Once per run of bad polls: a flapping target would flood the log.
        if first(&mut self.said.dwell_restart) {
            self.event(
                EventLevel::Warn,
                format!(
                    "dwell restarted ({} from now): {}",
                    countdown(self.plan.dwell),
                    bad.join("; ")
                ),
            );
        }
    }
}

impl Engine {
    /// Promote skips the dwell by design (it is confirmed, and journaled as
    /// a promote), but it has no force of its own: after a rollback it is
    /// refused, and a forced set to 100 % is the way to send traffic back.
    pub(super) fn promote_allowed(&self) -> Result<(), Refusal> {
        if let Some(m) = &self.state.rollback.rolled_back {
            return Err(Refusal::PromoteRolledBack {
                green: m.describe_green(),
                reason: m.reason.clone(),
            });
        }
        // The flip skips the dwell, not the checks configured before it.
        let waiting = self.check_reasons(Some(Split::FULL));
        if !waiting.is_empty() {
            return Err(Refusal::PromoteWaits(waiting));
        }
        Ok(())
    }
}
