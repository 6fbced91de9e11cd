//! The one key map: dispatch, the `?` help and the footer all read these
//! tables (the normal view's keys, the keys of each view drawn over it,
//! and the `:` words), so a key or word cannot be bound in one place and
//! described in another.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod views;
mod words;

pub use views::{VIEW_KEYS, View, ViewAction, ViewKeys, scrolls_back, view_lookup};
pub use words::{LINE_WORDS, Verb, line_verb};

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
    NextChart,
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
        codes: &[KeyCode::Char('m')],
        ctrl: &[],
        keys: "m",
        hint: "chart",
        help: "chart the next metric, then all (:chart ID picks one)",
        action: KeyAction::NextChart,
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
}
