//! UI-only state and key handling. Pure: keys in, [`Action`]s out; no IO.

use std::time::Duration;

use crossterm::event::{Event as CtEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::engine::{Command, State};

use super::command_line::{LineCommand, parse_line};
use super::theme::Theme;

/// What the event loop should do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Send(Command),
    Quit,
}

/// Which confirmation dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmKind {
    /// `P`: flip 100 % to green now.
    Promote,
    /// `f`: advance past a closed gate.
    ForceAdvance,
}

impl ConfirmKind {
    fn command(self) -> Command {
        match self {
            ConfirmKind::Promote => Command::Promote,
            ConfirmKind::ForceAdvance => Command::Advance { force: true },
        }
    }

    fn name(self) -> &'static str {
        match self {
            ConfirmKind::Promote => "promote",
            ConfirmKind::ForceAdvance => "force advance",
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
}

/// Severity of the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    Info,
    Error,
}

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

    pub fn status(&self) -> Option<(StatusLevel, &str)> {
        self.status.as_ref().map(|(l, s)| (*l, s.as_str()))
    }

    pub fn set_status(&mut self, msg: impl Into<String>) {
        self.status = Some((StatusLevel::Info, msg.into()));
    }

    pub fn set_error(&mut self, msg: impl Into<String>) {
        self.status = Some((StatusLevel::Error, msg.into()));
    }

    /// Opens the help overlay (also `?` and `:help`).
    pub fn show_help(&mut self) {
        self.mode = Mode::Help;
    }

    /// Handles one key. Only presses count; repeats and releases are ignored.
    pub fn on_key(&mut self, key: KeyEvent, state: &State) -> Action {
        if key.kind != KeyEventKind::Press {
            return Action::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match self.mode.clone() {
            Mode::Normal => self.normal_key(key, state),
            Mode::Help => self.help_key(key),
            Mode::Confirm { kind, yes_focused } => self.confirm_key(key, kind, yes_focused),
            Mode::CommandLine => self.line_key(key),
        }
    }

    fn normal_key(&mut self, key: KeyEvent, state: &State) -> Action {
        match key.code {
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Char('n') | KeyCode::Right => {
                self.emit(Command::Advance { force: false }, "n")
            }
            KeyCode::Char('b') | KeyCode::Left => self.emit(Command::StepBack, "b"),
            KeyCode::Char('r') => self.rollback(),
            KeyCode::Char('P') => self.open_confirm(ConfirmKind::Promote, "P"),
            KeyCode::Char('f') => self.open_confirm(ConfirmKind::ForceAdvance, "f"),
            KeyCode::Char(' ') => self.emit(Command::TogglePause, "space"),
            KeyCode::Char('a') => self.emit(Command::SetArmed(!state.armed), "a"),
            KeyCode::Char(':') => {
                self.input.reset();
                self.mode = Mode::CommandLine;
                Action::None
            }
            KeyCode::Char('?') => {
                self.mode = Mode::Help;
                Action::None
            }
            KeyCode::Esc => {
                self.status = None;
                Action::None
            }
            _ => Action::None,
        }
    }

    /// Rollback is never blocked by a dialog or the help overlay.
    fn rollback(&mut self) -> Action {
        self.mode = Mode::Normal;
        self.emit(
            Command::Rollback {
                reason: "operator rollback".into(),
            },
            "r",
        )
    }

    fn help_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => {
                self.mode = Mode::Normal;
                Action::None
            }
            KeyCode::Char('r') => self.rollback(),
            _ => Action::None,
        }
    }

    fn open_confirm(&mut self, kind: ConfirmKind, key: &str) -> Action {
        if self.readonly {
            self.set_error(format!("read-only: {key} disabled"));
            return Action::None;
        }
        self.mode = Mode::Confirm {
            kind,
            yes_focused: false,
        };
        Action::None
    }

    fn confirm_key(&mut self, key: KeyEvent, kind: ConfirmKind, yes_focused: bool) -> Action {
        match key.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => {
                self.mode = Mode::Confirm {
                    kind,
                    yes_focused: !yes_focused,
                };
                Action::None
            }
            KeyCode::Enter if yes_focused => self.confirmed(kind),
            KeyCode::Char('y') | KeyCode::Char('Y') => self.confirmed(kind),
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('N') => {
                self.mode = Mode::Normal;
                self.set_status(format!("{} cancelled", kind.name()));
                Action::None
            }
            KeyCode::Char('r') => self.rollback(),
            _ => Action::None,
        }
    }

    fn confirmed(&mut self, kind: ConfirmKind) -> Action {
        self.mode = Mode::Normal;
        self.emit(kind.command(), kind.name())
    }

    fn line_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Esc => {
                self.input.reset();
                self.mode = Mode::Normal;
                Action::None
            }
            KeyCode::Enter => {
                let line = self.input.value_and_reset();
                self.mode = Mode::Normal;
                match parse_line(&line) {
                    Ok(LineCommand::Send(cmd)) => {
                        let word = line.split_whitespace().next().unwrap_or("").to_string();
                        self.emit(cmd, &format!(":{word}"))
                    }
                    Ok(LineCommand::Help) => {
                        self.mode = Mode::Help;
                        Action::None
                    }
                    Ok(LineCommand::Quit) => Action::Quit,
                    Err(why) => {
                        self.set_error(why);
                        Action::None
                    }
                }
            }
            _ => {
                self.input.handle_event(&CtEvent::Key(key));
                Action::None
            }
        }
    }

    /// Sends `cmd` unless read-only refuses it; `what` names the key or
    /// command in the status message.
    fn emit(&mut self, cmd: Command, what: &str) -> Action {
        if self.readonly && cmd.moves_traffic() {
            self.set_error(format!("read-only: {what} disabled"));
            return Action::None;
        }
        // Asked, not done: the engine may refuse (gate closed, busy), and
        // says so in the event log; the header shows what the router has.
        self.set_status(format!(
            "asked: {} (the event log says how it went)",
            describe(&cmd)
        ));
        Action::Send(cmd)
    }
}

