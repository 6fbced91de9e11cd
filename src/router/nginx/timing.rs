//! Where the time of one write goes, step by step: shown in the write's
//! detail (the event log) and read back by the rollback benchmark.

use std::fmt;
use std::time::{Duration, Instant};

/// The steps of a write, in the order they run.
pub const STEPS: [&str; 9] = [
    "lock",
    "read",
    "backup",
    "temp+fsync",
    "rename",
    "test",
    "reload",
    "read-back",
    "dir-fsync",
];

/// The time each step took; a step that did not run has none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Steps {
    took: [Option<Duration>; STEPS.len()],
}

/// Times steps one after another: each `done` closes the step that began
/// when the previous one ended.
#[derive(Debug)]
pub struct Stopwatch {
    last: Instant,
    pub steps: Steps,
}

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch {
            last: Instant::now(),
            steps: Steps::default(),
        }
    }

    /// Closes `step` (one of `STEPS`) now.
    pub fn done(&mut self, step: &str) {
        let now = Instant::now();
        if let Some(i) = STEPS.iter().position(|s| *s == step) {
            self.steps.took[i] = Some(now - self.last);
        }
        self.last = now;
    }
}

impl Steps {
    pub fn get(&self, step: &str) -> Option<Duration> {
        STEPS
            .iter()
            .position(|s| *s == step)
            .and_then(|i| self.took[i])
    }

    pub fn total(&self) -> Duration {
        self.took.iter().flatten().sum()
    }

    /// Reads the `steps:` part of a write's detail back (the benchmark's
    /// view of a write made through the engine).
    pub fn parse(detail: &str) -> Option<Steps> {
        let list = detail.split_once("steps: ")?.1;
        let list = list.split_once(" ms").map_or(list, |(l, _)| l);
        let mut steps = Steps::default();
        for part in list.split(", ") {
            let (name, ms) = part.rsplit_once(' ')?;
            let i = STEPS.iter().position(|s| *s == name)?;
            let ms: f64 = ms.parse().ok()?;
            steps.took[i] = Some(Duration::from_secs_f64(ms / 1000.0));
        }
        Some(steps)
    }
}

/// `steps: lock 0.1, read 0.2, ..., dir-fsync 0.8 ms` (steps that ran).
impl fmt::Display for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("steps: ")?;
        let mut first = true;
        for (name, took) in STEPS.iter().zip(&self.took) {
            let Some(d) = took else { continue };
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{name} {:.1}", d.as_secs_f64() * 1000.0)?;
        }
        f.write_str(" ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_and_read_back() {
        let mut s = Steps::default();
        s.took[0] = Some(Duration::from_micros(120));
        s.took[6] = Some(Duration::from_millis(42));
        let shown = format!("reload ok; {s}");
        assert_eq!(shown, "reload ok; steps: lock 0.1, reload 42.0 ms");
        let back = Steps::parse(&shown).unwrap();
        assert_eq!(back.get("reload"), Some(Duration::from_millis(42)));
        assert_eq!(back.get("test"), None);
        assert!(Steps::parse("no steps here").is_none());
    }
}
