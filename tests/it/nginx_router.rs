//! The nginx router against a real nginx (a private prefix on loopback),
//! driven through the headless commands of the real binary.

use crate::support;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::nginx::{Mode, TestNginx};

/// The include as a user would have written it before adopting cutover:
/// all traffic on blue, with options and unmanaged directives of their own.
fn hand_written(blue: &[u16], green: u16) -> String {
    format!(
        "# our model servers\nupstream chat_model {{\n    zone chat_model 64k;\n    server 127.0.0.1:{}   weight=1;  # first\n    server 127.0.0.1:{} max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:{green} down;\n    keepalive 8;\n}}\n",
        blue[0], blue[1]
    )
}

fn sticky_include(blue: &[u16], green: u16) -> String {
    format!(
        "upstream chat_model_blue {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{} max_fails=3 fail_timeout=10s;\n}}\nupstream chat_model_green {{\n    server 127.0.0.1:{green};\n}}\nsplit_clients \"${{cookie_user}}\" $chat_model {{\n    * chat_model_blue;\n}}\n",
        blue[0], blue[1]
    )
}

/// Runs the cutover binary with `config`: (code, stdout, stderr).
fn cutover(n: &TestNginx, config: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("--config")
        .arg(config)
        .arg("--log")
        .arg(n.path("cutover.log"))
        .args(args);
    // These tests drive the router, not the gate: their pods serve no
    // metrics, so raising green's share passes the gate only by force.
    if args.first() == Some(&"set") {
        c.arg("--force");
    }
    support::nginx::run(&mut c, support::nginx::CHILD_TIMEOUT)
}

/// Within four standard deviations of a binomial share (plus one).
fn within(green: u32, n: u32, pct: u32) -> bool {
    let p = f64::from(pct) / 100.0;
    let n = f64::from(n);
    (f64::from(green) - n * p).abs() <= 4.0 * (n * p * (1.0 - p)).sqrt() + 1.0
}

/// `cutover <args>` that must succeed; waits for nginx's old workers.
fn ok(n: &TestNginx, cfg: &Path, args: &[&str]) -> String {
    let before = n.workers();
    let (code, out, err) = cutover(n, cfg, args);
    assert_eq!(code, 0, "cutover {args:?}\n{out}\n{err}");
    n.settle(&before);
    out
}

#[test]
fn weighted_shares_promote_and_rollback_through_the_cli() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "weighted_shares_promote_and_rollback_through_the_cli",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let cfg = n.cutover_config("");
    let (_, out, err) = cutover(&n, &cfg, &["status"]);
    assert!(out.contains("nginx") && out.contains("0%"), "{out}\n{err}");
    for pct in [1u32, 25, 50, 100] {
        let out = ok(&n, &cfg, &["set", &pct.to_string()]);
        assert!(out.contains("applied"), "{out}");
        let (blue, green, failed) = n.count(2000);
        eprintln!("{pct}%: {blue} blue, {green} green, {failed} failed");
        assert_eq!(failed, 0);
        assert!(within(green, 2000, pct), "{pct}%: {green}/2000 green");
    }
    let text = std::fs::read_to_string(&n.include).unwrap();
    for kept in [
        "# our model servers",
        "zone chat_model 64k;",
        "keepalive 8;",
        "# first",
        "max_fails=3 fail_timeout=10s",
    ] {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }
    ok(&n, &cfg, &["set", "50"]);
    ok(&n, &cfg, &["rollback", "--reason", "test"]);
    assert_eq!(
        n.count(500),
        (500, 0, 0),
        "a rollback sends every new request to blue"
    );
    // After a rollback only a forced raise sends traffic to green again
    // (promote is refused); the helper forces `set`.
    ok(&n, &cfg, &["set", "100"]);
    assert_eq!(n.count(300), (0, 300, 0));
    assert!(
        std::fs::read_to_string(&n.include)
            .unwrap()
            .contains(&format!(
                "127.0.0.1:{} max_fails=3 fail_timeout=10s down;",
                n.blue[1]
            ))
    );
}

