//! Assembly: turns a [`Config`] into a running engine with its router and
//! metric source (and, for the demo, the simulated fleet behind them).

use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::{
    Config, DemoConfig, JournalConfig, RouterConfig, ServiceConfig, SourceConfig, SourceKind,
};
use crate::demo::{Fleet, Scenario};
use crate::engine::journal::Journal;
use crate::engine::{EngineHandle, EngineOptions};

/// A running engine and what it needs to stay alive.
pub struct Running {
    pub handle: EngineHandle,
    pub task: JoinHandle<()>,
    pub journal: std::path::PathBuf,
    /// The simulated fleet, when the router is the demo's; dropped last.
    pub fleet: Option<Fleet>,
}

impl Running {
    /// Stops the engine (never moving traffic) and waits for it.
    pub async fn stop(self) {
        let _ = self
            .handle
            .call(crate::engine::Origin::Cli, crate::engine::Command::Shutdown)
            .await;
        let _ = self.task.await;
        drop(self.fleet);
    }
}

/// The config `cutover demo` runs on: the embedded fleet, a one-second
/// poll, and short dwells so a whole cutover fits in two minutes.
pub fn demo_config(
    scenario: Scenario,
    dwell: Duration,
    journal: Option<std::path::PathBuf>,
) -> Config {
    Config {
        service: ServiceConfig {
            name: format!("demo-chat-model ({})", scenario.name()),
            green_version: None,
        },
        source: SourceConfig {
            kind: SourceKind::Demo,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            window: Duration::from_secs(5),
            min_requests: crate::config::defaults::min_requests(),
        },
        router: RouterConfig::Demo(DemoConfig {
            scenario: scenario.name().to_string(),
            ..DemoConfig::default()
        }),
        plan: crate::config::PlanConfig {
            dwell,
            bake: dwell * 3,
            progress_deadline: Duration::from_secs(60),
            ..Default::default()
        },
        guardrails: Default::default(),
        auto_rollback: Default::default(),
        journal: JournalConfig {
            path: Some(journal.unwrap_or_else(|| crate::config::data_dir().join("demo.jsonl"))),
        },
    }
}

/// Builds the router and the metric source the config names, each by its
/// own factory, and starts the engine over them.
pub async fn start(config: &Config, options: EngineOptions) -> anyhow::Result<Running> {
    let journal_path = config.journal_path();
    let journal = Journal::open(&journal_path)
        .with_context(|| format!("cannot open the journal {}", journal_path.display()))?;
    let built = crate::router::build(&config.router).await?;
    let source = crate::metrics::build(&config.source, built.fleet.as_ref())?;
    let (handle, task) = crate::engine::spawn(config, built.router, source, journal, options);
    Ok(Running {
        handle,
        task,
        journal: journal_path,
        fleet: built.fleet,
    })
}
