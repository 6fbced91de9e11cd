//! What the engine tests share: readings and a source that is always
//! healthy, a router that keeps its split in memory, a config with 100 ms
//! polls, and a wait on the published state. Used as
//! `use crate::support::engine as engine_rig;`.
#![allow(dead_code)] // each test file uses its own part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cutover::config::{Config, ServiceConfig, SourceConfig};
use cutover::engine::journal::{Journal, Record};
use cutover::engine::{EngineHandle, State};
use cutover::metrics::MetricSource;
use cutover::model::{ColorReadings, Reading, Snapshot, Split};
use cutover::router::{Applied, RouterError, RouterRead, TrafficRouter, WriteRequest};

/// One poll's readings: p99 400 ms, the given error rate, quality 0.87,
/// over a full 100 ms window.
pub fn readings(error_rate: f64) -> ColorReadings {
    ColorReadings {
        metrics: [
            Reading::Value(400.0),
            Reading::Value(error_rate),
            Reading::Value(0.87),
        ],
        rps: Some(100.0),
        up: true,
        pods_up: None,
        warnings: vec![],
        span: Duration::from_millis(100),
    }
}

/// Both colours healthy on every poll.
pub struct Healthy;

#[async_trait]
impl MetricSource for Healthy {
    fn kind(&self) -> &'static str {
        "healthy"
    }
    async fn poll(&mut self) -> Snapshot {
        Snapshot {
            at: tokio::time::Instant::now().into_std(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_millis(100),
            blue: readings(0.1),
            green: readings(0.1),
        }
    }
}

/// Both colours' request rates, set by the test: the split the traffic
/// shows.
#[derive(Clone)]
pub struct Rates(pub Arc<Mutex<(f64, f64)>>);

/// Healthy readings with the request rates [`Rates`] holds.
pub struct RatesSource(pub Rates);

#[async_trait]
impl MetricSource for RatesSource {
    fn kind(&self) -> &'static str {
        "rates"
    }
    async fn poll(&mut self) -> Snapshot {
        let (blue, green) = *self.0.0.lock().unwrap();
        let with = |rps| ColorReadings {
            rps: Some(rps),
            ..readings(0.1)
        };
        Snapshot {
            at: tokio::time::Instant::now().into_std(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_millis(100),
            blue: with(blue),
            green: with(green),
        }
    }
}

/// A router that keeps its split in memory and counts its writes.
#[derive(Clone, Default)]
pub struct MemoryRouter(Arc<Mutex<(u8, u32)>>);

impl MemoryRouter {
    pub fn at(split: u8) -> MemoryRouter {
        MemoryRouter(Arc::new(Mutex::new((split, 0))))
    }
    pub fn split(&self) -> u8 {
        self.0.lock().unwrap().0
    }
    pub fn writes(&self) -> u32 {
        self.0.lock().unwrap().1
    }
}

#[async_trait]
impl TrafficRouter for MemoryRouter {
    fn kind(&self) -> &'static str {
        "memory"
    }
    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        Ok(RouterRead::unversioned(Split::new(self.split()).unwrap()))
    }
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let mut r = self.0.lock().unwrap();
        r.0 = req.split.green();
        r.1 += 1;
        Ok(Applied {
            split: req.split,
            revision: None,
            detail: "memory".into(),
        })
    }
}

/// A config with defaults but for 100 ms polls over a 100 ms window (the
/// readings above cover a whole window each).
pub fn config(service: &str) -> Config {
    let mut c = Config {
        service: ServiceConfig {
            name: service.into(),
            green_version: None,
        },
        source: SourceConfig::default(),
        router: Default::default(),
        plan: Default::default(),
        guardrails: Default::default(),
        auto_rollback: Default::default(),
        gates: Default::default(),
        journal: Default::default(),
        alerts: Vec::new(),
        safety: Default::default(),
    };
    c.source.interval = Duration::from_millis(100);
    c.source.timeout = Duration::from_millis(100);
    c.source.window = Duration::from_millis(100);
    c
}

/// Waits up to `within` for a published state that satisfies `f`; on a
/// timeout, fails naming `what` and showing the events.
pub async fn wait_within(
    h: &EngineHandle,
    within: Duration,
    what: &str,
    f: impl Fn(&State) -> bool,
) -> State {
    let mut rx = h.state();
    match tokio::time::timeout(within, rx.wait_for(|s| f(s))).await {
        Ok(Ok(s)) => (**s).clone(),
        _ => panic!(
            "timed out waiting for {what}: {:#?}",
            h.state().borrow().events
        ),
    }
}

/// [`wait_within`] ten seconds.
pub async fn wait_for(h: &EngineHandle, what: &str, f: impl Fn(&State) -> bool) -> State {
    wait_within(h, Duration::from_secs(10), what, f).await
}

pub fn records(path: &std::path::Path) -> Vec<Record> {
    Journal::read_all(path).unwrap()
}
