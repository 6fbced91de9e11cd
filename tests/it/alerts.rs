//! `[[alerts]]` end to end: the real engine on the embedded demo fleet, a
//! hand-rolled HTTP receiver on 127.0.0.1, receivers that refuse or never
//! answer, and `cutover run` itself on the degrading scenario.

use crate::support::engine as engine_rig;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover::alerts::Policy;
use cutover::app::{self, WhenHeld};
use cutover::config::{AlertConfig, AlertEvent, WebhookUrl};
use cutover::demo::Scenario;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, RecordKind};
use cutover::engine::{Command, EngineOptions, EventLevel, Origin, State};
use cutover::model::Split;

/// Secret parts every webhook URL below carries; none may ever be shown.
const SECRETS: [&str; 3] = ["s3cr3tKEY", "qq-token", "pw-hunter2"];

fn secret_url(port: u16) -> String {
    format!("http://bob:pw-hunter2@127.0.0.1:{port}/services/T000/B000/s3cr3tKEY?token=qq-token")
}

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows `{s}`:\n{text}");
    }
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    method: String,
    path: String,
    body: String,
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Ok,
    /// Accepts and never answers.
    Hold,
    /// `302 Found` to this path on the receiver itself.
    Redirect(&'static str),
}

/// A minimal HTTP/1.1 server: records each request and answers 200.
/// With `answer = false` it accepts and never answers (holding every
/// connection open). Stopped on drop.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(answer: bool) -> Receiver {
        Receiver::replying(if answer { Reply::Ok } else { Reply::Hold })
    }

    fn replying(reply: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                if let Reply::Hold = reply {
                    held.push(conn);
                    continue;
                }
                conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
                if let Some(r) = read_request(&mut conn) {
                    g.lock().unwrap().push(r);
                    let answer = match reply {
                        Reply::Redirect(to) => format!(
                            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}{to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        ),
                        _ => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                            .to_string(),
                    };
                    let _ = conn.write_all(answer.as_bytes());
                }
            }
        });
        Receiver {
            port,
            got,
            stop,
            thread: Some(thread),
        }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Got> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let method = head.split_whitespace().next().unwrap_or("").to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Some(Got { method, path, body })
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn hook(url: String, on: &[AlertEvent]) -> AlertConfig {
    AlertConfig {
        url: WebhookUrl::new(url),
        on: on.to_vec(),
        template: None,
        interval: cutover::config::default_alert_interval(),
    }
}

