//! Key bytes to crossterm events. The parsing is termina's (helix's
//! terminal crate, a maintained descendant of crossterm's own parser,
//! with a public incremental `Parser`); the cockpit's key handling speaks
//! crossterm's types, so each event is translated here. Pure.

use crossterm::event::{
    Event as CtEvent, KeyCode as CtCode, KeyEvent as CtKey, KeyEventKind as CtKind,
    KeyModifiers as CtMods,
};
use termina::event::{KeyCode, KeyEvent, KeyEventKind, Modifiers};

/// Parses key bytes into events, holding nothing back between calls: the
/// caller gives it whole drained reads, so an escape at the end is the
/// Escape key, not the start of a sequence still to come.
#[derive(Debug, Default)]
pub struct KeyParser {
    parser: termina::Parser,
}

impl KeyParser {
    pub fn parse(&mut self, bytes: &[u8], out: &mut Vec<CtEvent>) {
        self.parser.parse(bytes, false);
        while let Some(ev) = self.parser.pop() {
            if let Some(c) = alt_char(&ev) {
                // The cockpit binds no Alt key: `ESC` and a letter in one
                // read (a quick Esc then `r`, keys an SSH link delivers
                // together) are the two keys that were typed, so the `r`
                // is never lost as an unbound Alt-r.
                out.push(press(CtCode::Esc));
                out.push(press(CtCode::Char(c)));
            } else if let Some(ev) = translate(ev) {
                out.push(ev);
            }
        }
    }
}

/// `c` when `ev` is Alt with a character and no other modifier.
fn alt_char(ev: &termina::Event) -> Option<char> {
    match ev {
        termina::Event::Key(k)
            if k.modifiers == Modifiers::ALT && matches!(k.kind, KeyEventKind::Press) =>
        {
            match k.code {
                KeyCode::Char(c) => Some(c),
                _ => None,
            }
        }
        _ => None,
    }
}

fn press(code: CtCode) -> CtEvent {
    CtEvent::Key(CtKey::new_with_kind(code, CtMods::NONE, CtKind::Press))
}

/// The crossterm event for a termina one; `None` for what the cockpit
/// never asked for (mouse, focus, terminal replies).
fn translate(ev: termina::Event) -> Option<CtEvent> {
    match ev {
        termina::Event::Key(k) => key(k).map(CtEvent::Key),
        termina::Event::Paste(text) => Some(CtEvent::Paste(text)),
        _ => None,
    }
}

fn key(k: KeyEvent) -> Option<CtKey> {
    let code = match k.code {
        KeyCode::Char(c) => CtCode::Char(c),
        KeyCode::Enter => CtCode::Enter,
        KeyCode::Backspace => CtCode::Backspace,
        KeyCode::Tab => CtCode::Tab,
        KeyCode::BackTab => CtCode::BackTab,
        KeyCode::Escape => CtCode::Esc,
        KeyCode::Left => CtCode::Left,
        KeyCode::Right => CtCode::Right,
        KeyCode::Up => CtCode::Up,
        KeyCode::Down => CtCode::Down,
        KeyCode::Home => CtCode::Home,
        KeyCode::End => CtCode::End,
        KeyCode::PageUp => CtCode::PageUp,
        KeyCode::PageDown => CtCode::PageDown,
        KeyCode::Insert => CtCode::Insert,
        KeyCode::Delete => CtCode::Delete,
        KeyCode::Function(n) => CtCode::F(n),
        KeyCode::Null => CtCode::Null,
        _ => return None,
    };
    let kind = match k.kind {
        KeyEventKind::Press => CtKind::Press,
        KeyEventKind::Repeat => CtKind::Repeat,
        KeyEventKind::Release => CtKind::Release,
    };
    let mut mods = CtMods::NONE;
    for (from, to) in [
        (Modifiers::SHIFT, CtMods::SHIFT),
        (Modifiers::ALT, CtMods::ALT),
        (Modifiers::CONTROL, CtMods::CONTROL),
        (Modifiers::SUPER, CtMods::SUPER),
    ] {
        if k.modifiers.contains(from) {
            mods |= to;
        }
    }
    Some(CtKey::new_with_kind(code, mods, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Vec<CtEvent> {
        let mut out = Vec::new();
        KeyParser::default().parse(bytes, &mut out);
        out
    }

    fn press(code: CtCode, mods: CtMods) -> CtEvent {
        CtEvent::Key(CtKey::new_with_kind(code, mods, CtKind::Press))
    }

    #[test]
    fn the_cockpits_keys_come_out_as_crossterm_would_give_them() {
        let got = parse(b"r\x03\r\x7f\x1b[A\x1b[6~\x1b");
        assert_eq!(
            got,
            vec![
                press(CtCode::Char('r'), CtMods::NONE),
                press(CtCode::Char('c'), CtMods::CONTROL),
                press(CtCode::Enter, CtMods::NONE),
                press(CtCode::Backspace, CtMods::NONE),
                press(CtCode::Up, CtMods::NONE),
                press(CtCode::PageDown, CtMods::NONE),
                press(CtCode::Esc, CtMods::NONE),
            ]
        );
        let upper = parse(b"P");
        assert!(matches!(&upper[..], [CtEvent::Key(k)] if k.code == CtCode::Char('P')));
    }

    #[test]
    fn escape_and_a_letter_in_one_read_are_two_keys() {
        assert_eq!(
            parse(b"\x1br"),
            vec![
                press(CtCode::Esc, CtMods::NONE),
                press(CtCode::Char('r'), CtMods::NONE)
            ]
        );
    }

    #[test]
    fn five_thousand_keys_in_one_read_are_five_thousand_events() {
        let got = parse(&[b'a'; 5000]);
        assert_eq!(got.len(), 5000);
    }
}
