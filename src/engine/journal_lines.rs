//! Reading the journal safely: only from a regular file, line by line with
//! a cap on each line, so a journal pointed at `/dev/zero` or a file with
//! one endless line costs a bounded amount of memory, never gigabytes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Longest journal line kept. A record with every reading is about 2 KiB;
/// anything far longer is not one of ours and is skipped as unreadable.
pub const MAX_LINE: usize = 256 * 1024;

/// Opens `path` for reading, refusing anything but a regular file (a
/// device or a FIFO would be read forever). `Ok(None)` when it is missing.
pub fn open_regular(path: &Path) -> std::io::Result<Option<File>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    File::open(path).map(Some)
}

/// The error for a journal path that exists but is not a regular file.
pub fn not_regular(path: &Path, meta: &std::fs::Metadata) -> std::io::Error {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    let what = if ft.is_dir() {
        "a directory"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    std::io::Error::other(format!(
        "{} is {what}; the journal must be a regular file",
        path.display()
    ))
}

/// Before creating a journal: an ancestor of `path` that exists and is not
/// a directory makes `create_dir_all` fail with a bare "File exists"; name
/// it instead.
pub fn check_parents(path: &Path) -> std::io::Result<()> {
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "the journal's directory {} is a file, not a directory",
                    dir.display()
                )));
            }
            // Missing, or below a file (ENOTDIR): look further up.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One line of the journal: its bytes (without the newline), or `TooLong`
/// when it passed [`MAX_LINE`] (the rest of it was read and dropped).
#[derive(Debug, PartialEq)]
pub enum Line {
    Text(Vec<u8>),
    TooLong,
}

/// Streams the lines of `file`, each capped at `max` bytes.
pub struct Lines<R> {
    reader: BufReader<R>,
    max: usize,
}

impl<R: Read> Lines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Lines {
            reader: BufReader::new(inner),
            max,
        }
    }

    /// Reads and drops the rest of an over-long line, a buffer at a time.
    fn skip_rest(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                self.reader.consume(i + 1);
                return Ok(());
            }
            let n = buf.len();
            self.reader.consume(n);
        }
    }
}

impl<R: Read> Iterator for Lines<R> {
    type Item = std::io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        // One byte past the cap tells an over-long line from one exactly
        // at the cap.
        let limit = (self.max + 1) as u64;
        match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) if buf.last() == Some(&b'\n') => {
                buf.pop();
                Some(Ok(Line::Text(buf)))
            }
            Ok(n) if n as u64 == limit => Some(self.skip_rest().map(|_| Line::TooLong)),
            // The last line, without a newline (a torn write).
            Ok(_) => Some(Ok(Line::Text(buf))),
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_dropped_and_the_next_kept() {
        let mut text = vec![b'x'; 50];
        text.push(b'\n');
        text.extend_from_slice(b"ok\nlast");
        let lines: Vec<Line> = Lines::new(&text[..], 10).map(Result::unwrap).collect();
        assert_eq!(
            lines,
            vec![
                Line::TooLong,
                Line::Text(b"ok".to_vec()),
                Line::Text(b"last".to_vec())
            ]
        );
        let exact: Vec<Line> = Lines::new(&b"0123456789\n"[..], 10)
            .map(Result::unwrap)
            .collect();
        assert_eq!(exact, vec![Line::Text(b"0123456789".to_vec())]);
    }

    #[test]
    fn devices_and_file_parents_are_named() {
        let e = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = check_parents(&file.join("sub").join("j.jsonl")).unwrap_err();
        assert!(e.to_string().contains("is a file"), "{e}");
        assert!(e.to_string().contains("plain"), "{e}");
        assert!(open_regular(&dir.path().join("missing")).unwrap().is_none());
    }
}
