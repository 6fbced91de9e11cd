//! Reading a journal for `cutover report` as a stream, twice: the first
//! pass finds the cutovers from a few fields of each line (samples, most of
//! a long journal, are never built into entries), the second keeps the
//! entries of the one cutover reported and the drills before it. Memory
//! follows that cutover, not the file.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use serde::de::{IgnoredAny, IntoDeserializer};

use crate::engine::journal::{RecordAction, RecordKind, RecordOrigin};
use crate::engine::journal_lines::{Line, Lines, MAX_LINE, open_regular};
use crate::report::{Entry, Finder, Marks, Span, pick};

/// The cutover a report is about, as read.
pub struct Read {
    /// Its entries (lead-in, cutover, tail), after up to
    /// [`crate::report::DRILLS_KEPT`] drills from before it.
    pub entries: Vec<Entry>,
    /// Indices into `entries`.
    pub span: Span,
    pub number: usize,
    pub of: usize,
    /// Lines that are not JSON objects (torn writes).
    pub bad: usize,
}

/// The fields finding cutovers needs, read without building the rest.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[allow(dead_code)]
    time: IgnoredAny,
    #[serde(default)]
    origin: Option<RecordOrigin>,
    #[serde(default)]
    action: Option<RecordAction>,
    #[serde(default)]
    to: Option<u64>,
    #[serde(borrow, default)]
    outcome: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    green_version: Option<Cow<'a, str>>,
}

/// A line's marks: from the light parse, or, for a line it cannot read
/// (an unknown shape), from the whole entry. `None`: not a JSON object.
fn marks(bytes: &[u8]) -> Option<Marks> {
    let Ok(h) = serde_json::from_slice::<Head>(bytes) else {
        return Entry::parse_line(0, bytes).map(|e| Marks::of(&e));
    };
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        h.kind.as_ref().into_deserializer();
    let kind = RecordKind::deserialize(de).ok();
    // Older versions wrote drill words of their own (`drill_raise`).
    let drill = h.origin == Some(RecordOrigin::Drill)
        || h.action.is_some_and(|a| a.word().starts_with("drill"));
    Some(Marks {
        kind,
        drill,
        to: h.to.and_then(|t| u8::try_from(t).ok()),
        landed: kind == Some(RecordKind::Outcome) && h.outcome.as_deref() == Some("ok"),
        green_version: h.green_version.map(Cow::into_owned),
    })
}

/// Calls `each(line number, bytes)` for every line that is not blank;
/// returns the number of unreadable lines (`each` answers `None` for
/// one). `each` answers `Some(false)` to stop early.
fn scan(path: &Path, mut each: impl FnMut(usize, &[u8]) -> Option<bool>) -> anyhow::Result<usize> {
    let file =
        open_regular(path)?.ok_or_else(|| anyhow::anyhow!("{}: no such file", path.display()))?;
    let mut bad = 0;
    for (n, line) in Lines::new(file, MAX_LINE).enumerate() {
        let Line::Text(bytes) = line? else {
            bad += 1;
            continue;
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match each(n + 1, &bytes) {
            None => bad += 1,
            Some(true) => {}
            Some(false) => break,
        }
    }
    Ok(bad)
}

/// Reads cutover `index` (the last when `None`) of the journal at `path`.
pub fn read(path: &Path, index: Option<usize>, source: &str) -> anyhow::Result<Read> {
    let cannot = || format!("cannot read the journal {}", path.display());
    // Spans are found by line number: the second pass needs no parse to
    // know where it is.
    let mut finder = Finder::default();
    let bad = scan(path, |line, bytes| {
        finder.push(line, &marks(bytes)?);
        Some(true)
    })
    .with_context(cannot)?;
    let (spans, drills_before) = finder.finish();
    let number = pick(spans.len(), index, source).map_err(anyhow::Error::msg)?;
    let span = spans[number - 1].clone();
    let drills = &drills_before[number - 1];
    let mut entries = Vec::new();
    let mut lines = Vec::new();
    scan(path, |line, bytes| {
        if line >= span.shown.end {
            return Some(false);
        }
        if span.shown.contains(&line) || drills.contains(&line) {
            // Readable in the first pass, so an entry now.
            if let Some(e) = Entry::parse_line(line, bytes) {
                entries.push(e);
                lines.push(line);
            }
        }
        Some(true)
    })
    .with_context(cannot)?;
    // From line numbers to places in what was kept.
    let at = |line: usize| lines.partition_point(|&l| l < line);
    let kept = Span {
        shown: at(span.shown.start)..at(span.shown.end),
        first: at(span.first),
        end: span.end.map(at),
    };
    Ok(Read {
        entries,
        span: kept,
        number,
        of: spans.len(),
        bad,
    })
}
