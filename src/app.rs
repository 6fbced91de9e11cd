//! Assembly: turns a [`Config`] into a running engine with its router and
//! metric source (and, for the demo, the simulated fleet behind them).

pub mod demo_journal;
pub mod mark;

use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::{
    Config, DemoConfig, GuardrailsConfig, JournalConfig, PrometheusConfig, RouterConfig,
    ServiceConfig, SourceConfig, SourceKind,
};
use crate::demo::{Fleet, Scenario};
use crate::engine::journal::Journal;
use crate::engine::{EngineHandle, EngineOptions};
use crate::stats::{MinEffect, TestConfig};

/// A running engine and what it needs to stay alive.
pub struct Running {
    pub handle: EngineHandle,
    pub task: JoinHandle<()>,
    pub journal: std::path::PathBuf,
    /// The simulated fleet, when the router is the demo's; dropped last.
    pub fleet: Option<Fleet>,
    /// The alert task, when `[[alerts]]` are configured and this process
    /// moves traffic.
    pub alerts: Option<crate::alerts::Alerts>,
}

impl Running {
    /// Stops the engine (never moving traffic), which releases the
    /// journal's lock, and only then waits for alerts still on their way:
    /// a hung receiver never keeps a new cockpit from taking over. The wait
    /// is said, bounded by the alerts' drain time, and ends at Ctrl-C
    /// (SIGINT), SIGTERM or SIGHUP.
    pub async fn stop(self) {
        self.stop_waiting(None).await;
    }

    /// As [`Running::stop`], but waits at most `alert_wait` for alerts still
    /// on their way (a lost terminal's exit is promised within a second).
    pub async fn stop_within(self, alert_wait: Duration) {
        self.stop_waiting(Some(alert_wait)).await;
    }

    async fn stop_waiting(mut self, alert_wait: Option<Duration>) {
        let alerts = self.alerts.take();
        let after = crate::alerts::AfterEngine {
            journal: self.journal.clone(),
            service: self.handle.current().service.clone(),
        };
        if let Some(a) = &alerts {
            a.after_engine(after.clone());
        }
        let _ = self
            .handle
            .call(crate::engine::Origin::Cli, crate::engine::Command::Shutdown)
            .await;
        let _ = self.task.await;
        drop(self.fleet);
        if let Some(a) = alerts {
            match alert_wait {
                None => wait_for_alerts(a, after).await,
                Some(d) => {
                    let _ = tokio::time::timeout(d, a.finish()).await;
                }
            }
        }
    }
}

/// The alerts' last stretch, with the journal already released. Most
/// are answered within moments and nothing is said; a longer wait is said,
/// with how to end it.
async fn wait_for_alerts(a: crate::alerts::Alerts, after: crate::alerts::AfterEngine) {
    const QUIET: Duration = Duration::from_millis(300);
    let left = a.in_flight_counter();
    let drain = a.drain();
    let finish = a.finish();
    tokio::pin!(finish);
    let stop = crate::signals::any_stop();
    tokio::pin!(stop);
    let abandon = |sig: crate::signals::Stop| {
        let n = left.load(std::sync::atomic::Ordering::Relaxed).max(1);
        after.report(
            false,
            &format!(
                "ALERT NOT SENT: {n} alert(s) abandoned at exit ({sig}) before their receivers answered"
            ),
        );
    };
    tokio::select! {
        _ = &mut finish => return,
        sig = &mut stop => return abandon(sig),
        _ = tokio::time::sleep(QUIET) => {}
    }
    crate::console::warn(format!(
        "cutover: journal released; waiting up to {} for {} alert(s) still being sent (Ctrl-C stops waiting)",
        crate::format::span(drain),
        left.load(std::sync::atomic::Ordering::Relaxed).max(1)
    ));
    tokio::select! {
        _ = &mut finish => {}
        sig = &mut stop => abandon(sig),
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
            observed_split_margin: crate::config::defaults::observed_split_margin(),
            preset: None,
        },
        router: RouterConfig::Demo(DemoConfig {
            scenario,
            ..DemoConfig::default()
        }),
        plan: crate::config::PlanConfig {
            dwell,
            bake: dwell * 3,
            progress_deadline: Duration::from_secs(60),
            ..Default::default()
        },
        guardrails: demo_guardrails(),
        auto_rollback: Default::default(),
        gates: Default::default(),
        journal: JournalConfig {
            path: Some(journal.unwrap_or_else(demo_journal::default_path)),
            // A demo cutover lasts seconds: every poll is worth a point.
            sample_every: Duration::from_secs(1),
        },
        alerts: Vec::new(),
        safety: Default::default(),
        metrics: Vec::new(),
        cost: None,
        aws: None,
    }
}

/// The test the demos judge green's error rate with, beside today's
/// thresholds: a regression of half a point at α 1 %. Blue fails 0.2 % of
/// its requests and a healthy green 0.01 %, so a healthy green never gives
/// evidence against itself; a degrading one passes +0.5 pt within seconds
/// of taking 25 % (it climbs to 8 % over 12 s).
pub fn demo_error_rate_test() -> TestConfig {
    TestConfig {
        alpha: 0.01,
        min_effect: MinEffect::Points(0.5),
    }
}

