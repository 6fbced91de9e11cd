//! Keys while a view covers the panels: the help, the event log and the
//! output and gate popups. Each closes on its own keys; `r` still rolls back.

use crossterm::event::KeyEvent;

use crate::engine::{Command, State};

use super::super::keymap::{View, ViewAction, scrolls_back, view_lookup};
use super::{Action, App, Mode, SCROLL_PAGE};

impl App {
    /// Moves the event log `by` collapsed lines back (negative: forward),
    /// never past the oldest.
    pub(super) fn scroll_events(&mut self, state: &State, by: isize) {
        let max = super::super::widgets::events::collapse(&state.events)
            .len()
            .saturating_sub(1);
        self.events_scroll = self.events_scroll.saturating_add_signed(by).min(max);
    }

    pub(super) fn help_key(&mut self, key: KeyEvent) -> Action {
        match view_lookup(View::Help, key.code) {
            Some(ViewAction::Close) => {
                self.mode = Mode::Normal;
                Action::None
            }
            Some(ViewAction::ScrollLine) if scrolls_back(key.code) => {
                self.help_scroll = self.help_scroll.saturating_sub(1);
                Action::None
            }
            Some(ViewAction::ScrollLine) => {
                // Clamped where it is drawn, which knows the height.
                self.help_scroll = (self.help_scroll + 1).min(64);
                Action::None
            }
            Some(ViewAction::Rollback) => self.rollback(),
            _ => Action::None,
        }
    }

    /// The output and gate popups close on Esc, q, o or g; r still rolls back;
    /// `s` in the output popup runs the checks again, as its footer says.
    pub(super) fn output_key(&mut self, key: KeyEvent, view: View) -> Action {
        match view_lookup(view, key.code) {
            Some(ViewAction::Close) => {
                self.mode = Mode::Normal;
                Action::None
            }
            Some(ViewAction::Rollback) => self.rollback(),
            Some(ViewAction::RunChecks) => self.emit(Command::RunChecks, "s"),
            _ => Action::None,
        }
    }

    pub(super) fn events_key(&mut self, key: KeyEvent, state: &State) -> Action {
        let back = if scrolls_back(key.code) { 1 } else { -1 };
        match view_lookup(View::Events, key.code) {
            Some(ViewAction::Close) => {
                self.mode = Mode::Normal;
                Action::None
            }
            Some(ViewAction::ScrollPage) => {
                self.scroll_events(state, back * SCROLL_PAGE as isize * 2);
                Action::None
            }
            Some(ViewAction::ScrollLine) => {
                self.scroll_events(state, back);
                Action::None
            }
            Some(ViewAction::Rollback) => self.rollback(),
            _ => Action::None,
        }
    }
}
