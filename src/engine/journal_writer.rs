//! The engine's journal on a thread of its own. Appending still waits
//! until the line is on disk (a record is durable before its effect is
//! reported, and records reach the file in the order they were appended:
//! one thread, one FIFO queue), but the write and the fsync run on the
//! `cutover-journal` thread, and the wait for them is announced to tokio
//! (`block_in_place`) on a multi-threaded runtime, so the async worker's
//! other tasks (the TUI's, the router's, the poller's) move to another
//! worker instead of stalling behind the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::runtime::{Handle, RuntimeFlavor};

use super::journal::{Journal, Record};

/// The name of the thread that writes and fsyncs.
pub const THREAD_NAME: &str = "cutover-journal";

/// One append, and where its result goes.
struct Job {
    record: Record,
    done: mpsc::SyncSender<io::Result<()>>,
}

pub struct JournalWriter {
    path: PathBuf,
    /// `None` once dropped: the thread then ends and closes the journal.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl JournalWriter {
    /// Moves `journal` (and its writer's lock) onto the journal thread.
    pub fn spawn(mut journal: Journal) -> io::Result<JournalWriter> {
        let path = journal.path().to_path_buf();
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                for job in rx {
                    #[cfg(test)]
                    tests::note_writer_thread();
                    // The engine may have stopped waiting (it panicked): the
                    // line is written all the same.
                    let _ = job.done.send(journal.append(&job.record));
                }
            })?;
        Ok(JournalWriter {
            path,
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and returns once it is on disk (or failed).
    pub fn append(&self, record: &Record) -> io::Result<()> {
        let (done, result) = mpsc::sync_channel(1);
        let job = Job {
            record: record.clone(),
            done,
        };
        let gone = || io::Error::other("the journal thread has stopped");
        self.jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        wait_off_worker(|| result.recv()).map_err(|_| gone())?
    }
}

impl Drop for JournalWriter {
    /// Closes the queue and waits for the thread, so the journal (and its
    /// lock) is released by the time the engine has stopped: the next
    /// process on this journal never finds it still held by us.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = wait_off_worker(|| t.join());
        }
    }
}

/// Runs `f`, which blocks, telling a multi-threaded runtime first so that
/// it hands this worker's other tasks to another thread. A single-threaded
/// runtime (tests) has nowhere to hand them: it simply waits.
fn wait_off_worker<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::journal::{RecordAction, RecordKind, RecordOrigin};

    /// The thread the last line was written and fsynced on.
    static WRITER_THREAD: Mutex<Option<String>> = Mutex::new(None);

    pub(super) fn note_writer_thread() {
        let name = std::thread::current().name().map(str::to_string);
        *WRITER_THREAD.lock().unwrap() = name;
    }

    #[test]
    fn lines_are_fsynced_on_the_journal_thread_in_order_before_append_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("async-worker")
            .build()
            .unwrap();
        let writer = JournalWriter::spawn(Journal::open(&path).unwrap()).unwrap();
        let check = path.clone();
        rt.block_on(async move {
            tokio::spawn(async move {
                for i in 0..3 {
                    let rec = Record::new(
                        RecordKind::Note,
                        "svc",
                        RecordOrigin::Cli,
                        RecordAction::Other(format!("n{i}")),
                    );
                    writer.append(&rec).unwrap();
                    // On disk when append returns: read back at once.
                    assert_eq!(Journal::read_all(&check).unwrap().len(), i + 1);
                }
            })
            .await
            .unwrap();
        });
        assert_eq!(
            WRITER_THREAD.lock().unwrap().as_deref(),
            Some(THREAD_NAME),
            "written on an async worker"
        );
        let actions: Vec<String> = Journal::read_all(&path)
            .unwrap()
            .into_iter()
            .filter_map(|r| r.action.map(|a| a.word().to_string()))
            .collect();
        assert_eq!(actions, ["n0", "n1", "n2"]);
        // Dropped with the task: the writer's lock is free again.
        Journal::open(&path).expect("the lock is released once the writer is dropped");
    }
}
