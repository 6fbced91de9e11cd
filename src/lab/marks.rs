//! The three marks of a recovery and the intervals between them: green's
//! scenario starts to fail (the fleet), the auto-rollback decision (the
//! journal), and the last request the proxy sent to green (the load
//! generator).

use std::time::SystemTime;

use crate::demo::loadgen::GreenMark;
use crate::engine::journal::{Record, RecordKind, RecordOrigin};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Marks {
    pub failing: Option<SystemTime>,
    pub decided: Option<SystemTime>,
    pub last_green: Option<GreenMark>,
}

/// `b - a`, negative as a negative number of seconds.
fn between(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

impl Marks {
    /// Green failing → auto-rollback decided.
    pub fn detection(&self) -> Option<f64> {
        Some(between(self.failing?, self.decided?))
    }

    /// Auto-rollback decided → the last request routed to green.
    pub fn switch(&self) -> Option<f64> {
        Some(between(self.decided?, self.last_green?.sent))
    }

    /// Green failing → the last request routed to green.
    pub fn recovery(&self) -> Option<f64> {
        Some(between(self.failing?, self.last_green?.sent))
    }

    pub fn lines(&self) -> Vec<String> {
        let at = |t: Option<SystemTime>| {
            t.map(|t| humantime::format_rfc3339_millis(t).to_string())
                .unwrap_or_else(|| "never".into())
        };
        let ms = |v: Option<f64>| {
            v.map(|s| format!("{:.0} ms", s * 1000.0))
                .unwrap_or_else(|| "-".into())
        };
        vec![
            format!("marks: green starts to fail at {}", at(self.failing)),
            format!("marks: auto-rollback decided at {}", at(self.decided)),
            format!(
                "marks: last request routed to green sent at {} (answered at {})",
                at(self.last_green.map(|m| m.sent)),
                at(self.last_green.map(|m| m.received))
            ),
            format!(
                "marks: failing->decision {}, decision->last green {}, failing->last green {}",
                ms(self.detection()),
                ms(self.switch()),
                ms(self.recovery())
            ),
        ]
    }
}

/// When the first automatic rollback was decided: its intent record.
pub fn auto_rollback_at(journal: &[Record]) -> Option<SystemTime> {
    journal
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.origin == Some(RecordOrigin::AutoRollback))
        .and_then(|r| humantime::parse_rfc3339(&r.time).ok())
}

/// The `q` quantile (0..=1) by nearest rank: the smallest value with at
/// least that share of the values at or below it. Seconds.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn intervals_and_stats() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let m = Marks {
            failing: Some(t0),
            decided: Some(t0 + Duration::from_millis(4500)),
            last_green: Some(GreenMark {
                sent: t0 + Duration::from_millis(4600),
                received: t0 + Duration::from_secs(6),
            }),
        };
        assert!((m.detection().unwrap() - 4.5).abs() < 1e-9);
        assert!((m.switch().unwrap() - 0.1).abs() < 1e-9);
        assert!((m.recovery().unwrap() - 4.6).abs() < 1e-9);
        assert_eq!(Marks::default().lines().len(), 4);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&twenty, 0.95), Some(19.0));
        assert_eq!(quantile(&twenty, 1.0), Some(20.0));
        assert_eq!(quantile(&[3.0], 0.95), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
