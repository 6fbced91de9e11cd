//! The front door: argument parsing, and the commands that run without a
//! terminal UI.

mod args;
pub mod check;
pub mod drill;
pub mod exporter;
mod headless;
mod output;
pub mod report;
pub mod report_read;
mod status;

pub use crate::console::{say, warn};
pub use args::{Cli, Cmd, DemoArgs};
pub use headless::{Printer, exit_code_for, follow_events, one_shot, run_autopilot};
pub use output::event_line;
pub use status::{STATUS_INCOMPLETE, status};
