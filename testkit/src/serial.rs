//! Every test is a thread of one process, on a machine with few cores. The
//! tests that run real processes (nginx, tmux, demo runs) take one of two
//! turns here: `heavy` ones may overlap each other, a `timed` one (it
//! asserts a wall-clock bound: a rollback within 3 s, an exit within 1 s)
//! runs with no other heavy or timed test beside it. Tests on in-memory
//! parts take no turn and run as they come.
//!
//! The turn is a plain count under a mutex, released by the returned
//! value's drop, so an async test may hold it across awaits.

use std::sync::{Condvar, Mutex, PoisonError};

struct Turns {
    heavy: usize,
    timed: bool,
    timed_waiting: usize,
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    heavy: 0,
    timed: false,
    timed_waiting: 0,
});
static CHANGED: Condvar = Condvar::new();

/// A turn, given back when dropped.
#[must_use = "the turn ends when this is dropped"]
pub struct Turn {
    timed: bool,
}

/// A turn beside other heavy tests; waits while a timed one runs or
/// waits (so timed tests are never starved).
pub fn heavy() -> Turn {
    let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    while t.timed || t.timed_waiting > 0 {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    t.heavy += 1;
    Turn { timed: false }
}

/// A turn alone among the heavy and timed tests.
pub fn timed() -> Turn {
    let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    t.timed_waiting += 1;
    while t.timed || t.heavy > 0 {
        t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
    }
    t.timed_waiting -= 1;
    t.timed = true;
    Turn { timed: true }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        if self.timed {
            t.timed = false;
        } else {
            t.heavy -= 1;
        }
        CHANGED.notify_all();
    }
}
