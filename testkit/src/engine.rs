//! What the engine tests share: the kit's fake router and scripted source,
//! a config with 100 ms polls, and a wait on the published state. Used as
//! `use crate::support::engine as engine_rig;`.

use std::time::Duration;

use cutover::config::{Config, ServiceConfig, SourceConfig};
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::{Journal, Record};
use cutover::engine::{EngineHandle, Refusal, State};

pub use super::fake_router::FakeRouter;
pub use super::source::{Rates, Scripted, readings};

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
        metrics: Vec::new(),
        cost: None,
        aws: None,
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

/// The engine over `c` with the fake router at `pct` % and `source`,
/// journaling to `journal`, default options.
pub fn spawn_at(
    c: &Config,
    pct: u8,
    source: Scripted,
    journal: &std::path::Path,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    cutover::engine::spawn(
        c,
        std::sync::Arc::new(FakeRouter::at(pct)),
        Box::new(source),
        Journal::open(journal).unwrap(),
        cutover::engine::EngineOptions::default(),
    )
    .unwrap()
}

pub fn records(path: &std::path::Path) -> Vec<Record> {
    Journal::read_all(path).unwrap()
}

/// True when `e` is the gate, closed for a reason force passes, one of
/// whose reasons `is` picks.
pub fn gate_closed(e: &Refusal, is: impl Fn(&GateReason) -> bool) -> bool {
    matches!(e, Refusal::GateClosed(r) if r.iter().any(is))
}

/// True when `e` is the gate, closed for a reason no force passes, one of
/// whose reasons `is` picks.
pub fn gate_hard(e: &Refusal, is: impl Fn(&GateReason) -> bool) -> bool {
    matches!(e, Refusal::GateHard(r) if r.iter().any(is))
}
