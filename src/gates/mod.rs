//! Gates green must pass before traffic moves: smoke checks (HTTP requests
//! against green while it is at 0 %) and command gates (an eval suite run
//! before the plan reaches the percentages it names).
//!
//! Pure parts: judging an answer (`expect`), keeping a command's last lines
//! (`tail`) and what the results mean for the gate (`status`). The runners
//! (`smoke`, `command`) do the IO on tasks of their own; the engine keeps
//! the results in its `State` and decides the gate.

pub mod command;
pub mod expect;
pub mod invoke;
pub mod reason;
pub mod smoke;
pub mod status;
pub mod tail;

pub use reason::CheckReason;
pub use status::{Checks, CommandRun, CommandStatus, SmokeResult, SmokeStatus};
