//! The real binary: a demo that rolls back, then the autopilot started again
//! on the same journal. It must not send traffic back to the green that
//! failed (issue 7, point 3): it exits 4 and says why.

use crate::support::{demo, serial};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::{Journal, RecordKind};

/// `cutover demo --headless --scenario degrading ...` with a hard timeout.
fn demo(journal: &Path, log: &Path, extra: &[&str], within: Duration) -> Output {
    let mut cmd = demo::headless("degrading", journal, log);
    cmd.args(extra);
    demo::run_within(cmd, within)
}

#[test]
fn a_second_run_on_a_rolled_back_journal_holds_with_exit_4() {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let log = dir.path().join("log");
    let first = demo(&journal, &log, &["--dwell", "2s"], Duration::from_secs(90));
    let text = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(3), "{text}");
    let before = Journal::read_all(&journal).unwrap().len();

    let second = demo(&journal, &log, &["--dwell", "1s"], Duration::from_secs(30));
    let text = String::from_utf8_lossy(&second.stdout);
    eprintln!("{text}");
    assert_eq!(second.status.code(), Some(4), "{text}");
    assert!(text.contains("outcome: held"), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    let after = Journal::read_all(&journal).unwrap();
    assert!(
        after[before..].iter().all(|r| r.kind != RecordKind::Intent),
        "the second run moved traffic: {:#?}",
        &after[before..]
    );
}

/// `cutover demo --headless ARGS` with no `--journal`, in a private home:
/// the default demo journal, and nothing of the user's touched.
fn demo_without_journal(home: &Path, args: &[&str], within: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .env_remove("CUTOVER_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .args(["demo", "--headless"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Issue 15, point 4: the README's demo commands in any order, any number
/// of times, each behave as documented: without `--journal` a run does not
/// inherit the last run's rollback.
#[test]
fn without_a_journal_each_demo_run_starts_fresh() {
    let _turn = serial::heavy();
    let home = tempfile::tempdir().unwrap();
    let degrading = ["--scenario", "degrading", "--dwell", "2s"];
    for run in 1..=2 {
        let (code, text) = demo_without_journal(home.path(), &degrading, Duration::from_secs(90));
        eprintln!("degrading, run {run}:\n{text}");
        assert_eq!(code, Some(3), "degrading, run {run}:\n{text}");
    }
    let (code, text) =
        demo_without_journal(home.path(), &["--dwell", "2s"], Duration::from_secs(120));
    eprintln!("healthy:\n{text}");
    assert_eq!(code, Some(0), "healthy after two degrading runs:\n{text}");
    assert!(text.contains("outcome: promoted"), "{text}");
    // The demo's journals live apart from real services' journals.
    let demo_dir = home.path().join("data/cutover/demo");
    assert!(demo_dir.join("demo.jsonl").is_file());
    assert!(demo_dir.join("demo.previous.jsonl").is_file());
}

/// Issue 15, point 7: a config on the demo router (the example config is
/// one, named `chat-model`) journals under `demo/`, so a real service named
/// `chat-model` never inherits the demo's drills or remembered rollback.
#[test]
fn a_demo_routers_journal_is_kept_apart_from_a_real_services() {
    let _turn = serial::heavy();
    use cutover::config::load_str;
    // The user's own data directory, read, never set: every test is a
    // thread of one process, and the environment is the process's.
    let data = cutover::config::data_dir();
    let demo = load_str(
        "[service]\nname = \"chat-model\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n",
        "t",
    )
    .unwrap();
    let demo_journal = demo.journal_path();
    assert_eq!(demo_journal, data.join("demo/chat-model.jsonl"));
    let mut real_service = demo.clone();
    real_service.router = cutover::config::RouterConfig::Nginx(
        toml::from_str("include = \"/tmp/x.conf\"\nupstream = \"u\"\nblue = [\"127.0.0.1:1\"]\ngreen = [\"127.0.0.1:2\"]\n").unwrap(),
    );
    assert_eq!(real_service.journal_path(), data.join("chat-model.jsonl"));
}

/// Issue 15, point 7: `cutover report` right after a demo, with no config,
/// says which journal to pass: the demo's, by its path.
#[test]
fn report_without_a_config_names_the_demos_journal() {
    let _turn = serial::heavy();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .env_remove("CUTOVER_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .arg("report")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no config at"), "{err}");
    let demo = home.path().join("data/cutover/demo/demo.jsonl");
    assert!(
        err.contains(&format!("cutover report --journal {}", demo.display())),
        "{err}"
    );
}
