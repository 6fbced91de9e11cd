//! Running the test and reload commands: with a timeout, and with nginx's
//! own words kept for the error message.

use std::io::ErrorKind;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

/// Runs `cmd` (program and arguments). `Err` when it could not run at all
/// or did not finish in time.
pub fn run(cmd: &[String], timeout: Duration) -> Result<Ran, String> {
    let shown = cmd.join(" ");
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => format!(
                "`{shown}`: program `{program}` not found (is nginx installed? Debian puts it in /usr/sbin, which may not be on PATH)"
            ),
            ErrorKind::PermissionDenied => format!("`{shown}`: permission denied running `{program}`"),
            _ => format!("`{shown}` could not start: {e}"),
        })?;
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
        Ok(Err(e)) => Err(format!("`{shown}` failed to run: {e}")),
        Err(_) => {
            // SAFETY: signals the child we started; its pid is not reaped yet
            // (the waiting thread still owns it), so it cannot be reused.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            Err(format!(
                "`{shown}` did not finish within {}s and was killed",
                timeout.as_secs()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn output_status_missing_program_and_timeout() {
        let r = run(&v(&["sh", "-c", "echo oops >&2; exit 1"]), COMMAND_TIMEOUT).unwrap();
        assert!(!r.ok);
        assert_eq!(r.said, "oops");
        assert!(run(&v(&["true"]), COMMAND_TIMEOUT).unwrap().ok);
        let e = run(&v(&["no-such-nginx-here"]), COMMAND_TIMEOUT).unwrap_err();
        assert!(e.contains("not found"), "{e}");
        let e = run(&v(&["sleep", "5"]), Duration::from_millis(100)).unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }
}
