//! What the cockpit remembers of a rollback across restarts: green failed,
//! so raising its traffic again needs force until green's identity (its
//! configured version) changes. Pure: no IO, no clock.

use std::time::SystemTime;

/// "Green was rolled back at `at` because `reason`."
#[derive(Debug, Clone, PartialEq)]
pub struct RolledBackMemory {
    pub at: SystemTime,
    pub reason: String,
    /// `[service] green_version` when the rollback happened, if configured.
    pub green_version: Option<String>,
}

impl RolledBackMemory {
    /// True when the green now configured is not the one that was rolled
    /// back. Only a configured version can say so: with no version set we
    /// cannot tell a new green from the failed one, so the memory holds.
    pub fn superseded_by(&self, configured: Option<&str>) -> bool {
        match configured {
            Some(v) => self.green_version.as_deref() != Some(v),
            None => false,
        }
    }

    /// `the rollback of green 1.4.2`, or `the rollback` without a version.
    pub fn describe_green(&self) -> String {
        match &self.green_version {
            Some(v) => format!("green {v}"),
            None => "green".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(v: Option<&str>) -> RolledBackMemory {
        RolledBackMemory {
            at: SystemTime::UNIX_EPOCH,
            reason: "error rate".into(),
            green_version: v.map(str::to_string),
        }
    }

    #[test]
    fn only_a_different_configured_version_supersedes() {
        assert!(!memory(Some("1")).superseded_by(Some("1")));
        assert!(memory(Some("1")).superseded_by(Some("2")));
        assert!(!memory(Some("1")).superseded_by(None));
        assert!(!memory(None).superseded_by(None));
        assert!(memory(None).superseded_by(Some("2")));
    }
}
