//! UI-only state and key handling. Pure: keys in, [`Action`]s out; no IO.

use std::time::Duration;

use crossterm::event::{Event as CtEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::Input;

use crate::engine::{Command, State};
use crate::model::Split;

use super::keymap::{KeyAction, View, lookup};
use super::theme::Theme;

mod chart;
mod confirm;
mod line;
mod views;

/// What the event loop should do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Send(Command),
    /// Ctrl-Z: leave the terminal and stop, as for SIGTSTP.
    Suspend,
    Quit,
}

/// Which confirmation dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmKind {
    /// `P`: flip 100 % to green now.
    Promote,
    /// `f`: advance past a closed gate.
    ForceAdvance,
    /// `a` while armed: turn auto-rollback off.
    Disarm,
    /// `:set N` raising green's traffic past a closed gate.
    ForceSet(Split),
    /// `D` or `:decommission`: scale blue to 0 after the standby window.
    Decommission,
}

impl ConfirmKind {
    fn command(self) -> Command {
        match self {
            ConfirmKind::Promote => Command::Promote,
            ConfirmKind::ForceAdvance => Command::Advance { force: true },
            ConfirmKind::Disarm => Command::SetArmed(false),
            ConfirmKind::Decommission => Command::DecommissionBlue,
            ConfirmKind::ForceSet(split) => Command::SetSplit {
                split,
                reason: None,
                force: true,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            ConfirmKind::Promote => "promote",
            ConfirmKind::ForceAdvance => "force advance",
            ConfirmKind::Disarm => "disarm",
            ConfirmKind::ForceSet(_) => "forced set",
            ConfirmKind::Decommission => "decommission blue",
        }
    }
}

/// What the keyboard is talking to.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    /// A yes/no dialog; `yes_focused` is false when it opens.
    Confirm {
        kind: ConfirmKind,
        yes_focused: bool,
    },
    /// The `:` line.
    CommandLine,
    /// The whole event log on the full screen (`:events`).
    Events,
    /// The eval gates' last lines of output (`o`).
    Output,
    /// Every reason the gate is closed (`g`, `:gate`).
    Gate,
}

/// Severity of the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    Info,
    Error,
}

/// Event log lines one PgUp or PgDn moves.
const SCROLL_PAGE: usize = 5;

/// UI-only state: mode, the command line, the status message, theme and
/// read-only flag. Everything about the cutover itself lives in `State`.
#[derive(Debug, Clone)]
pub struct App {
    mode: Mode,
    input: Input,
    status: Option<(StatusLevel, String)>,
    theme: Theme,
    readonly: bool,
    poll_interval: Duration,
    /// What the data plane itself saw (the stack's load generator), shown
    /// in the header beside the router's split and the metrics.
    data_plane: Option<DataPlane>,
    /// How many (collapsed) events the log is scrolled back; 0 follows
    /// the newest.
    events_scroll: usize,
    /// Within one batch of input: the armed state asked for so far, and
    /// whether pause was toggled an odd number of times. Sent once at the
    /// end of the batch, so a burst costs one command and one journal write.
    batch_armed: Option<bool>,
    batch_pause: bool,
    /// The armed state last sent, until the published state shows it: the
    /// next `a` toggles from what was asked, not from a stale state.
    sent_armed: Option<bool>,
    /// Lines the help overlay is scrolled down on a short terminal.
    help_scroll: usize,
    /// The status says what was asked; set by `emit`, then stamped with
    /// the state's event count so it fades once the engine has answered.
    asked: bool,
    asked_at: Option<u64>,
    /// The id of the metric picked for the chart (`m`, `:chart ID`);
    /// `None`: every metric shares the chart rows.
    chart: Option<String>,
}

/// Called on every frame for a short text: the data plane's observed split.
#[derive(Clone)]
pub struct DataPlane(pub std::sync::Arc<dyn Fn() -> Option<String> + Send + Sync>);

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataPlane(..)")
    }
}

impl App {
    pub fn new(readonly: bool, no_color: bool) -> App {
        App {
            mode: Mode::Normal,
            input: Input::default(),
            status: None,
            theme: if no_color {
                Theme::no_color()
            } else {
                Theme::color()
            },
            readonly,
            poll_interval: Duration::from_secs(5),
            data_plane: None,
            events_scroll: 0,
            batch_armed: None,
            batch_pause: false,
            sent_armed: None,
            help_scroll: 0,
            asked: false,
            asked_at: None,
            chart: None,
        }
    }

