//! Bracketed paste, bounded. Pure: bytes and instants in, pieces out.
//!
//! Between `ESC [ 200 ~` and `ESC [ 201 ~` a terminal sends pasted text.
//! A parser that waits for the end marker without a limit goes deaf when
//! it never comes (a dropped marker, a stray start sequence): every later
//! key, `r` included, is taken as pasted text. Here a paste is bounded in
//! time and size. When no end marker has come within `PASTE_TIMEOUT`, the
//! start marker is taken as stray and what followed it is read as keys, so
//! no paste can swallow the keys after it; only when more followed than a
//! typist could have typed meanwhile (`STRAY_KEYS`) was it a paste that lost
//! its end, and it is discarded. Either way the operator is told.

use std::time::{Duration, Instant};

pub const START: &[u8] = b"\x1b[200~";
pub const END: &[u8] = b"\x1b[201~";

/// How long a paste may stay open. A terminal writes a paste at once;
/// a few hundred milliseconds cover a large one on a slow link.
pub const PASTE_TIMEOUT: Duration = Duration::from_millis(300);
/// The most a paste may hold before it is discarded.
pub const PASTE_LIMIT: usize = 1 << 20;
/// The most bytes after a stray start marker that are read as keys: more
/// than anyone types in `PASTE_TIMEOUT` (a held key repeats about 30 times
/// a second), far less than a paste.
pub const STRAY_KEYS: usize = 64;
/// How long the start of a marker at the end of a read waits for the rest.
const PARTIAL_WAIT: Duration = Duration::from_millis(50);
/// After a paste is discarded, the rest of it may still be arriving: its
/// bytes are dropped until its end marker or until the input has been
/// quiet this long, so pasted text never becomes keys (`n` advances).
pub const DISCARD_QUIET: Duration = Duration::from_millis(100);

/// What the input holds, in the order it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes for the key parser.
    Keys(Vec<u8>),
    /// A complete bracketed paste.
    Paste(String),
    /// What the operator is told: a paste discarded, a stray marker.
    Notice(String),
}

#[derive(Debug)]
struct Open {
    started: Instant,
    /// When its last bytes came.
    last: Instant,
    /// Everything after the start marker so far.
    text: Vec<u8>,
}

