//! What the gates tests share: the real engine over an in-memory router and
//! a source that reports both colours healthy, on real time (the checks
//! are real requests and real processes).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cutover::config::{Config, GatesConfig, ServiceConfig, SourceConfig};
use cutover::engine::journal::{Journal, Record};
use cutover::engine::{EngineHandle, EngineOptions, State};
use cutover::metrics::MetricSource;
use cutover::model::{ColorReadings, Reading, Snapshot, Split};
use cutover::router::{Applied, RouterError, RouterRead, TrafficRouter, WriteRequest};

#[derive(Clone)]
pub struct Router(pub Arc<Mutex<u8>>);

#[async_trait]
impl TrafficRouter for Router {
    fn kind(&self) -> &'static str {
        "memory"
    }
    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        Ok(RouterRead::unversioned(
            Split::new(*self.0.lock().unwrap()).unwrap(),
        ))
    }
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        *self.0.lock().unwrap() = req.split.green();
        Ok(Applied {
            split: req.split,
            revision: None,
            detail: "memory".into(),
        })
    }
}

struct Healthy;

fn readings() -> ColorReadings {
    ColorReadings {
        metrics: [
            Reading::Value(400.0),
            Reading::Value(0.1),
            Reading::Value(0.87),
        ],
        rps: Some(100.0),
        up: true,
        pods_up: None,
        warnings: vec![],
        span: Duration::from_millis(100),
    }
}

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
            blue: readings(),
            green: readings(),
        }
    }
}

pub struct Rig {
    pub handle: EngineHandle,
    pub router: Router,
    pub journal: std::path::PathBuf,
    pub task: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

pub fn config(gates: GatesConfig) -> Config {
    let mut c = Config {
        service: ServiceConfig {
            name: "gates-test".into(),
            green_version: None,
        },
        source: SourceConfig::default(),
        router: Default::default(),
        plan: Default::default(),
        guardrails: Default::default(),
        auto_rollback: Default::default(),
        journal: Default::default(),
        alerts: Vec::new(),
        gates,
    };
    c.source.interval = Duration::from_millis(100);
    c.source.timeout = Duration::from_millis(100);
    c.source.window = Duration::from_millis(100);
    c.plan.steps = vec![1, 50, 100];
    c.plan.dwell = Duration::from_secs(600);
    c
}

pub fn rig(initial: u8, c: Config) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = Router(Arc::new(Mutex::new(initial)));
    let journal = Journal::open(&path).unwrap();
    let (handle, task) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(Healthy),
        journal,
        EngineOptions::default(),
    )
    .unwrap();
    Rig {
        handle,
        router,
        journal: path,
        task,
        dir,
    }
}

pub async fn wait_for(h: &EngineHandle, what: &str, f: impl Fn(&State) -> bool) -> State {
    let mut rx = h.state();
    let r = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| f(s)))
        .await
        .map(|r| r.map(|s| (**s).clone()));
    match r {
        Ok(Ok(s)) => s,
        _ => {
            let s = h.current();
            panic!(
                "timed out waiting for {what}: gate {:?}\nchecks {:#?}\nevents {:#?}",
                s.gate, s.checks, s.events
            )
        }
    }
}

pub fn records(path: &std::path::Path) -> Vec<Record> {
    Journal::read_all(path).unwrap()
}
