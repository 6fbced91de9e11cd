//! `cutover demo --stack` end to end: real nginx, real Prometheus, the
//! serving fleet and the load generator, driven through the binary.
//! Without nginx or prometheus these skip visibly; under
//! CUTOVER_REQUIRE_SERVERS=1 they fail instead.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// One stack at a time: the machine is shared, and the timings judged
/// here should not depend on how many stacks run at once.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A whole headless cutover must end within this.
const RUN_TIMEOUT: Duration = Duration::from_secs(150);
/// The stated bound: the proxy sends no request to green later than this
/// after the auto-rollback record.
const SWITCH_BOUND_MS: f64 = 2000.0;

/// The cockpit as a child, killed if the test ends first.
struct Cockpit {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Cockpit {
    fn start(args: &[&str], log: &Path) -> Cockpit {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["--log", log.to_str().unwrap(), "demo", "--stack"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cutover");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Cockpit {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `want`, or fails after `within`.
    fn wait_line(&mut self, within: Duration, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if want(&l) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no such line within {within:?}:\n{}", self.seen.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("output ended:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Waits for the exit status, reading all output.
    fn finish(&mut self, within: Duration) -> (i32, String) {
        let deadline = Instant::now() + within;
        loop {
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends at EOF; take what is left.
                while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.seen.push(l);
                }
                return (status.code().unwrap_or(-1), self.seen.join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "cutover did not exit within {within:?}:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cockpit {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM first, so the stack tears its children down.
            let pid = rustix::process::Pid::from_child(&self.child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn line_with<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

/// The number before ` ms` after `label` in `line`.
fn ms_after(line: &str, label: &str) -> f64 {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {line}"))
        + label.len()..];
    let num = rest.trim_start().split(" ms").next().unwrap();
    num.parse()
        .unwrap_or_else(|_| panic!("{label} has no time in {line}"))
}

fn prefix_of(out: &str) -> PathBuf {
    PathBuf::from(line_with(out, "stack: prefix ").trim_start_matches("stack: prefix "))
}

#[test]
fn degrading_rolls_back_and_the_data_plane_follows() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "degrading_rolls_back_and_the_data_plane_follows",
    ) || skip_without(
        Server::Prometheus,
        "degrading_rolls_back_and_the_data_plane_follows",
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cockpit::start(
        &["--headless", "--scenario", "degrading", "--dwell", "3s"],
        &dir.path().join("log"),
    );
    let (code, out) = c.finish(RUN_TIMEOUT);
    assert_eq!(code, 3, "rolled back exits 3:\n{out}");
    assert!(out.contains("outcome: rolled back: auto-rollback"), "{out}");
    assert_eq!(
        line_with(&out, "router: include sends "),
        "router: include sends 0% to green"
    );
    let plane = line_with(&out, "data plane total: ");
    assert!(
        plane.contains("failed 0 ("),
        "no request failed because of a switch: {plane}"
    );
    let marks = line_with(&out, "marks: failing->decision ");
    let switch = ms_after(marks, "decision->last green");
    assert!(
        (-1000.0..=SWITCH_BOUND_MS).contains(&switch),
        "green's share fell to 0 within {SWITCH_BOUND_MS} ms of the auto-rollback record: {marks}"
    );
    assert!(ms_after(marks, "failing->decision") > 0.0, "{marks}");
    assert!(!prefix_of(&out).exists(), "the prefix is removed");
}

#[test]
fn healthy_promotes_with_all_traffic_on_green() {
    let _turn = serial::heavy();
    if skip_without(Server::Nginx, "healthy_promotes_with_all_traffic_on_green")
        || skip_without(
            Server::Prometheus,
            "healthy_promotes_with_all_traffic_on_green",
        )
    {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cockpit::start(
        &["--headless", "--scenario", "healthy", "--dwell", "3s"],
        &dir.path().join("log"),
    );
    let (code, out) = c.finish(RUN_TIMEOUT);
    assert_eq!(code, 0, "promoted exits 0:\n{out}");
    assert!(out.contains("outcome: promoted"), "{out}");
    assert_eq!(
        line_with(&out, "data plane now: "),
        "data plane now: green share over the last 3s: 100.0%"
    );
    assert_eq!(
        line_with(&out, "router: include sends "),
        "router: include sends 100% to green"
    );
    assert!(
        line_with(&out, "data plane total: ").contains("failed 0 ("),
        "{out}"
    );
    assert!(!prefix_of(&out).exists(), "the prefix is removed");
}

/// The silent LLM regression through real Prometheus: the stack's pods
/// serve vLLM's page, the preset's formulas are sent as PromQL, and
/// green's time to first token rolls it back while it fails nothing. Its
/// error rate is read (0 %) although it never wrote a 5xx series.
#[test]
fn vllm_slow_first_token_rolls_back_on_time_to_first_token() {
    use cutover::engine::journal::{Journal, RecordAction, RecordKind};
    let name = "vllm_slow_first_token_rolls_back_on_time_to_first_token";
    let _turn = serial::heavy();
    if skip_without(Server::Nginx, name) || skip_without(Server::Prometheus, name) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut c = Cockpit::start(
        &[
            "--headless",
            "--preset",
            "vllm",
            "--scenario",
            "slow-first-token",
            "--dwell",
            "3s",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir.path().join("log"),
    );
    let (code, out) = c.finish(RUN_TIMEOUT);
    assert_eq!(code, 3, "rolled back exits 3:\n{out}");
    let records = Journal::read_all(&journal).unwrap();
    let rollback = records
        .iter()
        .find(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .unwrap_or_else(|| panic!("a rollback:\n{out}"));
    let green = |id: &str| {
        rollback
            .readings
            .iter()
            .find(|r| r.color == cutover::model::Color::Green && r.metric == id)
            .unwrap_or_else(|| panic!("no green {id}: {:?}", rollback.readings))
    };
    assert_eq!(
        green("ttft_p95_ms").verdict,
        cutover::model::Verdict::Breach,
        "{out}"
    );
    let errors = green("error_rate").value;
    assert!(
        errors.is_some_and(|v| v < 1.0),
        "green error rate {errors:?}:\n{out}"
    );
    assert_eq!(
        line_with(&out, "router: include sends "),
        "router: include sends 0% to green"
    );
    assert!(!prefix_of(&out).exists(), "the prefix is removed");
}

/// Pids of processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces): state ppid pgrp.
        let after = &stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..];
        if after
            .split_whitespace()
            .nth(2)
            .and_then(|g| g.parse::<u32>().ok())
            == Some(pgid)
        {
            found.push(pid);
        }
    }
    found
}

#[test]
fn sigterm_mid_run_leaves_nothing_behind() {
    let _turn = serial::heavy();
    if skip_without(Server::Nginx, "sigterm_mid_run_leaves_nothing_behind")
        || skip_without(Server::Prometheus, "sigterm_mid_run_leaves_nothing_behind")
    {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cockpit::start(
        &["--headless", "--scenario", "healthy", "--dwell", "3s"],
        &dir.path().join("log"),
    );
    let prefix = c.wait_line(Duration::from_secs(40), |l| l.starts_with("stack: prefix "));
    let prefix = PathBuf::from(prefix.trim_start_matches("stack: prefix "));
    let pids = c.wait_line(Duration::from_secs(10), |l| {
        l.starts_with("stack: nginx (pid ")
    });
    let pid_after = |label: &str| -> u32 {
        let rest = &pids[pids.find(label).unwrap() + label.len()..];
        rest.split(')').next().unwrap().parse().unwrap()
    };
    let (nginx, prometheus) = (pid_after("nginx (pid "), pid_after("prometheus (pid "));
    // Mid-run: traffic has moved at least once.
    c.wait_line(Duration::from_secs(40), |l| l.contains("applied in"));
    assert!(prefix.exists());
    assert!(
        !group_members(nginx).is_empty(),
        "nginx runs before the signal"
    );
    let pid = rustix::process::Pid::from_child(&c.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let (code, out) = c.finish(Duration::from_secs(30));
    assert_eq!(code, 143, "exit status of SIGTERM:\n{out}");
    assert!(out.contains("stack: terminated"), "{out}");
    for (name, pid) in [("nginx", nginx), ("prometheus", prometheus)] {
        assert!(
            group_members(pid).is_empty(),
            "{name} (group {pid}) left running"
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{name} {pid} left running"
        );
    }
    assert!(!prefix.exists(), "{} left behind", prefix.display());
}