    pub fn set_data_plane(&mut self, f: Option<DataPlane>) {
        self.data_plane = f;
    }

    /// The data plane's observed split, when something measures it.
    pub fn data_plane(&self) -> Option<String> {
        self.data_plane.as_ref().and_then(|f| (f.0)())
    }

    /// The metric poll interval; data older than three of these is STALE.
    pub fn set_poll_interval(&mut self, d: Duration) {
        self.poll_interval = d;
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    pub fn input(&self) -> &Input {
        &self.input
    }

    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    pub fn events_scroll(&self) -> usize {
        self.events_scroll
    }

    pub fn status(&self) -> Option<(StatusLevel, &str)> {
        self.status.as_ref().map(|(l, s)| (*l, s.as_str()))
    }

    /// The status as the footer shows it: "asked: …" fades once the event
    /// log has something newer than the ask (the engine's answer).
    pub fn status_now(&self, state: &State) -> Option<(StatusLevel, &str)> {
        match self.asked_at {
            Some(seq) if state.event_seq > seq => None,
            _ => self.status(),
        }
    }

    pub fn set_status(&mut self, msg: impl Into<String>) {
        self.asked_at = None;
        self.status = Some((StatusLevel::Info, msg.into()));
    }

    pub fn set_error(&mut self, msg: impl Into<String>) {
        self.asked_at = None;
        self.status = Some((StatusLevel::Error, msg.into()));
    }

    /// Opens the help overlay (also `?` and `:help`).
    pub fn show_help(&mut self) {
        self.help_scroll = 0;
        self.mode = Mode::Help;
    }

    /// Handles every terminal event that is waiting, as one batch. Traffic
    /// commands (above all a rollback) come out in the order they were
    /// typed; arm/disarm and pause are folded into at most one command
    /// each, sent last and only if they change something. Processing stops
    /// at a quit.
    pub fn on_events(
        &mut self,
        events: impl IntoIterator<Item = CtEvent>,
        state: &State,
    ) -> Vec<Action> {
        if self.sent_armed == Some(state.guard.armed) {
            self.sent_armed = None;
        }
        self.batch_armed = None;
        self.batch_pause = false;
        let mut out = Vec::new();
        for ev in events {
            let action = match ev {
                CtEvent::Key(key) => self.on_key(key, state),
                CtEvent::Paste(text) => {
                    self.on_paste(&text);
                    Action::None
                }
                _ => Action::None,
            };
            match action {
                Action::None => {}
                Action::Send(Command::SetArmed(v)) => self.batch_armed = Some(v),
                Action::Send(Command::TogglePause) => self.batch_pause = !self.batch_pause,
                Action::Quit => {
                    out.push(Action::Quit);
                    break;
                }
                other => out.push(other),
            }
        }
        if let Some(v) = self.batch_armed.take()
            && v != self.sent_armed.unwrap_or(state.guard.armed)
        {
            self.sent_armed = Some(v);
            out.push(Action::Send(Command::SetArmed(v)));
        }
        if std::mem::take(&mut self.batch_pause) {
            out.push(Action::Send(Command::TogglePause));
        }
        out
    }

    /// Armed as the operator last asked for it: within a batch, or sent
    /// and not yet in the published state.
    pub fn armed_intent(&self, state: &State) -> bool {
        self.batch_armed
            .or(self.sent_armed)
            .unwrap_or(state.guard.armed)
    }

    /// Handles one key. Only presses count; repeats and releases are ignored.
    pub fn on_key(&mut self, key: KeyEvent, state: &State) -> Action {
        if key.kind != KeyEventKind::Press {
            return Action::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match lookup(&key) {
                Some(KeyAction::Quit) => return Action::Quit,
                Some(KeyAction::Suspend) => return Action::Suspend,
                _ => {}
            }
        }
        let action = match self.mode.clone() {
            Mode::Normal => self.normal_key(key, state),
            Mode::Help => self.help_key(key),
            Mode::Confirm { kind, yes_focused } => self.confirm_key(key, kind, yes_focused),
            Mode::CommandLine => self.line_key(key, state),
            Mode::Events => self.events_key(key, state),
            Mode::Output => self.output_key(key, View::Output),
            Mode::Gate => self.output_key(key, View::Gate),
        };
        if std::mem::take(&mut self.asked) {
            self.asked_at = Some(state.event_seq);
        }
        action
    }

    fn normal_key(&mut self, key: KeyEvent, state: &State) -> Action {
        if key.code == KeyCode::Esc {
            self.status = None;
            return Action::None;
        }
        let Some(action) = lookup(&key) else {
            self.set_error("unknown key, ? for help");
            return Action::None;
        };
        match action {
            KeyAction::Quit => Action::Quit,
            KeyAction::Suspend => Action::Suspend,
            KeyAction::Advance => self.emit(Command::Advance { force: false }, "n"),
            KeyAction::Back => self.emit(Command::StepBack, "b"),
            KeyAction::Rollback => self.rollback(),
            KeyAction::Promote => self.open_confirm(ConfirmKind::Promote, "P", state),
            KeyAction::ForceAdvance => self.open_confirm(ConfirmKind::ForceAdvance, "f", state),
            KeyAction::TogglePause => self.emit(Command::TogglePause, "space"),
            KeyAction::Decommission => self.open_confirm(ConfirmKind::Decommission, "D", state),
            KeyAction::ToggleArmed => self.ask_armed(!self.armed_intent(state)),
            KeyAction::RunChecks => self.emit(Command::RunChecks, "s"),
            KeyAction::ShowOutput => {
                if state.checks.commands.is_empty() {
                    self.set_error("no eval gates configured ([[gates.command]])");
                } else {
                    self.mode = Mode::Output;
                }
                Action::None
            }
            KeyAction::ShowGate => {
                self.mode = Mode::Gate;
                Action::None
            }
            KeyAction::CommandLine => {
                self.input.reset();
                self.mode = Mode::CommandLine;
                Action::None
            }
            KeyAction::Help => {
                self.show_help();
                Action::None
            }
            KeyAction::EventsOlder => {
                self.scroll_events(state, SCROLL_PAGE as isize);
                Action::None
            }
            KeyAction::EventsNewer => {
                self.scroll_events(state, -(SCROLL_PAGE as isize));
                Action::None
            }
            KeyAction::NextChart => self.next_chart(state),
        }
    }

    /// Rollback is never blocked by a dialog, the help or the event view.
    fn rollback(&mut self) -> Action {
        self.mode = Mode::Normal;
        self.emit(
            Command::Rollback {
                reason: "operator rollback".into(),
            },
            "r",
        )
    }

    /// Sends `cmd` unless read-only refuses it; `what` names the key or
    /// command in the status message.
    fn emit(&mut self, cmd: Command, what: &str) -> Action {
        // Pause and arm write the journal, which a watcher does not hold.
        let writes = matches!(cmd, Command::TogglePause | Command::SetArmed(_));
        if self.readonly && (cmd.moves_traffic() || writes) {
            self.set_error(format!("read-only: {what} disabled"));
            return Action::None;
        }
        // Asked, not done: the engine may refuse (gate closed, busy), and
        // says so in the event log; the header shows what the router has.
        self.set_status(format!(
            "asked: {} (the event log says how it went)",
            describe(&cmd)
        ));
        self.asked = true;
        Action::Send(cmd)
    }
}

/// A few words for the status line.
fn describe(cmd: &Command) -> String {
    match cmd {
        Command::Advance { force: false } => "advance".into(),
        // Journaled as forced only when the gate was closed: the event
        // log says "(forced)" when it was.
        Command::Advance { force: true } => "advance with force".into(),
        Command::StepBack => "step back".into(),
        Command::SetSplit { split, .. } => format!("set green {split}"),
        Command::Rollback { reason } => format!("ROLLBACK ({reason})"),
        Command::Promote => "promote".into(),
        Command::TogglePause => "pause/resume".into(),
        Command::SetArmed(true) => "arm auto-rollback".into(),
        Command::SetArmed(false) => "disarm auto-rollback".into(),
        Command::Note(_) => "note".into(),
        Command::DecommissionBlue => "decommission blue".into(),
        Command::RunChecks => "run the checks".into(),
        Command::AlertResult { .. } => "alert result".into(),
        Command::TerminalLost { .. } => "terminal lost".into(),
        Command::Shutdown => "shutdown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PlanView;
    use crate::model::Split;

    fn state() -> State {
        State::new("llm-gateway", "demo", "demo", PlanView::default(), true, 2)
    }

    /// At 25 %, where promote and a forced advance would be accepted.
    fn canary() -> State {
        let mut s = state();
        s.traffic.split = Split::new(25);
        s.phase = crate::engine::Phase::Canary { step: 2 };
        s
    }

    /// The dialog for `kind` is open with No focused.
    /// `c` opens the `kind` dialog with No focused, and Enter there sends
    /// nothing and closes it.
    fn assert_enter_declines(app: &mut App, s: &State, c: char, kind: ConfirmKind) {
        assert_eq!(app.on_key(ch(c), s), Action::None);
        assert_asks(app, kind);
        assert_eq!(app.on_key(key(KeyCode::Enter), s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);
    }

    /// `c` opens the dialog of `kind` and `y` answers yes: `sent` goes out.
    fn assert_yes_sends(app: &mut App, s: &State, c: char, kind: ConfirmKind, sent: Command) {
        assert_eq!(app.on_key(ch(c), s), Action::None);
        assert_asks(app, kind);
        assert_eq!(app.on_key(ch('y'), s), Action::Send(sent));
    }

    fn assert_asks(app: &App, kind: ConfirmKind) {
        assert_eq!(
            app.mode(),
            &Mode::Confirm {
                kind,
                yes_focused: false
            }
        );
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    fn typed(app: &mut App, s: &State, text: &str) -> Action {
        assert_eq!(app.on_key(ch(':'), s), Action::None);
        assert_eq!(app.mode(), &Mode::CommandLine);
        for c in text.chars() {
            assert_eq!(app.on_key(ch(c), s), Action::None);
        }
        app.on_key(key(KeyCode::Enter), s)
    }

    #[test]
    fn gates_keys_run_the_checks_and_show_the_output() {
        let mut s = state();
        let mut app = App::new(false, false);
        assert_eq!(app.on_key(ch('s'), &s), Action::Send(Command::RunChecks));
        assert_eq!(
            typed(&mut app, &s, "smoke"),
            Action::Send(Command::RunChecks)
        );
        // No eval gate: nothing to show, and it says so.
        assert_eq!(app.on_key(ch('o'), &s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);
        assert!(
            app.status()
                .is_some_and(|(_, m)| m.contains("no eval gates"))
        );
        s.checks.commands.push(crate::gates::CommandStatus {
            name: "eval".into(),
            before: vec![1],
            running: None,
            last: None,
        });
        app.on_key(ch('o'), &s);
        assert_eq!(app.mode(), &Mode::Output);
        // A rollback goes straight through the popup.
        assert!(matches!(
            app.on_key(ch('r'), &s),
            Action::Send(Command::Rollback { .. })
        ));
        assert_eq!(app.mode(), &Mode::Normal);
        // `s` in the popup runs the checks again, as its footer says.
        app.on_key(ch('o'), &s);
        assert_eq!(app.on_key(ch('s'), &s), Action::Send(Command::RunChecks));
        assert_eq!(app.mode(), &Mode::Output);
        app.on_key(key(KeyCode::Esc), &s);
        assert_eq!(app.mode(), &Mode::Normal);
    }

    #[test]
    fn single_keys_send_commands() {
        let s = state();
        let mut app = App::new(false, false);
        let adv = Action::Send(Command::Advance { force: false });
        assert_eq!(app.on_key(ch('n'), &s), adv);
        assert_eq!(app.on_key(key(KeyCode::Right), &s), adv);
        assert_eq!(app.on_key(ch('b'), &s), Action::Send(Command::StepBack));
        assert_eq!(
            app.on_key(key(KeyCode::Left), &s),
            Action::Send(Command::StepBack)
        );
        assert_eq!(
            app.on_key(ch('r'), &s),
            Action::Send(Command::Rollback {
                reason: "operator rollback".into()
            })
        );
        assert_eq!(app.on_key(ch(' '), &s), Action::Send(Command::TogglePause));
        let mut disarmed = state();
        disarmed.guard.armed = false;
        assert_eq!(
            app.on_key(ch('a'), &disarmed),
            Action::Send(Command::SetArmed(true))
        );
        assert_eq!(app.on_key(ch('q'), &s), Action::Quit);
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), &s),
            Action::Quit
        );
    }

    #[test]
    fn only_presses_count() {
        let s = state();
        let mut app = App::new(false, false);
        let mut release = ch('r');
        release.kind = KeyEventKind::Release;
        assert_eq!(app.on_key(release, &s), Action::None);
        let mut repeat = ch('n');
        repeat.kind = KeyEventKind::Repeat;
        assert_eq!(app.on_key(repeat, &s), Action::None);
    }

    #[test]
    fn promote_asks_first_and_defaults_to_no() {
        let s = canary();
        let mut app = App::new(false, false);
        assert_enter_declines(&mut app, &s, 'P', ConfirmKind::Promote);

        // Move focus to Yes, then Enter promotes.
        app.on_key(ch('P'), &s);
        app.on_key(key(KeyCode::Tab), &s);
        assert_eq!(
            app.on_key(key(KeyCode::Enter), &s),
            Action::Send(Command::Promote)
        );

        // Focus goes back and forth; Esc is No.
        app.on_key(ch('P'), &s);
        app.on_key(key(KeyCode::Right), &s);
        app.on_key(key(KeyCode::Left), &s);
        assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
        app.on_key(ch('P'), &s);
        app.on_key(key(KeyCode::Right), &s);
        assert_eq!(app.on_key(key(KeyCode::Esc), &s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);

        // y / n shortcuts
        app.on_key(ch('P'), &s);
        assert_eq!(app.on_key(ch('n'), &s), Action::None);
        assert_yes_sends(&mut app, &s, 'P', ConfirmKind::Promote, Command::Promote);
    }

    #[test]
    fn decommission_asks_first_by_key_and_by_line() {
        let mut s = state();
        s.traffic.split = Some(Split::FULL);
        s.phase = crate::engine::Phase::Promoted;
        let mut app = App::new(false, false);
        app.on_key(ch('D'), &s);
        assert_asks(&app, ConfirmKind::Decommission);
        assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
        app.on_key(ch(':'), &s);
        for c in "decommission".chars() {
            app.on_key(ch(c), &s);
        }
        assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
        assert!(matches!(
            app.mode(),
            Mode::Confirm {
                kind: ConfirmKind::Decommission,
                ..
            }
        ));
        assert_eq!(
            app.on_key(ch('y'), &s),
            Action::Send(Command::DecommissionBlue)
        );
    }

    #[test]
    fn force_advance_asks_first() {
        let s = canary();
        let mut app = App::new(false, false);
        let force = Command::Advance { force: true };
        assert_yes_sends(&mut app, &s, 'f', ConfirmKind::ForceAdvance, force);
    }

    #[test]
    fn rollback_is_never_blocked_by_a_dialog_or_help() {
        let s = state();
        let rb = Action::Send(Command::Rollback {
            reason: "operator rollback".into(),
        });
        let mut app = App::new(false, false);
        app.on_key(ch('P'), &s);
        assert_eq!(app.on_key(ch('r'), &s), rb);
        assert_eq!(app.mode(), &Mode::Normal);
        app.on_key(ch('?'), &s);
        assert_eq!(app.on_key(ch('r'), &s), rb);
    }

    #[test]
    fn readonly_refuses_traffic_moves_with_a_message() {
        let s = state();
        let mut app = App::new(true, false);
        for k in [ch('n'), ch('b'), ch('r'), key(KeyCode::Right)] {
            assert_eq!(app.on_key(k, &s), Action::None, "{k:?}");
        }
        app.on_key(ch('r'), &s);
        assert_eq!(
            app.status(),
            Some((StatusLevel::Error, "read-only: r disabled"))
        );
        // Dialogs for traffic moves do not even open.
        app.on_key(ch('P'), &s);
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(
            app.status(),
            Some((StatusLevel::Error, "read-only: P disabled"))
        );
        app.on_key(ch('f'), &s);
        assert_eq!(app.mode(), &Mode::Normal);
        // The command line is refused too.
        assert_eq!(typed(&mut app, &s, "set 30"), Action::None);
        assert_eq!(
            app.status(),
            Some((StatusLevel::Error, "read-only: :set disabled"))
        );
        // Pause and arm write the journal a watcher does not hold.
        assert_eq!(app.on_key(ch(' '), &s), Action::None);
        assert_eq!(
            app.status(),
            Some((StatusLevel::Error, "read-only: space disabled"))
        );
        assert_eq!(app.on_key(ch('a'), &s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);
        // A note still goes out (the engine says it is not journaled);
        // quitting still works.
        assert_eq!(
            typed(&mut app, &s, "note watching"),
            Action::Send(Command::Note("watching".into()))
        );
        assert_eq!(app.on_key(ch('q'), &s), Action::Quit);
    }

    #[test]
    fn command_line_runs_and_reports_errors() {
        let s = state();
        let mut app = App::new(false, false);
        assert_eq!(
            typed(&mut app, &s, "set 30"),
            Action::Send(Command::SetSplit {
                split: Split::new(30).unwrap(),
                reason: None,
                force: false,
            })
        );
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(typed(&mut app, &s, "set 130"), Action::None);
        let (level, msg) = app.status().unwrap();
        assert_eq!(level, StatusLevel::Error);
        assert!(msg.contains("130"), "{msg}");
        assert_eq!(typed(&mut app, &s, "help"), Action::None);
        assert_eq!(app.mode(), &Mode::Help);
        app.on_key(key(KeyCode::Esc), &s);
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(typed(&mut app, &s, "q"), Action::Quit);
    }

    #[test]
    fn command_line_keys_are_text_and_esc_cancels() {
        let s = state();
        let mut app = App::new(false, false);
        app.on_key(ch(':'), &s);
        // `q`, `r` and `n` are text here, not commands.
        for c in "rqn".chars() {
            assert_eq!(app.on_key(ch(c), &s), Action::None);
        }
        assert_eq!(app.input().value(), "rqn");
        app.on_key(key(KeyCode::Backspace), &s);
        assert_eq!(app.input().value(), "rq");
        assert_eq!(app.on_key(key(KeyCode::Esc), &s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);
        // Reopening starts empty.
        app.on_key(ch(':'), &s);
        assert_eq!(app.input().value(), "");
    }

    #[test]
    fn disarming_asks_first_and_arming_does_not() {
        let s = state();
        let mut app = App::new(false, false);
        // Armed: `a` opens the dialog with No focused; Enter keeps it armed.
        assert_enter_declines(&mut app, &s, 'a', ConfirmKind::Disarm);
        let disarm = Command::SetArmed(false);
        assert_yes_sends(&mut app, &s, 'a', ConfirmKind::Disarm, disarm);
        // `:disarm` asks too.
        assert_eq!(typed(&mut app, &s, "disarm"), Action::None);
        assert!(matches!(app.mode(), Mode::Confirm { .. }));
        app.on_key(key(KeyCode::Esc), &s);
        // Disarmed: `a` arms at once.
        let mut off = state();
        off.guard.armed = false;
        assert_eq!(
            app.on_key(ch('a'), &off),
            Action::Send(Command::SetArmed(true))
        );
    }

    #[test]
    fn a_burst_of_a_ends_in_one_state_sent_once() {
        let mut off = state();
        off.guard.armed = false;
        let mut app = App::new(false, false);
        // Disarmed: the first `a` arms, the second opens the disarm
        // dialog, the rest do nothing there; one SetArmed(true) goes out.
        let burst = std::iter::repeat_n(CtEvent::Key(ch('a')), 5000);
        assert_eq!(
            app.on_events(burst, &off),
            vec![Action::Send(Command::SetArmed(true))]
        );
        // The engine has not caught up: the next batch toggles from what
        // was asked, so Yes in the dialog disarms.
        let got = app.on_events([CtEvent::Key(ch('y'))], &off);
        assert_eq!(got, vec![Action::Send(Command::SetArmed(false))]);
        // Arm and disarm in one batch come to nothing at all.
        let mut app = App::new(false, false);
        let evs = [ch('a'), ch('a'), ch('y')].map(CtEvent::Key);
        assert_eq!(app.on_events(evs, &off), vec![]);
        // Pause toggled an even number of times: nothing; odd: once.
        let s = state();
        let spaces = |n| std::iter::repeat_n(CtEvent::Key(ch(' ')), n);
        assert_eq!(app.on_events(spaces(6), &s), vec![]);
        assert_eq!(
            app.on_events(spaces(7), &s),
            vec![Action::Send(Command::TogglePause)]
        );
    }

    #[test]
    fn rollback_behind_a_burst_goes_out_in_the_same_batch() {
        let s = state();
        let mut app = App::new(false, false);
        let mut evs: Vec<CtEvent> = std::iter::repeat_n(CtEvent::Key(ch('a')), 5000).collect();
        evs.push(CtEvent::Key(ch('r')));
        evs.extend(std::iter::repeat_n(CtEvent::Key(ch('x')), 100));
        assert_eq!(
            app.on_events(evs, &s),
            vec![Action::Send(Command::Rollback {
                reason: "operator rollback".into()
            })]
        );
    }

    #[test]
    fn a_paste_does_nothing_outside_the_line_and_is_text_inside() {
        let s = state();
        let mut app = App::new(false, false);
        let paste = CtEvent::Paste("rrrnnnP\nq".into());
        assert_eq!(app.on_events([paste], &s), vec![]);
        assert_eq!(app.mode(), &Mode::Normal);
        let (level, msg) = app.status().unwrap();
        assert_eq!(level, StatusLevel::Error);
        assert!(msg.contains("paste ignored (9 characters)"), "{msg}");
        app.on_key(ch(':'), &s);
        let paste = CtEvent::Paste("note a\nb\u{1b}[2J".into());
        assert_eq!(app.on_events([paste], &s), vec![]);
        assert_eq!(app.input().value(), "note a b[2J");
        assert_eq!(
            app.on_key(key(KeyCode::Enter), &s),
            Action::Send(Command::Note("a b[2J".into()))
        );
    }

    #[test]
    fn unknown_keys_say_so_and_ctrl_z_suspends() {
        let s = state();
        let mut app = App::new(false, false);
        assert_eq!(app.on_key(ch('x'), &s), Action::None);
        assert_eq!(
            app.status(),
            Some((StatusLevel::Error, "unknown key, ? for help"))
        );
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(app.on_key(ctrl_z, &s), Action::Suspend);
        app.on_key(ch('?'), &s);
        assert_eq!(app.on_key(ctrl_z, &s), Action::Suspend);
    }

    #[test]
    fn event_view_opens_scrolls_and_still_rolls_back() {
        let mut s = state();
        for i in 0..30 {
            s.push_event(
                std::time::SystemTime::now(),
                crate::engine::EventLevel::Info,
                format!("event {i}"),
            );
        }
        let mut app = App::new(false, false);
        app.on_key(key(KeyCode::PageUp), &s);
        assert_eq!(app.events_scroll(), 5);
        app.on_key(key(KeyCode::PageDown), &s);
        assert_eq!(app.events_scroll(), 0);
        assert_eq!(typed(&mut app, &s, "events"), Action::None);
        assert_eq!(app.mode(), &Mode::Events);
        for _ in 0..10 {
            app.on_key(key(KeyCode::PageUp), &s);
        }
        assert_eq!(app.events_scroll(), 29, "never past the oldest");
        assert!(matches!(
            app.on_key(ch('r'), &s),
            Action::Send(Command::Rollback { .. })
        ));
        assert_eq!(app.mode(), &Mode::Normal);
    }

    #[test]
    fn m_cycles_the_chart_and_chart_picks_by_id() {
        let s = state();
        let mut app = App::new(false, true);
        assert_eq!(app.chart(), None);
        for want in [Some("p99_ms"), Some("error_rate"), Some("quality"), None] {
            assert_eq!(app.on_key(ch('m'), &s), Action::None);
            assert_eq!(app.chart(), want);
        }
        assert_eq!(typed(&mut app, &s, "chart quality"), Action::None);
        assert_eq!(app.chart(), Some("quality"));
        assert_eq!(typed(&mut app, &s, "chart ttft"), Action::None);
        assert_eq!(
            app.chart(),
            Some("quality"),
            "an unknown id changes nothing"
        );
        assert_eq!(app.status().map(|s| s.0), Some(StatusLevel::Error));
        assert_eq!(typed(&mut app, &s, "chart"), Action::None);
        assert_eq!(app.chart(), None);
    }

    #[test]
    fn help_opens_and_closes() {
        let s = state();
        let mut app = App::new(false, false);
        app.on_key(ch('?'), &s);
        assert_eq!(app.mode(), &Mode::Help);
        assert_eq!(app.on_key(ch('n'), &s), Action::None);
        app.on_key(ch('?'), &s);
        assert_eq!(app.mode(), &Mode::Normal);
        app.on_key(ch('?'), &s);
        app.on_key(key(KeyCode::Esc), &s);
        assert_eq!(app.mode(), &Mode::Normal);
    }
}
