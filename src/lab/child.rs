//! A child process of the stack, in its own process group so that stopping
//! it also stops whatever it started (nginx's workers). Dropping the guard
//! stops the group: SIGTERM, then SIGKILL if it has not exited in time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::process::{self, Pid, Signal};

/// How long a child gets to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

pub struct ChildGuard {
    name: &'static str,
    child: Option<Child>,
}

impl ChildGuard {
    /// Starts `program args` with its output appended to `log`.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> anyhow::Result<ChildGuard> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        Ok(ChildGuard {
            name,
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// An error if the child has already exited (with its status).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(c) = &mut self.child
            && let Some(status) = c.try_wait()?
        {
            anyhow::bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }

    /// Stops the process group and reaps the child.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The group is the child's own (process_group(0) made the child its
        // leader), so its id is the child's pid.
        let pgid = Pid::from_child(&child);
        let _ = process::kill_process_group(pgid, Signal::TERM);
        let deadline = Instant::now() + GRACE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    tracing::warn!("{} did not stop within {GRACE:?}: killing it", self.name);
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        // Workers of a stopped master (the group outlives its leader).
        let _ = process::kill_process_group(pgid, Signal::KILL);
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}
