//! Bracketed paste, bounded. Pure: bytes and instants in, pieces out.
//!
//! Between `ESC [ 200 ~` and `ESC [ 201 ~` a terminal sends pasted text.
//! A parser that waits for the end marker without a limit goes deaf when
//! it never comes (a dropped marker, a stray start sequence): every later
//! key, `r` included, is taken as pasted text. Here a paste is bounded in
//! time and size. A paste that does not close is discarded; the bytes that
//! reached us only after the input had gone quiet once (the keys typed
//! after a stray marker) are handed on as keys, so no paste can swallow
//! the keys after it.

use std::time::{Duration, Instant};

pub const START: &[u8] = b"\x1b[200~";
pub const END: &[u8] = b"\x1b[201~";

/// How long a paste may stay open. A terminal writes a paste at once;
/// a few hundred milliseconds cover a large one on a slow link.
pub const PASTE_TIMEOUT: Duration = Duration::from_millis(300);
/// The most a paste may hold before it is discarded.
pub const PASTE_LIMIT: usize = 1 << 20;
/// How long the start of a marker at the end of a read waits for the rest.
const PARTIAL_WAIT: Duration = Duration::from_millis(50);

/// What the input holds, in the order it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes for the key parser.
    Keys(Vec<u8>),
    /// A complete bracketed paste.
    Paste(String),
    /// A paste that was discarded, and why (for the status line).
    Discarded(String),
}

#[derive(Debug)]
struct Open {
    started: Instant,
    /// What came in the same read as the start marker: the paste itself.
    first: Vec<u8>,
    /// What came in later reads, after the input had gone quiet once.
    later: Vec<u8>,
}

impl Open {
    fn len(&self) -> usize {
        self.first.len() + self.later.len()
    }
}

/// Splits the input into keys and pastes; see the module's text.
#[derive(Debug, Default)]
pub struct PasteSplitter {
    open: Option<Open>,
    /// The start of a marker that ended a read, held for the rest.
    partial: Vec<u8>,
    partial_since: Option<Instant>,
}

