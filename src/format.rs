//! Small text formatters for clocks, ages and countdowns, shared by the
//! engine's messages and both front ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `MM:SS` below an hour, `HhMMm` above (`47h59m`).
pub fn countdown(d: Duration) -> String {
    let s = d.as_secs();
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
        assert_eq!(countdown(Duration::from_secs(48 * 3600 - 60)), "47h59m");
        assert_eq!(age(Duration::from_millis(2_900)), "2s");
        assert_eq!(age(Duration::from_secs(250)), "4m10s");
        assert_eq!(
            clock_utc(UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 3723)),
            "01:02:03"
        );
    }
}
