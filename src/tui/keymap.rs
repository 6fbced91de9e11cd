//! The one key map: dispatch, the `?` help and the footer all read these
//! tables (the normal view's keys, the keys of each view drawn over it,
//! and the `:` words), so a key or word cannot be bound in one place and
//! described in another.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does in the normal view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Advance,
    Back,
    Rollback,
    Promote,
    ForceAdvance,
    TogglePause,
    ToggleArmed,
    Decommission,
    RunChecks,
    ShowOutput,
    ShowGate,
    CommandLine,
    Help,
    EventsOlder,
    EventsNewer,
    Suspend,
    Quit,
}

/// Where a binding shows in the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Footer {
    /// Always, even on narrow screens.
    Always,
    /// Only when the whole hint line fits.
    Wide,
    /// Only in the `?` help.
    HelpOnly,
}

/// One binding: the keys, how the footer and the help name them, and what
/// they do.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys, without modifiers beyond Shift.
    pub codes: &'static [KeyCode],
    /// Keys that need Ctrl held (`Ctrl-C`, `Ctrl-Z`).
    pub ctrl: &'static [char],
    /// The keys as the footer shows them.
    pub keys: &'static str,
    /// The footer's word.
    pub hint: &'static str,
    /// The help's line.
    pub help: &'static str,
    pub action: KeyAction,
    /// Moves traffic. Refused (and not listed in the footer) in read-only
    /// mode, as is everything else that writes (see [`Binding::refused_readonly`]).
    pub moves_traffic: bool,
    pub footer: Footer,
}

pub const KEYMAP: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Char('n'), KeyCode::Right],
        ctrl: &[],
        keys: "n/→",
        hint: "advance",
        help: "advance to the next step (gated)",
        action: KeyAction::Advance,
        moves_traffic: true,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('b'), KeyCode::Left],
        ctrl: &[],
        keys: "b/←",
        hint: "back",
        help: "step back",
        action: KeyAction::Back,
        moves_traffic: true,
        footer: Footer::Wide,
    },
    Binding {
        codes: &[KeyCode::Char('r')],
        ctrl: &[],
        keys: "r",
        hint: "ROLLBACK",
        help: "ROLLBACK to 0% now, no confirmation",
        action: KeyAction::Rollback,
        moves_traffic: true,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('P')],
        ctrl: &[],
        keys: "P",
        hint: "promote",
        help: "promote: flip 100% to green (asks)",
        action: KeyAction::Promote,
        moves_traffic: true,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('f')],
        ctrl: &[],
        keys: "f",
        hint: "force",
        help: "force advance past a closed gate (asks)",
        action: KeyAction::ForceAdvance,
        moves_traffic: true,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char(' ')],
        ctrl: &[],
        keys: "space",
        hint: "pause",
        help: "pause / resume the plan",
        action: KeyAction::TogglePause,
        moves_traffic: false,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('a')],
        ctrl: &[],
        keys: "a",
        hint: "arm",
        help: "arm / disarm auto-rollback (disarm asks)",
        action: KeyAction::ToggleArmed,
        moves_traffic: false,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('D')],
        ctrl: &[],
        keys: "D",
        hint: "decommission",
        help: "decommission blue: scale it to 0 after standby (asks)",
        action: KeyAction::Decommission,
        moves_traffic: true,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::Char('s')],
        ctrl: &[],
        keys: "s",
        hint: "checks",
        help: "run the smoke checks (at 0%) and eval gates ahead now",
        action: KeyAction::RunChecks,
        moves_traffic: false,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::Char('o')],
        ctrl: &[],
        keys: "o",
        hint: "output",
        help: "show the eval gates' last output (Esc closes)",
        action: KeyAction::ShowOutput,
        moves_traffic: false,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::Char('g')],
        ctrl: &[],
        keys: "g",
        hint: "gate",
        help: "why the gate is closed: every reason, worst first",
        action: KeyAction::ShowGate,
        moves_traffic: false,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::PageUp, KeyCode::PageDown],
        ctrl: &[],
        keys: "PgUp/PgDn",
        hint: "events",
        help: "scroll the event log (:events shows it all)",
        action: KeyAction::EventsOlder,
        moves_traffic: false,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::Char(':')],
        ctrl: &[],
        keys: ":",
        hint: "command",
        help: "command line (Enter runs, Esc cancels)",
        action: KeyAction::CommandLine,
        moves_traffic: false,
        footer: Footer::Always,
    },
    Binding {
        codes: &[KeyCode::Char('?')],
        ctrl: &[],
        keys: "?  Esc",
        hint: "help",
        help: "open / close this help",
        action: KeyAction::Help,
        moves_traffic: false,
        footer: Footer::Always,
    },
    Binding {
        codes: &[],
        ctrl: &['z'],
        keys: "Ctrl-Z",
        hint: "suspend",
        help: "suspend (guardrails stop until fg)",
        action: KeyAction::Suspend,
        moves_traffic: false,
        footer: Footer::HelpOnly,
    },
    Binding {
        codes: &[KeyCode::Char('q')],
        ctrl: &['c'],
        keys: "q  Ctrl-C",
        hint: "quit",
        help: "quit (traffic stays as it is)",
        action: KeyAction::Quit,
        moves_traffic: false,
        footer: Footer::Always,
    },
];

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

/// What a `:` word asks for; `command_line` turns it into a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Set,
    Rollback,
    Promote,
    Advance,
    Back,
    Pause,
    Decommission,
    Arm,
    Disarm,
    Note,
    Checks,
    Events,
    Gate,
    Help,
    Quit,
}

