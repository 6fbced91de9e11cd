//! `cutover demo --stack`: the whole stack on one machine. Real requests
//! from a load generator go through a real nginx, which the cockpit
//! rewrites, to a fleet of pods that serve them; a real Prometheus scrapes
//! the pods. Three views of the truth side by side: the router's split,
//! the metrics, and what the data plane (the load generator) saw.
//!
//! The lab sits above the front ends it drives (the TUI, or the headless
//! printer) and the assembly (`app`); the pods and the load generator it
//! starts are the demo's (`crate::demo`), which knows none of them.

mod child;
pub mod marks;
mod source;
pub mod stack;
mod template;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{event_line, exit_code_for, follow_events, say};
use crate::config::Config;
use crate::engine::journal::Journal;
use crate::engine::{EngineOptions, Outcome};
use crate::tui::{self, TuiOptions};

pub use marks::Marks;
pub use source::p99_test;
pub use stack::{Binaries, Lab, Plan, StackPorts, find_binaries, stack_config};

use crate::demo::Scenario;
use crate::demo::loadgen::summary_lines;

/// The data plane's observed split in the header covers this much.
pub const OBSERVED_WINDOW: Duration = Duration::from_secs(3);
/// After the outcome, answers still in flight are awaited this long.
const SETTLE: Duration = Duration::from_secs(4);

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub scenario: Scenario,
    /// The model server the pods play (`None`: the HTTP names).
    pub preset: Option<crate::demo::DemoPreset>,
    pub headless: bool,
    pub dwell: Duration,
    /// Keep the journal here; by default it lives (and goes) with the prefix.
    pub journal: Option<PathBuf>,
    pub rps: u32,
    /// Print nothing but the report (for the benchmark).
    pub quiet: bool,
    /// Judge green's error rate (and, with the HTTP names, its p99
    /// latency) with evidence as well as thresholds.
    pub evidence: bool,
}

/// What one headless run found.
#[derive(Debug, Clone)]
pub struct StackReport {
    pub code: u8,
    pub marks: Marks,
    /// Green's share of the answers in the last [`OBSERVED_WINDOW`].
    pub final_green_pct: Option<f64>,
    /// Requests that failed for a reason other than the model's answer.
    pub failed: u64,
    /// Of those answered, how many were sent again after a kept-alive
    /// connection closed under them.
    pub retried: u64,
    /// How the cutover ended, in the engine's words.
    pub outcome: String,
    /// Green's share that the include file gives at the end.
    pub include_green: Option<u8>,
}

async fn signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
        _ = hup.recv() => "hung up",
    }
}

/// Exit status for a signal, as a shell reports it (128 + number).
fn signal_code(name: &str) -> u8 {
    match name {
        "terminated" => 143,
        "hung up" => 129,
        _ => 130,
    }
}

/// `cutover demo --stack`: starts everything, runs the cockpit (or the
/// autopilot), stops everything. Returns the exit status.
pub async fn run(opts: StackOptions) -> anyhow::Result<u8> {
    Ok(run_report(opts).await?.code)
}

/// As [`run`], returning what the run found (for the benchmark).
pub async fn run_report(opts: StackOptions) -> anyhow::Result<StackReport> {
    let bins = find_binaries()?;
    // Listening from the start: a signal during start-up must reach the
    // teardown, not kill the process with its children running.
    let (tx, rx) = tokio::sync::watch::channel(None);
    let listener = tokio::spawn(async move {
        let _ = tx.send(Some(signal().await));
    });
    let r = run_inner(&opts, bins, rx).await;
    listener.abort();
    r
}

