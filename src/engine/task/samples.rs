//! Journal lines for the report: samples of both colours' numbers, and
//! guardrail breaches as they start and end.

use super::said_once::first;
use super::{Engine, reading_record};

use crate::engine::clock::now;
use crate::engine::guardrail::Judgement;
use crate::engine::journal::RecordAction;
use crate::engine::journal::RecordOrigin;
use crate::engine::journal::{Record, RecordKind};
use crate::engine::sampling::Sample;
use crate::engine::state::EventLevel;
use crate::model::{Split, Verdict};

impl Engine {
    /// Journals the latest poll as a sample when the sampler says so. A
    /// failure is said once, not at every sample: the journal's decisions
    /// are reported by their own writes.
    pub(super) fn maybe_sample(&mut self) {
        if !self.writes_numbers() {
            return;
        }
        let green = self.state.traffic.split.map(Split::green);
        if !self.journal.sampler.take(now(), green) {
            return;
        }
        let Some(snap) = &self.state.guard.snapshot else {
            return;
        };
        // The evidence goes with the numbers: the report charts both.
        let sample = Sample::of(snap, &self.state.metrics, green)
            .with_evidence(self.evidence.e_values(), self.evidence.levels());
        let rec = Record::sample(snap.wall, sample);
        match self.journal.append(&rec) {
            Ok(()) => self.said.sample_failure = false,
            Err(e) if first(&mut self.said.sample_failure) => {
                let msg = format!(
                    "journal {}: sample not written: {e}",
                    self.journal.path().display()
                );
                self.event(EventLevel::Warn, msg);
            }
            Err(_) => {}
        }
    }

    /// One line when a reading goes into breach or out of it; `detail` says
    /// what the source gave as the cause (an alarm's own reason).
    pub(super) fn journal_breach(&mut self, j: &Judgement, detail: Option<String>) {
        if !self.writes_numbers() {
            return;
        }
        let action = if j.verdict == Verdict::Breach {
            RecordAction::Breach
        } else {
            RecordAction::Cleared
        };
        // The guardrails are not a command origin: nobody asked for this.
        let mut rec = Record::at(
            self.options.wall.now(),
            RecordKind::Breach,
            &self.config.service.name,
            RecordOrigin::Guardrail,
            action,
        );
        rec.green_version = self.config.service.green_version.clone();
        rec.to = self.state.traffic.split.map(Split::green);
        rec.reason = Some(j.summary());
        rec.readings = vec![reading_record(j)];
        rec.detail = detail;
        let _ = self.append(&rec);
    }

    /// Samples and breaches are written by the journal's one writer only:
    /// not by a watcher, nor by a forced rollback past another's lock
    /// (whose cockpit keeps writing its own).
    fn writes_numbers(&self) -> bool {
        !self.options.readonly && self.options.forced_past.is_none()
    }
}
