//! Finding the cutovers in a journal. A cutover runs from the change that
//! first gives green traffic to the change that lands green back at 0 %
//! (a rollback, or a set to 0), or to the end of the journal (promoted, or
//! still running). A start that names another green also ends it: that is
//! the next release. Around it the report keeps its lead-in (from the
//! cockpit's start: the gates and notes before the first step) and its
//! tail (what followed the end until the next start or change: the drain
//! of a rollback, its measured times, alerts). Drills are rehearsals and
//! never open a cutover.

use std::ops::Range;

use super::entry::Entry;
use crate::engine::journal::RecordKind;

/// One cutover: indices into the journal's entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Everything shown: lead-in, the cutover, tail.
    pub shown: Range<usize>,
    /// The first change that gave green traffic.
    pub first: usize,
    /// The change that ended it (green back at 0 %), if any.
    pub end: Option<usize>,
}

/// What finding cutovers needs of one entry: a few fields, so a long
/// journal can be scanned without keeping (or even building) its entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// The kind, when this version knows it.
    pub kind: Option<RecordKind>,
    /// A rehearsal (`cutover drill`).
    pub drill: bool,
    /// Green's share after this line.
    pub to: Option<u8>,
    /// An outcome that landed.
    pub landed: bool,
    pub green_version: Option<String>,
}

impl Marks {
    pub fn of(e: &Entry) -> Marks {
        Marks {
            kind: e.record.as_ref().map(|r| r.kind),
            drill: e.is_drill(),
            to: e.to(),
            landed: e.landed(),
            green_version: e.str("green_version").map(str::to_string),
        }
    }

    fn is(&self, kind: RecordKind) -> bool {
        self.kind == Some(kind)
    }
}

/// Finds the cutovers one entry at a time, in order, keeping only their
/// spans: the same rules as [`find`], for a journal read as a stream.
#[derive(Debug, Default)]
pub struct Finder {
    spans: Vec<Span>,
    /// The cutover open now: its first change, green's version then, and
    /// where its lead-in starts.
    open: Option<(usize, Option<String>, usize)>,
    /// A cutover that ended and whose tail runs until the next start or
    /// change (an index into `spans`).
    tail: Option<usize>,
    /// Nothing before this belongs to the next cutover.
    floor: usize,
    /// The last start at or after `floor`: the next lead-in begins there.
    last_start: Option<usize>,
    /// The drills seen so far, the last [`DRILLS_KEPT`] (see
    /// [`Finder::drills_before`]).
    drills: std::collections::VecDeque<usize>,
    /// Per span: the last drills before its lead-in.
    drills_before: Vec<Vec<usize>>,
    /// The entry pushed before this one.
    prev: usize,
    seen: usize,
}

/// How many drills before a cutover the report lists.
pub const DRILLS_KEPT: usize = 10;

impl Finder {
    /// Entry `i`. Indices grow with each push but need not be contiguous
    /// (a streamed read uses line numbers).
    pub fn push(&mut self, i: usize, e: &Marks) {
        let prev = std::mem::replace(&mut self.prev, i);
        self.seen = i + 1;
        let start = e.is(RecordKind::Start);
        if start || e.is(RecordKind::Intent) {
            self.end_tail(i);
        }
        if start {
            self.last_start = Some(i);
        }
        if e.drill {
            if self.drills.len() == DRILLS_KEPT {
                self.drills.pop_front();
            }
            self.drills.push_back(i);
        }
        if e.drill || e.is(RecordKind::Sample) {
            return;
        }
        match &self.open {
            None if e.is(RecordKind::Intent) && e.to.is_some_and(|t| t > 0) => {
                let lead = self.last_start.unwrap_or(self.floor);
                let before: Vec<usize> =
                    self.drills.iter().copied().filter(|&d| d < lead).collect();
                self.drills_before.push(before);
                self.open = Some((i, e.green_version.clone(), lead));
            }
            Some(_) if e.landed && e.to == Some(0) => self.close(i, i),
            Some((_, version, _))
                if start && e.green_version.is_some() && e.green_version != *version =>
            {
                // The start is the next release's: the tail ends at once.
                self.close(prev, i);
                self.end_tail(i);
                self.last_start = Some(i);
            }
            _ => {}
        }
    }

