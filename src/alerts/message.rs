//! What an alert says: the placeholder values of one notice. Pure.

use crate::engine::Notice;
use crate::model::Split;

fn show(s: Option<Split>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
}

fn readings(n: &Notice) -> String {
    n.readings.join("; ")
}

/// One readable paragraph: what happened, why, and green's readings.
pub fn summary(n: &Notice) -> String {
    use crate::config::AlertEvent::*;
    let version = n
        .green_version
        .as_deref()
        .map(|v| format!(" (green {v})"))
        .unwrap_or_default();
    let took = n
        .took
        .map(|d| format!(" in {} ms", d.as_millis()))
        .unwrap_or_default();
    let mut s = match (n.event, &n.failed) {
        (Rollback, None) => format!(
            "{}: ROLLED BACK{version}: green {} → {} by {}{took}.",
            n.service,
            show(n.from),
            show(n.split),
            n.origin.name()
        ),
        (Rollback, Some(why)) => format!(
            "{}: ROLLBACK FAILED{version}: green {} → {} by {} was not confirmed{took}: {why}. Traffic may still be on green.",
            n.service,
            show(n.from),
            show(n.split),
            n.origin.name()
        ),
        (Promote, _) => format!(
            "{}: PROMOTED{version}: green {} → {} by {}{took}.",
            n.service,
            show(n.from),
            show(n.split),
            n.origin.name()
        ),
        (TerminalLost, _) => format!(
            "{}: the cockpit LOST ITS TERMINAL{version} with green at {}.",
            n.service,
            show(n.split)
        ),
        (Breach, _) => format!(
            "{}: green BREACHES its guardrails{version} at {}.",
            n.service,
            show(n.split)
        ),
    };
    match (&n.reason, n.event) {
        (Some(r), TerminalLost) => s.push_str(&format!(" Now: {r}.")),
        (Some(r), _) => s.push_str(&format!(" Reason: {r}.")),
        (None, _) => {}
    }
    if !n.readings.is_empty() {
        let when = match n.event {
            Breach => "Green's readings",
            _ => "Green at the decision",
        };
        s.push_str(&format!(" {when}: {}.", readings(n)));
    }
    s
}

/// The value of placeholder `name` (see `config::alert_template::PLACEHOLDERS`).
pub fn value(n: &Notice, name: &str) -> String {
    match name {
        "summary" => summary(n),
        "service" => n.service.clone(),
        "event" => n.event.name().to_string(),
        "reason" => n.reason.clone().unwrap_or_default(),
        "split" => show(n.split),
        "from" => show(n.from),
        "origin" => n.origin.name().to_string(),
        "readings" => readings(n),
        "time" => humantime::format_rfc3339_millis(n.wall).to_string(),
        // Templates are checked when the config is loaded.
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::config::AlertEvent;
    use crate::engine::Origin;

    fn rollback() -> Notice {
        Notice {
            event: AlertEvent::Rollback,
            wall: SystemTime::UNIX_EPOCH,
            service: "chat".into(),
            green_version: Some("1.4.2".into()),
            origin: Origin::AutoRollback,
            from: Split::new(25),
            split: Split::new(0),
            reason: Some("auto-rollback after 2 consecutive polls with green in breach: green error rate 12.0 % BREACH (> 5.00 %)".into()),
            readings: vec!["green error rate 12.0 % BREACH (> 5.00 %)".into()],
            metrics: Vec::new(),
            failed: None,
            took: Some(Duration::from_millis(152)),
        }
    }

    #[test]
    fn a_rollback_names_the_metric_the_value_and_the_threshold() {
        let s = summary(&rollback());
        assert!(
            s.starts_with(
                "chat: ROLLED BACK (green 1.4.2): green 25% → 0% by auto-rollback in 152 ms."
            ),
            "{s}"
        );
        assert!(s.contains("error rate 12.0 % BREACH (> 5.00 %)"), "{s}");
        let mut failed = rollback();
        failed.failed = Some("nginx reload failed".into());
        assert!(summary(&failed).contains("ROLLBACK FAILED"));
        assert_eq!(value(&rollback(), "event"), "rollback");
        assert_eq!(value(&rollback(), "split"), "0%");
        assert_eq!(value(&rollback(), "from"), "25%");
        assert_eq!(value(&rollback(), "time"), "1970-01-01T00:00:00.000Z");
    }
}
