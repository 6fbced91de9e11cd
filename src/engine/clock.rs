//! The engine's one place for the time of day. Durations and deadlines use
//! `tokio::time::Instant` (so tests can pause time); the wall clock, which
//! stamps events and journal lines, is injectable here.

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A source of wall-clock time; the system clock unless a test sets one.
#[derive(Clone)]
pub struct WallClock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl WallClock {
    pub fn new(f: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        WallClock(Arc::new(f))
    }

    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new(SystemTime::now)
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WallClock")
    }
}

/// Now, on tokio's clock (paused in tests), as the `std` instant that
/// [`crate::engine::State`] and [`crate::model::Snapshot`] carry.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