/// Splits the input into keys and pastes; see the module's text.
#[derive(Debug, Default)]
pub struct PasteSplitter {
    open: Option<Open>,
    /// The start of a marker that ended a read, held for the rest.
    partial: Vec<u8>,
    partial_since: Option<Instant>,
    /// A discarded paste's tail is being dropped; when its last bytes came.
    discarding: Option<Instant>,
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
        if self.discarding.is_some() {
            match find(rest, END) {
                Some(i) => {
                    self.discarding = None;
                    rest = &rest[i + END.len()..];
                }
                None => {
                    self.discarding = Some(now);
                    return out;
                }
            }
        }
        loop {
            if let Some(open) = &mut self.open {
                open.last = now;
                // The end marker may straddle what was held and what came.
                let from = open.text.len().saturating_sub(END.len());
                open.text.extend_from_slice(rest);
                if let Some(i) = find(&open.text[from..], END) {
                    let end = from + i;
                    let all = std::mem::take(&mut open.text);
                    out.push(Piece::Paste(
                        String::from_utf8_lossy(&all[..end]).into_owned(),
                    ));
                    self.open = None;
                    data = all[end + END.len()..].to_vec();
                    rest = &data;
                    continue;
                }
                if open.text.len() > PASTE_LIMIT {
                    self.open = None;
                    self.discarding = Some(now);
                    out.push(Piece::Notice(format!(
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
                        last: now,
                        text: Vec::new(),
                    });
                    rest = &rest[i + START.len()..];
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
        match (&self.open, self.partial_since, self.discarding) {
            (Some(open), _, _) => Some(open.started + PASTE_TIMEOUT),
            (None, Some(since), _) => Some(since + PARTIAL_WAIT),
            (None, None, Some(last)) => Some(last + DISCARD_QUIET),
            (None, None, None) => None,
        }
    }

    /// Ends what has waited too long: a paste without its end (the marker
    /// was stray: what followed is keys; or, when long, a paste that lost
    /// its end: discarded), and a held partial marker (keys).
    pub fn expire(&mut self, now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        if let Some(open) = &self.open
            && now >= open.started + PASTE_TIMEOUT
        {
            let open = self.open.take().expect("checked above");
            let ms = PASTE_TIMEOUT.as_millis();
            if open.text.len() > STRAY_KEYS {
                out.push(Piece::Notice(format!(
                    "paste discarded: no end marker within {ms} ms ({} bytes)",
                    open.text.len()
                )));
                // Its rest may still be on its way.
                if now < open.last + DISCARD_QUIET {
                    self.discarding = Some(open.last);
                }
            } else {
                out.push(Piece::Notice(format!(
                    "stray paste start marker (no end within {ms} ms) ignored; the {} \
                     byte(s) after it were read as keys",
                    open.text.len()
                )));
                // They may start a paste of their own: split them again.
                out.extend(self.feed(&open.text, now));
            }
        }
        if let Some(last) = self.discarding
            && now >= last + DISCARD_QUIET
        {
            self.discarding = None;
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

    /// A paste of `text` whose end marker never comes: the splitter, when
    /// it began, and what the splitter gives once the paste has timed out.
    fn paste_without_end(text: &str) -> (PasteSplitter, Instant, Vec<Piece>) {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        assert_eq!(p.feed(format!("\x1b[200~{text}").as_bytes(), t), vec![]);
        let got = p.expire(t + PASTE_TIMEOUT);
        (p, t, got)
    }

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

    /// A stray start marker, then `r` (in the same read or a later one):
    /// after the timeout the marker is ignored with a notice and the `r`
    /// is a key.
    #[test]
    fn a_stray_start_marker_hands_on_the_keys_after_it() {
        for reads in [&[&b"\x1b[200~"[..], b"r"][..], &[b"\x1b[200~r"]] {
            let mut p = PasteSplitter::default();
            let t = Instant::now();
            for r in reads {
                assert_eq!(p.feed(r, t), vec![]);
            }
            assert_eq!(p.deadline(), Some(t + PASTE_TIMEOUT));
            assert_eq!(p.expire(t + Duration::from_millis(100)), vec![]);
            let got = p.expire(t + PASTE_TIMEOUT);
            assert!(
                matches!(&got[0], Piece::Notice(m) if m.contains("stray paste start marker")),
                "{got:?}"
            );
            assert_eq!(&got[1..], &[keys("r")]);
            // Keys work at once afterwards.
            assert_eq!(p.feed(b"q", t + PASTE_TIMEOUT), vec![keys("q")]);
        }
    }

    /// More than a typist could have typed: a paste that lost its end,
    /// discarded, never read as keys.
    #[test]
    fn a_long_paste_without_its_end_is_discarded() {
        let (_, _, got) = paste_without_end(&"nnnnP".repeat(20));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(matches!(&got[0], Piece::Notice(m) if m.contains("(100 bytes)")));
    }

    #[test]
    fn a_paste_over_the_size_limit_is_discarded() {
        let mut p = PasteSplitter::default();
        let t = Instant::now();
        let big = vec![b'x'; PASTE_LIMIT + 1];
        assert_eq!(p.feed(START, t), vec![]);
        let got = p.feed(&big, t);
        assert!(matches!(&got[..], [Piece::Notice(m)] if m.contains("KiB")));
        // The rest of that paste, still arriving, is never read as keys.
        let soon = t + Duration::from_millis(10);
        assert_eq!(p.feed(b"nnn", soon), vec![]);
        assert_eq!(p.deadline(), Some(soon + DISCARD_QUIET));
        // Once the input is quiet, keys work again.
        assert_eq!(p.expire(soon + DISCARD_QUIET), vec![]);
        assert_eq!(p.feed(b"r", soon + DISCARD_QUIET), vec![keys("r")]);
    }

    /// A discarded paste's end marker ends the discarding at once: what
    /// follows it is keys.
    #[test]
    fn a_discarded_pastes_end_marker_hands_back_the_keys() {
        let (mut p, t, got) = paste_without_end(&"n".repeat(100));
        let late = t + PASTE_TIMEOUT;
        assert!(matches!(&got[..], [Piece::Notice(_)]), "{got:?}");
        // It had gone quiet long before: nothing more is dropped.
        assert_eq!(p.feed(b"r", late), vec![keys("r")]);
        // A paste still streaming when discarded: its tail is dropped up
        // to its end marker, and the key after it counts.
        let mut p = PasteSplitter::default();
        let big = vec![b'x'; PASTE_LIMIT + 1];
        p.feed(START, t);
        p.feed(&big, t);
        assert_eq!(p.feed(b"nn\x1b[201~r", t), vec![keys("r")]);
    }
}
