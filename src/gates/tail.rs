//! The last lines a command printed, bounded in lines and bytes whatever it
//! prints: a runaway eval cannot fill memory, the journal or the screen.
//! Pure: bytes in, lines out.

/// Keeps at most `max_lines` lines and about `max_bytes` bytes of the end of
/// a stream; a line longer than the byte bound keeps its end.
#[derive(Debug, Clone)]
pub struct Tail {
    lines: std::collections::VecDeque<String>,
    bytes: usize,
    /// The line being written (no newline yet), bounded like the rest.
    partial: Vec<u8>,
    max_lines: usize,
    max_bytes: usize,
}

/// What a command gate keeps: 20 lines, 8 KiB.
pub const MAX_LINES: usize = 20;
pub const MAX_BYTES: usize = 8 * 1024;

impl Default for Tail {
    fn default() -> Self {
        Tail::new(MAX_LINES, MAX_BYTES)
    }
}

impl Tail {
    pub fn new(max_lines: usize, max_bytes: usize) -> Tail {
        Tail {
            lines: Default::default(),
            bytes: 0,
            partial: Vec::new(),
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        for part in chunk.split_inclusive(|b| *b == b'\n') {
            let (text, ends) = match part.strip_suffix(b"\n") {
                Some(t) => (t, true),
                None => (part, false),
            };
            self.partial.extend_from_slice(text);
            if self.partial.len() > self.max_bytes {
                let cut = self.partial.len() - self.max_bytes;
                self.partial.drain(..cut);
            }
            if ends {
                let line = std::mem::take(&mut self.partial);
                self.keep(line);
            }
        }
    }

    fn keep(&mut self, line: Vec<u8>) {
        let text = clean(&line);
        self.bytes += text.len();
        self.lines.push_back(text);
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    /// The kept lines, oldest first, with an unfinished last line.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.lines.iter().cloned().collect();
        if !self.partial.is_empty() {
            out.push(clean(&self.partial));
        }
        if out.len() > self.max_lines {
            out.remove(0);
        }
        out
    }
}

/// One line for a terminal and a JSON string: lossy UTF-8, a trailing
/// `\r` dropped, control characters (escape sequences) replaced.
fn clean(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    text.trim_end_matches('\r')
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '�'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines() {
        let mut t = Tail::new(3, 1000);
        t.push(b"one\ntwo\nthr");
        t.push(b"ee\nfour\nfive");
        assert_eq!(t.lines(), vec!["three", "four", "five"]);
    }

    #[test]
    fn bytes_are_bounded_too() {
        let mut t = Tail::new(100, 10);
        t.push(b"aaaa\nbbbb\ncccc\n");
        assert_eq!(t.lines(), vec!["bbbb", "cccc"]);
        // A single enormous line keeps its end.
        let mut t = Tail::new(5, 8);
        t.push(&[b'x'; 1_000_000]);
        t.push(b"END\n");
        assert_eq!(t.lines(), vec!["xxxxxEND"]);
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let mut t = Tail::default();
        t.push(b"\x1b[31mred\r\n\xff ok\n");
        assert_eq!(t.lines(), vec!["�[31mred", "� ok"]);
    }
}
