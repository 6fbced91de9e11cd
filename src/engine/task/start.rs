//! What the engine says and journals as it starts: the `start` record,
//! and events for a journal with unreadable lines, plan steps the router
//! cannot set, and a read-only cockpit.

use super::Engine;
use crate::engine::command::Origin;
use crate::engine::journal::{RecordAction, RecordKind};
use crate::engine::state::EventLevel;

impl Engine {
    pub(super) fn journal_start(&mut self) {
        if let Some(why) = self.options.readonly_reason.clone() {
            self.event(EventLevel::Warn, format!("read-only: {why}"));
        }
        // A watcher is not the writer: the journal is someone else's.
        if !self.options.readonly {
            self.journal_start_record();
        }
        self.start_events();
    }

    fn journal_start_record(&mut self) {
        let mut rec = self.record(RecordKind::Start, Origin::Cli, RecordAction::Start);
        rec.detail = Some(format!(
            "router {}, source {}{}",
            self.state.router_kind,
            self.state.source,
            if self.options.autopilot {
                ", autopilot"
            } else {
                ""
            },
        ));
        let _ = self.append(&rec);
    }

    fn start_events(&mut self) {
        if self.journal.recovery.bad_lines > 0 {
            self.event(
                EventLevel::Warn,
                format!(
                    "journal: {} unreadable line(s) skipped",
                    self.journal.recovery.bad_lines
                ),
            );
        }
        let unsettable = self.plan.unsettable_steps(&self.router.capabilities());
        if !unsettable.is_empty() {
            let steps: Vec<String> = unsettable.iter().map(|s| format!("{s}%")).collect();
            self.event(
                EventLevel::Error,
                format!(
                    "plan steps {} cannot be set: the {} router can set {}",
                    steps.join(", "),
                    self.router.kind(),
                    self.router.capabilities().describe()
                ),
            );
        }
        if self.options.readonly {
            self.event(
                EventLevel::Info,
                "read-only: this cockpit moves no traffic; auto-rollback is off here",
            );
        }
    }
}