fn events(s: &State) -> String {
    s.events
        .iter()
        .map(|e| format!("{:?} {}", e.level, e.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Starts the healthy demo with `alerts`, moves green to 25 % by force and
/// returns the running engine.
async fn at_25(
    dir: &std::path::Path,
    alerts: Vec<AlertConfig>,
    policy: Policy,
) -> cutover::app::Running {
    let mut config = app::demo_config(
        Scenario::Healthy,
        Duration::from_secs(600),
        Some(dir.join("journal.jsonl")),
    );
    config.auto_rollback.enabled = false;
    config.alerts = alerts;
    let running = app::start_with_alerts(&config, EngineOptions::default(), WhenHeld::Fail, policy)
        .await
        .unwrap();
    engine_rig::wait_for(&running.handle, "the demo router's answer", |s| {
        s.traffic.split.is_some()
    })
    .await;
    running
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(25).unwrap(),
                reason: Some("test".into()),
                force: true,
            },
        )
        .await
        .expect("set 25 %");
    // A poll judged at 25 %: the readings an alert carries.
    until(&running, Duration::from_secs(10), |s| {
        s.guard
            .judgements
            .iter()
            .any(|j| j.color == cutover::model::Color::Green)
    })
    .await;
    running
}

/// Waits until `pred` holds for the published state.
async fn until(running: &cutover::app::Running, within: Duration, pred: impl Fn(&State) -> bool) {
    let mut rx = running.handle.state();
    let r = tokio::time::timeout(within, rx.wait_for(|s| pred(s))).await;
    if r.is_err() {
        panic!(
            "not within {within:?}; events:\n{}",
            events(&running.handle.current())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_alert_reaches_the_receiver_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(true);
    let running = at_25(
        dir.path(),
        vec![hook(
            secret_url(receiver.port),
            &[AlertEvent::Rollback, AlertEvent::Promote],
        )],
        Policy::default(),
    )
    .await;
    let asked = Instant::now();
    running
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "p99 \"spikes\" seen on the gateway".into(),
            },
        )
        .await
        .expect("rollback");
    let took = asked.elapsed();
    until(&running, Duration::from_secs(10), |s| {
        s.events.iter().any(|e| e.text.starts_with("alert sent"))
    })
    .await;
    let state = running.handle.current();
    let journal = running.journal.clone();
    running.stop().await;

    let got = receiver.got();
    eprintln!("rollback took {took:?}; the receiver got: {got:#?}");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].path, "/services/T000/B000/s3cr3tKEY?token=qq-token",
        "the path and query go on the wire as configured"
    );
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("JSON");
    let text = body["text"].as_str().expect("Slack's {\"text\": ...}");
    assert!(text.contains("ROLLED BACK"), "{text}");
    assert!(text.contains("25% → 0%"), "{text}");
    assert!(text.contains("by cli"), "{text}");
    assert!(
        text.contains("Reason: p99 \"spikes\" seen on the gateway"),
        "{text}"
    );
    assert!(text.contains("green error rate"), "readings: {text}");

    let shown = events(&state);
    assert!(
        shown.contains(&format!(
            "alert sent: rollback to alerts[0] http://127.0.0.1:{}/***",
            receiver.port
        )),
        "{shown}"
    );
    assert_no_secret("the events", &shown);
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_no_secret("the journal", &lines);
    let records = Journal::read_all(&journal).unwrap();
    let alert = records
        .iter()
        .find(|r| r.kind == RecordKind::Alert)
        .expect("an alert record");
    assert_eq!(alert.action, Some(RecordAction::AlertSent));
    assert_eq!(alert.origin, Some(RecordOrigin::Alerts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_receivers_do_not_delay_the_rollback_and_fail_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let hung = Receiver::start(false);
    let closed = closed_port();
    // Each attempt may hang 3 s: far longer than a rollback may take.
    let policy = Policy {
        attempts: 2,
        timeout: Duration::from_secs(3),
        backoff: Duration::from_millis(200),
        drain: Duration::from_secs(20),
    };
    let running = at_25(
        dir.path(),
        vec![
            hook(secret_url(closed), &[AlertEvent::Rollback]),
            hook(secret_url(hung.port), &[AlertEvent::Rollback]),
        ],
        policy,
    )
    .await;
    let asked = Instant::now();
    let reply = running
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "drill".into(),
            },
        )
        .await
        .expect("rollback");
    let took = asked.elapsed();
    eprintln!("rollback with both receivers unreachable: {took:?} ({reply})");
    // The demo router applies in 150 ms; a rollback that waited for either
    // alert would take at least 3 s.
    assert!(took < Duration::from_millis(1500), "rollback took {took:?}");
    assert_eq!(running.handle.current().traffic.split, Split::new(0));

    // Both failures become error events, the refused one first.
    let failed = |s: &State| {
        s.events
            .iter()
            .filter(|e| e.level == EventLevel::Error && e.text.starts_with("ALERT NOT SENT"))
            .count()
    };
    let waited = Instant::now();
    until(&running, Duration::from_secs(15), |s| failed(s) >= 1).await;
    eprintln!("refused receiver reported after {:?}", waited.elapsed());
    until(&running, Duration::from_secs(15), |s| failed(s) >= 2).await;
    eprintln!("hung receiver reported after {:?}", waited.elapsed());
    let state = running.handle.current();
    let journal = running.journal.clone();
    running.stop().await;

    let shown = events(&state);
    eprintln!("{shown}");
    assert!(
        shown.contains(&format!("alerts[0] http://127.0.0.1:{closed}/***")),
        "{shown}"
    );
    assert!(shown.contains("cannot connect"), "{shown}");
    assert!(shown.contains("no answer within 3s"), "{shown}");
    assert_no_secret("the events", &shown);
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_no_secret("the journal", &lines);
    let failures = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == RecordKind::Alert && r.action == Some(RecordAction::AlertFailed))
        .count();
    assert_eq!(failures, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_still_on_its_way_at_stop_is_given_up_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let hung = Receiver::start(false);
    let policy = Policy {
        attempts: 3,
        timeout: Duration::from_secs(10),
        backoff: Duration::from_millis(100),
        drain: Duration::from_millis(500),
    };
    let running = at_25(
        dir.path(),
        vec![hook(secret_url(hung.port), &[AlertEvent::Rollback])],
        policy,
    )
    .await;
    running
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "drill".into(),
            },
        )
        .await
        .expect("rollback");
    let journal = running.journal.clone();
    let stopping = Instant::now();
    running.stop().await;
    let took = stopping.elapsed();
    eprintln!("stop with a hung alert took {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let given_up = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == RecordKind::Alert && r.action == Some(RecordAction::AlertFailed))
        .filter_map(|r| r.detail)
        .collect::<Vec<_>>();
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    assert!(given_up[0].contains("given up"), "{given_up:?}");
}

