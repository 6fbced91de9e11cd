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

/// A measured time in whole milliseconds with a space before the unit:
/// `155 ms`, `4997 ms`, `24843 ms`. One format for every time to rollback,
/// however long, so figures compare at a glance.
pub fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
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

/// Text from outside (a service name, a server's error, a label) made safe
/// to print: control characters (C0, DEL, C1) and the bidirectional
/// overrides are written as visible escapes (`\x1b`, `\u{202e}`), so no
/// config or server can retitle, clear or reorder the user's terminal.
/// `keep_newlines` keeps `\n` (and `\t`) for multi-line output that cutover
/// itself lays out; single fields pass `false` so they cannot forge lines.
pub fn sanitize(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        if keep_newlines && (c == '\n' || c == '\t') {
            return false;
        }
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn millis_have_one_format_at_every_length() {
        use std::time::Duration;
        assert_eq!(super::millis(Duration::from_millis(155)), "155 ms");
        assert_eq!(super::millis(Duration::from_millis(4_997)), "4997 ms");
        assert_eq!(super::millis(Duration::from_millis(24_843)), "24843 ms");
    }

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

    #[test]
    fn sanitize_escapes_terminal_controls() {
        let evil = "svc\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}1m\u{202e}x\ny";
        let one = sanitize(evil, false);
        assert_eq!(one, "svc\\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\u{202e}x\\x0ay");
        assert!(!one.chars().any(|c| c.is_control()));
        assert_eq!(sanitize("a\n\tb", true), "a\n\tb");
        assert_eq!(sanitize("a\n\u{1b}b", true), "a\n\\x1bb");
        assert!(matches!(
            sanitize("plain", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
