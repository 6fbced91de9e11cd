//! The `:` line: typed and pasted text, and what a finished line asks for.

use crossterm::event::{Event as CtEvent, KeyEvent};
use tui_input::InputRequest;
use tui_input::backend::crossterm::EventHandler;

use crate::engine::{Command, State};

use super::super::command_line::{LineCommand, parse_line};
use super::super::keymap::{View, ViewAction, view_lookup};
use super::{Action, App, ConfirmKind, Mode};

impl App {
    pub(super) fn line_key(&mut self, key: KeyEvent, state: &State) -> Action {
        match view_lookup(View::Line, key.code) {
            Some(ViewAction::Close) => {
                self.input.reset();
                self.mode = Mode::Normal;
                Action::None
            }
            Some(ViewAction::Run) => {
                let line = self.input.value_and_reset();
                self.mode = Mode::Normal;
                match parse_line(&line) {
                    Ok(LineCommand::Send(Command::SetArmed(armed))) => self.ask_armed(armed),
                    // Raising green's traffic past a closed gate (or after a
                    // rollback) needs force: the same dialog as `f`.
                    Ok(LineCommand::Send(Command::SetSplit { split, .. }))
                        if !state.guard.gate.open
                            && state
                                .traffic
                                .split
                                .is_some_and(|s| split.green() > s.green()) =>
                    {
                        self.open_confirm(ConfirmKind::ForceSet(split), ":set", state)
                    }
                    Ok(LineCommand::Send(Command::DecommissionBlue)) => {
                        self.open_confirm(ConfirmKind::Decommission, ":decommission", state)
                    }
                    Ok(LineCommand::Send(cmd)) => {
                        let word = line.split_whitespace().next().unwrap_or("").to_string();
                        self.emit(cmd, &format!(":{word}"))
                    }
                    Ok(LineCommand::Help) => {
                        self.show_help();
                        Action::None
                    }
                    Ok(LineCommand::Events) => {
                        self.mode = Mode::Events;
                        Action::None
                    }
                    Ok(LineCommand::Gate) => {
                        self.mode = Mode::Gate;
                        Action::None
                    }
                    Ok(LineCommand::Chart(id)) => self.pick_chart(state, id.as_deref()),
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

    /// A bracketed paste is one event: text for the `:` line, and nothing
    /// at all elsewhere (a pasted `r` or `n` is not a keypress).
    pub fn on_paste(&mut self, text: &str) {
        if self.mode == Mode::CommandLine {
            for c in text.chars() {
                // The line is one line: breaks become spaces, and other
                // control characters are dropped rather than shown.
                let c = if matches!(c, '\n' | '\r' | '\t') {
                    ' '
                } else {
                    c
                };
                if !c.is_control() {
                    self.input.handle(InputRequest::InsertChar(c));
                }
            }
            return;
        }
        self.set_error(format!(
            "paste ignored ({} characters): keys are commands here; paste after :",
            text.chars().count()
        ));
    }
}
