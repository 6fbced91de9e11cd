//! Terminal input on its own thread, handed over a channel, so the event
//! loop can take every waiting event at once (a paste, a held key) and
//! handle them as one batch.
//!
//! The reader is our own rather than crossterm's: crossterm 0.29's mio
//! source registers the tty edge-triggered and returns after the first
//! read that yields an event, so the rest of a large write (a burst of
//! keys, a paste without brackets) waits in the kernel for the next
//! keystroke; its `use-dev-tty` source polls level-triggered but takes end
//! of file for "nothing yet" and spins on a hung-up tty; and both buffer
//! an unterminated bracketed paste without limit. Here the tty is polled
//! level-triggered, every wake-up reads until nothing more is waiting,
//! pastes are bounded (`paste`), keys are parsed by termina (`keys`), and
//! end of input or a read error ends the thread with [`Input::Lost`].

mod keys;
mod paste;

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::Event;
use rustix::event::{self, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use tokio::sync::mpsc;

use keys::KeyParser;
use paste::{PasteSplitter, Piece};

/// How often the reader looks whether it should stop.
const POLL: Duration = Duration::from_millis(100);
/// The most one pass reads before it hands the events on (the next pass
/// follows at once: the poll is level-triggered).
const MAX_PASS: usize = 256 * 1024;

/// What the reader hands over.
#[derive(Debug)]
pub enum Input {
    /// Every event of one drained read, in order.
    Events(Vec<Event>),
    /// Something the operator should be told (a discarded paste, a stray
    /// paste marker).
    Notice(String),
    /// The terminal is gone (end of input, or a read error such as EIO);
    /// the reader has ended.
    Lost(String),
}

/// The reader thread. Dropping it asks the thread to stop and never waits
/// for it: a thread that may be stuck in a read is never joined.
pub struct InputThread {
    rx: mpsc::UnboundedReceiver<Input>,
    stop: Arc<AtomicBool>,
}

impl InputThread {
    /// Reads standard input, which must be the terminal.
    pub fn spawn() -> InputThread {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("cutover-input".into())
            .spawn(move || read_loop(rustix::stdio::stdin(), &tx, &flag));
        if let Err(e) = spawned {
            // No reader means no keys: say so as a lost terminal would.
            let (tx, rx2) = mpsc::unbounded_channel();
            let _ = tx.send(Input::Lost(format!("cannot start the input thread: {e}")));
            return InputThread { rx: rx2, stop };
        }
        InputThread { rx, stop }
    }

    /// The next message; `None` when the reader has ended.
    pub async fn recv(&mut self) -> Option<Input> {
        self.rx.recv().await
    }

    /// Every message already waiting, without waiting for more.
    pub fn drain(&mut self) -> impl Iterator<Item = Input> + '_ {
        std::iter::from_fn(|| self.rx.try_recv().ok())
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// How one wait on the tty ended.
enum Wait {
    Ready,
    Timeout,
    Failed(std::io::Error),
}

fn wait(fd: BorrowedFd<'_>, timeout: Duration) -> Wait {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    // A timeout too long for a timespec cannot occur (at most `POLL`);
    // waiting without one would still be correct.
    let ts = Timespec::try_from(timeout).ok();
    match event::poll(&mut fds, ts.as_ref()) {
        Ok(0) => Wait::Timeout,
        Ok(_) => Wait::Ready,
        Err(Errno::INTR) => Wait::Timeout,
        Err(e) => Wait::Failed(e.into()),
    }
}

/// Reads until nothing more is waiting (or `MAX_PASS`). `Err` when the
/// terminal is gone, with what was read before that.
fn drain(fd: BorrowedFd<'_>, buf: &mut [u8], got: &mut Vec<u8>) -> Result<(), String> {
    loop {
        let n = match rustix::io::read(fd, &mut *buf) {
            Ok(0) => return Err("end of input".into()),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Ok(()),
            Err(e) => {
                let e = std::io::Error::from(e);
                return Err(format!("reading the terminal: {e}"));
            }
        };
        got.extend_from_slice(&buf[..n]);
        // A blocking read returns what is there; poll (level-triggered)
        // says whether more is, so the tty needs no O_NONBLOCK (which it
        // would share with the shell).
        if got.len() >= MAX_PASS || !matches!(wait(fd, Duration::ZERO), Wait::Ready) {
            return Ok(());
        }
    }
}

fn read_loop(fd: BorrowedFd<'_>, tx: &mpsc::UnboundedSender<Input>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut splitter = PasteSplitter::default();
    let mut parser = KeyParser::default();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let timeout = splitter
            .deadline()
            .map_or(POLL, |d| d.saturating_duration_since(now).min(POLL));
        let mut got = Vec::new();
        let mut lost = None;
        match wait(fd, timeout) {
            Wait::Ready => {
                if let Err(why) = drain(fd, &mut buf, &mut got) {
                    lost = Some(why);
                }
            }
            Wait::Timeout => {}
            Wait::Failed(e) => lost = Some(format!("waiting for the terminal: {e}")),
        }
        let now = Instant::now();
        let mut pieces = if got.is_empty() {
            Vec::new()
        } else {
            splitter.feed(&got, now)
        };
        pieces.extend(splitter.expire(now));
        for msg in messages(pieces, &mut parser) {
            if tx.send(msg).is_err() {
                return;
            }
        }
        if let Some(why) = lost {
            let _ = tx.send(Input::Lost(why));
            return;
        }
    }
}

/// Pieces to messages: keys parsed, runs of events sent as one batch.
fn messages(pieces: Vec<Piece>, parser: &mut KeyParser) -> Vec<Input> {
    let mut out = Vec::new();
    let mut events = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Keys(bytes) => parser.parse(&bytes, &mut events),
            Piece::Paste(text) => events.push(Event::Paste(text)),
            Piece::Notice(why) => {
                if !events.is_empty() {
                    out.push(Input::Events(std::mem::take(&mut events)));
                }
                out.push(Input::Notice(why));
            }
        }
    }
    if !events.is_empty() {
        out.push(Input::Events(events));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// A pipe stands in for the tty: one write far over crossterm's 1 KiB
    /// read is read whole at once, and closing the write end is a lost
    /// terminal, reported once, after which the thread ends.
    #[test]
    fn one_large_write_is_read_whole_and_end_of_input_is_lost() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let reader = std::thread::spawn(move || read_loop(r.as_fd(), &tx, &flag));
        let mut burst = vec![b'a'; 5000];
        burst.push(b'r');
        assert_eq!(rustix::io::write(&w, &burst).unwrap(), 5001);
        let mut keys = 0;
        while keys < 5001 {
            match rx.blocking_recv() {
                Some(Input::Events(evs)) => keys += evs.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
        drop(w);
        assert!(matches!(rx.blocking_recv(), Some(Input::Lost(why)) if why == "end of input"));
        reader.join().unwrap();
        assert!(rx.blocking_recv().is_none());
    }
}
