//! Small text formatters for clocks, ages and countdowns, shared by the
//! engine's messages and both front ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `MM:SS` below an hour, `HhMMm` above (`47h59m`). Rounded up, so a
/// countdown reads `00:00` only when it is over.
pub fn countdown(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// A short age: `2s`, `4m10s`, `3h05m`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `HH:MM:SS` in UTC.
pub fn clock_utc(t: SystemTime) -> String {
    let s = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// A configured duration in its largest whole unit: `48h`, `5m`, `90s`,
/// `250ms` (what a person would write in the config).
pub fn span(d: Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if s == 0 {
        "0s".into()
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// What to say when the router has not told us the split.
pub fn split_unknown(router_error: Option<&str>) -> String {
    format!(
        "split unknown: {}",
        router_error.unwrap_or("router not read yet")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(countdown(Duration::from_secs(192)), "03:12");
        assert_eq!(countdown(Duration::from_millis(4_500)), "00:05");
        assert_eq!(countdown(Duration::ZERO), "00:00");
        assert_eq!(span(Duration::from_secs(48 * 3600)), "48h");
        assert_eq!(span(Duration::from_secs(300)), "5m");
        assert_eq!(span(Duration::from_secs(90)), "90s");
        assert_eq!(span(Duration::from_millis(250)), "250ms");
        assert_eq!(span(Duration::ZERO), "0s");
        assert_eq!(countdown(Duration::from_secs(48 * 3600 - 60)), "47h59m");
        assert_eq!(age(Duration::from_millis(2_900)), "2s");
        assert_eq!(age(Duration::from_secs(250)), "4m10s");
        assert_eq!(
            clock_utc(UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 3723)),
            "01:02:03"
        );
    }
}
