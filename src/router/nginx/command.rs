//! Running the test and reload commands: with a timeout, and with nginx's
//! own words kept for the error message.

use std::io::ErrorKind;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{self, Pid, Signal};

/// How long a test or reload command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A command that ran to its end.
#[derive(Debug)]
pub struct Ran {
    pub ok: bool,
    /// stderr then stdout, trimmed: what nginx said.
    pub said: String,
    pub stdout: String,
    pub took: Duration,
}

/// A command that did not run to its end.
#[derive(Debug)]
pub struct RunError {
    pub message: String,
    /// It started, so it may have done its work (a reload may have
    /// signalled nginx) before it was killed or lost.
    pub started: bool,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<RunError> for String {
    fn from(e: RunError) -> String {
        e.message
    }
}

/// Runs `cmd` (program and arguments) directly, without a shell. `Err`
/// when it could not run at all or did not finish in time.
pub fn run(cmd: &[String], timeout: Duration) -> Result<Ran, RunError> {
    let not_run = |message| RunError {
        message,
        started: false,
    };
    let shown = cmd.join(" ");
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| not_run("empty command".to_string()))?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_run(match e.kind() {
            ErrorKind::NotFound => format!(
                "`{shown}`: program `{program}` not found (is nginx installed? Debian puts it in /usr/sbin, which may not be on PATH)"
            ),
            ErrorKind::PermissionDenied => format!("`{shown}`: permission denied running `{program}`"),
            _ => format!("`{shown}` could not start: {e}"),
        }))?;
    let pid = child.id();
    // wait_with_output drains both pipes; the thread lets us time it out.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let said = match (stderr.is_empty(), stdout.trim().is_empty()) {
                (false, _) => stderr,
                (true, false) => stdout.trim().to_string(),
                (true, true) => format!("exited with {}", out.status),
            };
            Ok(Ran {
                ok: out.status.success(),
                said,
                stdout,
                took: started.elapsed(),
            })
        }
        Ok(Err(e)) => Err(RunError {
            message: format!("`{shown}` failed to run: {e}"),
            started: true,
        }),
        Err(_) => {
            // The child we started; its pid is not reaped yet (the waiting
            // thread still owns it), so it cannot be reused.
            if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                let _ = process::kill_process(pid, Signal::KILL);
            }
            Err(RunError {
                message: format!(
                    "`{shown}` did not finish within {}s and was killed",
                    timeout.as_secs()
                ),
                started: true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::strings;

    #[test]
    fn output_status_missing_program_and_timeout() {
        let r = run(
            &strings(&["sh", "-c", "echo oops >&2; exit 1"]),
            COMMAND_TIMEOUT,
        )
        .unwrap();
        assert!(!r.ok);
        assert_eq!(r.said, "oops");
        assert!(run(&strings(&["true"]), COMMAND_TIMEOUT).unwrap().ok);
        let e = run(&strings(&["no-such-nginx-here"]), COMMAND_TIMEOUT).unwrap_err();
        assert!(e.message.contains("not found") && !e.started, "{e}");
        let e = run(&strings(&["sleep", "5"]), Duration::from_millis(100)).unwrap_err();
        assert!(e.message.contains("did not finish") && e.started, "{e}");
    }
}
