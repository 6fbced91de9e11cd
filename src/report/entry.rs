//! Journal lines as the report reads them: each line keeps its raw JSON,
//! so kinds and fields this version does not know (gates, alerts, drills
//! written by a newer cockpit) are still shown, never dropped or fatal.

use std::time::SystemTime;

use serde_json::Value;

use crate::engine::journal::{Record, RecordAction, RecordKind, RecordOrigin};

/// One line of the journal.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line number in the journal.
    pub line: usize,
    pub value: Value,
    /// The line as a record, when this version knows its kind.
    pub record: Option<Record>,
    pub wall: Option<SystemTime>,
}

/// Parses a journal's text. Returns the entries and the number of lines
/// that are not JSON objects (a torn write).
pub fn parse(text: &str) -> (Vec<Entry>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Entry::parse_line(i + 1, line.as_bytes()) {
            Some(e) => out.push(e),
            None => bad += 1,
        }
    }
    (out, bad)
}

impl Entry {
    /// Line `line` of a journal (1-based); `None` when it is not a JSON
    /// object (a torn write).
    pub fn parse_line(line: usize, bytes: &[u8]) -> Option<Entry> {
        let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(bytes) else {
            return None;
        };
        let record = serde_json::from_value::<Record>(value.clone()).ok();
        let wall = value["time"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        Some(Entry {
            line,
            value,
            record,
            wall,
        })
    }

    /// The raw `kind` (`intent`, `sample`, or one this version does not
    /// know).
    pub fn kind(&self) -> &str {
        self.str("kind").unwrap_or("")
    }

    /// What the line did, typed (a word of any version reads as one).
    pub fn action(&self) -> Option<RecordAction> {
        Some(RecordAction::from_word(self.action_word()?))
    }

    /// Who or what wrote the line, typed.
    pub fn origin(&self) -> Option<RecordOrigin> {
        Some(RecordOrigin::from_word(self.origin_word()?))
    }

    /// The `action` word as written, for showing; `None` when absent or
    /// empty.
    pub fn action_word(&self) -> Option<&str> {
        self.str("action").filter(|w| !w.is_empty())
    }

    /// The `origin` word as written, for showing.
    pub fn origin_word(&self) -> Option<&str> {
        self.str("origin").filter(|w| !w.is_empty())
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.value.get(key).and_then(Value::as_str)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.value.get(key).and_then(Value::as_u64)
    }

    pub fn is(&self, kind: RecordKind) -> bool {
        self.record.as_ref().is_some_and(|r| r.kind == kind)
    }

    pub fn is_sample(&self) -> bool {
        self.is(RecordKind::Sample)
    }

    /// A rehearsal (`cutover drill`), not part of any cutover.
    pub fn is_drill(&self) -> bool {
        // Older versions wrote drill words of their own (`drill_raise`).
        self.origin() == Some(RecordOrigin::Drill)
            || self.action_word().is_some_and(|a| a.starts_with("drill"))
    }

    /// An outcome that landed (`"outcome": "ok"`).
    pub fn landed(&self) -> bool {
        self.is(RecordKind::Outcome) && self.str("outcome") == Some("ok")
    }

    /// Green's share after this line, for a line that sets it.
    pub fn to(&self) -> Option<u8> {
        self.u64("to").and_then(|v| u8::try_from(v).ok())
    }

    pub fn from(&self) -> Option<u8> {
        self.u64("from").and_then(|v| u8::try_from(v).ok())
    }

    pub fn forced(&self) -> bool {
        self.value.get("forced").and_then(Value::as_bool) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_are_kept_and_torn_lines_counted() {
        let text = "{\"time\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"intent\",\"service\":\"s\",\"user\":\"u\",\"origin\":\"tui\",\"action\":\"advance\",\"to\":5}\n\
                    {\"time\":\"2026-01-01T00:00:01.000Z\",\"kind\":\"from_a_later_build\",\"action\":\"sent\"}\n\
                    {torn\n\n";
        let (entries, bad) = parse(text);
        assert_eq!(bad, 1);
        assert_eq!(entries.len(), 2);
        assert!(entries[0].is(RecordKind::Intent));
        assert_eq!(entries[0].to(), Some(5));
        assert!(entries[1].record.is_none());
        assert_eq!(entries[1].kind(), "from_a_later_build");
        assert_eq!(entries[1].line, 2);
        assert!(entries[1].wall.is_some());
    }
}