/// Runs the binary with a timeout; kills it when the timeout passes.
fn run_with_timeout(cmd: &mut std::process::Command, limit: Duration) -> (i32, String, String) {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "killed after {limit:?}:\n{}\n{}",
                o.join().unwrap(),
                e.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (code, o.join().unwrap(), e.join().unwrap())
}

/// The must-show: `cutover run --config C` on the degrading demo fleet
/// rolls back on its own, and the receiver gets an alert naming the
/// breaching metric, its value and the threshold.
#[test]
fn cutover_run_on_the_degrading_demo_alerts_the_rollback_naming_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(true);
    let config = dir.path().join("cutover.toml");
    let journal = dir.path().join("journal.jsonl");
    let log = dir.path().join("cutover.log");
    std::fs::write(
        &config,
        format!(
            r#"[service]
name = "chat-model"

[source]
kind = "demo"
interval = "1s"
timeout = "500ms"
window = "5s"

[router]
kind = "demo"

[router.demo]
scenario = "degrading"

[plan]
dwell = "2s"
bake = "6s"
progress_deadline = "60s"

[journal]
path = "{}"

[[alerts]]
url = "{}"
on = ["rollback", "promote", "breach"]
"#,
            journal.display(),
            secret_url(receiver.port)
        ),
    )
    .unwrap();
    let started = Instant::now();
    let (code, stdout, stderr) = run_with_timeout(
        std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--log")
            .arg(&log)
            // Every crate's most talkative level: no secret in it either.
            .env("CUTOVER_LOG", "trace"),
        Duration::from_secs(120),
    );
    eprintln!(
        "--- cutover run ({:?}), exit {code} ---\n{stdout}{stderr}",
        started.elapsed()
    );
    assert_eq!(code, 3, "rolled back");
    let got = receiver.got();
    let texts: Vec<String> = got
        .iter()
        .map(|g| {
            let v: serde_json::Value = serde_json::from_str(&g.body).expect("JSON body");
            v["text"].as_str().expect("text").to_string()
        })
        .collect();
    eprintln!("the receiver got {} alert(s):", texts.len());
    for t in &texts {
        eprintln!("  {t}");
    }
    let rollback = texts
        .iter()
        .find(|t| t.contains("ROLLED BACK"))
        .expect("a rollback alert");
    assert!(rollback.contains("by auto-rollback"), "{rollback}");
    assert!(
        rollback.contains("BREACH (") && rollback.contains("consecutive polls"),
        "names the breaching metric, value and threshold: {rollback}"
    );
    assert!(
        rollback.contains("error rate") || rollback.contains("p99"),
        "{rollback}"
    );
    // Two polls in breach roll back: one alert for the first, not one a poll.
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("BREACHES its guardrails"))
            .count(),
        1,
        "the first breach only: {texts:?}"
    );
    assert!(stdout.contains("alert sent: rollback"), "{stdout}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_no_secret("the journal", &std::fs::read_to_string(&journal).unwrap());
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log_text.is_empty(), "the log was written");
    assert_no_secret("the log", &log_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_reaching_100_sends_a_promote_alert_with_a_custom_template() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(true);
    let mut h = hook(
        format!("http://127.0.0.1:{}/hook", receiver.port),
        &[AlertEvent::Promote],
    );
    h.template = Some(
        r#"{"event": "{{event}}", "service": "{{service}}", "from": "{{from}}", "to": "{{split}}", "by": "{{origin}}"}"#
            .into(),
    );
    let running = at_25(dir.path(), vec![h], Policy::default()).await;
    running
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::FULL,
                reason: None,
                force: true,
            },
        )
        .await
        .expect("set 100 %");
    until(&running, Duration::from_secs(10), |s| {
        s.events
            .iter()
            .any(|e| e.text.starts_with("alert sent: promote"))
    })
    .await;
    running.stop().await;
    let got = receiver.got();
    assert_eq!(got.len(), 1, "only promote was asked for: {got:?}");
    let v: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(v["event"], "promote");
    assert_eq!(v["service"], "demo-chat-model (healthy)");
    assert_eq!(v["from"], "25%");
    assert_eq!(v["to"], "100%");
    assert_eq!(v["by"], "cli");
}

