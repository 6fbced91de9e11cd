use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cutover::app;
use cutover::cli::{self, Cli, Cmd, say};
use cutover::config::{self, Config};
use cutover::engine::{Command, EngineOptions};
use cutover::model::Split;
use cutover::tui::{self, TuiOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cutover::logging::init(cli.log.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // A blocking call stuck in a hung reload or a dead disk must not hold
    // the exit (a signal is answered within a second): every path above
    // has already stopped the engine or given up on it, and the journal
    // and the routers are built to survive a process that ends mid-write.
    runtime.shutdown_timeout(std::time::Duration::from_millis(300));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // The message may quote a config line or a server's answer.
            cli::warn(format!("error: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// Exit status of a command that refuses to act (see `one_shot`); clap's
/// usage errors exit 2 as well: the command was not carried out as asked.
const REFUSED: u8 = 2;

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let path = config::resolve_path(cli.config.as_deref())
        .context("no config directory on this system; pass --config")?;
    if cli.config.is_none() && !path.exists() {
        anyhow::bail!(
            "no config at {}: pass --config PATH, set CUTOVER_CONFIG, or copy config.example.toml there.\n\
             To try the cockpit without any servers: cutover demo",
            path.display()
        );
    }
    Ok(config::load(&path)?)
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let command = cli
        .command
        .as_ref()
        .unwrap_or(&Cmd::Tui { readonly: false });
    match command {
        Cmd::Demo(args) => demo(&cli, args).await,
        Cmd::Tui { readonly } => cockpit(&load_config(&cli)?, *readonly, cli.take_over).await,
        Cmd::Check => check(&cli).await,
        Cmd::Status { json } => status(&cli, *json).await,
        Cmd::Set { pct, reason, force } => {
            let split = Split::new(*pct)
                .with_context(|| format!("{pct} is not a percentage (0 to 100)"))?;
            one_shot(
                &cli,
                "set",
                Command::SetSplit {
                    split,
                    reason: reason.clone(),
                    force: *force,
                },
            )
            .await
        }
        Cmd::Rollback { reason, force } => {
            let when_held = if *force {
                app::WhenHeld::Force
            } else {
                app::WhenHeld::Fail
            };
            one_shot_with(
                &cli,
                "rollback",
                Command::Rollback {
                    reason: reason.clone(),
                },
                when_held,
            )
            .await
        }
        Cmd::Promote => one_shot(&cli, "promote", Command::Promote).await,
        Cmd::Drill {
            times,
            split,
            force,
        } => {
            let opts = cli::drill::DrillOptions {
                times: *times,
                split: *split,
                force: *force,
            };
            drill(&cli, opts).await
        }
        Cmd::Run => {
            let config = load_config(&cli)?;
            autopilot(&config, cli::Printer::stdout(), cli.take_over).await
        }
        Cmd::Report {
            journal,
            html,
            index,
        } => {
            let journal = match journal {
                Some(j) => j.clone(),
                None if !configured(&cli) => anyhow::bail!(report_needs_journal(&cli)),
                None => load_config(&cli)?.journal_path(),
            };
            cli::report::run(&journal, html.as_deref(), *index)
        }
    }
}

/// `cutover demo`: the lab stack, the exporter alone, or the cockpit (or
/// the autopilot) on the simulated fleet.
async fn demo(cli: &Cli, args: &cli::DemoArgs) -> anyhow::Result<u8> {
    let cli::DemoArgs {
        scenario,
        preset,
        headless,
        dwell,
        journal,
        readonly,
        stack,
        rps,
        prometheus,
        exporter_only,
        metrics_port,
        split,
    } = args;
    if *stack {
        return cutover::lab::run(cutover::lab::StackOptions {
            scenario: *scenario,
            preset: *preset,
            headless: *headless,
            dwell: *dwell,
            journal: journal.clone(),
            rps: *rps,
            quiet: false,
            evidence: true,
        })
        .await;
    }
    if *exporter_only {
        let split = Split::new(*split).context("--split is a percentage")?;
        let rps = config::DemoConfig::default().rps;
        return cli::exporter::run(*scenario, *metrics_port, split, rps).await;
    }
    // Without --journal, each run begins afresh (see app::demo_journal).
    let journal = match journal {
        Some(j) => Some(j.clone()),
        None => Some(cutover::app::demo_journal::fresh()?),
    };
    let mut config = match prometheus {
        Some(url) => app::demo_prometheus_config(*scenario, *dwell, journal, url, *metrics_port),
        None => app::demo_config(*scenario, *dwell, journal),
    };
    config.source.preset = preset.map(|p| p.name().to_string());
    if *headless {
        let out = cli::Printer::stdout();
        out.line(format!(
            "demo: scenario {} ({}), dwell {}",
            scenario.name(),
            scenario.describe(),
            cutover::format::span(*dwell)
        ));
        return autopilot(&config, out, cli.take_over).await;
    }
    cockpit(&config, *readonly, cli.take_over).await
}

/// `cutover status`: one read of the router and the source, as text or JSON.
async fn status(cli: &Cli, json: bool) -> anyhow::Result<u8> {
    let config = load_config(cli)?;
    if config.router.lives_in_process() {
        cli::warn(format!(
            "note: router kind \"{}\" lives inside one process: this reports a fleet of \
             its own, not the one a running `cutover demo` moves",
            config.router.kind()
        ));
    }
    let running = app::start(&config, watch_only()).await?;
    cli::status(running, json, config.source.timeout, config.source.interval).await
}

/// `cutover check`: the config resolved, then each server it names asked
/// once; exits 1 when any answer is wrong.
async fn check(cli: &Cli) -> anyhow::Result<u8> {
    let path = config::resolve_path(cli.config.as_deref());
    let config = load_config(cli)?;
    say(format!(
        "# {} is valid; resolved, with defaults:",
        path.map(|p| p.display().to_string()).unwrap_or_default()
    ));
    say(format!("# journal: {}", config.journal_path().display()));
    say(toml::to_string_pretty(&config)?.trim_end());
    say(cli::check::metrics(&config).await?.trim_end());
    let mut ok = true;
    if let config::RouterConfig::Nginx(nginx) = &config.router {
        let report = cutover::router::nginx::check::check(nginx);
        for line in &report.lines {
            say(format!("# nginx: {line}"));
        }
        ok &= report.ok;
    }
    if let Some((lines, found)) = cutover::router::aws::check(&config.router).await {
        for line in &lines {
            say(format!("# {line}"));
        }
        ok &= found;
    }
    if let config::SourceKind::Scrape(s) = &config.source.kind {
        // Each target once: an answer without the configured series
        // fails here, not as "no data" in the cockpit.
        let specs = config
            .metric_specs()
            .map_err(|(k, m)| anyhow::anyhow!("{k}: {m}"))?;
        let source = cutover::metrics::scrape::ScrapeSource::new(
            s,
            &specs,
            config.source.timeout,
            config.source.window,
        )?;
        for target in source.check().await {
            for line in target.lines() {
                say(format!("# {line}"));
            }
            ok &= !target.failed();
        }
    }
    if let config::SourceKind::Prometheus(p) = &config.source.kind {
        use cutover::metrics::prometheus::{PrometheusSource, check};
        let specs = config
            .metric_specs()
            .map_err(|(key, why)| anyhow::anyhow!("{key}: {why}"))?;
        let source = PrometheusSource::new(p, &config.source, &specs)?;
        let lines = check::run(&source).await;
        say(check::render(source.client().url(), &lines).trim_end());
        ok &= !lines.iter().any(check::Line::failed);
    }
    if let config::SourceKind::CloudWatch(_) = &config.source.kind {
        let report = cutover::metrics::cloudwatch::check::for_config(&config).await?;
        report
            .lines
            .iter()
            .for_each(|l| say(format!("# cloudwatch: {l}")));
        ok &= report.ok;
    }
    ok &= check_gates(&config).await?;
    if !ok {
        return Ok(1);
    }
    Ok(0)
}

/// `run` and `demo --headless`: the autopilot until promoted or rolled back.
async fn autopilot(config: &Config, out: cli::Printer, take_over: bool) -> anyhow::Result<u8> {
    let options = EngineOptions {
        autopilot: true,
        ..Default::default()
    };
    let took = take_over_guardian(take_over, config).await?;
    let running = app::start(config, options).await?;
    note_take_over(&running, took);
    Ok(cli::run_autopilot(running, out).await? as u8)
}

/// True when a config is given or exists at the default path.
fn configured(cli: &Cli) -> bool {
    cli.config.is_some() || config::resolve_path(None).is_some_and(|p| p.exists())
}

/// `report` with neither a config nor `--journal`: most often run right
/// after a demo, whose journal is not a service's, so name it.
fn report_needs_journal(cli: &Cli) -> String {
    let at = config::resolve_path(cli.config.as_deref())
        .map(|p| format!(" at {}", p.display()))
        .unwrap_or_default();
    format!(
        "no config{at}, so no service's journal to read. For the last `cutover demo`, pass its \
         journal: cutover report --journal {} (a drill without a config: {})",
        cutover::app::demo_journal::default_path().display(),
        cutover::app::demo_journal::drill_path().display()
    )
}

/// `drill`: the configured router, or the embedded demo fleet (in this
/// process, with a journal of its own) when no config is given.
async fn drill(cli: &Cli, opts: cli::drill::DrillOptions) -> anyhow::Result<u8> {
    let mut config = if configured(cli) {
        load_config(cli)?
    } else {
        let journal = cutover::app::demo_journal::drill_path();
        say("drill: no config: the embedded demo fleet and its router, in this process");
        app::demo_config(
            cutover::demo::Scenario::Healthy,
            std::time::Duration::from_secs(10),
            Some(journal),
        )
    };
    // A drill does what it was told and nothing on its own.
    config.auto_rollback.enabled = false;
    let took = take_over_guardian(cli.take_over, &config).await?;
    let running = app::start(&config, EngineOptions::default()).await?;
    note_take_over(&running, took);
    say(format!("drill: journal {}", running.journal.display()));
    cli::drill::drill(running, &config, opts).await
}

/// For `status`: observe without acting.
fn watch_only() -> EngineOptions {
    EngineOptions {
        readonly: true,
        ..Default::default()
    }
}

async fn one_shot(cli: &Cli, name: &str, command: Command) -> anyhow::Result<u8> {
    one_shot_with(cli, name, command, app::WhenHeld::Fail).await
}

async fn one_shot_with(
    cli: &Cli,
    name: &str,
    command: Command,
    when_held: app::WhenHeld,
) -> anyhow::Result<u8> {
    let mut config = load_config(cli)?;
    if config.router.lives_in_process() {
        // This process would build a private fleet, move it, journal `ok`
        // and exit: a change that happened nowhere anyone can see.
        cli::warn(format!(
            "cutover {name}: refused: router kind \"{}\" moves traffic that exists only inside the \
             process running it, so this command would change a private copy and report a change \
             that did not happen. Use `cutover demo` (keys n, r, P or the : command line) to move \
             demo traffic.",
            config.router.kind()
        ));
        return Ok(REFUSED);
    }
    // A one-shot command does what it was told and nothing on its own.
    config.auto_rollback.enabled = false;
    let options = EngineOptions {
        no_auto_checks: true,
        ..Default::default()
    };
    let took = take_over_guardian(cli.take_over, &config).await?;
    let running = app::start_with(&config, options, when_held).await?;
    note_take_over(&running, took);
    let retry_for = config.safety.rollback_retry_for;
    say(cli::one_shot(running, command, retry_for).await?);
    Ok(0)
}

/// `--take-over`: the guardian holding the journal (a cockpit that lost its
/// terminal) hands over before this process takes the journal. Returns
/// the line to journal once the engine runs.
async fn take_over_guardian(asked: bool, config: &Config) -> anyhow::Result<Option<String>> {
    if !asked {
        return Ok(None);
    }
    let journal = config.journal_path();
    match cutover::guardian::mark::take_over(&journal).await? {
        Some(mark) => {
            let line = format!(
                "took over from the guardian: {}",
                mark.describe(std::time::SystemTime::now())
            );
            say(format!("cutover: {line}"));
            Ok(Some(line))
        }
        None => {
            say("cutover: --take-over: nobody holds the journal; starting as usual");
            Ok(None)
        }
    }
}

fn note_take_over(running: &app::Running, took: Option<String>) {
    if let Some(line) = took {
        let _ = running
            .handle
            .send(cutover::engine::Origin::Cli, Command::Note(line));
    }
}

/// The cockpit reads keys from standard input: without a terminal there,
/// say what works without one instead of failing inside the terminal code.
fn need_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    anyhow::bail!(
        "the cockpit needs a terminal, and standard input is not one.\n\
         Without a terminal: `cutover run` runs the cutover under the autopilot \
         (`cutover demo --headless` for the demo), and `cutover status` shows where it stands."
    )
}

async fn cockpit(config: &Config, readonly: bool, take_over: bool) -> anyhow::Result<u8> {
    need_terminal()?;
    let took = take_over_guardian(take_over, config).await?;
    let running = app::start_with(
        config,
        EngineOptions {
            readonly,
            ..Default::default()
        },
        app::WhenHeld::ReadOnly,
    )
    .await?;
    note_take_over(&running, took);
    let result = tui::run(
        running.handle.clone(),
        TuiOptions {
            // Read-only too when another process holds the journal.
            readonly: readonly || running.handle.current().readonly,
            poll_interval: config.source.interval,
            data_plane: None,
        },
    )
    .await;
    let split = running.handle.current().traffic.split;
    let journal = running.journal.clone();
    let left = split
        .map(|s| format!("{}% green", s.green()))
        .unwrap_or_else(|| "an unknown split".into());
    let (how, code) = match result? {
        tui::Exit::TerminalLost(why) => {
            say(format!(
                "cutover: terminal lost ({why}); traffic left at {left} (quitting never moves \
                 traffic). journal: {}",
                journal.display()
            ));
            return Ok(cutover::guardian::on_terminal_lost(running, config, &why).await);
        }
        tui::Exit::Quit => ("quit".to_string(), 0),
        tui::Exit::Signal(name, code) => (format!("stopped by {name}"), code),
        tui::Exit::EngineStopped => ("the engine stopped".to_string(), 1),
    };
    running.stop().await;
    say(format!(
        "cutover: {how}; traffic left at {left} (quitting never moves traffic). journal: {}",
        journal.display()
    ));
    Ok(code)
}

/// `check`: runs every smoke check once and prints each result; lists the
/// command gates (an eval suite is not run by `check`). True when all
/// smoke checks passed.
async fn check_gates(config: &config::Config) -> anyhow::Result<bool> {
    use cutover::gates::smoke;
    let prepared =
        smoke::prepare(&config.gates.smoke, config.aws.as_ref()).map_err(anyhow::Error::msg)?;
    let verdicts = smoke::run_all(&prepared).await;
    for (p, v) in prepared.iter().zip(&verdicts) {
        say(format!(
            "# smoke {}: {} {} ({} ms)",
            p.name,
            if v.passed { "PASS" } else { "FAIL" },
            v.reason,
            v.latency.as_millis()
        ));
    }
    for g in &config.gates.command {
        let before: Vec<String> = g.before.iter().map(|p| format!("{p}%")).collect();
        say(format!(
            "# command gate {}: runs before {} in the cockpit (not run by check)",
            g.name,
            before.join(", ")
        ));
    }
    Ok(verdicts.iter().all(|v| v.passed))
}
