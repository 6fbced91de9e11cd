//! One scripted metric source for the engine tests: each poll's readings
//! for blue and green come from a closure of the poll's number, so a test
//! says what the colours report (always healthy, request rates it sets,
//! a breach one poll in three ...) without writing a source of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cutover::metrics::MetricSource;
use cutover::model::{ColorReadings, Reading, Snapshot};

/// One poll's readings: p99 400 ms, the given error rate, quality 0.87,
/// over a full 100 ms window.
pub fn readings(error_rate: f64) -> ColorReadings {
    ColorReadings {
        metrics: vec![
            Reading::Value(400.0),
            Reading::Value(error_rate),
            Reading::Value(0.87),
        ],
        rps: Some(100.0),
        up: true,
        pods_up: None,
        warnings: vec![],
        alarms: Vec::new(),
        span: Duration::from_millis(100),
        tallies: Vec::new(),
    }
}

/// Blue's and green's readings for poll `n` (the first poll is 1).
type Script = Box<dyn FnMut(u64) -> (ColorReadings, ColorReadings) + Send>;

/// A source that answers each poll from its script.
pub struct Scripted {
    kind: &'static str,
    window: Duration,
    polls: u64,
    script: Script,
}

impl Scripted {
    pub fn new(
        kind: &'static str,
        window: Duration,
        script: impl FnMut(u64) -> (ColorReadings, ColorReadings) + Send + 'static,
    ) -> Scripted {
        Scripted {
            kind,
            window,
            polls: 0,
            script: Box::new(script),
        }
    }

    /// Both colours healthy on every poll.
    pub fn healthy() -> Scripted {
        Scripted::new("healthy", Duration::from_millis(100), |_| {
            (readings(0.1), readings(0.1))
        })
    }

    /// Healthy readings with the request rates `rates` holds: the split
    /// the traffic shows.
    pub fn rates(rates: Rates) -> Scripted {
        Scripted::new("rates", Duration::from_millis(100), move |_| {
            let (blue, green) = *rates.0.lock().unwrap();
            let with = |rps| ColorReadings {
                rps: Some(rps),
                ..readings(0.1)
            };
            (with(blue), with(green))
        })
    }
}

#[async_trait]
impl MetricSource for Scripted {
    fn kind(&self) -> &'static str {
        self.kind
    }
    async fn poll(&mut self) -> Snapshot {
        self.polls += 1;
        let (blue, green) = (self.script)(self.polls);
        Snapshot {
            at: tokio::time::Instant::now().into_std(),
            wall: std::time::SystemTime::now(),
            window: self.window,
            blue,
            green,
        }
    }
}

/// Both colours' request rates, set by the test: the split the traffic
/// shows.
#[derive(Clone)]
pub struct Rates(pub Arc<Mutex<(f64, f64)>>);