/// One line of the help's `:` section and the words it covers (aliases
/// such as `rb` are accepted but not shown).
#[derive(Debug, Clone, Copy)]
pub struct LineWords {
    pub usage: &'static str,
    pub help: &'static str,
    pub words: &'static [(&'static str, Verb)],
}

pub const LINE_WORDS: &[LineWords] = &[
    LineWords {
        usage: "set <pct>",
        help: "set green's share to pct (0-100)",
        words: &[("set", Verb::Set)],
    },
    LineWords {
        usage: "rollback [reason...]",
        help: "0% on green now",
        words: &[("rollback", Verb::Rollback), ("rb", Verb::Rollback)],
    },
    LineWords {
        usage: "promote",
        help: "flip 100% to green now",
        words: &[("promote", Verb::Promote)],
    },
    LineWords {
        usage: "advance | back",
        help: "next / previous plan step",
        words: &[
            ("advance", Verb::Advance),
            ("next", Verb::Advance),
            ("back", Verb::Back),
        ],
    },
    LineWords {
        usage: "pause",
        help: "hold or resume the plan",
        words: &[("pause", Verb::Pause), ("resume", Verb::Pause)],
    },
    LineWords {
        usage: "decommission",
        help: "scale blue to 0 after standby (asks)",
        words: &[("decommission", Verb::Decommission)],
    },
    LineWords {
        usage: "arm | disarm",
        help: "auto-rollback on / off",
        words: &[("arm", Verb::Arm), ("disarm", Verb::Disarm)],
    },
    LineWords {
        usage: "note <text...>",
        help: "write a note to the journal",
        words: &[("note", Verb::Note)],
    },
    LineWords {
        usage: "smoke | checks",
        help: "run the smoke checks and eval gates now",
        words: &[("smoke", Verb::Checks), ("checks", Verb::Checks)],
    },
    LineWords {
        usage: "events | gate",
        help: "the event log / the gate's reasons (Esc)",
        words: &[
            ("events", Verb::Events),
            ("log", Verb::Events),
            ("gate", Verb::Gate),
        ],
    },
    LineWords {
        usage: "help | q",
        help: "this help / quit",
        words: &[
            ("help", Verb::Help),
            ("h", Verb::Help),
            ("?", Verb::Help),
            ("q", Verb::Quit),
            ("quit", Verb::Quit),
        ],
    },
];

/// The verb a `:` word names, if the table has it.
pub fn line_verb(word: &str) -> Option<Verb> {
    LINE_WORDS
        .iter()
        .flat_map(|l| l.words)
        .find(|(w, _)| *w == word)
        .map(|(_, v)| *v)
}

impl Binding {
    /// Refused in read-only mode: what moves traffic, and pause and arm,
    /// which write the journal a watcher does not hold.
    pub fn refused_readonly(&self) -> bool {
        self.moves_traffic || matches!(self.action, KeyAction::TogglePause | KeyAction::ToggleArmed)
    }
}

/// The footer's name for a binding's keys: the help's, without the
/// alternatives the footer has no room for.
pub fn footer_keys(b: &Binding) -> &'static str {
    match b.action {
        KeyAction::Help => "?",
        KeyAction::Quit => "q",
        _ => b.keys,
    }
}

/// What `key` does in the normal view, if anything. PgDn shares the
/// events binding with PgUp but scrolls the other way.
pub fn lookup(key: &KeyEvent) -> Option<KeyAction> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if key.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    if ctrl {
        let KeyCode::Char(c) = key.code else {
            return None;
        };
        let c = c.to_ascii_lowercase();
        return KEYMAP
            .iter()
            .find(|b| b.ctrl.contains(&c))
            .map(|b| b.action);
    }
    if key.code == KeyCode::PageDown {
        return Some(KeyAction::EventsNewer);
    }
    KEYMAP
        .iter()
        .find(|b| b.codes.contains(&key.code))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn every_binding_is_reachable_and_described() {
        for b in KEYMAP {
            assert!(!b.help.is_empty() && !b.hint.is_empty());
            for code in b.codes {
                let got = lookup(&k(*code, KeyModifiers::NONE)).unwrap();
                if *code == KeyCode::PageDown {
                    assert_eq!(got, KeyAction::EventsNewer);
                } else {
                    assert_eq!(got, b.action, "{code:?}");
                }
            }
            for c in b.ctrl {
                assert_eq!(
                    lookup(&k(KeyCode::Char(*c), KeyModifiers::CONTROL)),
                    Some(b.action)
                );
            }
        }
    }

    #[test]
    fn modifiers_change_the_meaning() {
        assert_eq!(
            lookup(&k(KeyCode::Char('P'), KeyModifiers::SHIFT)),
            Some(KeyAction::Promote)
        );
        assert_eq!(lookup(&k(KeyCode::Char('r'), KeyModifiers::ALT)), None);
        assert_eq!(lookup(&k(KeyCode::Char('r'), KeyModifiers::CONTROL)), None);
        assert_eq!(lookup(&k(KeyCode::Char('x'), KeyModifiers::NONE)), None);
    }

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

    #[test]
    fn every_line_word_is_listed_once() {
        let mut seen = Vec::new();
        for (w, v) in LINE_WORDS.iter().flat_map(|l| l.words) {
            assert!(!seen.contains(w), "{w} listed twice");
            seen.push(*w);
            assert_eq!(line_verb(w), Some(*v));
        }
    }
}
