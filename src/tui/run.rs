//! The terminal and the event loop. Keys, state changes, a 1 s tick for the
//! countdowns, resizes and signals; a frame is drawn only after one of them.
//! Commands go out with `EngineHandle::send`, which never blocks.
//!
//! Input is read on its own thread and handled in batches: everything that
//! is waiting is taken at once, so a paste or a held key costs one frame
//! and at most one arm/disarm command, and an `r` behind it is reached in
//! the same pass instead of queueing behind thousands of redraws.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use ratatui::DefaultTerminal;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::MissedTickBehavior;

use crate::engine::{Command, EngineHandle, Origin, State};
use crate::format::age;
use crate::model::Split;

use super::app::{Action, App};
use super::input::{Input, InputThread};
use super::stopwatch::StopWatch;
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
    /// Never dropped: ratatui's `Drop` shows the cursor and reports a
    /// failure with `eprintln!`, which panics when stderr is a terminal
    /// that has gone away. `leave` shows the cursor instead.
    terminal: std::mem::ManuallyDrop<DefaultTerminal>,
}

impl TerminalGuard {
    fn new() -> anyhow::Result<TerminalGuard> {
        let terminal = ratatui::init();
        // A paste arrives as one event, not as keys that each do something.
        execute!(std::io::stdout(), EnableBracketedPaste).context("enabling bracketed paste")?;
        Ok(TerminalGuard {
            terminal: std::mem::ManuallyDrop::new(terminal),
        })
    }

    /// Hands the terminal back to the shell (before a stop).
    fn leave(&mut self) {
        let _ = execute!(std::io::stdout(), DisableBracketedPaste);
        // Not `ratatui::restore`: it reports a failure with `eprintln!`,
        // which panics when stderr is a terminal that has gone away.
        let _ = ratatui::try_restore();
        let _ = execute!(std::io::stdout(), crossterm::cursor::Show);
    }

    /// Takes the terminal again after a stop: the shell may have reset it
    /// to cooked mode, where keys would wait for Enter.
    fn enter(&mut self) -> anyhow::Result<()> {
        enable_raw_mode().context("re-entering raw mode")?;
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste
        )
        .context("re-entering the alternate screen")?;
        // Not `Terminal::clear`: it asks the terminal where the cursor is
        // and reads the answer through crossterm's reader, while our own
        // reader owns the input (the answer would never reach it). Clear
        // the screen, then draw an empty frame so ratatui's idea of the
        // screen is blank too and the next frame is drawn whole.
        execute!(
            std::io::stdout(),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        )
        .context("clearing the screen")?;
        self.terminal.draw(|_| {}).context("clearing the screen")?;
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Why the cockpit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `q`, Ctrl-C or `:q`.
    Quit,
    /// SIGTERM or SIGINT, with its name and the conventional exit status.
    Signal(&'static str, u8),
    /// The terminal is gone: end of input, a read error (EIO) or SIGHUP.
    /// What follows is `[safety] on_terminal_loss`.
    TerminalLost(String),
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
    let mut sig = Signals::install()?;
    let mut stops = StopWatch::new(Instant::now());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);

    let mut guard = TerminalGuard::new()?;
    let mut input = InputThread::spawn();
    // Every wake-up below is a reason to draw (a key, a new state, the
    // tick, a resume), so each pass starts with a frame.
    let exit = loop {
        // Clone the Arc out: no borrow of the channel is held while the
        // terminal is written to, so a stalled terminal never stalls the
        // engine.
        let state = state_rx.borrow().clone();
        if let Err(e) = guard
            .terminal
            .draw(|f| draw(f, &state, &app, Instant::now()))
        {
            // A terminal that cannot be written to (EIO after a hang-up)
            // is as lost as one that cannot be read.
            break Exit::TerminalLost(format!("writing the terminal: {e}"));
        }
        tokio::select! {
            first = input.recv() => {
                let Some(first) = first else {
                    break Exit::TerminalLost("the input reader ended".into());
                };
                let msgs: Vec<Input> = std::iter::once(first).chain(input.drain()).collect();
                let state = state_rx.borrow().clone();
                let mut ui = Ui { app: &mut app, guard: &mut guard, stops: &mut stops };
                if let Some(exit) = ui.on_input(msgs, &handle, &state) {
                    break exit;
                }
            }
            changed = state_rx.changed() => {
                if changed.is_err() {
                    // The engine is gone; nothing left to show or steer.
                    break Exit::EngineStopped;
                }
            }
            _ = tick.tick() => {
                if let Some(away) = stops.tick(Instant::now()) {
                    note_resumed(&handle, &mut app, away, "stopped from outside");
                }
            }
            _ = sig.winch.recv() => {}
            _ = sig.term.recv() => break Exit::Signal("SIGTERM", 143),
            _ = sig.hup.recv() => break Exit::TerminalLost("SIGHUP".into()),
            _ = sig.int.recv() => break Exit::Signal("SIGINT", 130),
            _ = sig.tstp.recv() => {
                let split = state_rx.borrow().traffic.split;
                if let Err(e) = suspend(&mut guard, &handle, &mut app, split) {
                    break lost(e);
                }
                stops.reset(Instant::now());
            }
            _ = sig.cont.recv() => {
                if let Err(e) = continued(&mut guard, &handle, &mut app, &mut stops) {
                    break lost(e);
                }
            }
        }
    };
    // Never joined: the reader may be stuck in a read of a dead terminal.
    drop(input);
    drop(guard);
    Ok(exit)
}

