//! Logging goes to a file: the terminal belongs to the cockpit.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sends `tracing` output to `path` (appending). Level from `CUTOVER_LOG`
/// (`error`, `warn`, `info`, `debug`, `trace`; default `info`). A log that
/// cannot be opened is not an error: the cockpit runs without one.
pub fn init(path: Option<&Path>) -> Option<PathBuf> {
    let path = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::config::state_dir().join("cutover.log"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ok()?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let level = std::env::var("CUTOVER_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .finish()
        .with(targets(level))
        .try_init()
        .ok()?;
    Some(path)
}

/// Every target at `level`, but for the SigV4 signer, whose trace lines
/// print the access key id: its lines stop at `info` whatever the level.
pub fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level)
        .with_target("aws_sigv4", level.min(LevelFilter::INFO))
}
