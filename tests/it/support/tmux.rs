//! A private tmux server running the real binary, for the terminal tests:
//! send-keys, paste-buffer and kill-session, read back with capture-pane.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    pub session: String,
}

impl Tmux {
    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    pub fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", &self.session, keys]);
    }

    /// Waits until the screen satisfies `f`; returns the time it took.
    pub fn wait(&self, what: &str, within: Duration, f: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        self.wait_screen(what, within, f);
        start.elapsed()
    }

    /// Waits until the screen satisfies `f`; returns that screen.
    pub fn wait_screen(&self, what: &str, within: Duration, f: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            if start.elapsed() > within {
                panic!("timed out after {within:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pane_pid(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// The cutover process under the pane's shell.
    pub fn cockpit_pid(&self) -> i32 {
        let shell = self.pane_pid();
        let out = Command::new("pgrep")
            .args(["-P", &shell, "-x", "cutover"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no cutover under the shell {shell}"))
    }

    /// Starts `command` (a shell line) in a new session of this server.
    pub fn start(&self, command: &str, size: (u16, u16)) {
        let (w, h) = (size.0.to_string(), size.1.to_string());
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            &self.session,
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `command` at the prompt of an interactive shell, as a user
    /// does: Ctrl-C then reaches the command's process group only.
    pub fn start_in_shell(&self, command: &str, size: (u16, u16)) {
        self.start("bash --norc --noprofile -i", size);
        self.cmd(&["send-keys", "-t", &self.session, "-l", command]);
        self.keys("Enter");
    }
}

impl Drop for Tmux {
    /// Kills every pane's process group before the server (`kill-server`
    /// only sends SIGHUP).
    fn drop(&mut self) {
        let panes = self.cmd(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        let killed: Vec<i32> = String::from_utf8_lossy(&panes.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .flat_map(group_members)
            .collect();
        for pid in String::from_utf8_lossy(&panes.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // Plain signals to a process group this test started.
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
        let _ = self.cmd(&["kill-server"]);
        // A kill is delivered, not awaited: wait (a bounded moment) until
        // the killed processes are gone, so that what they held (a
        // journal's lock) is free when the test goes on.
        let deadline = Instant::now() + Duration::from_secs(5);
        while killed.iter().any(|&p| !gone(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A process's state and process group, from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the parenthesised name: state, ppid, pgrp, ...
    let mut rest = text.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let pgrp = rest.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// The processes of process group `pgrp` now.
fn group_members(pgrp: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|(_, g)| g == pgrp))
        .collect()
}

/// Exited: no such process, or a zombie (its files are closed).
fn gone(pid: i32) -> bool {
    stat(pid).is_none_or(|(state, _)| state == 'Z')
}

/// `cutover <args> --journal J --log L` in a fresh server named `socket`,
/// under a shell that shows the exit status and keeps the pane.
pub fn start_cutover(socket: String, args: &str, journal: &Path, log: &Path) -> Tmux {
    let t = Tmux {
        socket,
        session: "cockpit".into(),
    };
    t.start(
        &format!(
            "{} {args} --journal {} --log {}; echo EXIT=$?; sleep 60",
            env!("CARGO_BIN_EXE_cutover"),
            journal.display(),
            log.display()
        ),
        (120, 40),
    );
    t
}

/// `cutover <args>` in tmux (a server named after `name`) on
/// `dir/journal.jsonl`, its log beside it: the journal's path and the server.
pub fn cockpit_in(dir: &Path, name: &str, args: &str) -> (std::path::PathBuf, Tmux) {
    let journal = dir.join("journal.jsonl");
    let t = start_cutover(super::unique(name), args, &journal, &dir.join("log"));
    (journal, t)
}

/// The header's split as the router reports it (`green 1% · blue 99%`).
pub fn shows_split(screen: &str, green: u8) -> bool {
    let header: String = screen
        .lines()
        .take_while(|l| !l.starts_with('─'))
        .take(8)
        .collect::<Vec<_>>()
        .join("\n");
    header.contains(&format!("green {green}% · blue {}%", 100 - green))
}

/// Waits for the gate, advances to 1 % with `n`, and waits for the split.
pub fn advance_to_one_percent(t: &Tmux) {
    t.wait("the gate to open", Duration::from_secs(20), |s| {
        s.contains("gate OPEN")
    });
    t.keys("n");
    t.wait("split at 1%", Duration::from_secs(10), |s| {
        shows_split(s, 1)
    });
}

/// The journal's outcomes: action, split and origin.
pub fn journal_outcomes(
    journal: &Path,
) -> Vec<(
    Option<cutover::engine::journal::RecordAction>,
    Option<u8>,
    Option<cutover::engine::journal::RecordOrigin>,
)> {
    cutover::engine::journal::Journal::read_all(journal)
        .unwrap()
        .iter()
        .filter(|r| r.kind == cutover::engine::journal::RecordKind::Outcome)
        .map(|r| (r.action.clone(), r.to, r.origin.clone()))
        .collect()
}

/// A timed rollback in a real terminal: `cutover demo` under tmux at 1 %
/// green, `before` writes to the terminal, then `r`. Returns the time from
/// `r` until the header shows green at 0 % (at most 3 s), once the journal
/// holds the cockpit's rollback to 0 %.
pub fn timed_rollback(name: &str, before: impl Fn(&Tmux)) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = start_cutover(
        super::unique(&format!("cutover-rollback-{name}")),
        "demo --dwell 600s",
        &journal,
        &dir.path().join("log"),
    );
    advance_to_one_percent(&t);
    before(&t);
    t.keys("r");
    let took = t.wait("green back at 0%", Duration::from_secs(3), |s| {
        shows_split(s, 0)
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    let rolled_back = (
        Some(cutover::engine::journal::RecordAction::Rollback),
        Some(0),
        Some(cutover::engine::journal::RecordOrigin::Tui),
    );
    loop {
        let outcomes = journal_outcomes(&journal);
        if outcomes.contains(&rolled_back) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no rollback journaled: {outcomes:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("{name}: r → green 0% on screen in {took:?}");
    t.keys("q");
    took
}

/// The journal's lines as text (each a JSON object).
pub fn journal_text(journal: &Path) -> String {
    std::fs::read_to_string(journal).unwrap_or_default()
}

/// Waits until the journal holds a line with `needle`.
pub fn wait_journal(journal: &Path, needle: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if journal_text(journal).contains(needle) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "no journal line with {needle:?} within {within:?}:\n{}",
            journal_text(journal)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
