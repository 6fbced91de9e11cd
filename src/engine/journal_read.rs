//! Reading a long journal quickly: most of its lines are samples (numbers
//! for the charts), which no reader of decisions needs. A line's `kind` is
//! read first with a light parse that skips the rest without building it
//! (serde's `IgnoredAny`), and only the lines a reader wants are parsed
//! into a [`Record`]. Memory then follows what is kept, not the file.

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde::de::IntoDeserializer;

use super::journal::{Record, RecordKind};
use super::journal_lines::{Line, Lines, MAX_LINE, open_regular};

/// What the light parse reads of a line: its kind, as written.
#[derive(Deserialize)]
struct KindOnly<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    // Required by `Record` too: a line without it is not one.
    #[allow(dead_code)]
    time: IgnoredAny,
}

/// The kind of a journal line, read without building the record; `None`
/// when the line is not JSON with a `kind` and a `time`, or the kind is not
/// one this version knows.
pub fn kind_of(line: &[u8]) -> Option<RecordKind> {
    let k: KindOnly = serde_json::from_slice(line).ok()?;
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        k.kind.as_ref().into_deserializer();
    RecordKind::deserialize(de).ok()
}

/// A line that only records numbers (a sample or a breach): readers of
/// decisions skip it without parsing it whole.
pub fn numbers_only(line: &[u8]) -> bool {
    matches!(kind_of(line), Some(RecordKind::Sample | RecordKind::Breach))
}

/// The records of the journal at `path` whose kind `keep` accepts, in
/// order, streamed: lines of other kinds are never parsed whole. A missing
/// file reads as empty; unreadable lines are skipped.
pub fn records_where(
    path: &Path,
    keep: impl Fn(RecordKind) -> bool,
) -> std::io::Result<impl Iterator<Item = Record>> {
    let lines = open_regular(path)?.map(|f| Lines::new(f, MAX_LINE));
    Ok(lines
        .into_iter()
        .flatten()
        // An I/O error mid-file ends the stream: what came before stands.
        .map_while(Result::ok)
        .filter_map(move |line| {
            let Line::Text(bytes) = line else {
                return None;
            };
            if !kind_of(&bytes).is_some_and(&keep) {
                return None;
            }
            serde_json::from_slice(&bytes).ok()
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_without_the_rest() {
        assert_eq!(
            kind_of(br#"{"time":"2026-01-01T00:00:00Z","kind":"sample","s":{"b":[1,null,2],"g":[1,2,3]}}"#),
            Some(RecordKind::Sample)
        );
        assert_eq!(
            kind_of(br#"{"kind":"intent","time":"t","action":"a\"b"}"#),
            Some(RecordKind::Intent)
        );
        assert_eq!(
            kind_of(br#"{"time":"t","kind":"from_a_later_build"}"#),
            None
        );
        assert_eq!(
            kind_of(br#"{"time":"t","kind":"sample","s":{"b":[1,"#),
            None
        );
        assert_eq!(kind_of(br#"{"kind":"sample"}"#), None);
        assert!(numbers_only(
            br#"{"time":"t","kind":"breach","action":"breach"}"#
        ));
        assert!(!numbers_only(
            br#"{"time":"t","kind":"outcome","action":"rollback"}"#
        ));
    }

    #[test]
    fn only_the_kinds_asked_for_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut text = String::new();
        for kind in ["sample", "outcome", "sample", "note"] {
            text.push_str(&format!(
                "{{\"time\":\"2026-01-01T00:00:00Z\",\"kind\":\"{kind}\",\"action\":\"x\"}}\n"
            ));
        }
        text.push_str("{torn\n");
        std::fs::write(&path, text).unwrap();
        let kept: Vec<RecordKind> = records_where(&path, |k| k != RecordKind::Sample)
            .unwrap()
            .map(|r| r.kind)
            .collect();
        assert_eq!(kept, vec![RecordKind::Outcome, RecordKind::Note]);
        assert_eq!(
            records_where(&dir.path().join("missing"), |_| true)
                .unwrap()
                .count(),
            0
        );
    }
}