#[test]
fn sticky_keeps_each_key_on_its_colour() {
    let _turn = serial::heavy();
    if skip_without(Server::Nginx, "sticky_keeps_each_key_on_its_colour") {
        return;
    }
    let n = TestNginx::start(Mode::Sticky, sticky_include);
    let cfg = n.cutover_config("");
    let users: Vec<String> = (0..2000).map(|i| format!("user-{i}")).collect();
    let greens = |n: &TestNginx| -> Vec<bool> {
        users
            .iter()
            .map(|u| n.request(Some(u)).expect("an answer") == "green")
            .collect()
    };
    let mut before = greens(&n);
    assert!(before.iter().all(|g| !g));
    for pct in [5u32, 25, 50] {
        ok(&n, &cfg, &["set", &pct.to_string()]);
        let now = greens(&n);
        let count = now.iter().filter(|g| **g).count() as u32;
        eprintln!("sticky {pct}%: {count}/2000 green");
        assert!(within(count, 2000, pct), "{pct}%: {count}/2000");
        for (i, (b, a)) in before.iter().zip(&now).enumerate() {
            assert!(!b || *a, "user-{i} left green at {pct}%");
        }
        before = now;
    }
    ok(&n, &cfg, &["rollback"]);
    assert!(
        greens(&n).iter().all(|g| !g),
        "a rollback puts everyone on blue"
    );
}

