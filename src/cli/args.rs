//! The command line (clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::demo::Scenario;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A terminal cockpit for blue-green and canary cutovers of model-serving services",
    long_about = "A terminal cockpit for blue-green and canary cutovers of model-serving services.\n\n\
        Watch blue (live) and green (candidate) side by side and move traffic with single keys.\n\
        New here? Try `cutover demo`: the whole cockpit on a simulated fleet, no servers needed."
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
    Demo {
        /// How green behaves.
        #[arg(long, value_enum, default_value = "healthy")]
        scenario: Scenario,
        /// Run under the autopilot without the TUI: exits 0 when promoted,
        /// 3 when rolled back.
        #[arg(long)]
        headless: bool,
        /// Dwell at each step (the bake is three dwells).
        #[arg(long, value_parser = parse_duration, default_value = "10s")]
        dwell: Duration,
        /// Journal file. Default: cutover/demo.jsonl in the user's data directory.
        #[arg(long, value_name = "PATH")]
        journal: Option<PathBuf>,
        /// Watch only, as for `tui`.
        #[arg(long)]
        readonly: bool,
        /// The whole stack on this machine: pods that serve requests, nginx
        /// in front of them, Prometheus scraping them and a load generator
        /// (needs the nginx and prometheus Debian packages).
        #[arg(long)]
        stack: bool,
        /// With --stack: requests per second the load generator sends.
        #[arg(long, default_value_t = crate::demo::loadgen::DEFAULT_RPS, requires = "stack")]
        rps: u32,
    },
    /// Print the split, the phase, the gate and every reading.
    Status {
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Set green's share of traffic, in percent (not gated: an explicit act).
    Set {
        pct: u8,
        /// Written to the journal.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Send all traffic to blue now.
    Rollback {
        #[arg(long, default_value = "operator rollback (cli)")]
        reason: String,
    },
    /// Flip all traffic to green now, skipping the remaining steps.
    Promote,
    /// The autopilot: advance whenever the gate opens, roll back on breach.
    /// Exits 0 when promoted, 3 when rolled back, 1 on error.
    Run,
    /// Validate the config and print it resolved, defaults included.
    Check,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::parse_duration(s)
}
