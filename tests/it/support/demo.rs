//! A headless demo run: the real binary, `cutover demo --headless` on the
//! simulated fleet, with its journal and log in the test's directory, and
//! a hard timeout so that a hung run fails the test instead of the suite.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `cutover demo --headless --scenario S --journal J --log L`; the test
/// adds what else it needs (`--dwell`, ...).
pub fn headless(scenario: &str, journal: &Path, log: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.args(["demo", "--headless", "--scenario", scenario, "--journal"])
        .arg(journal)
        .arg("--log")
        .arg(log);
    c
}

/// Runs `cmd` to its end, as `Command::output` does (no input, output
/// captured); fails the test (after killing it) when it has not exited
/// `within`.
pub fn run_within(mut cmd: Command, within: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no exit within {within:?}:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}