/// The signals the cockpit answers.
struct Signals {
    term: Signal,
    hup: Signal,
    int: Signal,
    tstp: Signal,
    cont: Signal,
    /// Our own reader yields no resize events: a resize just redraws.
    winch: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        let on = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("installing the {name} handler"))
        };
        Ok(Signals {
            term: on(SignalKind::terminate(), "SIGTERM")?,
            hup: on(SignalKind::hangup(), "SIGHUP")?,
            int: on(SignalKind::interrupt(), "SIGINT")?,
            tstp: on(
                SignalKind::from_raw(signal_hook::consts::SIGTSTP),
                "SIGTSTP",
            )?,
            cont: on(
                SignalKind::from_raw(signal_hook::consts::SIGCONT),
                "SIGCONT",
            )?,
            winch: on(SignalKind::window_change(), "SIGWINCH")?,
        })
    }
}

/// What acting on input touches.
struct Ui<'a> {
    app: &'a mut App,
    guard: &'a mut TerminalGuard,
    stops: &'a mut StopWatch,
}

impl Ui<'_> {
    /// Every message waiting, handled as one batch of events. `Some` when
    /// the cockpit ends (a quit, a lost terminal).
    fn on_input(&mut self, msgs: Vec<Input>, handle: &EngineHandle, state: &State) -> Option<Exit> {
        let mut events = Vec::new();
        let mut gone = None;
        for msg in msgs {
            match msg {
                Input::Events(evs) => events.extend(evs),
                Input::Notice(text) => self.app.set_error(text),
                // The keys read before the end still count (an `r` typed
                // just before an SSH drop): act on them first.
                Input::Lost(why) => gone = Some(why),
            }
        }
        for action in self.app.on_events(events, state) {
            match action {
                Action::None => {}
                Action::Quit => return Some(Exit::Quit),
                Action::Send(cmd) => send(handle, self.app, cmd),
                // No terminal to give back or take again.
                Action::Suspend if gone.is_some() => {}
                Action::Suspend => {
                    if let Err(e) = suspend(self.guard, handle, self.app, state.traffic.split) {
                        return Some(lost(e));
                    }
                    self.stops.reset(Instant::now());
                }
            }
        }
        gone.map(Exit::TerminalLost)
    }
}

/// SIGCONT: after our own stop this is a repeat (harmless); after a
/// SIGSTOP from outside it is the only sign, and the shell may have put the
/// terminal back in cooked mode. A hang-up sends SIGCONT too: a terminal
/// that cannot be taken again is lost, not an error.
fn continued(
    guard: &mut TerminalGuard,
    handle: &EngineHandle,
    app: &mut App,
    stops: &mut StopWatch,
) -> anyhow::Result<()> {
    guard.enter()?;
    if let Some(away) = stops.continued(Instant::now()) {
        note_resumed(handle, app, away, "stopped from outside");
    }
    Ok(())
}

/// Taking the terminal back failed (after a stop, or on the SIGCONT that
/// comes with a hang-up): it is gone.
fn lost(e: anyhow::Error) -> Exit {
    Exit::TerminalLost(format!("{e:#}"))
}

fn send(handle: &EngineHandle, app: &mut App, cmd: Command) {
    if let Err(e) = handle.send(Origin::Tui, cmd) {
        app.set_error(format!("not sent: {e}"));
    }
}

/// SIGTSTP or Ctrl-Z: give the terminal back, say that nothing watches
/// green while stopped, stop, and on `fg` take the terminal again and log
/// how long the guardrails were away.
fn suspend(
    guard: &mut TerminalGuard,
    handle: &EngineHandle,
    app: &mut App,
    split: Option<Split>,
) -> anyhow::Result<()> {
    guard.leave();
    let at = split
        .map(|s| format!("{}% green", s.green()))
        .unwrap_or_else(|| "an unknown split".into());
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "cutover: stopped; guardrails are not running while stopped (no polls, no \
         auto-rollback). traffic is at {at}. `fg` resumes."
    );
    let _ = out.flush();
    let stopped = Instant::now();
    // The default action of SIGTSTP (stop), which our handler replaced;
    // returns once SIGCONT arrives.
    signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGTSTP)
        .context("stopping the process")?;
    guard.enter()?;
    note_resumed(handle, app, stopped.elapsed(), "suspended");
    Ok(())
}

/// Journals (through the engine) that the guardrails were away for `away`.
fn note_resumed(handle: &EngineHandle, app: &mut App, away: Duration, how: &str) {
    let text = format!(
        "resumed: the cockpit was {how} for {}; guardrails were not watching",
        age(away)
    );
    app.set_status(text.clone());
    send(handle, app, Command::Note(text));
}
