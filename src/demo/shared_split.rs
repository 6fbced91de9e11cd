//! The split the simulated fleet serves: the demo router writes it, the
//! fleet's pods read it on every simulated request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::model::Split;

/// The split shared between the demo router and the simulated fleet.
#[derive(Debug, Clone, Default)]
pub struct SharedSplit(Arc<AtomicU8>);

impl SharedSplit {
    pub fn new(split: Split) -> Self {
        SharedSplit(Arc::new(AtomicU8::new(split.green())))
    }

    /// The split in force now.
    pub fn get(&self) -> Split {
        // Only `set` writes, and it only stores valid splits.
        Split::new(self.0.load(Ordering::Acquire)).unwrap_or(Split::ZERO)
    }

    pub fn set(&self, split: Split) {
        self.0.store(split.green(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::split;

    #[test]
    fn shared_split_round_trips() {
        let s = SharedSplit::default();
        assert_eq!(s.get(), Split::ZERO);
        let t = s.clone();
        t.set(split(25));
        assert_eq!(s.get(), split(25));
    }
}
