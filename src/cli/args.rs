//! The command line (clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::demo::Scenario;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A terminal cockpit for blue-green and canary cutovers of model-serving services",
    long_about = "A terminal cockpit for blue-green and canary cutovers of model-serving services.\n\n\
        Watch blue (live) and green (candidate) side by side and move traffic with single keys.\n\
        New here? Try `cutover demo`: the whole cockpit on a simulated fleet, no servers needed.",
    after_help = "Exit codes:\n  \
        0    done (run, demo --headless: promoted; status: everything was read)\n  \
        1    error (config, journal, router)\n  \
        2    usage error, or a command refused (set, rollback and promote refuse the\n       \
        in-process demo router: use `cutover demo`; drill refuses while green has\n       \
        traffic or was rolled back, unless --force)\n  \
        3    run, demo --headless: rolled back\n  \
        4    status: the split or a colour's data could not be read (the report says which);\n       run: the journal says green was rolled back, so nothing moved\n  \
        129, 130, 143  stopped by SIGHUP, SIGINT or SIGTERM; traffic is left where it is\n       \
        (129 also ends a cockpit whose terminal was lost; a drill rolls its own\n       \
        traffic back first)"
)]
pub struct Cli {
    /// Config file. Default: $CUTOVER_CONFIG, else cutover/config.toml in
    /// the user's config directory.
    #[arg(long, global = true, env = "CUTOVER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Where the log goes (the terminal belongs to the cockpit). Default:
    /// cutover/cutover.log in the user's state or data directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub log: Option<PathBuf>,

    /// Take over the journal from a cockpit that lost its terminal and now
    /// guards the cutover headless: it hands over (journaled) and this
    /// command starts in its place. For the commands that take the journal
    /// (tui, demo, run, set, rollback, promote, drill); refused when the
    /// holder still has its terminal.
    #[arg(long, global = true)]
    pub take_over: bool,

    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The cockpit (the default).
    Tui {
        /// Watch only: every key that moves traffic is disabled, and
        /// auto-rollback is off in this cockpit.
        #[arg(long)]
        readonly: bool,
    },
    /// The whole cockpit on an embedded simulated fleet: no servers needed.
    Demo(DemoArgs),
    /// Print the split, the phase, the gate and every reading, after one
    /// router read and one poll (within the source timeout plus a second).
    /// Exits 4 when the split or a colour's data could not be read.
    Status {
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Set green's share of traffic, in percent. Raising it passes the
    /// same gate as an advance; lowering it never waits. Refused (exit 2)
    /// with the in-process demo router.
    Set {
        pct: u8,
        /// Written to the journal.
        #[arg(long)]
        reason: Option<String>,
        /// Pass a closed gate (also needed after a rollback); journaled as
        /// forced.
        #[arg(long)]
        force: bool,
    },
    /// Send all traffic to blue now. Refused (exit 2) with the in-process
    /// demo router.
    Rollback {
        #[arg(long, default_value = "operator rollback (cli)")]
        reason: String,
        /// Roll back even while another cockpit or autopilot holds the
        /// service's journal (journaled as forced).
        #[arg(long)]
        force: bool,
    },
    /// Flip all traffic to green now, skipping the remaining steps. Refused
    /// (exit 2) with the in-process demo router.
    Promote,
    /// The autopilot: advance whenever the gate opens, roll back on breach.
    /// Exits 0 when promoted, 3 when rolled back, 4 when the journal says
    /// green was rolled back (nothing moved), 1 on error.
    Run,
    /// Validate the config and print it resolved, defaults included.
    Check,
    /// A post-incident record of one cutover from the journal, as
    /// Markdown on stdout: timeline, readings at each decision, breaches,
    /// the rollback and its measured times, and blank review sections.
    Report {
        /// Journal to read. Default: the configured one (--config).
        #[arg(long, value_name = "PATH")]
        journal: Option<PathBuf>,
        /// Also write one self-contained HTML page with charts of the split
        /// and of each metric for both colours (no network needed to open it).
        #[arg(long, value_name = "OUT")]
        html: Option<PathBuf>,
        /// Which cutover of the journal, counted from 1. Default: the last.
        #[arg(long, value_name = "N")]
        index: Option<usize>,
    },
    /// Rehearse a rollback: set a small split, wait until the router (and,
    /// where the source shows request rates, the traffic) confirms it, roll
    /// back, and measure the time to rollback as a real one is measured.
    /// Prints each run, the median and the maximum; journaled with origin
    /// "drill". Without a config it drills the embedded demo fleet.
    Drill {
        /// How many runs.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        times: u32,
        /// Green's share in each run, in percent. Default: the plan's
        /// first step.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
        split: Option<u8>,
        /// Drill even while green has traffic (a cutover may be in progress)
        /// or the journal says it was rolled back.
        #[arg(long)]
        force: bool,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::parse_duration(s)
}

/// `cutover demo`'s options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How green behaves.
    #[arg(long, value_enum, default_value = "healthy")]
    pub scenario: Scenario,
    /// The model server the fleet plays: its /metrics names and the
    /// config's `[source] preset` (default: the HTTP names, no preset).
    #[arg(long, value_enum, conflicts_with = "exporter_only")]
    pub preset: Option<crate::demo::DemoPreset>,
    /// Run under the autopilot without the TUI: exits 0 when promoted,
    /// 3 when rolled back.
    #[arg(long)]
    pub headless: bool,
    /// Dwell at each step (the bake is three dwells).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub dwell: Duration,
    /// Journal file, kept from run to run (a rollback stays remembered).
    /// Default: cutover/demo/demo.jsonl in the user's data directory,
    /// begun afresh on every run (the last run's kept as demo.previous.jsonl).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Watch only, as for `tui`.
    #[arg(long)]
    pub readonly: bool,
    /// The whole stack on this machine: pods that serve requests, nginx
    /// in front of them, Prometheus scraping them and a load generator
    /// (needs the nginx and prometheus Debian packages).
    #[arg(long, conflicts_with_all = ["prometheus", "exporter_only", "readonly"])]
    pub stack: bool,
    /// With --stack: requests per second the load generator sends.
    #[arg(long, default_value_t = crate::demo::loadgen::DEFAULT_RPS, requires = "stack")]
    pub rps: u32,
    /// Read the fleet's numbers through this Prometheus, which scrapes
    /// the fleet on --metrics-port (assets/prometheus/prometheus.yml).
    #[arg(long, value_name = "URL", conflicts_with = "exporter_only")]
    pub prometheus: Option<String>,
    /// Serve only the fleet's /metrics endpoints and print them with a
    /// ready-made scrape config; runs until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub exporter_only: bool,
    /// First port of the fleet's /metrics servers (blue's pods, then
    /// green's), for --prometheus and --exporter-only.
    #[arg(long, default_value_t = crate::app::DEMO_METRICS_PORT)]
    pub metrics_port: u16,
    /// With --exporter-only: green's share of the simulated traffic.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100), requires = "exporter_only")]
    pub split: u8,
}
