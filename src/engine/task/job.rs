//! One kind of background work of the engine (router reads, the data
//! plane's checks, chores, smoke checks): gitui's single-job pattern. Work
//! runs on a task of its own and reports on the job's channel, tagged with
//! the generation it started in; a newer start or a cancel makes older
//! answers stale, and the job counts what is still pending.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::router::RouterError;

/// A router call, or `no answer in Ns` once `limit` has passed.
pub(super) async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, RouterError>>,
) -> Result<T, RouterError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(RouterError::Unavailable(format!(
            "no answer in {}s",
            limit.as_secs()
        )))
    })
}

/// An answer, with the generation its work started in.
#[derive(Debug)]
pub(super) struct Finished<T> {
    generation: u64,
    pub(super) value: T,
}

pub(super) struct Job<T> {
    tx: mpsc::UnboundedSender<Finished<T>>,
    /// Taken by the engine's loop, which waits on it.
    rx: Option<mpsc::UnboundedReceiver<Finished<T>>>,
    generation: u64,
    pending: usize,
    /// The latest work's task, aborted by `cancel`.
    latest: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Job<T> {
    pub(super) fn new() -> Job<T> {
        let (tx, rx) = mpsc::unbounded_channel();
        Job {
            tx,
            rx: Some(rx),
            generation: 0,
            pending: 0,
            latest: None,
        }
    }

    /// The answers' receiver, once (the loop owns it).
    pub(super) fn receiver(&mut self) -> mpsc::UnboundedReceiver<Finished<T>> {
        self.rx.take().expect("a job's answers are received once")
    }

    /// Starts `work` as the latest: answers of earlier work become stale.
    pub(super) fn start(&mut self, work: impl Future<Output = T> + Send + 'static) {
        self.generation += 1;
        self.add(work);
    }

    /// Starts `work` beside what is pending: every answer of this
    /// generation counts (chores, each journaled).
    pub(super) fn add(&mut self, work: impl Future<Output = T> + Send + 'static) {
        self.pending += 1;
        let generation = self.generation;
        let tx = self.tx.clone();
        self.latest = Some(tokio::spawn(async move {
            let value = work.await;
            // The engine gone means nobody is waiting.
            let _ = tx.send(Finished { generation, value });
        }));
    }

    /// Takes an answer off the pending count; its value unless stale.
    pub(super) fn finish(&mut self, done: Finished<T>) -> Option<T> {
        self.pending = self.pending.saturating_sub(1);
        if self.pending == 0 {
            self.latest = None;
        }
        (done.generation == self.generation).then_some(done.value)
    }

    /// Work started and not answered yet.
    pub(super) fn pending(&self) -> bool {
        self.pending > 0
    }

    /// Drops interest in everything pending, and aborts the latest work.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn cancel(&mut self) {
        self.generation += 1;
        self.pending = 0;
        if let Some(t) = self.latest.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_latest_start_counts_and_added_work_all_counts() {
        let mut job: Job<u32> = Job::new();
        let mut rx = job.receiver();
        job.start(async { 1 });
        job.start(async { 2 });
        assert!(job.pending());
        let mut got = Vec::new();
        for _ in 0..2 {
            let done = rx.recv().await.unwrap();
            got.extend(job.finish(done));
        }
        assert_eq!(got, [2]);
        assert!(!job.pending());
        job.add(async { 3 });
        job.add(async { 4 });
        let mut got = Vec::new();
        for _ in 0..2 {
            let done = rx.recv().await.unwrap();
            got.extend(job.finish(done));
        }
        got.sort();
        assert_eq!(got, [3, 4]);
    }

    #[tokio::test]
    async fn cancel_makes_pending_work_stale() {
        let mut job: Job<u32> = Job::new();
        let mut rx = job.receiver();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        job.start(async {
            let _ = wait.await;
            1
        });
        job.cancel();
        assert!(!job.pending());
        drop(go);
        job.start(async { 2 });
        let done = rx.recv().await.unwrap();
        assert_eq!(job.finish(done), Some(2));
    }
}