impl PasteSplitter {
    /// Takes everything one drained read of the input gave (read until
    /// nothing more was waiting).
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut data = std::mem::take(&mut self.partial);
        self.partial_since = None;
        data.extend_from_slice(bytes);
        let mut rest: &[u8] = &data;
        let mut first_read = false;
        loop {
            if let Some(open) = &mut self.open {
                // The end marker may straddle what is held and what came.
                let held = open.len();
                if first_read {
                    open.first.extend_from_slice(rest);
                } else {
                    open.later.extend_from_slice(rest);
                }
                let mut all = open.first.clone();
                all.extend_from_slice(&open.later);
                let from = held.saturating_sub(END.len());
                if let Some(i) = find(&all[from..], END) {
                    let end = from + i;
                    out.push(Piece::Paste(
                        String::from_utf8_lossy(&all[..end]).into_owned(),
                    ));
                    let after = all[end + END.len()..].to_vec();
                    self.open = None;
                    data = after;
                    rest = &data;
                    first_read = false;
                    continue;
                }
                if all.len() > PASTE_LIMIT {
                    self.open = None;
                    out.push(Piece::Discarded(format!(
                        "paste discarded: over {} KiB without its end marker",
                        PASTE_LIMIT / 1024
                    )));
                }
                return out;
            }
            match find(rest, START) {
                Some(i) => {
                    if i > 0 {
                        out.push(Piece::Keys(rest[..i].to_vec()));
                    }
                    self.open = Some(Open {
                        started: now,
                        first: Vec::new(),
                        later: Vec::new(),
                    });
                    rest = &rest[i + START.len()..];
                    first_read = true;
                }
                None => {
                    let keep = partial_marker(rest);
                    let (keys, held) = rest.split_at(rest.len() - keep);
                    if !keys.is_empty() {
                        out.push(Piece::Keys(keys.to_vec()));
                    }
                    if !held.is_empty() {
                        self.partial = held.to_vec();
                        self.partial_since = Some(now);
                    }
                    return out;
                }
            }
        }
    }

    /// When [`PasteSplitter::expire`] has something to do, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match (&self.open, self.partial_since) {
            (Some(open), _) => Some(open.started + PASTE_TIMEOUT),
            (None, Some(since)) => Some(since + PARTIAL_WAIT),
            (None, None) => None,
        }
    }

    /// Ends what has waited too long: an open paste is discarded (the keys
    /// that came after it are handed on), a held partial marker becomes
    /// keys.
    pub fn expire(&mut self, now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        if let Some(open) = &self.open
            && now >= open.started + PASTE_TIMEOUT
        {
            let open = self.open.take().expect("checked above");
            out.push(Piece::Discarded(format!(
                "paste discarded: no end marker within {} ms ({} bytes)",
                PASTE_TIMEOUT.as_millis(),
                open.first.len()
            )));
            // The keys typed after the stray marker may themselves start
            // a paste: split them like any input.
            out.extend(self.feed(&open.later, now));
        }
        if self.open.is_none()
            && let Some(since) = self.partial_since
            && now >= since + PARTIAL_WAIT
        {
            self.partial_since = None;
            out.push(Piece::Keys(std::mem::take(&mut self.partial)));
        }
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How many bytes at the end of `bytes` could begin a start marker.
fn partial_marker(bytes: &[u8]) -> usize {
    (1..START.len())
        .rev()
        .find(|&n| bytes.len() >= n && bytes[bytes.len() - n..] == START[..n])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &str) -> Piece {
        Piece::Keys(s.as_bytes().to_vec())
    }

    #[test]
    fn keys_pass_and_a_closed_paste_is_one_piece() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(b"abc", t), vec![keys("abc")]);
        let got = p.feed(b"n\x1b[200~rrr\x1b[201~q", t);
        assert_eq!(got, vec![keys("n"), Piece::Paste("rrr".into()), keys("q")]);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn markers_split_across_reads_are_joined() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(b"a\x1b[20", t), vec![keys("a")]);
        assert_eq!(p.feed(b"0~hello\x1b[2", t), vec![]);
        assert_eq!(
            p.feed(b"01~r", t),
            vec![Piece::Paste("hello".into()), keys("r")]
        );
    }

    #[test]
    fn a_lone_escape_is_held_only_briefly() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(b"\x1b", t), vec![]);
        assert_eq!(p.expire(t + Duration::from_millis(10)), vec![]);
        assert_eq!(p.expire(t + PARTIAL_WAIT), vec![keys("\x1b")]);
    }

    /// A stray start marker, then `r` in a later read: after the timeout
    /// the paste is discarded with a notice and the `r` is a key again.
    #[test]
    fn an_unterminated_paste_ends_and_hands_on_the_keys_after_it() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(b"\x1b[200~", t), vec![]);
        assert_eq!(p.feed(b"r", t + Duration::from_millis(5)), vec![]);
        assert_eq!(p.deadline(), Some(t + PASTE_TIMEOUT));
        assert_eq!(p.expire(t + Duration::from_millis(100)), vec![]);
        let got = p.expire(t + PASTE_TIMEOUT);
        assert!(matches!(&got[0], Piece::Discarded(m) if m.contains("no end marker")));
        assert_eq!(&got[1..], &[keys("r")]);
        // Keys work at once afterwards.
        assert_eq!(p.feed(b"q", t + PASTE_TIMEOUT), vec![keys("q")]);
    }

    /// What came with the marker is the paste and is not read as keys.
    #[test]
    fn the_text_that_came_with_the_marker_is_discarded() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(b"\x1b[200~nnnnP", t), vec![]);
        let got = p.expire(t + PASTE_TIMEOUT);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(matches!(&got[0], Piece::Discarded(m) if m.contains("(5 bytes)")));
    }

    #[test]
    fn a_paste_over_the_size_limit_is_discarded() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        let big = vec![b'x'; PASTE_LIMIT + 1];
        assert_eq!(p.feed(START, t), vec![]);
        let got = p.feed(&big, t);
        assert!(matches!(&got[..], [Piece::Discarded(m)] if m.contains("KiB")));
        assert_eq!(p.feed(b"r", t), vec![keys("r")]);
    }
}
