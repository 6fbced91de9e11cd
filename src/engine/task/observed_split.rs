//! The split the traffic shows, beside the router's: kept in the state
//! with its time, and a disagreement that lasts a whole window is an event,
//! never silence.

use super::Engine;

use crate::engine::observed::{self, Agreement};
use crate::engine::state::EventLevel;
use crate::engine::state::Observed;
use crate::format::span;
use crate::model::Snapshot;

impl Engine {
    pub(super) fn track_observed(&mut self, snap: &Snapshot) {
        let seen = observed::of_snapshot(snap);
        self.watch_zero(snap.at, seen);
        if let Some(green) = seen {
            self.state.traffic.observed = Some(Observed { green, at: snap.at });
        }
        let router = self.state.traffic.split;
        let marked = self.traffic.disagreement.update(snap.at, router, seen);
        let was = self.state.traffic.observed_disagrees;
        let agreement = self.traffic.disagreement.state();
        self.state.traffic.observed_disagrees = matches!(agreement, Agreement::Disagree { .. });
        if marked && let (Some(r), Some(o)) = (router, seen) {
            self.event(
                EventLevel::Warn,
                format!(
                    "traffic shows green at {o:.1} % while the router says {} % for a whole window ({})",
                    r.green(),
                    span(self.config.source.window)
                ),
            );
        } else if was
            && agreement == Agreement::Agree
            && let Some(o) = seen
        {
            // The end of a reported disagreement is news too.
            self.event(
                EventLevel::Info,
                format!("traffic agrees with the router again: green at {o:.1} %"),
            );
        }
    }
}
