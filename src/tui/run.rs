//! The terminal and the event loop. Keys, state changes, a 1 s tick for the
//! countdowns, resizes and SIGTERM/SIGHUP; a frame is drawn only after one of
//! them. Commands go out with `EngineHandle::send`, which never blocks.

use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event as CtEvent, EventStream};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::MissedTickBehavior;

use crate::engine::{EngineHandle, Origin};

use super::app::{Action, App};
use super::view::draw;

/// How the cockpit runs.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// Refuse every command that moves traffic, and show a lock.
    pub readonly: bool,
    /// The metric poll interval: data older than three of these is STALE.
    pub poll_interval: Duration,
    /// The data plane's observed split for the header (`demo --stack`).
    pub data_plane: Option<super::DataPlane>,
}

/// Owns the terminal; restores it when dropped, on every path out of `run`
/// (`ratatui::init` also installs a panic hook that restores it).
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn new() -> TerminalGuard {
        TerminalGuard {
            terminal: ratatui::init(),
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Why the cockpit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`, Ctrl-C or `:q`.
    Quit,
    /// SIGTERM or SIGHUP, with its name and the conventional exit status.
    Signal(&'static str, u8),
    /// The engine stopped under us.
    EngineStopped,
}

/// True when `NO_COLOR` is set to something non-empty.
fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Runs the cockpit until the user quits, a signal arrives or the engine
/// stops. Restores the terminal on every path. Quitting never moves traffic.
pub async fn run(handle: EngineHandle, opts: TuiOptions) -> anyhow::Result<Exit> {
    let mut app = App::new(opts.readonly, no_color_env());
    app.set_poll_interval(opts.poll_interval);
    app.set_data_plane(opts.data_plane);
    let mut state_rx = handle.state();
    let mut sigterm = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);

    let mut guard = TerminalGuard::new();
    let mut keys = EventStream::new();
    let mut dirty = true;
    let exit = loop {
        if dirty {
            let state = state_rx.borrow();
            guard
                .terminal
                .draw(|f| draw(f, &state, &app, Instant::now()))
                .context("drawing the screen")?;
            drop(state);
            dirty = false;
        }
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(CtEvent::Key(key))) => {
                    let action = {
                        let state = state_rx.borrow();
                        app.on_key(key, &state)
                    };
                    match action {
                        Action::None => {}
                        Action::Quit => break Exit::Quit,
                        Action::Send(cmd) => {
                            if let Err(e) = handle.send(Origin::Tui, cmd) {
                                app.set_error(format!("not sent: {e}"));
                            }
                        }
                    }
                    dirty = true;
                }
                Some(Ok(CtEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading terminal events"),
                None => break Exit::Quit,
            },
            changed = state_rx.changed() => {
                if changed.is_err() {
                    // The engine is gone; nothing left to show or steer.
                    break Exit::EngineStopped;
                }
                dirty = true;
            }
            _ = tick.tick() => dirty = true,
            _ = sigterm.recv() => break Exit::Signal("SIGTERM", 143),
            _ = sighup.recv() => break Exit::Signal("SIGHUP", 129),
        }
    };
    drop(guard);
    Ok(exit)
}
