//! The headless commands through the real binary: `status` exit codes and
//! speed, the demo router refused by `set`/`rollback`/`promote`, control
//! characters never reaching the terminal, and a config read only from a
//! small regular file.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    raw: Vec<u8>,
    elapsed: Duration,
}

/// Runs the binary with `args`, killing it after `limit` (a hung child
/// must fail the test, not hang it).
fn run(args: &[&str], dir: &Path, limit: Duration) -> Out {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg("--log")
        .arg(dir.join("log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    // Drain both pipes on threads so a full pipe never blocks the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`cutover {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let out = t_out.join().unwrap();
    let err = t_err.join().unwrap();
    let mut raw = out.clone();
    raw.extend_from_slice(&err);
    let r = Out {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        raw,
        elapsed,
    };
    eprintln!(
        "--- cutover {} → {} in {:?}\n{}{}",
        args.join(" "),
        r.code,
        r.elapsed,
        r.stdout,
        r.stderr
    );
    r
}

/// A config on the demo router, `source` written as given.
fn config(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join("cutover.toml");
    let text = format!(
        "[service]\nname = \"{name}\"\n[router]\nkind = \"demo\"\n{source}\n[journal]\npath = \"{}\"\n",
        dir.join("journal.jsonl").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

const DEMO_SOURCE: &str = "[source]\nkind = \"demo\"\ninterval = \"1s\"\ntimeout = \"500ms\"";

#[test]
fn set_rollback_and_promote_refuse_the_in_process_router() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "chat", DEMO_SOURCE);
    let cfg = cfg.to_str().unwrap();
    for args in [vec!["set", "25"], vec!["rollback"], vec!["promote"]] {
        let mut a = args.clone();
        a.extend(["--config", cfg]);
        let r = run(&a, dir.path(), Duration::from_secs(20));
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains("refused"), "{}", r.stderr);
        assert!(r.stderr.contains("cutover demo"), "{}", r.stderr);
        assert!(!r.stdout.contains("applied"), "{}", r.stdout);
        assert!(
            !dir.path().join("journal.jsonl").exists(),
            "a refused command must not write the journal"
        );
    }
}

#[test]
fn status_reads_everything_within_the_timeout_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "chat", DEMO_SOURCE);
    let r = run(
        &["status", "--config", cfg.to_str().unwrap()],
        dir.path(),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("split 0% green"), "{}", r.stdout);
    assert!(
        r.stderr.contains("lives inside one process"),
        "{}",
        r.stderr
    );
    // The source timeout (500ms) plus one second, plus start and stop.
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);

    let r = run(
        &["status", "--json", "--config", cfg.to_str().unwrap()],
        dir.path(),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["complete"], true);
}

#[test]
fn status_exits_4_when_a_colour_cannot_be_read_and_answers_in_time() {
    let dir = tempfile::tempdir().unwrap();
    // Blue: a port nobody listens on (refused at once). Green: a listener
    // that accepts and never answers (only the timeout ends it).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let source = format!(
        "[source]\nkind = \"scrape\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n[source.scrape]\nblue = [\"http://127.0.0.1:{closed_port}/metrics\"]\ngreen = [\"http://127.0.0.1:{silent_port}/metrics\"]"
    );
    let cfg = config(dir.path(), "chat", &source);
    let r = run(
        &["status", "--config", cfg.to_str().unwrap()],
        dir.path(),
        Duration::from_secs(20),
    );
    drop(silent);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("blue's data"), "{}", r.stderr);
    assert!(r.stderr.contains("green's data"), "{}", r.stderr);
    assert!(r.stdout.contains("no data"), "{}", r.stdout);
    // Not 5 to 12 s: one poll bounded by the 500ms timeout, plus a second.
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // OSC 0 (retitle the window, ended by BEL) and CSI 2J (clear the screen).
    let name = r"evil\u001b]0;owned\u0007 \u001b[2J end";
    let cfg = config(dir.path(), name, DEMO_SOURCE);
    let cfg = cfg.to_str().unwrap();
    for args in [
        vec!["status", "--config", cfg],
        vec!["status", "--json", "--config", cfg],
        vec!["check", "--config", cfg],
    ] {
        let r = run(&args, dir.path(), Duration::from_secs(20));
        assert!(r.code == 0, "{args:?}");
        assert!(!r.raw.contains(&0x1b), "ESC written by {args:?}");
        assert!(!r.raw.contains(&0x07), "BEL written by {args:?}");
        assert!(r.stdout.contains("evil"), "{}", r.stdout);
    }
    // A config error quotes the offending line, raw ESC and all.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, b"[service]\nname = \"x\x1b[2J\x07\"\n").unwrap();
    let r = run(
        &["check", "--config", bad.to_str().unwrap()],
        dir.path(),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    assert!(!r.raw.contains(&0x1b), "ESC written in the error");
    assert!(!r.raw.contains(&0x07), "BEL written in the error");
}

#[test]
fn the_config_is_read_only_from_a_small_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &["check", "--config", "/dev/zero"],
        dir.path(),
        Duration::from_secs(10),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(2), "{:?}", r.elapsed);
    let r = run(
        &["status", "--config", dir.path().to_str().unwrap()],
        dir.path(),
        Duration::from_secs(10),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("directory"), "{}", r.stderr);
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&["--help"], dir.path(), Duration::from_secs(10));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Exit codes:"), "{}", r.stdout);
    assert!(r.stdout.contains("4    status"), "{}", r.stdout);
    assert!(
        r.stdout.contains("2    usage error, or a command refused"),
        "{}",
        r.stdout
    );
}
