//! A rollback against a real nginx in a faulty state: nginx stopped, its
//! config broken by an unrelated file, the include locked by another
//! cutover process through a slow reload, a reload killed midway. In each
//! case the rollback's content stays written (never green's traffic back)
//! and nginx serves no request to green once the fault is gone.

use crate::support;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cutover::config::{NginxConfig, RouterConfig};
use cutover::model::Split;
use cutover::router::nginx::{NginxRouter, include, write::ROLLBACK_KEPT};
use cutover::router::{RouterError, TrafficRouter, WriteRequest};
use support::nginx::{Mode, TestNginx};

fn hand_written(blue: &[u16], green: u16) -> String {
    format!(
        "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    server 127.0.0.1:{green} down;\n}}\n",
        blue[0], blue[1]
    )
}

fn nginx_config(path: &Path) -> NginxConfig {
    let c = cutover::config::load(path).unwrap();
    let RouterConfig::Nginx(n) = c.router else {
        panic!("not an nginx config")
    };
    n
}

fn router(n: &TestNginx, extra: &str) -> (NginxRouter, PathBuf) {
    let path = n.cutover_config(extra);
    (NginxRouter::new(nginx_config(&path)).unwrap(), path)
}

fn split(g: u8) -> Split {
    Split::new(g).unwrap()
}

/// What the include on disk says.
fn include_says(n: &TestNginx, cfg: &Path) -> Split {
    let text = std::fs::read_to_string(&n.include).unwrap();
    include::read(&text, &nginx_config(cfg)).unwrap().split
}

/// Sets `pct` through the router and waits for nginx's old workers.
async fn set(n: &TestNginx, r: &NginxRouter, pct: u8) {
    let before = n.workers();
    r.set_split(WriteRequest::to(split(pct))).await.unwrap();
    n.settle(&before);
}

/// Green's answers out of `total` requests on new connections.
fn greens(n: &TestNginx, total: u32) -> u32 {
    let (_, green, failed) = n.count(total);
    assert_eq!(failed, 0, "every request answered");
    green
}

/// Polls until nginx serves no green in 200 requests; the time it took.
/// Then waits for the workers of the earlier config to be gone: beside the
/// new ones they still take connections for a moment after a reload, and a
/// batch of 200 may have reached only the new ones.
fn until_no_green(n: &TestNginx, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        if greens(n, 200) == 0 {
            let took = t0.elapsed();
            n.quiesce();
            return took;
        }
        assert!(t0.elapsed() < within, "nginx still serves green");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_rollback_against_a_stopped_nginx_stays_written_and_lands_on_restart() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_against_a_stopped_nginx_stays_written_and_lands_on_restart",
    ) {
        return;
    }
    for pct in [25u8, 5] {
        let n = TestNginx::start(Mode::Weighted, hand_written);
        let (r, cfg) = router(&n, "");
        set(&n, &r, pct).await;
        assert!(greens(&n, 200) > 0, "{pct}%: green serves before");
        n.stop();
        let err = r
            .set_split(WriteRequest::to(Split::ZERO))
            .await
            .unwrap_err();
        let RouterError::Rejected(why) = &err else {
            panic!("{pct}%: {err:?}")
        };
        assert!(why.contains("nginx.pid"), "nginx's own words: {why}");
        assert!(why.contains(ROLLBACK_KEPT), "{why}");
        assert!(!why.contains("restored"), "{why}");
        assert_eq!(include_says(&n, &cfg), Split::ZERO, "{pct}%: 0 % stays");
        // The fault's fix: nginx starts again, from the file as it is.
        let fixed = Instant::now();
        n.start_again();
        let took = until_no_green(&n, Duration::from_secs(5));
        eprintln!(
            "{pct}%: nginx restarted, green 0 % after {:.0} ms (first check {:.0} ms)",
            fixed.elapsed().as_secs_f64() * 1000.0,
            took.as_secs_f64() * 1000.0
        );
        assert_eq!(greens(&n, 200), 0, "{pct}%: no request to green");
    }
}

#[tokio::test]
async fn a_rollback_refused_by_an_unrelated_broken_file_stays_written() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_refused_by_an_unrelated_broken_file_stays_written",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let (r, cfg) = router(&n, "");
    set(&n, &r, 25).await;
    std::fs::write(n.path("extra.conf"), "no_such_directive on;\n").unwrap();
    let why = r
        .set_split(WriteRequest::to(Split::ZERO))
        .await
        .unwrap_err()
        .to_string();
    assert!(why.contains("no_such_directive"), "nginx's words: {why}");
    assert!(why.contains(ROLLBACK_KEPT), "{why}");
    assert_eq!(include_says(&n, &cfg), Split::ZERO, "the rollback stays");
    assert!(greens(&n, 400) > 0, "nginx still serves the old split");
    // With `test_before_rollback` the test refuses it: the content stays too.
    let (tested, _) = router(&n, "test_before_rollback = true\n");
    let why = tested
        .set_split(WriteRequest::to(Split::ZERO))
        .await
        .unwrap_err()
        .to_string();
    assert!(why.contains(" -t") && why.contains(ROLLBACK_KEPT), "{why}");
    assert_eq!(include_says(&n, &cfg), Split::ZERO);
    // The fix, then the retry the engine makes: green at 0 %.
    std::fs::remove_file(n.path("extra.conf")).unwrap();
    let fixed = Instant::now();
    let before = n.workers();
    r.set_split(WriteRequest::to(Split::ZERO)).await.unwrap();
    n.settle(&before);
    eprintln!(
        "broken file fixed: green 0 % {:.0} ms later (retry and old workers gone)",
        fixed.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(greens(&n, 200), 0);
    assert_eq!(r.reconcile().await.unwrap(), None, "in step now");
}

