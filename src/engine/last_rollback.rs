//! The last rollback as the journal tells it, with its measured times:
//! for `status --json` (the cockpit that rolled back may have exited) and
//! anything else that reads the journal. Pure over records; one function
//! reads the file.

use std::path::Path;

use serde_json::{Value, json};

use super::action::WriteOutcome;
use super::journal::{Record, RecordAction, RecordKind, RecordOrigin};

/// A rollback that landed, and what was measured of it: its `ok`
/// outcome record, with `decision_to_router_ms` always filled (records
/// older than the field have only `duration_ms`) and `decision_to_zero_ms`
/// taken from a later `rollback_traffic_zero` record when the outcome had
/// none.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRollback {
    pub outcome: Record,
}

impl LastRollback {
    pub fn drill(&self) -> bool {
        self.outcome.origin == Some(RecordOrigin::Drill)
    }

    /// `last at 2026-…Z: 412 ms to router confirmed, 5.2s to traffic at 0 %`.
    pub fn describe(&self) -> String {
        use super::state::rollback_figure as figure;
        use std::time::Duration;
        let ms = |v: u64| figure(Duration::from_millis(v));
        let o = &self.outcome;
        let mut out = format!(
            "last {}at {}",
            if self.drill() { "drill " } else { "" },
            o.time
        );
        match o.decision_to_router_ms {
            Some(r) => out.push_str(&format!(": {} to router confirmed", ms(r))),
            None => out.push_str(": time not measured"),
        }
        if let (Some(r), Some(sla)) = (o.decision_to_router_ms, o.rollback_sla_ms) {
            let word = if r > sla { "OVER" } else { "within" };
            out.push_str(&format!(" ({word} the {} SLA)", ms(sla)));
        }
        if let Some(z) = o.decision_to_zero_ms {
            out.push_str(&format!(", {} to traffic at 0 %", ms(z)));
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let o = &self.outcome;
        json!({
            "time": o.time,
            "reason": o.reason,
            "origin": o.origin.as_ref().map_or("", RecordOrigin::word),
            "drill": self.drill(),
            "decision_to_router_ms": o.decision_to_router_ms,
            "decision_to_zero_ms": o.decision_to_zero_ms,
            "rollback_sla_ms": o.rollback_sla_ms,
        })
    }
}

/// The last rollback among `records`: its `ok` outcome, completed by the
/// `rollback_traffic_zero` record that may follow it.
pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Option<LastRollback> {
    let mut last: Option<LastRollback> = None;
    for rec in records {
        match rec.kind {
            RecordKind::Outcome
                if rec.outcome == Some(WriteOutcome::Ok)
                    && rec.action == Some(RecordAction::Rollback) =>
            {
                let mut outcome = rec.clone();
                outcome.decision_to_router_ms = rec.decision_to_router_ms.or(rec.duration_ms);
                last = Some(LastRollback { outcome });
            }
            RecordKind::Control if rec.action == Some(RecordAction::RollbackTrafficZero) => {
                if let Some(LastRollback { outcome }) = &mut last
                    && outcome.decision_to_zero_ms.is_none()
                    && outcome.origin == rec.origin
                {
                    outcome.decision_to_zero_ms = rec.decision_to_zero_ms;
                }
            }
            _ => {}
        }
    }
    last
}

/// [`from_records`] of the journal at `path`; `None` when it holds no
/// rollback or cannot be read.
pub fn last_rollback(path: &Path) -> Option<LastRollback> {
    // Streamed, keeping only the kinds that can say: a journal of a
    // million samples costs its rollbacks, not its size.
    let keep = |k| matches!(k, RecordKind::Outcome | RecordKind::Control);
    let records: Vec<Record> = super::journal_read::records_where(path, keep)
        .ok()?
        .filter(|r| {
            matches!(
                r.action,
                Some(RecordAction::Rollback | RecordAction::RollbackTrafficZero)
            )
        })
        .collect();
    from_records(&records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::tests::{ok_outcome, rec};

    #[test]
    fn the_outcome_completed_by_its_traffic_zero_record() {
        let mut intent = rec(
            RecordKind::Intent,
            RecordOrigin::Tui,
            RecordAction::Rollback,
        );
        intent.to = Some(0);
        let mut out = ok_outcome(RecordOrigin::Tui, RecordAction::Rollback);
        out.duration_ms = Some(130);
        out.decision_to_router_ms = Some(130);
        out.reason = Some("error rate".into());
        let mut zero = rec(
            RecordKind::Control,
            RecordOrigin::Tui,
            RecordAction::RollbackTrafficZero,
        );
        zero.decision_to_zero_ms = Some(5200);
        let l = from_records(&[intent, out.clone(), zero]).unwrap();
        assert_eq!(l.outcome.decision_to_router_ms, Some(130));
        assert_eq!(l.outcome.decision_to_zero_ms, Some(5200));
        assert_eq!(l.outcome.reason.as_deref(), Some("error rate"));
        assert!(!l.drill());
        // A later rollback without a zero yet is the last one.
        let mut drill = out;
        drill.origin = Some(RecordOrigin::Drill);
        drill.decision_to_router_ms = Some(90);
        let mut all = vec![drill];
        all.insert(
            0,
            rec(RecordKind::Note, RecordOrigin::Cli, RecordAction::Note),
        );
        let l = from_records(&all).unwrap();
        assert!(l.drill());
        assert_eq!(l.outcome.decision_to_zero_ms, None);
        assert!(
            from_records(&[rec(
                RecordKind::Start,
                RecordOrigin::Cli,
                RecordAction::Start
            )])
            .is_none()
        );
    }
}