/// A cockpit whose terminal is lost (here with `on_terminal_loss = "exit"`)
/// alerts every webhook, even one whose `on` does not list it, saying the
/// split it leaves; the journal says `terminal lost at 25 %`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_terminal_alerts_every_webhook_with_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(true);
    let alerts = vec![hook(secret_url(receiver.port), &[AlertEvent::Rollback])];
    let running = at_25(dir.path(), alerts.clone(), Policy::default()).await;
    let journal = running.journal.clone();
    let mut config = app::demo_config(Scenario::Healthy, Duration::from_secs(600), None);
    config.alerts = alerts;
    config.safety.on_terminal_loss = cutover::config::TerminalLoss::Exit;
    let started = Instant::now();
    let code = cutover::guardian::on_terminal_lost(running, &config, "end of input").await;
    let took = started.elapsed();
    assert_eq!(code, 129);
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
    let got = receiver.got();
    assert_eq!(got.len(), 1, "{got:?}");
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("JSON");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("LOST ITS TERMINAL") && text.contains("green at 25%"),
        "{text}"
    );
    assert!(text.contains("Now: exiting"), "{text}");
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert!(lines.contains("terminal lost at 25 %; exiting"), "{lines}");
    assert!(lines.contains("\"action\":\"alert sent\""), "{lines}");
}

/// Issue 16, point 8: a receiver answering 302 got the alert re-sent as a
/// GET without its body, and the cockpit said "alert sent (HTTP 200)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_failure_that_names_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::replying(Reply::Redirect("/moved-here"));
    let running = at_25(
        dir.path(),
        vec![hook(secret_url(receiver.port), &[AlertEvent::Rollback])],
        Policy::default(),
    )
    .await;
    running
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await
        .expect("rollback");
    until(&running, Duration::from_secs(10), |s| {
        s.events.iter().any(|e| e.text.contains("ALERT NOT SENT"))
    })
    .await;
    let shown = events(&running.handle.current());
    running.stop().await;
    let got = receiver.got();
    eprintln!("{shown}\nthe receiver got: {got:#?}");
    assert_eq!(got.len(), 1, "the POST only, never followed: {got:?}");
    assert_eq!(got[0].method, "POST");
    let want = format!(
        "HTTP 302 Found redirects to http://127.0.0.1:{}/moved-here",
        receiver.port
    );
    assert!(shown.contains(&want), "{shown}");
    assert!(!shown.contains("alert sent"), "{shown}");
    assert_no_secret("the events", &shown);
}

/// A green error rate that breaches one poll in three: a new run of
/// breaches every third poll.
fn flapping() -> engine_rig::Scripted {
    engine_rig::Scripted::new("flapping", Duration::from_millis(100), |n| {
        let green = if n.is_multiple_of(3) { 20.0 } else { 0.1 };
        (engine_rig::readings(0.1), engine_rig::readings(green))
    })
}

