//! `cutover drill` through the real binary: on the embedded demo when no
//! config is given, and against a real nginx (a private prefix on
//! loopback), where it also refuses to run while green has traffic.

use crate::support::nginx;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cutover::engine::WriteOutcome;
use cutover::engine::journal::{Journal, RecordKind};
use cutover::engine::journal::{RecordAction, RecordOrigin};
use nginx::{Mode, TestNginx, run};

/// A drill of the demo takes a source window (5 s) per run to see the
/// traffic at zero; this leaves room for a loaded machine.
const DRILL_TIMEOUT: Duration = Duration::from_secs(180);

/// `cutover drill` with no config at all: private config, data and state
/// directories, so neither the user's config nor their journal is touched.
fn drill_without_config(home: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.env_remove("CUTOVER_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .arg("--log")
        .arg(home.join("cutover.log"))
        .arg("drill")
        .args(args);
    run(&mut c, DRILL_TIMEOUT)
}

/// The number after `label` in `text`, e.g. `median 153 ms`.
fn has_figure(text: &str, label: &str) -> bool {
    text.split(label)
        .nth(1)
        .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}

#[test]
fn a_drill_of_the_demo_prints_its_median_and_maximum() {
    let _turn = serial::heavy();
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = drill_without_config(home.path(), &["--times", "3"]);
    eprintln!("{out}\n{err}");
    assert_eq!(code, 0, "{out}\n{err}");
    for i in 1..=3 {
        assert!(out.contains(&format!("drill {i}/3: 1% green")), "{out}");
    }
    let summary = out
        .lines()
        .find(|l| l.starts_with("drill summary: 3 of 3 runs"))
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    assert!(has_figure(summary, "router confirmed: median"), "{summary}");
    assert!(has_figure(summary, "maximum"), "{summary}");
    // The demo's source shows request rates: the traffic at zero is timed.
    assert!(summary.contains("traffic at 0 %"), "{summary}");
    assert!(!summary.contains("not observed"), "{summary}");
    // Issue 15, point 7: the window bounds what the traffic can show, and
    // every time is written one way (`155 ms`, never `24843ms`).
    assert!(
        out.contains("it cannot resolve a time to traffic at 0 % shorter than that"),
        "{out}"
    );
    assert!(
        summary.contains("metrics window, which the observed split cannot resolve below"),
        "{summary}"
    );
    let glued = regex::Regex::new(r"\dms\b").unwrap();
    for line in out.lines().filter(|l| l.starts_with("drill")) {
        let times = line.replace("rollback_sla", "");
        assert!(!glued.is_match(&times), "a time without its space: {line}");
    }

    let journal = home.path().join("data/cutover/demo/drill.jsonl");
    let recs = Journal::read_all(&journal).unwrap();
    let rollbacks: Vec<_> = recs
        .iter()
        .filter(|r| {
            r.kind == RecordKind::Outcome
                && r.action == Some(RecordAction::Rollback)
                && r.outcome == Some(WriteOutcome::Ok)
        })
        .collect();
    assert_eq!(rollbacks.len(), 3, "{recs:#?}");
    assert!(
        rollbacks
            .iter()
            .all(|r| r.origin == Some(RecordOrigin::Drill) && r.decision_to_router_ms.is_some())
    );
    assert!(
        recs.iter()
            .any(|r| r.kind == RecordKind::Note && r.origin == Some(RecordOrigin::Drill)),
        "the summary is journaled"
    );
    // A drill is not a rollback of green: nothing is held afterwards.
    assert!(Journal::recover(&journal).unwrap().rolled_back.is_none());
}

/// `cutover --config cfg <args>`.
fn cutover(n: &TestNginx, cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("--config")
        .arg(cfg)
        .arg("--log")
        .arg(n.path("cutover.log"))
        .args(args);
    run(&mut c, DRILL_TIMEOUT)
}

#[test]
fn a_drill_against_nginx_refuses_a_cutover_in_progress_then_measures() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_drill_against_nginx_refuses_a_cutover_in_progress_then_measures",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, |blue, green| {
        format!(
            "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    server 127.0.0.1:{green} down;\n}}\n",
            blue[0], blue[1]
        )
    });
    let cfg = n.cutover_config("");
    // A cutover in progress: the drill will not end it.
    let (code, out, err) = cutover(&n, &cfg, &["set", "5", "--force"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = cutover(&n, &cfg, &["drill", "--times", "2"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("refused") && out.contains("--force"), "{out}");
    assert!(!out.contains("drill 1/"), "{out}");

    // Forced: it drills, and leaves all traffic on blue.
    let (code, out, err) = cutover(&n, &cfg, &["drill", "--times", "3", "--force"]);
    eprintln!("{out}\n{err}");
    assert_eq!(code, 0, "{out}\n{err}");
    let summary = out
        .lines()
        .find(|l| l.starts_with("drill summary: 3 of 3 runs"))
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    assert!(has_figure(summary, "router confirmed: median"), "{summary}");
    assert!(has_figure(summary, "maximum"), "{summary}");
    assert!(out.contains("verify: "), "nginx's probe confirms: {out}");
    // Counted once the last rollback's reload has finished.
    n.quiesce();
    let (blue, green, failed) = n.count(200);
    assert_eq!((blue, green, failed), (200, 0, 0));
    let recs = Journal::read_all(&n.path("journal.jsonl")).unwrap();
    let drilled = recs
        .iter()
        .filter(|r| r.origin == Some(RecordOrigin::Drill) && r.kind == RecordKind::Outcome)
        .count();
    // The first run lowers 5 % to 1 %: three raises and three rollbacks.
    assert_eq!(drilled, 6, "{recs:#?}");

    // `status --json` reports the last rollback, read from the journal.
    let (_, out, err) = cutover(&n, &cfg, &["status", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let last = &v["last_rollback"];
    assert_eq!(last["drill"], true, "{v:#}");
    assert_eq!(last["origin"], "drill", "{v:#}");
    assert!(last["decision_to_router_ms"].as_u64().is_some(), "{v:#}");
    assert!(last["decision_to_zero_ms"].is_null(), "{v:#}");
}

/// Issue 16, point 9: a drill sent real traffic to a green the journal
/// says was rolled back. Now it refuses unless forced, touching nothing.
#[test]
fn a_drill_refuses_a_green_that_was_rolled_back_unless_forced() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_drill_refuses_a_green_that_was_rolled_back_unless_forced",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, |blue, green| {
        format!(
            "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    server 127.0.0.1:{green} down;\n}}\n",
            blue[0], blue[1]
        )
    });
    let cfg = n.cutover_config("");
    let (code, out, err) = cutover(&n, &cfg, &["set", "5", "--force"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = cutover(&n, &cfg, &["rollback", "--reason", "error rate"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let include = std::fs::read(&n.include).ok();

    let (code, out, err) = cutover(&n, &cfg, &["drill", "--times", "1", "--split", "50"]);
    eprintln!("{out}\n{err}");
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("refused") && out.contains("rolled back") && out.contains("error rate"),
        "{out}"
    );
    assert!(out.contains("--force"), "{out}");
    assert!(!out.contains("drill 1/"), "{out}");
    assert_eq!(std::fs::read(&n.include).ok(), include);
    let recs = Journal::read_all(&n.path("journal.jsonl")).unwrap();
    assert!(
        !recs
            .iter()
            .any(|r| r.origin == Some(RecordOrigin::Drill) && r.kind == RecordKind::Intent),
        "no drill raised green: {recs:#?}"
    );

    let (code, out, err) = cutover(&n, &cfg, &["drill", "--times", "1", "--force"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("drilling anyway (--force)"), "{out}");
    n.quiesce();
    assert_eq!(n.count(200), (200, 0, 0));
}

/// Sends `signal` to a drill while green has the drill's traffic, then
/// checks it rolled back before exiting with `code`.
fn drill_stopped_by(signal: &str, code: i32) {
    use std::process::Stdio;
    let n = TestNginx::start(Mode::Weighted, |blue, green| {
        format!(
            "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    server 127.0.0.1:{green} down;\n}}\n",
            blue[0], blue[1]
        )
    });
    let cfg = n.cutover_config("");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--config")
        .arg(&cfg)
        .arg("--log")
        .arg(n.path("cutover.log"))
        .args(["drill", "--times", "20", "--split", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Green serves the drill's half of the traffic: stop it now.
    let started = std::time::Instant::now();
    loop {
        if n.count(10).1 > 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("the drill never sent traffic to green");
        }
    }
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    assert!(stdout.contains("rolled back"), "{stdout}");
    n.quiesce();
    assert_eq!(n.count(200), (200, 0, 0), "green keeps no traffic");
}

/// Issue 16, point 9: SIGTERM and SIGHUP left green at the drill's split
/// (only SIGINT rolled back).
#[test]
fn a_drill_stopped_by_sigterm_rolls_back_and_exits_143() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_drill_stopped_by_sigterm_rolls_back_and_exits_143",
    ) {
        return;
    }
    drill_stopped_by("TERM", 143);
}

#[test]
fn a_drill_stopped_by_sighup_rolls_back_and_exits_129() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_drill_stopped_by_sighup_rolls_back_and_exits_129",
    ) {
        return;
    }
    drill_stopped_by("HUP", 129);
}