    fn close(&mut self, end: usize, i: usize) {
        let Some((first, _, lead)) = self.open.take() else {
            return;
        };
        self.spans.push(Span {
            shown: lead..i + 1,
            first,
            end: Some(end),
        });
        self.tail = Some(self.spans.len() - 1);
    }

    /// A start or a change at `i` ends the tail of the cutover before.
    fn end_tail(&mut self, i: usize) {
        if let Some(t) = self.tail.take() {
            self.spans[t].shown.end = i;
            self.floor = i;
            self.last_start = None;
        }
    }

    /// The spans, the last ending with the journal.
    pub fn finish(mut self) -> (Vec<Span>, Vec<Vec<usize>>) {
        let len = self.seen;
        if let Some((first, _, lead)) = self.open.take() {
            self.spans.push(Span {
                shown: lead..len,
                first,
                end: None,
            });
        }
        if let Some(t) = self.tail.take() {
            self.spans[t].shown.end = len;
        }
        (self.spans, self.drills_before)
    }
}

/// Every cutover in the journal, oldest first.
pub fn find(entries: &[Entry]) -> Vec<Span> {
    let mut f = Finder::default();
    for (i, e) in entries.iter().enumerate() {
        f.push(i, &Marks::of(e));
    }
    f.finish().0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::entry::parse;

    fn line(kind: &str, action: &str, extra: &str) -> String {
        format!(
            "{{\"time\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"{kind}\",\"service\":\"s\",\"user\":\"u\",\"origin\":\"tui\",\"action\":\"{action}\"{extra}}}\n"
        )
    }

    #[test]
    fn cutovers_run_from_first_traffic_to_zero_with_lead_in_and_tail() {
        let text = [
            line("start", "start", ""),                                 // 0
            line("note", "note", ""),                                   // 1
            line("intent", "advance", ",\"from\":0,\"to\":1"),          // 2
            line("outcome", "advance", ",\"to\":1,\"outcome\":\"ok\""), // 3
            "{\"time\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"sample\",\"s\":{\"b\":[1,2,3],\"g\":[1,2,3]}}\n".into(), // 4
            line("intent", "rollback", ",\"from\":1,\"to\":0"),         // 5
            line("outcome", "rollback", ",\"to\":0,\"outcome\":\"ok\""), // 6
            line("outcome", "rollback_traffic_zero", ""),               // 7
            line("start", "start", ""),                                 // 8
            line("intent", "drill", ",\"to\":50"),                      // 9
            line("intent", "set", ",\"from\":0,\"to\":10"),             // 10
        ]
        .concat();
        let (entries, _) = parse(&text);
        let spans = find(&entries);
        assert_eq!(spans.len(), 2);
        assert_eq!(
            spans[0],
            Span {
                shown: 0..8,
                first: 2,
                end: Some(6)
            }
        );
        assert_eq!(
            spans[1],
            Span {
                shown: 8..11,
                first: 10,
                end: None
            }
        );
    }

    #[test]
    fn a_start_with_another_green_ends_a_promoted_cutover() {
        let text = [
            line("intent", "advance", ",\"to\":100,\"green_version\":\"1\""),
            line("promoted", "promoted", ",\"green_version\":\"1\""),
            line("start", "start", ",\"green_version\":\"2\""),
            line("intent", "advance", ",\"to\":5,\"green_version\":\"2\""),
        ]
        .concat();
        let (entries, _) = parse(&text);
        let spans = find(&entries);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].end, Some(1));
        assert_eq!(spans[1].shown, 2..4);
    }
}