/// Issue 16, point 8: a metric breaching one poll in three sent 20 breach
/// alerts a minute; now one per metric per `interval` (default 5 min).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_breach_is_alerted_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let receiver = Receiver::start(true);
    let mut config = engine_rig::config("flapping");
    config.auto_rollback.enabled = false;
    config.alerts = vec![hook(
        format!("http://127.0.0.1:{}/hook", receiver.port),
        &[AlertEvent::Breach],
    )];
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let options = EngineOptions {
        notices: Some(tx),
        ..Default::default()
    };
    let (handle, task) = cutover::engine::spawn(
        &config,
        std::sync::Arc::new(engine_rig::FakeRouter::at(25)),
        Box::new(flapping()),
        Journal::open(&path).unwrap(),
        options,
    )
    .unwrap();
    let alerts =
        cutover::alerts::spawn(&config.alerts, rx, handle.clone(), Policy::default()).unwrap();
    // 100 ms polls: about ten runs of breaches in three seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    alerts.after_engine(cutover::alerts::AfterEngine {
        journal: path.clone(),
        service: "flapping".into(),
    });
    let _ = handle.call(Origin::Cli, Command::Shutdown).await;
    let _ = task.await;
    alerts.finish().await;
    let runs = Journal::read_all(&path)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == RecordKind::Breach && r.action == Some(RecordAction::Breach))
        .count();
    let got = receiver.got();
    eprintln!(
        "{runs} runs of breaches; the receiver got {} alert(s)",
        got.len()
    );
    assert!(runs >= 5, "the source flapped: {runs} runs");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].body.contains("BREACHES"), "{got:?}");
}

/// Issue 16, point 8: `q` with a hanging receiver waited 23 s, ignored
/// Ctrl-C and kept the journal's lock, so a cockpit started meanwhile came
/// up read-only. Now the engine stops first: the lock is free at once, the
/// wait is said, and SIGINT ends it.
#[test]
fn quitting_with_a_hung_receiver_releases_the_journal_and_ctrl_c_ends_the_wait() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let hung = Receiver::start(false);
    let config = dir.path().join("cutover.toml");
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &config,
        format!(
            r#"[service]
name = "chat-model"

[source]
kind = "demo"
interval = "1s"
timeout = "500ms"
window = "5s"

[router]
kind = "demo"

[router.demo]
scenario = "degrading"

[plan]
dwell = "2s"
progress_deadline = "60s"

[journal]
path = "{}"

[[alerts]]
url = "{}"
on = ["rollback"]
"#,
            journal.display(),
            secret_url(hung.port)
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let pid = child.id() as i32;
    let kill = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status();
    };
    // The degrading demo rolls back on its own; the alert then hangs.
    let mut stderr = Vec::new();
    let waiting = loop {
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(line) => {
                let found = line.contains("waiting up to");
                stderr.push(line);
                if found {
                    break Instant::now();
                }
            }
            Err(_) => {
                kill("KILL");
                panic!("never waited for the alert:\n{}", stderr.join("\n"));
            }
        }
    };
    // A new cockpit takes the journal while the old one still waits.
    let taken = Journal::open(&journal);
    let still_running = child.try_wait().unwrap().is_none();
    let lock = taken.map(|_| ()).map_err(|e| e.to_string());
    kill("INT");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if waiting.elapsed() > Duration::from_secs(10) {
            kill("KILL");
            panic!("Ctrl-C did not end the wait:\n{}", stderr.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let ended = waiting.elapsed();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        stderr.push(line);
    }
    let stderr = stderr.join("\n");
    eprintln!("{stderr}\nexit {code:?} {ended:?} after the wait began");
    assert!(still_running, "the wait was over before the lock was tried");
    assert_eq!(lock, Ok(()), "the journal's lock is free during the wait");
    assert!(stderr.contains("journal released"), "{stderr}");
    assert!(stderr.contains("Ctrl-C stops waiting"), "{stderr}");
    assert!(stderr.contains("abandoned at exit"), "{stderr}");
    assert_eq!(code, Some(3), "rolled back");
    assert_no_secret("stderr", &stderr);
}
