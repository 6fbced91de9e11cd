//! What the engine says once rather than at every poll or tick: a bake
//! held, the standby window's end, a dwell restarted by a run of bad polls,
//! a sample that could not be written, each verdict as it changes, and
//! each source warning as it appears. Pure bookkeeping, no IO.

use std::collections::HashMap;

use crate::model::{Color, Verdict};

#[derive(Default)]
pub(super) struct SaidOnce {
    /// The bake window ended with green not clean, and that was said.
    pub(super) bake_hold: bool,
    /// The standby window's end was said.
    pub(super) standby_end: bool,
    /// The current run of bad green polls has been said to restart the dwell.
    pub(super) dwell_restart: bool,
    /// A sample could not be written, and that was said.
    pub(super) sample_failure: bool,
    /// The last verdict of each reading, and whether it was reported.
    verdicts: HashMap<(Color, String), (Verdict, bool)>,
    warnings: Vec<String>,
}

/// True the first time: sets `flag`.
pub(super) fn first(flag: &mut bool) -> bool {
    !std::mem::replace(flag, true)
}

impl SaidOnce {
    /// The verdict last seen for `key` and whether it was reported
    /// (`NoData`, unreported, before the first).
    pub(super) fn verdict(&self, key: &(Color, String)) -> (Verdict, bool) {
        self.verdicts
            .get(key)
            .copied()
            .unwrap_or((Verdict::NoData, false))
    }

    pub(super) fn set_verdict(&mut self, key: (Color, String), verdict: Verdict, reported: bool) {
        self.verdicts.insert(key, (verdict, reported));
    }

    /// Keeps `warnings` as the current ones; returns those not current
    /// before, in order.
    pub(super) fn new_warnings(&mut self, warnings: Vec<String>) -> Vec<String> {
        if warnings == self.warnings {
            return Vec::new();
        }
        let new = warnings
            .iter()
            .filter(|w| !self.warnings.contains(w))
            .cloned()
            .collect();
        self.warnings = warnings;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_first_once() {
        let mut said = SaidOnce::default();
        assert!(first(&mut said.bake_hold));
        assert!(!first(&mut said.bake_hold));
        said.bake_hold = false;
        assert!(first(&mut said.bake_hold));
    }

    #[test]
    fn a_warning_is_new_once_while_it_lasts() {
        let mut said = SaidOnce::default();
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(said.new_warnings(w(&["a"])), w(&["a"]));
        assert!(said.new_warnings(w(&["a"])).is_empty());
        assert_eq!(said.new_warnings(w(&["a", "b"])), w(&["b"]));
        assert!(said.new_warnings(w(&[])).is_empty());
        assert_eq!(said.new_warnings(w(&["a"])), w(&["a"]));
    }

    #[test]
    fn verdicts_start_as_unreported_no_data() {
        let mut said = SaidOnce::default();
        let key = (Color::Green, "p99_ms".to_string());
        assert_eq!(said.verdict(&key), (Verdict::NoData, false));
        said.set_verdict(key.clone(), Verdict::Breach, true);
        assert_eq!(said.verdict(&key), (Verdict::Breach, true));
    }
}
