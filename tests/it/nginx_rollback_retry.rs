//! A rollback against a real nginx in the faulty states of issue 16: nginx
//! stopped, an unrelated included file broken, a rollback made from a
//! second shell while the autopilot runs. Each prints the time from fixing
//! the fault to green at 0 % (run with `--nocapture` to see the figures).

use crate::support;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux::Tmux;
use crate::support::unique;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::nginx::{Mode, TestNginx};

fn weighted(blue: &[u16], green: u16) -> String {
    format!(
        "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{} max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:{green} down;\n}}\n",
        blue[0], blue[1]
    )
}

fn cutover_cmd(n: &TestNginx, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("--config")
        .arg(config)
        .arg("--log")
        .arg(n.path("cutover.log"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `cutover <args>` to the end (bounded): (code, stdout, stderr).
fn cutover(n: &TestNginx, config: &Path, args: &[&str]) -> (i32, String, String) {
    support::nginx::run(
        &mut cutover_cmd(n, config, args),
        support::nginx::CHILD_TIMEOUT,
    )
}

/// Waits for `child` up to `within`; kills it after that.
fn finish(mut child: Child, within: Duration) -> (i32, String, String) {
    let t0 = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if t0.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, out, err)
}

/// Adds `text` to the cutover config (a table of its own).
fn append(config: &Path, text: &str) {
    let mut s = std::fs::read_to_string(config).unwrap();
    s.push_str(text);
    std::fs::write(config, s).unwrap();
}

/// A test nginx at `pct` % green, and its cutover config.
fn at(pct: u8) -> (TestNginx, std::path::PathBuf) {
    let n = TestNginx::start(Mode::Weighted, weighted);
    let cfg = n.cutover_config("");
    let before = n.workers();
    let (code, out, err) = cutover(&n, &cfg, &["set", &pct.to_string(), "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    n.settle(&before);
    (n, cfg)
}

fn stop_nginx(n: &TestNginx) {
    let master = n.master_pid().expect("nginx running");
    let v = n.argv(&["-s", "stop"]);
    let (code, out, err) = support::nginx::run(
        Command::new(&v[0]).args(&v[1..]),
        support::nginx::CHILD_TIMEOUT,
    );
    assert_eq!(code, 0, "{out}{err}");
    let t0 = Instant::now();
    let probe = rustix::process::Pid::from_raw(master).expect("a pid");
    while rustix::process::test_kill_process(probe).is_ok() && n.path("nginx.pid").exists() {
        assert!(t0.elapsed() < Duration::from_secs(10), "nginx did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_nginx(n: &TestNginx) {
    let v = n.argv(&[]);
    let (code, out, err) = support::nginx::run(
        Command::new(&v[0]).args(&v[1..]),
        support::nginx::CHILD_TIMEOUT,
    );
    assert_eq!(code, 0, "nginx did not start: {out}{err}");
}

/// Polls until 50 requests in a row find no green; returns when.
fn wait_green_zero(n: &TestNginx, within: Duration) -> Instant {
    let t0 = Instant::now();
    loop {
        let (_, green, failed) = n.count(50);
        if green == 0 && failed == 0 {
            // When it was first seen; then the workers of the earlier
            // config, which take connections for a moment beside the new
            // ones, are waited out so that later counts are of 0 % only.
            let at = Instant::now();
            n.quiesce();
            return at;
        }
        assert!(t0.elapsed() < within, "green still served: {green}/50");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Point 1: `cutover rollback` with nginx stopped keeps trying; nginx
/// started again 3 s later, the command exits 0 and nginx serves no
/// request to green.
#[test]
fn a_rollback_with_nginx_stopped_lands_once_it_is_started() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_with_nginx_stopped_lands_once_it_is_started",
    ) {
        return;
    }
    let (n, cfg) = at(25);
    stop_nginx(&n);
    let child = cutover_cmd(&n, &cfg, &["rollback", "--reason", "nginx stopped"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    start_nginx(&n);
    let fixed = Instant::now();
    let zero = wait_green_zero(&n, Duration::from_secs(20));
    let (code, out, err) = finish(child, Duration::from_secs(30));
    eprintln!(
        "nginx stopped, then started: green at 0 % {} ms after the start",
        zero.duration_since(fixed).as_millis()
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, green, failed) = n.count(200);
    assert_eq!((green, failed), (0, 0));
}

/// Point 1: the one-shot command gives up after `[safety]
/// rollback_retry_for`, exits non-zero and says what the router is left at.
#[test]
fn a_rollback_that_cannot_land_gives_up_after_rollback_retry_for() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_that_cannot_land_gives_up_after_rollback_retry_for",
    ) {
        return;
    }
    let (n, cfg) = at(25);
    append(&cfg, "\n[safety]\nrollback_retry_for = \"3s\"\n");
    stop_nginx(&n);
    let t0 = Instant::now();
    let (code, out, err) = cutover(&n, &cfg, &["rollback", "--reason", "nginx stopped"]);
    let took = t0.elapsed();
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("ROLLBACK NOT LANDED"), "{err}");
    assert!(err.contains("the router reads"), "{err}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "{took:?}"
    );
    let journal = std::fs::read_to_string(n.path("journal.jsonl")).unwrap();
    assert!(journal.contains("rollback_not_landed"), "{journal}");
    start_nginx(&n);
}

/// Point 5: with `cutover run` at 25 %, `cutover rollback --force` from a
/// second shell: nginx stays at 0 % green and the autopilot exits with the
/// rolled-back code (3).
#[test]
fn a_forced_rollback_from_a_second_shell_ends_the_autopilot() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_forced_rollback_from_a_second_shell_ends_the_autopilot",
    ) {
        return;
    }
    let (n, cfg) = at(25);
    let run = cutover_cmd(&n, &cfg, &["run"]).spawn().unwrap();
    // The autopilot has read the router (its start is journaled).
    let t0 = Instant::now();
    while !std::fs::read_to_string(n.path("journal.jsonl"))
        .unwrap()
        .contains("autopilot")
    {
        assert!(t0.elapsed() < Duration::from_secs(10), "run did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let (code, out, err) = cutover(
        &n,
        &cfg,
        &["rollback", "--force", "--reason", "emergency from shell 2"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = finish(run, Duration::from_secs(20));
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.contains("emergency from shell 2"), "{out}");
    n.quiesce();
    for _ in 0..3 {
        let (_, green, failed) = n.count(200);
        assert_eq!((green, failed), (0, 0), "{out}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

// ----- the cockpit in tmux -----------------------------------------------

/// Point 1 in a real terminal: at 5 % with an unrelated included file
/// broken, `r` shows ROLLBACK FAILED — retrying, still there 10 s later;
/// once the file is fixed the rollback lands with no key pressed.
#[test]
fn a_broken_unrelated_file_keeps_the_rollback_failing_until_fixed() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_broken_unrelated_file_keeps_the_rollback_failing_until_fixed",
    ) {
        return;
    }
    if skip_without(
        Server::Tmux,
        "a_broken_unrelated_file_keeps_the_rollback_failing_until_fixed",
    ) {
        return;
    }
    let (n, cfg) = at(5);
    std::fs::write(n.path("extra.conf"), "no_such_directive on;\n").unwrap();
    let t = Tmux {
        socket: unique("cutover-retry"),
        session: "cockpit".into(),
    };
    let command = format!(
        "{} --config {} --log {} tui; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_cutover"),
        cfg.display(),
        n.path("tui.log").display()
    );
    t.start(&command, (160, 50));
    t.wait("the cockpit at 5 %", Duration::from_secs(15), |s| {
        s.contains("green 5%")
    });
    t.cmd(&["send-keys", "-t", "cockpit", "r"]);
    // The header's first line, not the event log, says it.
    let header = |s: &str| s.lines().next().unwrap_or_default().to_string();
    t.wait("ROLLBACK FAILED", Duration::from_secs(10), |s| {
        header(s).contains("ROLLBACK FAILED — retrying")
    });
    std::thread::sleep(Duration::from_secs(10));
    let s = t.screen();
    assert!(header(&s).contains("ROLLBACK FAILED — retrying"), "{s}");
    assert!(s.contains("no_such_directive"), "the reason is shown:\n{s}");
    let (_, green, _) = n.count(100);
    assert!(green > 0, "still on 5 % while nginx refuses the config");
    // The fix, and no key pressed.
    std::fs::remove_file(n.path("extra.conf")).unwrap();
    let fixed = Instant::now();
    let zero = wait_green_zero(&n, Duration::from_secs(15));
    t.wait("the rollback landed", Duration::from_secs(15), |s| {
        header(s).contains("ROLLED BACK")
    });
    let landed = Instant::now();
    eprintln!(
        "broken file fixed: green at 0 % after {} ms, shown landed after {} ms",
        zero.duration_since(fixed).as_millis(),
        landed.duration_since(fixed).as_millis()
    );
    t.cmd(&["send-keys", "-t", "cockpit", "q"]);
    t.wait("the cockpit exited", Duration::from_secs(10), |s| {
        s.contains("EXIT=0")
    });
}

/// Points 4 and 5: a rollback's process killed with `kill -9` (with its
/// reload command) while the reload waits: the include says 0 %, nginx
/// still serves 25 %. A restarted `cutover rollback`, and a cockpit that
/// is only started, each have nginx serving no request to green within
/// 5 s, and green needs force afterwards.
#[test]
fn a_rollback_killed_mid_reload_is_finished_by_the_next_process() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_killed_mid_reload_is_finished_by_the_next_process",
    ) {
        return;
    }
    for restart in ["rollback", "tui"] {
        let (n, cfg) = at(25);
        kill_mid_reload(&n);
        let before = n.workers();
        let t0 = Instant::now();
        let _tmux = match restart {
            "rollback" => {
                let (code, out, err) = cutover(&n, &cfg, &["rollback", "--reason", "again"]);
                assert_eq!(code, 0, "{out}\n{err}");
                None
            }
            _ => Some(cockpit_in_tmux(&n, &cfg, "killed")),
        };
        wait_green_zero(&n, Duration::from_secs(5));
        // The workers that served 25 % are gone (they serve beside the new
        // ones for about 100 ms after a reload).
        n.settle(&before);
        let took = t0.elapsed();
        eprintln!(
            "killed mid reload, then `cutover {restart}`: green at 0 % (old workers gone) after {} ms",
            took.as_millis()
        );
        assert!(took < Duration::from_secs(5), "{took:?}");
        let (_, green, failed) = n.count(200);
        assert_eq!((green, failed), (0, 0));
        drop(_tmux);
        let (code, _, err) = cutover(&n, &cfg, &["set", "5"]);
        assert_ne!(code, 0, "green needs force after the rollback");
        assert!(err.contains("needs force"), "{err}");
    }
}

/// Starts `cutover rollback` with a reload command that waits 5 s, and
/// kills its whole process group once the include says 0 %: nginx still
/// serves 25 %.
fn kill_mid_reload(n: &TestNginx) {
    use std::os::unix::process::CommandExt;
    let reload = n.reload_command().join(" ");
    let slow = n.cutover_config(&format!(
        "reload_command = [\"sh\", \"-c\", \"sleep 5; exec {reload}\"]\n"
    ));
    let mut c = cutover_cmd(n, &slow, &["rollback", "--reason", "killed"]);
    c.process_group(0);
    let child = c.spawn().unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&n.include)
        .unwrap()
        .contains(&format!("127.0.0.1:{} down", n.green))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "include not written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SIGKILL to the process group this test started.
    let group = rustix::process::Pid::from_child(&child);
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = finish(child, Duration::from_secs(5));
    let (_, green, _) = n.count(200);
    assert!(green > 0, "nginx still serves green before the restart");
}

/// `cutover tui` in a private tmux server, no key pressed.
fn cockpit_in_tmux(n: &TestNginx, cfg: &Path, name: &str) -> Tmux {
    let t = Tmux {
        socket: unique(&format!("cutover-{name}")),
        session: "cockpit".into(),
    };
    let command = format!(
        "{} --config {} --log {} tui; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_cutover"),
        cfg.display(),
        n.path("tui.log").display()
    );
    t.start(&command, (160, 50));
    t
}
