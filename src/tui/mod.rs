//! Terminal cockpit: renders the engine's [`State`](crate::engine::State)
//! and turns keys into [`Command`](crate::engine::Command)s.
//!
//! `app` holds the UI-only state and key handling (pure, unit-tested),
//! `view` and `widgets` draw a frame from `State` + `App`, and `run` owns the
//! terminal and the event loop. The cockpit never awaits the network: every
//! command goes out through `EngineHandle::send`, which never blocks.

mod app;
mod command_line;
#[cfg(test)]
mod command_line_props;
mod input;
mod keymap;
mod preflight;
mod run;
mod stopwatch;
mod theme;
mod view;
mod widgets;

pub use app::{Action, App, ConfirmKind, DataPlane, Mode, StatusLevel};
pub use command_line::{LineCommand, parse_line};
pub use keymap::{Binding, Footer, KEYMAP, KeyAction};
pub use run::{Exit, TuiOptions, run};
pub use theme::Theme;
pub use view::{draw, draw_at};
