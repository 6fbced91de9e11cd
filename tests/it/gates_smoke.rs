//! Smoke checks against a local HTTP server (issue 12, item 1): a pass, a
//! wrong status, a body mismatch and a timeout each show their reason, and
//! the first step stays closed until all pass; force passes, journaled as
//! forced.

use crate::support::gates_rig;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cutover::config::{GatesConfig, SmokeCheck};
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::RecordKind;
use cutover::engine::{Command, Done, Origin, State};
use cutover::gates::CheckReason;
use cutover::model::Split;

use gates_rig::{config, records, rig, wait_for};

/// A tiny HTTP/1.1 server on 127.0.0.1: `/ok` answers `{"choices": []}`,
/// `/down` 503, `/wrong` `{"error": ...}`, `/slow` waits 3 s. Once
/// `healthy` is set every path answers like `/ok`. Stopped on drop.
struct Server {
    port: u16,
    healthy: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (healthy.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let healthy = h.load(Ordering::SeqCst);
                std::thread::spawn(move || serve(conn, healthy));
            }
        });
        Server {
            port,
            healthy,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut conn: TcpStream, healthy: bool) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = [0u8; 4096];
    let mut req = Vec::new();
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (status, body) = match path.as_str() {
        _ if healthy => ("200 OK", r#"{"choices": []}"#),
        "/ok" => ("200 OK", r#"{"choices": []}"#),
        "/down" => ("503 Service Unavailable", "overloaded"),
        "/wrong" => ("200 OK", r#"{"error": "no model loaded"}"#),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            ("200 OK", r#"{"choices": []}"#)
        }
        _ => ("404 Not Found", "no such path"),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn check(name: &str, url: String, timeout_ms: u64) -> SmokeCheck {
    SmokeCheck {
        name: name.into(),
        url,
        method: "POST".into(),
        headers: [("Content-Type".to_string(), "application/json".to_string())].into(),
        body: Some(r#"{"prompt": "ping", "max_tokens": 1}"#.into()),
        expect_status: None,
        expect_body: Some("\"choices\"".into()),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn four_checks(server: &Server) -> GatesConfig {
    let mut status = check("status", server.url("/down"), 2000);
    status.expect_body = None;
    GatesConfig {
        smoke: vec![
            check("pass", server.url("/ok"), 2000),
            status,
            check("body", server.url("/wrong"), 2000),
            check("slow", server.url("/slow"), 500),
        ],
        command: vec![],
        evidence: None,
    }
}

fn all_done(s: &State) -> bool {
    s.guard.snapshot.is_some()
        && s.checks
            .smoke
            .iter()
            .all(|c| c.running_since.is_none() && c.last.is_some())
}

fn reason(s: &State, name: &str) -> (bool, String) {
    let c = s.checks.smoke.iter().find(|c| c.name == name).unwrap();
    let r = c.last.as_ref().unwrap();
    (r.passed, r.reason.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_shows_its_reason_and_the_first_step_waits_for_all() {
    let server = Server::start();
    let r = rig(0, config(four_checks(&server)));
    // They run on start, with green at 0 %.
    let s = wait_for(&r.handle, "smoke results", all_done).await;
    assert_eq!(
        reason(&s, "pass"),
        (true, "status 200, body matches".into())
    );
    assert_eq!(reason(&s, "status"), (false, "status 503, want 2xx".into()));
    let (ok, why) = reason(&s, "body");
    assert!(!ok);
    assert!(
        why.starts_with("status 200, body does not match `\"choices\"`")
            && why.contains("no model loaded"),
        "{why}"
    );
    assert_eq!(reason(&s, "slow"), (false, "timed out after 500ms".into()));
    let slow = s.checks.smoke.iter().find(|c| c.name == "slow").unwrap();
    let latency = slow.last.as_ref().unwrap().latency;
    assert!(
        latency >= Duration::from_millis(450) && latency < Duration::from_secs(3),
        "{latency:?}"
    );
    println!(
        "smoke latencies: {:?}",
        s.checks
            .smoke
            .iter()
            .map(|c| (c.name.clone(), c.last.as_ref().unwrap().latency))
            .collect::<Vec<_>>()
    );

    // The gate names each failure; the first step stays closed.
    assert!(!s.guard.gate.open);
    for (check, want) in [
        ("status", "status 503, want 2xx"),
        ("body", "status 200, body does not match"),
        ("slow", "timed out after 500ms"),
    ] {
        assert!(
            s.guard.gate.reasons.iter().any(|r| matches!(
                r,
                GateReason::Check(CheckReason::SmokeFailed { name, reason })
                    if name == check && reason.starts_with(want)
            )),
            "{check}: {:?}",
            s.guard.gate.reasons
        );
    }
    assert!(
        !s.guard
            .gate
            .reasons
            .iter()
            .any(|r| smoke_named(r) == Some("pass"))
    );
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        crate::support::engine::gate_closed(
            &err,
            |g| matches!(g, GateReason::Check(CheckReason::SmokeFailed { name, .. }) if name == "status")
        ),
        "{err:?}"
    );
    let err = r
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(30).unwrap(),
                reason: None,
                force: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        crate::support::engine::gate_closed(&err, |g| {
            matches!(
                g,
                GateReason::Check(
                    CheckReason::SmokeFailed { .. }
                        | CheckReason::SmokeNotRun { .. }
                        | CheckReason::SmokeRunning { .. }
                )
            )
        }),
        "{err:?}"
    );
    assert_eq!(r.router.split(), 0);

    // Every result is journaled.
    let recs = records(&r.journal);
    let checks: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::Check)
        .collect();
    assert_eq!(checks.len(), 4, "{checks:?}");
    let slow = checks
        .iter()
        .find(|r| r.check.as_deref() == Some("slow"))
        .unwrap();
    assert_eq!(slow.passed, Some(false));
    assert_eq!(slow.detail.as_deref(), Some("timed out after 500ms"));

    // Green is fixed; `s` runs them again and the gate opens.
    server.healthy.store(true, Ordering::SeqCst);
    let msg = r
        .handle
        .call(Origin::Tui, Command::RunChecks)
        .await
        .unwrap();
    assert!(
        matches!(&msg, Done::ChecksStarted(names) if names.contains(&"4 smoke check(s)".to_string())),
        "{msg:?}"
    );
    wait_for(&r.handle, "all smoke checks pass", |s| {
        all_done(s)
            && s.checks
                .smoke
                .iter()
                .all(|c| c.last.as_ref().unwrap().passed)
    })
    .await;
    let s = wait_for(&r.handle, "gate open", |st| st.guard.gate.open).await;
    assert!(
        s.guard.gate.reasons.is_empty(),
        "{:?}",
        s.guard.gate.reasons
    );
    r.handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    assert_eq!(r.router.split(), 1);
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_passes_a_failed_smoke_check_and_is_journaled_as_forced() {
    let server = Server::start();
    let mut gates = four_checks(&server);
    gates.smoke.truncate(2);
    let r = rig(0, config(gates));
    let s = wait_for(&r.handle, "smoke results", all_done).await;
    assert!(!s.guard.gate.open);
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.router.split(), 1);
    let recs = records(&r.journal);
    let intent = recs
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.to == Some(1))
        .unwrap();
    assert!(intent.forced, "{intent:?}");
    // Above 0 % the smoke checks no longer hold anything (the dwell does).
    let s = wait_for(&r.handle, "at 1 %", |s| s.traffic.split == Split::new(1)).await;
    assert!(
        !s.guard
            .gate
            .reasons
            .iter()
            .any(|r| smoke_named(r).is_some()),
        "{:?}",
        s.guard.gate.reasons
    );
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

/// The smoke check a gate reason is about, if it is about one.
fn smoke_named(r: &GateReason) -> Option<&str> {
    match r {
        GateReason::Check(
            CheckReason::SmokeRunning { name, .. }
            | CheckReason::SmokeNotRun { name }
            | CheckReason::SmokeFailed { name, .. },
        ) => Some(name),
        _ => None,
    }
}
