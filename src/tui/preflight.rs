//! Whether the engine would accept what a confirmation dialog asks, judged
//! on the published state before the dialog opens. A dialog that is
//! answered Yes only to be refused is a trap; saying up front why not is
//! honest. The engine still decides: this only spares the false question.
//! Pure.

use crate::engine::{Phase, State};
use crate::model::Split;

use super::app::ConfirmKind;

/// Why the engine would refuse `kind` now, if it would.
pub fn refusal(kind: ConfirmKind, state: &State) -> Option<String> {
    if let Some(p) = &state.traffic.pending {
        return Some(format!(
            "busy: {} → {} is in flight; r still rolls back",
            p.from.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            p.to
        ));
    }
    let Some(split) = state.traffic.split else {
        return Some("split unknown: the router has not answered yet".into());
    };
    match kind {
        ConfirmKind::Promote => promote(state, split),
        ConfirmKind::ForceAdvance if split == Split::FULL => {
            Some("already at 100 %: nothing to advance".into())
        }
        ConfirmKind::ForceSet(to) if to == split => Some(format!("already at {to}")),
        ConfirmKind::Decommission => decommission(state, split),
        ConfirmKind::ForceAdvance | ConfirmKind::ForceSet(_) | ConfirmKind::Disarm => None,
    }
}

fn promote(state: &State, split: Split) -> Option<String> {
    if split == Split::FULL {
        return Some("already at 100 %: green has all traffic".into());
    }
    if let Some(m) = &state.rollback.rolled_back {
        return Some(format!(
            "{} was rolled back ({}): promoting it needs force: `:set 100` and confirm",
            m.describe_green(),
            m.reason
        ));
    }
    None
}

fn decommission(state: &State, split: Split) -> Option<String> {
    if state.blue_decommissioned {
        return Some("blue is already decommissioned".into());
    }
    if state.phase != Phase::Promoted || split != Split::FULL {
        return Some(format!(
            "decommission blue only after a promotion, with all traffic on green \
             (now {} green, {})",
            split,
            state.phase.name()
        ));
    }
    None
}
