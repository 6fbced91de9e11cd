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

/// Every cutover in the journal, oldest first.
pub fn find(entries: &[Entry]) -> Vec<Span> {
    let mut cores: Vec<(usize, Option<usize>)> = Vec::new();
    let mut open: Option<(usize, Option<String>)> = None;
    for (i, e) in entries.iter().enumerate() {
        if e.is_drill() || e.is_sample() {
            continue;
        }
        let green_version = e.str("green_version").map(str::to_string);
        match &open {
            None if e.is(RecordKind::Intent) && e.to().is_some_and(|t| t > 0) => {
                open = Some((i, green_version));
            }
            Some((first, _)) if e.landed() && e.to() == Some(0) => {
                cores.push((*first, Some(i)));
                open = None;
            }
            Some((first, version))
                if e.is(RecordKind::Start)
                    && green_version.is_some()
                    && green_version != *version =>
            {
                cores.push((*first, Some(i - 1)));
                open = None;
            }
            _ => {}
        }
    }
    if let Some((first, _)) = open {
        cores.push((first, None));
    }
    let mut spans = Vec::with_capacity(cores.len());
    let mut floor = 0;
    for (n, &(first, end)) in cores.iter().enumerate() {
        let next_first = cores.get(n + 1).map_or(entries.len(), |c| c.0);
        // The lead-in: from the last start before the first step (not
        // before the previous cutover's tail).
        let lead = (floor..first)
            .rev()
            .find(|&i| entries[i].is(RecordKind::Start))
            .unwrap_or(floor);
        // The tail: up to the next start or change.
        let stop = match end {
            None => next_first,
            Some(end) => (end + 1..next_first)
                .find(|&i| entries[i].is(RecordKind::Start) || entries[i].is(RecordKind::Intent))
                .unwrap_or(next_first),
        };
        spans.push(Span {
            shown: lead..stop,
            first,
            end,
        });
        floor = stop;
    }
    spans
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