/// The cutover binary with `config`, its output captured.
fn cutover_cmd(n: &TestNginx, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("--config")
        .arg(config)
        .arg("--log")
        .arg(n.path("cutover.log"))
        .args(args);
    c
}

/// A reload command that sleeps `secs` first, then reloads this nginx.
fn slow_reload(n: &TestNginx, secs: u32) -> String {
    let argv: Vec<String> = n
        .reload_command()
        .iter()
        .map(|s| format!("{s:?}"))
        .collect();
    format!(
        "reload_command = [\"sh\", \"-c\", \"sleep {secs}; exec \\\"$0\\\" \\\"$@\\\"\", {}]\n",
        argv.join(", ")
    )
}

fn wait_for(what: &str, within: Duration, done: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < within, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_rollback_waits_for_a_writer_holding_the_lock_through_a_slow_reload() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "a_rollback_waits_for_a_writer_holding_the_lock_through_a_slow_reload",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let (r, cfg) = router(&n, "");
    set(&n, &r, 25).await;
    // B: a forced `set 5` whose reload sleeps 5 s, holding the lock.
    let slow_cfg = n.cutover_config(&slow_reload(&n, 5));
    let mut b = cutover_cmd(&n, &slow_cfg, &["set", "5", "--force", "--reason", "b"]);
    let b = std::thread::spawn(move || support::nginx::run(&mut b, support::nginx::CHILD_TIMEOUT));
    let lock = support::nginx_lock_path(&n.include);
    wait_for(
        "B never locked and wrote 5 %",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("set 5"))
                && include_says(&n, &cfg) == split(5)
        },
    );
    let held_from = Instant::now();
    // An advance still refuses at once, naming the holder.
    let t = Instant::now();
    let why = r
        .set_split(WriteRequest::to(split(50)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        why.contains("is locked by pid") && why.contains("set 5"),
        "{why}"
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // A: a rollback from another process, past B's journal lock.
    let (code, out, err) = support::nginx::run(
        &mut cutover_cmd(&n, &cfg, &["rollback", "--force", "--reason", "a"]),
        support::nginx::CHILD_TIMEOUT,
    );
    let landed = held_from.elapsed();
    assert_eq!(code, 0, "the rollback lands after B:\n{out}\n{err}");
    let (bcode, bout, berr) = b.join().unwrap();
    assert_eq!(bcode, 0, "B's own write finished: {bout}\n{berr}");
    assert!(
        landed >= Duration::from_secs(3),
        "it waited for B: {landed:?}"
    );
    let journal = std::fs::read_to_string(n.path("journal.jsonl")).unwrap();
    assert!(
        journal.contains("waited") && journal.contains("set 5"),
        "the outcome names whom it waited for:\n{journal}"
    );
    assert_eq!(include_says(&n, &cfg), Split::ZERO);
    eprintln!(
        "rollback landed {:.0} ms after B took the lock (B's reload sleeps 5 s)",
        landed.as_secs_f64() * 1000.0
    );
    until_no_green(&n, Duration::from_secs(2));
    assert_eq!(greens(&n, 200), 0, "nginx serves no request to green");
}

#[tokio::test]
async fn reconcile_reloads_an_include_left_unloaded_by_a_killed_rollback() {
    let _turn = serial::timed();
    if skip_without(
        Server::Nginx,
        "reconcile_reloads_an_include_left_unloaded_by_a_killed_rollback",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let (r, cfg) = router(&n, "");
    set(&n, &r, 25).await;
    assert_eq!(r.reconcile().await.unwrap(), None, "in step after a write");
    // A rollback whose reload hangs, killed (with its reload) by SIGKILL.
    let hung_cfg = n.cutover_config(&slow_reload(&n, 60));
    let mut a = cutover_cmd(&n, &hung_cfg, &["rollback", "--reason", "killed"]);
    a.process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = a.spawn().unwrap();
    wait_for(
        "the rollback never wrote 0 %",
        Duration::from_secs(20),
        || include_says(&n, &cfg) == Split::ZERO,
    );
    std::thread::sleep(Duration::from_millis(200));
    // Kills the process group this test started.
    let group = rustix::process::Pid::from_child(&child);
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    child.wait().unwrap();
    assert!(greens(&n, 400) > 0, "nginx still serves 25 %");
    // A new router (a restarted cockpit) reconciles before anything else.
    let (fresh, _) = router(&n, "");
    let t0 = Instant::now();
    let did = fresh.reconcile().await.unwrap().expect("out of step");
    assert!(
        did.contains("nginx reloaded") && did.contains("0%"),
        "{did}"
    );
    let took = t0.elapsed() + until_no_green(&n, Duration::from_secs(5));
    eprintln!(
        "reconcile: {did}; green 0 % {:.0} ms after it began",
        took.as_secs_f64() * 1000.0
    );
    assert_eq!(greens(&n, 200), 0, "nginx serves no request to green");
    assert_eq!(fresh.reconcile().await.unwrap(), None, "in step now");
}