/// A few words for the status line.
fn describe(cmd: &Command) -> String {
    match cmd {
        Command::Advance { force: false } => "advance".into(),
        Command::Advance { force: true } => "forced advance".into(),
        Command::StepBack => "step back".into(),
        Command::SetSplit { split, .. } => format!("set green {split}"),
        Command::Rollback { reason } => format!("ROLLBACK ({reason})"),
        Command::Promote => "promote".into(),
        Command::TogglePause => "pause/resume".into(),
        Command::SetArmed(true) => "arm auto-rollback".into(),
        Command::SetArmed(false) => "disarm auto-rollback".into(),
        Command::Note(_) => "note".into(),
        Command::Shutdown => "shutdown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PlanView;
    use crate::model::Split;

    fn state() -> State {
        State::new(
            "llm-gateway",
            "demo",
            "demo",
            PlanView {
                steps: vec![1, 5, 25, 50, 100],
                dwell: Duration::from_secs(300),
                bake: Duration::from_secs(1800),
                standby: Duration::from_secs(48 * 3600),
            },
            true,
            2,
        )
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
        // armed in the state, so `a` disarms
        assert_eq!(
            app.on_key(ch('a'), &s),
            Action::Send(Command::SetArmed(false))
        );
        let mut disarmed = state();
        disarmed.armed = false;
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
        let s = state();
        let mut app = App::new(false, false);
        assert_eq!(app.on_key(ch('P'), &s), Action::None);
        assert_eq!(
            app.mode(),
            &Mode::Confirm {
                kind: ConfirmKind::Promote,
                yes_focused: false
            }
        );
        // Enter on the default (No) sends nothing.
        assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
        assert_eq!(app.mode(), &Mode::Normal);

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
        app.on_key(ch('P'), &s);
        assert_eq!(app.on_key(ch('y'), &s), Action::Send(Command::Promote));
    }

    #[test]
    fn force_advance_asks_first() {
        let s = state();
        let mut app = App::new(false, false);
        app.on_key(ch('f'), &s);
        assert_eq!(
            app.mode(),
            &Mode::Confirm {
                kind: ConfirmKind::ForceAdvance,
                yes_focused: false
            }
        );
        assert_eq!(
            app.on_key(ch('y'), &s),
            Action::Send(Command::Advance { force: true })
        );
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
        // Commands that move no traffic still go out; quitting still works.
        assert_eq!(app.on_key(ch(' '), &s), Action::Send(Command::TogglePause));
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
                reason: None
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
