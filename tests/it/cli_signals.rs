//! Exit statuses and signals as documented: `run` and `demo --headless`
//! exit 143 on SIGTERM and 129 on SIGHUP; the cockpit without a terminal
//! says what to use instead; a stop and continue from outside is noted.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal};

use tmux::{cockpit_in, wait_journal};

/// Starts `cutover <args>`, waits for its second line of output (the
/// engine is running and its signal handlers are in place), sends `sig`
/// and returns the exit status.
fn status_after_signal(args: &[&str], dir: &Path, sig: i32) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg("--log")
        .arg(dir.join("log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    for _ in 0..2 {
        if rx.recv_timeout(Duration::from_secs(15)).is_err() {
            let _ = child.kill();
            panic!("`cutover {}` printed nothing", args.join(" "));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // A plain signal to the child this test started.
    let sig = Signal::from_named_raw(sig).expect("a signal");
    rustix::process::kill_process(Pid::from_child(&child), sig).unwrap();
    for _ in 0..500 {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("`cutover {}` did not exit within 5 s", args.join(" "));
}

fn demo_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    let text = format!(
        "[service]\nname = \"chat-model\"\n\n[source]\nkind = \"demo\"\ninterval = \"1s\"\n\
         timeout = \"500ms\"\n\n[router]\nkind = \"demo\"\n\n[plan]\ndwell = \"600s\"\n\n\
         [journal]\npath = \"{}\"\n",
        dir.join("journal.jsonl").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_and_headless_demo_exit_143_on_sigterm_and_129_on_sighup() {
    let _turn = serial::timed();
    for (sig, code) in [
        (Signal::TERM.as_raw(), 143),
        (Signal::HUP.as_raw(), 129),
        (Signal::INT.as_raw(), 130),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("demo.jsonl");
        let j = journal.to_str().unwrap();
        let demo = ["demo", "--headless", "--dwell", "600s", "--journal", j];
        assert_eq!(
            status_after_signal(&demo, dir.path(), sig),
            Some(code),
            "demo --headless, signal {sig}"
        );
        let config = demo_config(dir.path());
        let run = ["--config", config.to_str().unwrap(), "run"];
        assert_eq!(
            status_after_signal(&run, dir.path(), sig),
            Some(code),
            "run, signal {sig}"
        );
    }
}

#[test]
fn the_cockpit_without_a_terminal_says_what_to_use() {
    let _turn = serial::timed();
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path());
    let journal = dir.path().join("demo.jsonl");
    for args in [
        vec!["demo", "--journal", journal.to_str().unwrap()],
        vec!["--config", config.to_str().unwrap(), "tui"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(&args)
            .arg("--log")
            .arg(dir.path().join("log"))
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("the cockpit needs a terminal")
                && err.contains("`cutover run`")
                && err.contains("`cutover status`"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    // Nothing was started: no journal line was written.
    assert!(!journal.exists() || std::fs::read_to_string(&journal).unwrap().is_empty());
}

/// `kill -STOP`, three seconds, `kill -CONT`: the cockpit journals how long
/// the guardrails were away, as it does after Ctrl-Z.
#[test]
fn a_stop_and_continue_from_outside_is_noted() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "a_stop_and_continue_from_outside_is_noted") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (journal, t) = cockpit_in(dir.path(), "cutover-stopcont", "demo --dwell 600s");
    t.wait("the cockpit", Duration::from_secs(10), |s| {
        s.contains("GREEN")
    });
    let pid = t.cockpit_pid();
    // Plain signals to the process this test started.
    let pid = Pid::from_raw(pid).expect("a pid");
    rustix::process::kill_process(pid, Signal::STOP).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    rustix::process::kill_process(pid, Signal::CONT).unwrap();
    wait_journal(
        &journal,
        "resumed: the cockpit was stopped from outside for 3s",
        Duration::from_secs(3),
    );
    t.wait("the note on screen", Duration::from_secs(3), |s| {
        s.contains("stopped from outside for 3s")
    });
    t.keys("q");
}
