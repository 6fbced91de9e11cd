//! The front door: argument parsing, and the commands that run without a
//! terminal UI.

mod args;
mod headless;
mod output;

pub use args::{Cli, Cmd};
pub use headless::{exit_code_for, follow_events, one_shot, run_autopilot, status};
pub use output::{event_line, say};
