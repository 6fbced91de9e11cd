//! Every test is a thread of one process, on a machine with few cores. The
//! tests that run real processes (nginx, tmux, demo runs) take one of two
//! turns here: up to `HEAVY_AT_ONCE` `heavy` ones run side by side, and
//! `timed` ones (they assert a wall-clock bound: a rollback within 3 s, an
//! exit within 1 s) run one at a time. Tests on in-memory parts take no
//! turn and run as they come.
//!
//! A timed test may run beside heavy ones: those spend their time waiting
//! on their processes (a headless demo run of 20 s uses about 0.1 s of
//! CPU), so they do not delay a rollback by the margins the timed tests
//! allow, while making them wait for every heavy test serialised the suite
//! (a third of its time). The bound on heavy tests keeps the processes in
//! flight few on two cores.
//!
//! A test that measures a process's CPU time takes the `alone` turn: a
//! timed turn during which no heavy test runs.
//!
//! The turn is a plain count under a mutex, released by the returned
//! value's drop, so an async test may hold it across awaits.

use std::sync::{Condvar, Mutex, PoisonError};

/// Heavy tests that may run at once.
pub const HEAVY_AT_ONCE: usize = 4;

struct Turns {
    heavy: usize,
    timed: bool,
    /// A test that measures CPU time holds the machine: no heavy test
    /// starts beside it.
    alone: bool,
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    heavy: 0,
    timed: false,
    alone: false,
});
static CHANGED: Condvar = Condvar::new();

/// A turn, given back when dropped.
#[must_use = "the turn ends when this is dropped"]
pub struct Turn {
    timed: bool,
    alone: bool,
}

/// A turn beside other heavy tests (at most [`HEAVY_AT_ONCE`]) and the
/// timed one.
pub fn heavy() -> Turn {
    let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    while t.heavy >= HEAVY_AT_ONCE || t.alone {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    t.heavy += 1;
    Turn {
        timed: false,
        alone: false,
    }
}

/// A turn alone among the timed tests.
pub fn timed() -> Turn {
    let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    while t.timed {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    t.timed = true;
    Turn {
        timed: true,
        alone: false,
    }
}

/// A timed turn with no heavy test running beside it, for a test that
/// measures a process's CPU time: other processes on two cores inflate
/// it (cache, frequency) by as much as the margin it asserts. Heavy tests
/// wait while it runs; tests on in-memory parts still run.
pub fn alone() -> Turn {
    let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    while t.timed || t.alone {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    // Claimed first, so no heavy test starts while the running ones end.
    t.timed = true;
    t.alone = true;
    while t.heavy > 0 {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    Turn {
        timed: true,
        alone: true,
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        if self.alone {
            t.alone = false;
        }
        if self.timed {
            t.timed = false;
        } else {
            t.heavy -= 1;
        }
        CHANGED.notify_all();
    }
}