#[test]
fn a_failing_test_leaves_the_file_and_the_traffic() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_failing_test_leaves_the_file_and_the_traffic",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let cfg = n.cutover_config("");
    // The rollback below retries until it lands: give up after a second.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("{text}\n[safety]\nrollback_retry_for = \"1s\"\n"),
    )
    .unwrap();
    ok(&n, &cfg, &["set", "25"]);
    let before = std::fs::read(&n.include).unwrap();
    // nginx itself now refuses the config: its own message must come back.
    std::fs::write(n.path("extra.conf"), "no_such_directive on;\n").unwrap();
    let (code, out, err) = cutover(&n, &cfg, &["set", "50"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("no_such_directive"), "nginx's message: {err}");
    assert!(err.contains("restored"), "{err}");
    assert_eq!(std::fs::read(&n.include).unwrap(), before, "byte for byte");
    let (_, green, failed) = n.count(2000);
    assert_eq!(failed, 0);
    assert!(within(green, 2000, 25), "traffic unchanged: {green}/2000");
    // A rollback skips the separate test: the reload refuses the config
    // itself, in nginx's words; the rollback's content stays written, so
    // that the next reload lands on blue, never on green.
    let (code, out, err) = cutover(&n, &cfg, &["rollback", "--reason", "test"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("no_such_directive"), "nginx's message: {err}");
    assert!(
        err.contains("-s reload") && err.contains("the include now says 0 % green"),
        "{err}"
    );
    let (_, green, failed) = n.count(2000);
    assert_eq!(failed, 0);
    assert!(within(green, 2000, 25), "traffic unchanged: {green}/2000");
    // A forward write's failed reload is reported and restored. (The
    // rollback above never landed: a process on that journal would finish
    // it before anything else; this part is about an advance, on a fresh
    // journal.)
    std::fs::remove_file(n.path("extra.conf")).unwrap();
    std::fs::remove_file(n.path("journal.jsonl")).unwrap();
    let before = std::fs::read(&n.include).unwrap();
    let cfg = n
        .cutover_config("reload_command = [\"sh\", \"-c\", \"echo reload refused >&2; exit 1\"]\n");
    let (code, _, err) = cutover(&n, &cfg, &["set", "50"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("reload refused") && err.contains("restored"),
        "{err}"
    );
    assert_eq!(std::fs::read(&n.include).unwrap(), before);
}

#[test]
fn two_writers_cannot_interleave() {
    let _turn = serial::heavy();
    if skip_without(Server::Nginx, "two_writers_cannot_interleave") {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    // The first writer's test is slow, so the second arrives mid-write.
    let slow = format!(
        "test_command = [\"sh\", \"-c\", \"sleep 2; exec \\\"$0\\\" \\\"$@\\\"\", {}]\n",
        n.test_command()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let slow_cfg = n.cutover_config(&slow);
    let cfg = n.cutover_config("");
    let first = std::thread::scope(|s| {
        let first = s.spawn(|| cutover(&n, &slow_cfg, &["set", "25"]));
        let lock = support::nginx_lock_path(&n.include);
        let t0 = std::time::Instant::now();
        while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("set 25")) {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the first writer never locked"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let (code, out, err) = cutover(&n, &cfg, &["set", "50"]);
        assert_ne!(code, 0, "{out}");
        // The journal's writer lock (one writer per service) usually
        // answers first; the include's own lock names the command too.
        assert!(
            err.contains("is held by process")
                || (err.contains("is locked by pid") && err.contains("set 25")),
            "names the holder: {err}"
        );
        first.join().unwrap()
    });
    assert_eq!(first.0, 0, "{}\n{}", first.1, first.2);
    let text = std::fs::read_to_string(&n.include).unwrap();
    let c: cutover::config::Config = cutover::config::load(&cfg).unwrap();
    let cutover::config::RouterConfig::Nginx(ncfg) = &c.router else {
        panic!("not an nginx config")
    };
    let inc = cutover::router::nginx::include::read(&text, ncfg).unwrap();
    assert_eq!(
        inc.split.green(),
        25,
        "only the first write landed:\n{text}"
    );
}

#[test]
fn a_hand_edited_include_is_refused_and_check_reports_wiring() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "a_hand_edited_include_is_refused_and_check_reports_wiring",
    ) {
        return;
    }
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let cfg = n.cutover_config("");
    let (code, out, err) = cutover(&n, &cfg, &["check"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nginx's config includes"), "{out}");

    let edited = hand_written(&n.blue, n.green)
        .replace("    keepalive 8;\n", "    least_conn;\n    keepalive 8;\n");
    std::fs::write(&n.include, &edited).unwrap();
    let (code, _, err) = cutover(&n, &cfg, &["set", "25"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("line 7") && err.contains("least_conn"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&n.include).unwrap(), edited);

    let stranger = hand_written(&n.blue, n.green)
        .replace("    keepalive 8;\n", "    server 127.0.0.1:9 weight=5;\n");
    std::fs::write(&n.include, &stranger).unwrap();
    let (code, _, err) = cutover(&n, &cfg, &["set", "25"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("127.0.0.1:9") && err.contains("line 7"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&n.include).unwrap(), stranger);

    // A main config that does not include the file.
    std::fs::write(&n.include, hand_written(&n.blue, n.green)).unwrap();
    std::fs::write(
        &n.conf,
        n.main_config(false)
            .replace("proxy_pass http://chat_model;", "return 200;"),
    )
    .unwrap();
    let (code, out, _) = cutover(&n, &cfg, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not include"), "{out}");
    let (code, _, err) = cutover(&n, &cfg, &["set", "25"]);
    assert_ne!(code, 0);
    assert!(err.contains("does not include"), "{err}");
}

#[tokio::test]
async fn the_probe_is_concurrent_bounded_and_judged_by_an_interval() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Nginx,
        "the_probe_is_concurrent_bounded_and_judged_by_an_interval",
    ) {
        return;
    }
    use cutover::router::{TrafficRouter, WriteRequest};
    let n = TestNginx::start(Mode::Weighted, hand_written);
    let cfg = n.cutover_config("");
    let c: cutover::config::Config = cutover::config::load(&cfg).unwrap();
    let cutover::config::RouterConfig::Nginx(ncfg) = c.router else {
        panic!("not an nginx config")
    };
    let r = cutover::router::nginx::NginxRouter::new(ncfg).unwrap();
    let s = |g| cutover::model::Split::new(g).unwrap();
    for pct in [25u8, 5] {
        let before = n.workers();
        r.set_split(WriteRequest::to(s(pct))).await.unwrap();
        n.settle(&before);
        // 200 requests, concurrently: well within about a second.
        let t0 = std::time::Instant::now();
        let v = r.verify(s(pct)).await.unwrap();
        let took = t0.elapsed();
        eprintln!("verify at {pct}%: {} ({took:?})", v.detail);
        assert!(v.ok, "{}", v.detail);
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert!(
            v.detail.contains("fits") && v.detail.contains("interval"),
            "{}",
            v.detail
        );
        assert!(!v.detail.contains("does not"), "{}", v.detail);
    }
    // A split the data plane does not serve: said once, plainly, within
    // the bounded verification time.
    let t0 = std::time::Instant::now();
    let v = r.verify(s(50)).await.unwrap();
    assert!(!v.ok);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(
        v.detail.contains("does not serve 50%") && v.detail.contains("the include reads 5%"),
        "{}",
        v.detail
    );
    assert!(!v.detail.contains("fits"), "{}", v.detail);
}
