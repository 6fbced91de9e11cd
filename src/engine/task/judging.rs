//! Snapshots: guardrail verdicts, history, the breach streak and the
//! auto-rollback it can trigger.

use super::{Engine, readings};

use crate::config::ALARMS_ID;
use crate::engine::command::Origin;
use crate::engine::guardrail::{self, Judgement};
use crate::engine::state::{EventLevel, HistoryPoint, LastValue};
use crate::model::{Color, NoData, Snapshot, Split, Verdict};

impl Engine {
    pub(super) fn on_snapshot(&mut self, snap: Snapshot) {
        let split = self.state.traffic.split;
        let judgements = guardrail::evaluate(&snap, split, &self.state.metrics);
        let breached_before = !guardrail::green_breaches(&self.state.guard.judgements).is_empty();
        self.report_transitions(&judgements, split, &snap);
        self.report_warnings(&snap);
        self.track_observed(&snap);
        self.chart(&snap, true);
        let green_serves = split.is_none_or(|s| s.green() > 0);
        let streak_before = self.state.guard.breach_streak;
        self.state.guard.breach_streak = if green_serves {
            guardrail::next_streak(
                self.state.guard.breach_streak,
                &judgements,
                self.config.auto_rollback.no_data,
            )
        } else {
            0
        };
        self.state.guard.judgements = judgements;
        self.weigh_evidence(&snap);
        self.state.guard.snapshot = Some(snap);
        // A breach that does not count toward rollback starts no streak,
        // but is news all the same.
        let breaches_now = !guardrail::green_breaches(&self.state.guard.judgements).is_empty();
        if (streak_before == 0 && self.state.guard.breach_streak > 0)
            || (!breached_before && breaches_now && green_serves)
        {
            self.notice_first_breach();
        }
        self.maybe_sample();
        self.restart_dwell_on_bad_green();
        self.maybe_auto_rollback();
    }

    /// History from before the engine started: into the charts only,
    /// never judged, never counted toward a streak or a gate.
    pub(super) fn on_backfill(&mut self, past: Vec<Snapshot>) {
        let n = past.len();
        for snap in &past {
            self.chart(snap, false);
        }
        self.event(
            EventLevel::Info,
            format!(
                "charts filled with {n} earlier poll(s) from the {}",
                self.state.source
            ),
        );
    }

    /// Every number of `snap` into the charts' history; with `last`, also
    /// as the last value seen (kept with its time when a poll has none).
    fn chart(&mut self, snap: &Snapshot, last: bool) {
        for color in Color::BOTH {
            for i in 0..self.state.metrics.len() {
                let value = snap.color(color).at(i).value();
                self.state
                    .guard
                    .history
                    .push(color, i, HistoryPoint { at: snap.at, value });
                if let Some(value) = value.filter(|_| last) {
                    self.state
                        .guard
                        .set_last_value(color, i, LastValue { value, at: snap.at });
                }
            }
        }
    }

    /// The poll's tallies into the evidence, and what it says into the state.
    fn weigh_evidence(&mut self, snap: &Snapshot) {
        if self.evidence.is_empty() {
            return;
        }
        let green = self.config.service.green_version.as_deref().unwrap_or("");
        self.evidence.observe(snap, green);
        self.state.guard.evidence = self.evidence.views(snap.green.rps);
    }

    pub(super) fn maybe_auto_rollback(&mut self) {
        let st = &self.state;
        if !st.guard.armed || st.traffic.split == Some(Split::ZERO) || self.lane.rolling_back() {
            return;
        }
        if st.guard.breach_streak < st.guard.breach_needed {
            // Evidence needs no streak: its level already bounds the
            // chance of ever alarming on a good green.
            if let Some(why) = self.evidence.rollback_reason() {
                let reason = format!("auto-rollback on evidence: {why}");
                let readings = readings(st);
                self.roll_back_automatically(Origin::AutoRollback, reason, readings);
            }
            return;
        }
        let breaches = guardrail::rollback_breaches(&st.guard.judgements);
        let why = if breaches.is_empty() {
            "green has no data".to_string()
        } else {
            breaches
                .iter()
                .map(
                    |j| match st.guard.snapshot.as_ref().and_then(|s| alarm_reasons(j, s)) {
                        Some(alarms) => format!("{} ({alarms})", j.summary()),
                        None => j.summary(),
                    },
                )
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut reason = format!(
            "auto-rollback after {} consecutive polls with green in breach: {why}",
            st.guard.breach_streak
        );
        // Both at the same poll: the record names both, so the journal
        // and the report never credit the thresholds alone.
        if let Some(also) = self.evidence.rollback_reason() {
            reason.push_str(&format!("; and on evidence: {also}"));
        }
        let readings = readings(st);
        self.roll_back_automatically(Origin::AutoRollback, reason, readings);
    }

    /// Logs a verdict when it changes, leaving out the no data that is
    /// expected of a colour with no traffic.
    pub(super) fn report_transitions(
        &mut self,
        judgements: &[Judgement],
        split: Option<Split>,
        snap: &Snapshot,
    ) {
        for j in judgements {
            let key = (j.color, j.id().to_string());
            let (prev, prev_reported) = self.said.verdict(&key);
            if prev == j.verdict {
                continue;
            }
            // A colour with no traffic is not judged by anything: its window
            // is only draining, so its verdicts are not news.
            let idle = split.is_some_and(|s| s.share(j.color) == 0);
            let level = match j.verdict {
                _ if idle => None,
                Verdict::Breach | Verdict::Warn => Some(EventLevel::Warn),
                Verdict::NoData if matches!(j.no_data, Some(NoData::Baseline)) => None,
                Verdict::NoData => Some(EventLevel::Warn),
                // OK is news only when it ends a problem that was reported.
                Verdict::Ok if prev_reported => Some(EventLevel::Info),
                Verdict::Ok => None,
            };
            if let Some(level) = level {
                self.event(level, j.summary());
            }
            // Into or out of breach on a colour with traffic: the report's
            // "every breach" (one line per change, never one per poll).
            if !idle && (j.verdict == Verdict::Breach || prev == Verdict::Breach) {
                self.journal_breach(j, alarm_reasons(j, snap));
            }
            self.said.set_verdict(key, j.verdict, level.is_some());
        }
    }

    pub(super) fn report_warnings(&mut self, snap: &Snapshot) {
        let warnings: Vec<String> = Color::BOTH
            .iter()
            .flat_map(|c| {
                let r = snap.color(*c);
                r.warnings
                    .iter()
                    .chain(&r.alarms)
                    .map(move |w| format!("{c}: {w}"))
            })
            .collect();
        for w in self.said.new_warnings(warnings) {
            self.event(EventLevel::Warn, w);
        }
    }
}

/// What CloudWatch says of the alarms behind a breach of the alarms metric:
/// each alarm in `ALARM` with its own `StateReason`, so the journal and the
/// rollback say why, not only how many. `None` for any other metric or
/// verdict.
fn alarm_reasons(j: &Judgement, snap: &Snapshot) -> Option<String> {
    if j.id() != ALARMS_ID || j.verdict != Verdict::Breach {
        return None;
    }
    let alarms = &snap.color(j.color).alarms;
    (!alarms.is_empty()).then(|| alarms.join("; "))
}
