//! The keys of the views drawn over the normal one (dialogs, the help,
//! the event log, the popups, the `:` line): dispatch and the help read
//! this table.

use crossterm::event::KeyCode;

/// A view drawn over the normal one, with keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A yes/no dialog.
    Confirm,
    /// The `?` overlay.
    Help,
    /// The full-screen event log.
    Events,
    /// The eval gates' output (`o`).
    Output,
    /// The gate's reasons (`g`).
    Gate,
    /// The `:` line; every key not bound here is text.
    Line,
}

/// What a key does in a [`View`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAction {
    /// Back to the normal view (a dialog: cancelled).
    Close,
    /// A dialog's Yes.
    Yes,
    /// Whichever dialog button has the focus.
    Choose,
    /// The focus to the other dialog button.
    MoveFocus,
    /// One line; Up and PgUp go back (older), Down and PgDn forward.
    ScrollLine,
    /// One page, the same directions.
    ScrollPage,
    /// Rollback is never blocked by a view that shows something.
    Rollback,
    /// The `:` line's Enter.
    Run,
    /// Runs the smoke checks and eval gates again (the output popup's `s`).
    RunChecks,
}

/// One key of a view: the keys, how the help names them, and what they do.
#[derive(Debug, Clone, Copy)]
pub struct ViewBinding {
    pub codes: &'static [KeyCode],
    pub keys: &'static str,
    pub hint: &'static str,
    pub action: ViewAction,
}

/// The keys of one view, under the name the help gives it.
#[derive(Debug, Clone, Copy)]
pub struct ViewKeys {
    pub view: View,
    pub name: &'static str,
    pub keys: &'static [ViewBinding],
}

const fn vk(
    codes: &'static [KeyCode],
    keys: &'static str,
    hint: &'static str,
    action: ViewAction,
) -> ViewBinding {
    ViewBinding {
        codes,
        keys,
        hint,
        action,
    }
}

const ROLLBACK: ViewBinding = vk(
    &[KeyCode::Char('r')],
    "r",
    "rolls back",
    ViewAction::Rollback,
);
const ARROWS: &[KeyCode] = &[KeyCode::Up, KeyCode::Down];
const PAGES: &[KeyCode] = &[KeyCode::PageUp, KeyCode::PageDown];
const POPUP_CLOSE: &[KeyCode] = &[
    KeyCode::Esc,
    KeyCode::Char('q'),
    KeyCode::Char('o'),
    KeyCode::Char('g'),
];

pub const VIEW_KEYS: &[ViewKeys] = &[
    ViewKeys {
        view: View::Confirm,
        name: "dialog",
        keys: &[
            vk(
                &[KeyCode::Char('y'), KeyCode::Char('Y')],
                "y",
                "yes",
                ViewAction::Yes,
            ),
            vk(
                &[KeyCode::Char('n'), KeyCode::Char('N'), KeyCode::Esc],
                "n/Esc",
                "no",
                ViewAction::Close,
            ),
            vk(
                &[
                    KeyCode::Left,
                    KeyCode::Right,
                    KeyCode::Tab,
                    KeyCode::BackTab,
                ],
                "←/→/Tab",
                "move",
                ViewAction::MoveFocus,
            ),
            vk(&[KeyCode::Enter], "Enter", "chooses", ViewAction::Choose),
            ROLLBACK,
        ],
    },
    ViewKeys {
        view: View::Help,
        name: "help",
        keys: &[
            vk(
                &[
                    KeyCode::Up,
                    KeyCode::Down,
                    KeyCode::PageUp,
                    KeyCode::PageDown,
                ],
                "↑/↓ PgUp/PgDn",
                "scroll",
                ViewAction::ScrollLine,
            ),
            vk(
                &[KeyCode::Esc, KeyCode::Char('?'), KeyCode::Char('q')],
                "Esc/?/q",
                "close",
                ViewAction::Close,
            ),
            ROLLBACK,
        ],
    },
    ViewKeys {
        view: View::Events,
        name: "events",
        keys: &[
            vk(ARROWS, "↑/↓", "line", ViewAction::ScrollLine),
            vk(PAGES, "PgUp/PgDn", "page", ViewAction::ScrollPage),
            vk(
                &[KeyCode::Esc, KeyCode::Char('q')],
                "Esc/q",
                "close",
                ViewAction::Close,
            ),
            ROLLBACK,
        ],
    },
    ViewKeys {
        view: View::Output,
        name: "output",
        keys: &[
            vk(POPUP_CLOSE, "Esc/q/o/g", "close", ViewAction::Close),
            vk(
                &[KeyCode::Char('s')],
                "s",
                "checks again",
                ViewAction::RunChecks,
            ),
            ROLLBACK,
        ],
    },
    ViewKeys {
        view: View::Gate,
        name: "gate",
        keys: &[
            vk(POPUP_CLOSE, "Esc/q/o/g", "close", ViewAction::Close),
            ROLLBACK,
        ],
    },
    ViewKeys {
        view: View::Line,
        name: ": line",
        keys: &[
            vk(&[KeyCode::Enter], "Enter", "runs", ViewAction::Run),
            vk(&[KeyCode::Esc], "Esc", "cancels", ViewAction::Close),
        ],
    },
];

/// What `code` does in `view`, if anything (modifiers do not matter there:
/// Ctrl-C and Ctrl-Z are handled before any view).
pub fn view_lookup(view: View, code: KeyCode) -> Option<ViewAction> {
    VIEW_KEYS
        .iter()
        .filter(|v| v.view == view)
        .flat_map(|v| v.keys)
        .find(|b| b.codes.contains(&code))
        .map(|b| b.action)
}

/// Whether a scroll key goes back (towards older lines).
pub fn scrolls_back(code: KeyCode) -> bool {
    matches!(code, KeyCode::Up | KeyCode::PageUp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every view has its keys, each key means one thing in a view, and
    /// every binding is found by its codes.
    #[test]
    fn every_view_key_is_reachable_and_bound_once() {
        for view in [
            View::Confirm,
            View::Help,
            View::Events,
            View::Output,
            View::Gate,
            View::Line,
        ] {
            let tables: Vec<&ViewKeys> = VIEW_KEYS.iter().filter(|v| v.view == view).collect();
            assert_eq!(tables.len(), 1, "{view:?}");
            let mut seen = Vec::new();
            for b in tables[0].keys {
                assert!(!b.keys.is_empty() && !b.hint.is_empty());
                for code in b.codes {
                    assert!(!seen.contains(code), "{view:?}: {code:?} bound twice");
                    seen.push(*code);
                    assert_eq!(view_lookup(view, *code), Some(b.action));
                }
            }
        }
        // The `:` line keeps every other key as text; r is a letter there.
        assert_eq!(view_lookup(View::Line, KeyCode::Char('r')), None);
    }
}