/// Today's default guardrails, with [`demo_error_rate_test`] on the error
/// rate.
fn demo_guardrails() -> GuardrailsConfig {
    let mut g = GuardrailsConfig::default();
    g.error_rate.test = Some(demo_error_rate_test());
    g
}

/// The first port of the demo fleet's `/metrics` servers for
/// `demo --prometheus` and `demo --exporter-only` (9100 is node_exporter's).
pub const DEMO_METRICS_PORT: u16 = 9101;

/// `cutover demo --prometheus URL`: the demo, its fleet on fixed ports from
/// `metrics_port`, its numbers read back through that Prometheus (which
/// scrapes the fleet with `assets/prometheus/prometheus.yml`).
pub fn demo_prometheus_config(
    scenario: Scenario,
    dwell: Duration,
    journal: Option<std::path::PathBuf>,
    url: &str,
    metrics_port: u16,
) -> Config {
    let mut c = demo_config(scenario, dwell, journal);
    c.service.name = format!("demo-chat-model ({}, via Prometheus)", scenario.name());
    if let RouterConfig::Demo(d) = &mut c.router {
        d.metrics_port = Some(metrics_port);
    }
    c.source.kind = SourceKind::Prometheus(demo_prometheus(url));
    // Prometheus' rate() needs a few scrapes in its window; a 1 s scrape
    // and a 10 s window answer quickly and smoothly.
    c.source.window = Duration::from_secs(10);
    c
}

/// Queries for the demo fleet, which serves the common names the default
/// queries read, with the `track` label the shipped scrape config gives
/// each pod.
pub fn demo_prometheus(url: &str) -> PrometheusConfig {
    PrometheusConfig::new(url)
}

/// What to do when another process holds the journal (it is the one
/// writer of the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenHeld {
    /// Fail, naming the holder (`set`, `rollback`, `promote`, `run`).
    Fail,
    /// Carry on read-only, saying so and naming the holder (a cockpit).
    ReadOnly,
    /// Write anyway, journaled as forced (`rollback --force`).
    Force,
}

/// Builds the router and the metric source the config names, each by its
/// own factory, and starts the engine over them. Fails when another process holds the journal.
pub async fn start(config: &Config, options: EngineOptions) -> anyhow::Result<Running> {
    start_with(config, options, WhenHeld::Fail).await
}

/// As [`start`], with a choice of what to do when the journal is held.
pub async fn start_with(
    config: &Config,
    options: EngineOptions,
    when_held: WhenHeld,
) -> anyhow::Result<Running> {
    start_with_alerts(config, options, when_held, crate::alerts::Policy::default()).await
}

/// As [`start_with`], with how hard alerts are tried (tests shorten it).
pub async fn start_with_alerts(
    config: &Config,
    mut options: EngineOptions,
    when_held: WhenHeld,
    policy: crate::alerts::Policy,
) -> anyhow::Result<Running> {
    use crate::engine::journal::OpenError;
    let journal_path = config.journal_path();
    let cannot = || format!("cannot open the journal {}", journal_path.display());
    // A holder that lost its terminal is named, with how to take over.
    let held = |e: &OpenError| match mark::held_note(&journal_path) {
        Some(note) => format!("{e}: {note}"),
        None => e.to_string(),
    };
    let journal = if options.readonly {
        // A watcher never takes the writer's lock.
        let why = "read-only: this process does not write the journal";
        Journal::open_readonly(&journal_path, why).with_context(cannot)?
    } else {
        match (Journal::open(&journal_path), when_held) {
            (Ok(j), _) => j,
            (Err(e @ OpenError::Locked { .. }), WhenHeld::ReadOnly) => {
                let e = held(&e);
                options.readonly = true;
                options.readonly_reason = Some(format!("{e}; this cockpit moves no traffic"));
                Journal::open_readonly(&journal_path, e).with_context(cannot)?
            }
            (Err(e @ OpenError::Locked { .. }), WhenHeld::Force) => {
                options.forced_past = Some(held(&e));
                Journal::open_unlocked(&journal_path).with_context(cannot)?
            }
            (Err(e @ OpenError::Locked { .. }), WhenHeld::Fail) => {
                anyhow::bail!("{}; nothing was changed", held(&e))
            }
            (Err(e), _) => return Err(e).with_context(cannot),
        }
    };
    let built = crate::router::build(&config.router).await?;
    let source = crate::metrics::build(
        &config.source,
        &config
            .metric_specs()
            .map_err(|(k, m)| anyhow::anyhow!("{k}: {m}"))?,
        built.fleet.as_ref(),
    )?;
    // A watcher moves no traffic and so reports none: only the writer
    // alerts, once per change.
    let notices = if config.alerts.is_empty() || options.readonly {
        None
    } else {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        options.notices = Some(tx);
        Some(rx)
    };
    let (handle, task) = crate::engine::spawn(config, built.router, source, journal, options)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let alerts = notices
        .map(|rx| crate::alerts::spawn(&config.alerts, rx, handle.clone(), policy))
        .transpose()?;
    Ok(Running {
        handle,
        task,
        journal: journal_path,
        fleet: built.fleet,
        alerts,
    })
}