/// Resolves with the first signal's name.
async fn signalled(mut rx: tokio::sync::watch::Receiver<Option<&'static str>>) -> &'static str {
    match rx.wait_for(Option::is_some).await {
        Ok(name) => name.unwrap_or("interrupted"),
        Err(_) => std::future::pending().await,
    }
}

async fn run_inner(
    opts: &StackOptions,
    bins: Binaries,
    sig: tokio::sync::watch::Receiver<Option<&'static str>>,
) -> anyhow::Result<StackReport> {
    let quiet = opts.quiet;
    let note = |s: String| {
        if !quiet {
            say(s)
        }
    };
    let plan = Plan {
        scenario: opts.scenario,
        preset: opts.preset,
        dwell: opts.dwell,
        journal: opts.journal.clone(),
        evidence: opts.evidence,
    };
    let lab = tokio::select! {
        lab = Lab::start(&plan, opts.rps, bins) => lab?,
        name = signalled(sig.clone()) => {
            say(format!("stack: {name} during start-up; stopped everything"));
            return Ok(StackReport::signalled(name));
        }
    };
    let config = lab.config.clone();
    announce(&lab, opts, &note);
    let (code, outcome) = if opts.headless {
        match headless(&config, quiet, sig).await? {
            Ok(ended) => ended,
            Err(name) => return Ok(StackReport::signalled(name)),
        }
    } else {
        cockpit(&config, &lab).await?
    };
    // Answers sent before the last switch may still be in flight (after
    // the cockpit, the person at it has already watched them land).
    if opts.headless {
        tokio::time::sleep(SETTLE).await;
    }
    let report = report(&lab, &config, code, &outcome)?;
    if !quiet {
        // Second by second only where nobody watched it live.
        if opts.headless {
            for line in summary_lines(&lab.loadgen.tally()) {
                say(line);
            }
        }
        for line in report.lines(&lab) {
            say(line);
        }
    }
    Ok(report)
}

/// Says where the lab runs: its prefix, scenario, servers and config.
fn announce(lab: &Lab, opts: &StackOptions, note: &dyn Fn(String)) {
    let (nginx_pid, prom_pid) = lab.pids();
    note(format!("stack: prefix {}", lab.prefix.path().display()));
    note(format!(
        "stack: scenario {} ({}), dwell {}",
        opts.scenario.name(),
        opts.scenario.describe(),
        crate::format::span(opts.dwell)
    ));
    note(format!(
        "stack: nginx (pid {}) at {}; prometheus (pid {}) at http://127.0.0.1:{}; {} pods per colour; load {} rps",
        nginx_pid.unwrap_or(0),
        lab.ports.front_url(),
        prom_pid.unwrap_or(0),
        lab.ports.prometheus,
        stack::PODS,
        opts.rps
    ));
    note(format!(
        "stack: cockpit config {}",
        lab.config_path.display()
    ));
}

/// The autopilot until an outcome: its exit code and a few words, or the
/// signal that stopped it first.
async fn headless(
    config: &Config,
    quiet: bool,
    sig: tokio::sync::watch::Receiver<Option<&'static str>>,
) -> anyhow::Result<Result<(u8, String), &'static str>> {
    let note = |s: String| {
        if !quiet {
            say(s)
        }
    };
    let running = crate::app::start(
        config,
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    )
    .await?;
    let handle = running.handle.clone();
    let follow = follow_events(
        &handle,
        |e| {
            if !quiet {
                say(event_line(e))
            }
        },
        |s| s.outcome.is_some(),
    );
    let done = tokio::select! {
        s = follow => {
            let outcome = s?.outcome.clone().expect("stop condition");
            let said = match &outcome {
                Outcome::Promoted => "promoted".to_string(),
                Outcome::RolledBack { reason } => format!("rolled back: {reason}"),
                Outcome::HeldAfterRollback { reason } => {
                    format!("held, nothing moved: {reason}")
                }
            };
            note(format!("outcome: {said}"));
            (exit_code_for(&outcome) as u8, said)
        }
        name = signalled(sig) => {
            say(format!("stack: {name}; stopping everything (traffic left as it is)"));
            running.stop().await;
            return Ok(Err(name));
        }
    };
    running.stop().await;
    Ok(Ok(done))
}

/// The cockpit on the lab, with the load generator's observed split.
async fn cockpit(config: &Config, lab: &Lab) -> anyhow::Result<(u8, String)> {
    let running = crate::app::start(config, EngineOptions::default()).await?;
    let result = tui::run(
        running.handle.clone(),
        TuiOptions {
            readonly: false,
            poll_interval: config.source.interval,
            data_plane: Some(tui::DataPlane(std::sync::Arc::new(
                lab.loadgen.observer(OBSERVED_WINDOW),
            ))),
        },
    )
    .await;
    running.stop().await;
    Ok(match result? {
        tui::Exit::Quit => (0, "quit".to_string()),
        tui::Exit::Signal(name, code) => (code, format!("stopped by {name}")),
        tui::Exit::EngineStopped => (1, "the engine stopped".to_string()),
        // The lab lives in this process and dies with it: nothing to
        // guard, so a lost terminal ends it (traffic left as it is).
        tui::Exit::TerminalLost(why) => (129, format!("terminal lost ({why})")),
    })
}

fn report(lab: &Lab, config: &Config, code: u8, outcome: &str) -> anyhow::Result<StackReport> {
    let tally = lab.loadgen.tally();
    let journal = Journal::read_all(&config.journal_path()).unwrap_or_default();
    let marks = Marks {
        failing: lab.fleet.failing_since(),
        decided: marks::auto_rollback_at(&journal),
        last_green: tally.last_green,
    };
    let include = std::fs::read_to_string(lab.ports.include()).unwrap_or_default();
    let include_green = lab
        .nginx()
        .ok()
        .and_then(|n| crate::router::nginx::include::read(&include, n).ok())
        .map(|i| i.split.green());
    Ok(StackReport {
        code,
        marks,
        final_green_pct: lab.loadgen.observed(OBSERVED_WINDOW).map(|o| o.green_pct),
        failed: tally.total().failed(),
        retried: tally.total().retried,
        outcome: outcome.to_string(),
        include_green,
    })
}

impl StackReport {
    fn signalled(name: &str) -> StackReport {
        StackReport {
            code: signal_code(name),
            marks: Marks::default(),
            final_green_pct: None,
            failed: 0,
            retried: 0,
            outcome: name.to_string(),
            include_green: None,
        }
    }

    fn lines(&self, lab: &Lab) -> Vec<String> {
        let t = lab.loadgen.tally().total();
        let pct = |v: Option<f64>| v.map(|g| format!("{g:.1}%")).unwrap_or_else(|| "-".into());
        let mut out = vec![
            format!(
                "data plane total: {} answers (blue {}, green {}), 5xx {}, failed {} (connect {}, read {}, from the proxy {}), resent after a closed keep-alive {}",
                t.blue + t.green + t.unmarked,
                t.blue,
                t.green,
                t.status
                    .iter()
                    .filter(|(k, _)| **k >= 500)
                    .map(|(_, v)| v)
                    .sum::<u64>(),
                t.failed(),
                t.connect_failures,
                t.read_failures,
                t.unmarked,
                t.retried
            ),
            format!(
                "data plane now: green share over the last {}s: {}",
                OBSERVED_WINDOW.as_secs(),
                pct(self.final_green_pct)
            ),
            format!(
                "router: include sends {} to green",
                self.include_green
                    .map(|g| format!("{g}%"))
                    .unwrap_or_else(|| "?".into())
            ),
        ];
        out.extend(self.marks.lines());
        out
    }
}
