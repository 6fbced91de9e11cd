//! Running a command gate: the argv as a child in a process group of its
//! own (so killing the group ends everything it started), its output kept
//! as a bounded tail, a timeout, and a kill that works from outside (a
//! rollback, quit) without waiting for anything.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{self, Pid, Signal};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::tail::Tail;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub passed: bool,
    pub reason: String,
    pub elapsed: Duration,
    pub output: Vec<String>,
}

/// A command in flight. Dropping it kills the whole process group.
#[derive(Debug)]
pub struct Running {
    pgid: i32,
    task: JoinHandle<()>,
    tail: Arc<Mutex<Tail>>,
}

impl Running {
    /// Its last lines so far (for a run that is killed).
    pub fn output(&self) -> Vec<String> {
        self.tail.lock().map(|t| t.lines()).unwrap_or_default()
    }

    /// Kills the process group now (SIGKILL: an eval suite gets no grace
    /// when traffic is being pulled back) and stops the task; its result
    /// is never reported.
    pub fn kill(&self) {
        if !self.task.is_finished() {
            kill_group(self.pgid);
        }
        self.task.abort();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills a process group; a group that is already gone is no error.
fn kill_group(pgid: i32) {
    // A stale id fails with ESRCH, which is the goal anyway.
    if let Some(pgid) = Pid::from_raw(pgid.max(0)) {
        let _ = process::kill_process_group(pgid, Signal::KILL);
    }
}

/// Kills the group when the run's task ends for any reason (finished,
/// timed out, aborted, runtime shut down): nothing the command started
/// outlives it.
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// Starts `argv` and a task that waits for it (up to `timeout`) and hands
/// the result to `done`. Fails when the program cannot be started.
pub fn spawn(
    argv: &[String],
    timeout: Duration,
    done: impl FnOnce(Finished) + Send + 'static,
) -> Result<Running, String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "no program to run".to_string())?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    // process_group(0): the child leads a new group whose id is its pid.
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let started = Instant::now();
    let tail = Arc::new(Mutex::new(Tail::default()));
    let kept = tail.clone();
    let task = tokio::spawn(async move {
        let guard = GroupGuard(pgid);
        let finished = wait(&mut child, timeout, started, &kept).await;
        drop(guard);
        done(finished);
    });
    Ok(Running { pgid, task, tail })
}

async fn wait(
    child: &mut Child,
    timeout: Duration,
    started: Instant,
    tail: &Mutex<Tail>,
) -> Finished {
    let mut pipes = Pipes {
        out: child.stdout.take(),
        err: child.stderr.take(),
        buf_out: [0u8; 4096],
        buf_err: [0u8; 4096],
    };
    let push = |b: &[u8]| {
        if let Ok(mut t) = tail.lock() {
            t.push(b);
        }
    };
    let lines = || tail.lock().map(|t| t.lines()).unwrap_or_default();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let status = loop {
        tokio::select! {
            () = pipes.step(&push) => {}
            s = child.wait() => break Some(s),
            _ = &mut deadline => break None,
        }
    };
    let Some(status) = status else {
        kill_group(child.id().map(|p| p as i32).unwrap_or(0));
        let _ = child.wait().await;
        return Finished {
            passed: false,
            reason: format!("timed out after {}", crate::format::span(timeout)),
            elapsed: started.elapsed(),
            output: lines(),
        };
    };
    // What it printed just before it exited; something it started may hold
    // the pipes open, so only briefly.
    let drain = async {
        while pipes.is_open() {
            pipes.step(&push).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
    let elapsed = started.elapsed();
    let (passed, reason) = match status {
        Ok(s) if s.success() => (true, "exit 0".to_string()),
        Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(code), _) => (false, format!("exit {code}")),
            (None, Some(sig)) => (false, format!("killed by signal {sig}")),
            (None, None) => (false, format!("ended: {s}")),
        },
        Err(e) => (false, format!("cannot wait for it: {e}")),
    };
    Finished {
        passed,
        reason,
        elapsed,
        output: lines(),
    }
}

/// The command's stdout and stderr, read as they come.
struct Pipes {
    out: Option<ChildStdout>,
    err: Option<ChildStderr>,
    buf_out: [u8; 4096],
    buf_err: [u8; 4096],
}

impl Pipes {
    fn is_open(&self) -> bool {
        self.out.is_some() || self.err.is_some()
    }

    /// One read from whichever pipe has something, handed to `push`; a
    /// pipe at its end is closed. Never wakes once both are closed.
    async fn step(&mut self, push: &impl Fn(&[u8])) {
        tokio::select! {
            n = read(&mut self.out, &mut self.buf_out) => match n {
                Some(n) => push(&self.buf_out[..n]),
                None => self.out = None,
            },
            n = read(&mut self.err, &mut self.buf_err) => match n {
                Some(n) => push(&self.buf_err[..n]),
                None => self.err = None,
            },
        }
    }
}

/// One read from a pipe; `None` at its end (or when there is none, which
/// then never wakes the select).
async fn read<R: AsyncReadExt + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> Option<usize> {
    match pipe {
        Some(p) => match p.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}
