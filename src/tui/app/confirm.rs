//! The dialogs that ask first (promote, force, disarm, decommission) and
//! the keys while one is open.

use crossterm::event::{KeyCode, KeyEvent};

use crate::engine::{Command, State};

use super::super::keymap::{View, ViewAction, view_lookup};
use super::{Action, App, ConfirmKind, Mode};

impl App {
    /// Arming goes straight out; disarming takes away the safety net, so
    /// it asks first (No focused), like promote.
    pub(super) fn ask_armed(&mut self, armed: bool) -> Action {
        if self.readonly {
            self.set_error("read-only: auto-rollback cannot be armed or disarmed here");
            return Action::None;
        }
        if armed {
            return self.emit(Command::SetArmed(true), "arm");
        }
        self.mode = Mode::Confirm {
            kind: ConfirmKind::Disarm,
            yes_focused: false,
        };
        Action::None
    }

    pub(super) fn open_confirm(&mut self, kind: ConfirmKind, key: &str, state: &State) -> Action {
        if self.readonly {
            self.set_error(format!("read-only: {key} disabled"));
            return Action::None;
        }
        if let Some(why) = super::super::preflight::refusal(kind, state) {
            self.set_error(format!("{key}: not now: {why}"));
            return Action::None;
        }
        self.mode = Mode::Confirm {
            kind,
            yes_focused: false,
        };
        Action::None
    }

    pub(super) fn confirm_key(
        &mut self,
        key: KeyEvent,
        kind: ConfirmKind,
        yes_focused: bool,
    ) -> Action {
        match view_lookup(View::Confirm, key.code) {
            Some(ViewAction::MoveFocus) => {
                self.mode = Mode::Confirm {
                    kind,
                    yes_focused: !yes_focused,
                };
                Action::None
            }
            Some(ViewAction::Choose) if yes_focused => self.confirmed(kind),
            Some(ViewAction::Yes) => self.confirmed(kind),
            Some(ViewAction::Choose | ViewAction::Close) => {
                self.mode = Mode::Normal;
                self.set_status(format!("{} cancelled", kind.name()));
                Action::None
            }
            Some(ViewAction::Rollback) => self.rollback(),
            // Never swallowed without a word.
            _ => {
                self.set_error(format!(
                    "{} dialog open: `{}` ignored; y confirms, n or Esc cancels, r rolls back",
                    kind.name(),
                    key_name(key.code)
                ));
                Action::None
            }
        }
    }

    pub(super) fn confirmed(&mut self, kind: ConfirmKind) -> Action {
        self.mode = Mode::Normal;
        self.emit(kind.command(), kind.name())
    }
}

/// A key as the status line names it.
fn key_name(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    }
}
