//! Assembly: turns a [`Config`] into a running engine with its router and
//! metric source (and, for the demo, the simulated fleet behind them).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::{
    Config, DemoConfig, JournalConfig, RouterConfig, RouterKind, ScrapeConfig, ServiceConfig,
    SourceConfig, SourceKind, defaults,
};
use crate::demo::{Fleet, Scenario};
use crate::engine::journal::Journal;
use crate::engine::{EngineHandle, EngineOptions};
use crate::metrics::MetricSource;
use crate::metrics::scrape::ScrapeSource;
use crate::model::{Color, Split};
use crate::router::TrafficRouter;
use crate::router::demo::{DemoRouter, SharedSplit};

/// Pods simulated per colour in the demo: their counters are summed, as
/// for a real service.
const DEMO_PODS: usize = 2;

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
        },
        source: SourceConfig {
            kind: SourceKind::Demo,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            window: Duration::from_secs(5),
            min_requests: crate::config::defaults::min_requests(),
            scrape: None,
        },
        router: RouterConfig {
            kind: RouterKind::Demo,
            demo: DemoConfig {
                scenario: scenario.name().to_string(),
                ..DemoConfig::default()
            },
            kubernetes: None,
        },
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

/// Builds the router and the metric source the config names, and starts
/// the engine over them.
pub async fn start(config: &Config, options: EngineOptions) -> anyhow::Result<Running> {
    let journal_path = config.journal_path();
    let journal = Journal::open(&journal_path)
        .with_context(|| format!("cannot open the journal {}", journal_path.display()))?;
    let (router, source, fleet) = assemble(config).await?;
    let (handle, task) = crate::engine::spawn(config, router, source, journal, options);
    Ok(Running {
        handle,
        task,
        journal: journal_path,
        fleet,
    })
}

type Parts = (Arc<dyn TrafficRouter>, Box<dyn MetricSource>, Option<Fleet>);

async fn assemble(config: &Config) -> anyhow::Result<Parts> {
    let s = &config.source;
    match config.router.kind {
        RouterKind::Demo => {
            let demo = &config.router.demo;
            let scenario: Scenario = demo.scenario.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let split = SharedSplit::new(Split::ZERO);
            let fleet = Fleet::start(scenario, demo.rps, DEMO_PODS, split.clone())
                .await
                .context("cannot start the demo fleet")?;
            let router = Arc::new(DemoRouter::new(split, demo.apply_delay));
            let scrape = match s.kind {
                SourceKind::Demo => fleet_scrape_config(&fleet),
                SourceKind::Scrape => s.scrape.clone().context("[source.scrape] is missing")?,
            };
            let source =
                ScrapeSource::new(&scrape, s.timeout, s.window)?.with_min_requests(s.min_requests);
            Ok((router, Box::new(source), Some(fleet)))
        }
        RouterKind::Kubernetes => {
            let k = config
                .router
                .kubernetes
                .as_ref()
                .context("[router.kubernetes] is missing")?;
            let router = crate::router::kubernetes::KubernetesRouter::connect(k)
                .await
                .context("cannot connect to the Kubernetes cluster")?;
            tracing::info!("kubernetes router: {}", router.describe());
            let scrape = match s.kind {
                SourceKind::Scrape => s.scrape.clone().context("[source.scrape] is missing")?,
                SourceKind::Demo => {
                    anyhow::bail!("source.kind = \"demo\" needs router.kind = \"demo\"")
                }
            };
            let source =
                ScrapeSource::new(&scrape, s.timeout, s.window)?.with_min_requests(s.min_requests);
            Ok((Arc::new(router), Box::new(source), None))
        }
    }
}

/// The scrape settings that read the embedded fleet (default series names).
fn fleet_scrape_config(fleet: &Fleet) -> ScrapeConfig {
    ScrapeConfig {
        blue: fleet.urls(Color::Blue),
        green: fleet.urls(Color::Green),
        latency_histogram: defaults::latency_histogram(),
        latency_unit: Default::default(),
        requests_counter: defaults::requests_counter(),
        status_label: defaults::status_label(),
        error_status_prefixes: defaults::error_status_prefixes(),
        quality_gauge: defaults::quality_gauge(),
    }
}
