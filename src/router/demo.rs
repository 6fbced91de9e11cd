//! The in-process router of the embedded demo fleet.
//!
//! It behaves like a real router in the ways that matter to the engine: a
//! write takes time (like a reload), is serialised with other writes, only
//! takes effect at its very end (so a dropped write leaves the old split in
//! force), and can be made to fail.

use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{Applied, RouterError, RouterRead, TrafficRouter, Workload, WriteRequest};

/// The demo router writes the split the simulated fleet serves.
pub use crate::demo::SharedSplit;

/// A router that moves the demo fleet's traffic after a simulated delay.
pub struct DemoRouter {
    split: SharedSplit,
    apply_delay: Duration,
    /// Serialises writes, as a real reload would.
    writing: Mutex<()>,
    /// When set, the next write that reaches its end is refused with this.
    fail_next: StdMutex<Option<String>>,
}

impl DemoRouter {
    pub fn new(split: SharedSplit, apply_delay: Duration) -> Self {
        DemoRouter {
            split,
            apply_delay,
            writing: Mutex::new(()),
            fail_next: StdMutex::new(None),
        }
    }

    /// Makes the next write fail with [`RouterError::Rejected`] and leave the
    /// split unchanged (for tests and for showing a failed write).
    pub fn fail_next(&self, why: &str) {
        *self.fail_next.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.to_owned());
    }

    /// The split handle this router writes to.
    pub fn shared(&self) -> &SharedSplit {
        &self.split
    }
}

/// The simulated pods are always all ready and are never scaled.
impl Workload for DemoRouter {}

#[async_trait]
impl TrafficRouter for DemoRouter {
    fn kind(&self) -> &'static str {
        "demo"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        Ok(RouterRead::unversioned(self.split.get()))
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let split = req.split;
        let started = Instant::now();
        let _writing = self.writing.lock().await;
        // Everything before the store below may be dropped or cancelled: the
        // old split then stays in force.
        tokio::select! {
            _ = tokio::time::sleep(self.apply_delay) => {}
            _ = req.cancel.cancelled() => return Err(RouterError::Cancelled),
        }
        let refused = self
            .fail_next
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(why) = refused {
            return Err(RouterError::Rejected(why));
        }
        self.split.set(split);
        Ok(Applied {
            split: self.split.get(),
            revision: None,
            detail: format!(
                "demo router applied in {} ms",
                started.elapsed().as_millis()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Split;
    use crate::model::split;
    use std::sync::Arc;

    #[tokio::test]
    async fn set_waits_then_applies_and_reads_back() {
        let shared = SharedSplit::new(split(5));
        let r = DemoRouter::new(shared.clone(), Duration::from_millis(50));
        assert_eq!(r.kind(), "demo");
        assert_eq!(r.get_split().await.unwrap().split, split(5));
        let t0 = Instant::now();
        let applied = r.set_split(WriteRequest::to(split(25))).await.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(50));
        assert_eq!(applied.split, split(25));
        assert!(applied.detail.starts_with("demo router applied in "));
        assert!(applied.detail.ends_with(" ms"));
        assert_eq!(shared.get(), split(25));
        assert!(r.verify(split(25)).await.unwrap().ok);
        assert!(!r.verify(split(50)).await.unwrap().ok);
    }

    #[tokio::test]
    async fn dropped_write_leaves_old_split() {
        let shared = SharedSplit::new(split(50));
        let r = DemoRouter::new(shared.clone(), Duration::from_millis(200));
        let res = tokio::time::timeout(
            Duration::from_millis(30),
            r.set_split(WriteRequest::to(split(100))),
        )
        .await;
        assert!(res.is_err(), "write should still be in flight");
        assert_eq!(r.get_split().await.unwrap().split, split(50));
        // The lock was released with the dropped future: a rollback goes through.
        let applied = r.set_split(WriteRequest::to(Split::ZERO)).await.unwrap();
        assert_eq!(applied.split, Split::ZERO);
    }

    #[tokio::test]
    async fn fail_next_rejects_once_and_keeps_split() {
        let shared = SharedSplit::new(split(5));
        let r = DemoRouter::new(shared.clone(), Duration::from_millis(1));
        r.fail_next("simulated reload failure");
        match r.set_split(WriteRequest::to(split(25))).await {
            Err(RouterError::Rejected(why)) => assert_eq!(why, "simulated reload failure"),
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert_eq!(shared.get(), split(5));
        assert_eq!(
            r.set_split(WriteRequest::to(split(25)))
                .await
                .unwrap()
                .split,
            split(25)
        );
    }

    #[tokio::test]
    async fn writes_are_serialised() {
        let shared = SharedSplit::new(Split::ZERO);
        let r = Arc::new(DemoRouter::new(shared.clone(), Duration::from_millis(40)));
        let t0 = Instant::now();
        let (a, b) = tokio::join!(
            r.set_split(WriteRequest::to(split(1))),
            r.set_split(WriteRequest::to(split(5)))
        );
        a.unwrap();
        b.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(80));
        assert_eq!(shared.get(), split(5));
    }
}
