//! What the gates tests share: the real engine over an in-memory router and
//! a source that reports both colours healthy, on real time (the checks
//! are real requests and real processes).

use std::sync::Arc;
use std::time::Duration;

use cutover::config::{Config, GatesConfig};
use cutover::engine::journal::Journal;
use cutover::engine::{EngineHandle, EngineOptions, State};

use super::engine as engine_rig;

pub use engine_rig::{FakeRouter as Router, Scripted, records};

pub struct Rig {
    pub handle: EngineHandle,
    pub router: Router,
    pub journal: std::path::PathBuf,
    pub task: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

pub fn config(gates: GatesConfig) -> Config {
    let mut c = engine_rig::config("gates-test");
    c.gates = gates;
    c.plan.steps = vec![1, 50, 100];
    c.plan.dwell = Duration::from_secs(600);
    c
}

pub fn rig(initial: u8, c: Config) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = Router::at(initial);
    let journal = Journal::open(&path).unwrap();
    let (handle, task) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(Scripted::healthy()),
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
                s.guard.gate, s.checks, s.events
            )
        }
    }
}
