//! The Prometheus source against a real Prometheus (Debian's package),
//! scraping the embedded demo fleet every second. One Prometheus for the
//! whole file (it takes ~7 s before rate() has data), so every check runs
//! in one test, in order; stopping and restarting it comes last.
//!
//! Without the binary this skips with a visible message; with
//! CUTOVER_REQUIRE_SERVERS=1 (CI) it fails instead.

use crate::support::engine as engine_rig;
use crate::support::prometheus as prom;
use crate::support::proxy;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};

use std::process::Command as Process;
use std::time::{Duration, Instant};

use cutover::app;
use cutover::config::{PromQueries, ScrapeConfig, SourceConfig};
use cutover::demo::Scenario;
use cutover::engine::{Command, EngineOptions, Origin};
use cutover::metrics::MetricSource;
use cutover::metrics::prometheus::{PrometheusSource, check};
use cutover::metrics::scrape::ScrapeSource;
use cutover::model::{Color, Metric, NoData, Reading, Snapshot, Split};

fn host_ports(urls: &[String]) -> Vec<String> {
    cutover::cli::exporter::targets(urls)
}

fn value(s: &Snapshot, c: Color, m: Metric) -> Option<f64> {
    s.color(c).get(m).value()
}

fn all_values(s: &Snapshot) -> bool {
    Color::BOTH
        .iter()
        .all(|c| Metric::ALL.iter().all(|m| value(s, *c, *m).is_some()))
}

/// Polls until every metric of both colours has a value.
async fn poll_until_values(src: &mut PrometheusSource, within: Duration) -> Snapshot {
    let deadline = Instant::now() + within;
    loop {
        let s = src.poll().await;
        if all_values(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "no values within {within:?}: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn prometheus_source_against_a_real_prometheus() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Prometheus,
        "prometheus_source_against_a_real_prometheus",
    ) {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(240), run())
            .await
            .expect("the Prometheus test took over 240 s")
    });
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir(&prom_dir).unwrap();
    let base = prom::free_ports(4);
    let prom_port = prom::free_port();
    let url = format!("http://127.0.0.1:{prom_port}");

    // The cockpit's engine over the demo fleet (fixed ports) and this
    // Prometheus, at 50 % so both colours serve.
    let journal = dir.path().join("journal.jsonl");
    let mut config = app::demo_prometheus_config(
        Scenario::Healthy,
        Duration::from_secs(600),
        Some(journal.clone()),
        &url,
        base,
    );
    config.auto_rollback.enabled = false;
    let running = app::start(&config, EngineOptions::default()).await.unwrap();
    engine_rig::wait_for(&running.handle, "the router's answer", |s| {
        s.traffic.split.is_some()
    })
    .await;
    running
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(50).unwrap(),
                reason: Some("both colours serve".into()),
                force: true,
            },
        )
        .await
        .unwrap();
    let fleet = running.fleet.as_ref().unwrap();
    let (blue_urls, green_urls) = (fleet.urls(Color::Blue), fleet.urls(Color::Green));
    let mut server = prom::Prometheus::start(
        &prom_dir,
        prom_port,
        &prom::config(&host_ports(&blue_urls), &host_ports(&green_urls)),
    );
    let source_cfg: SourceConfig = config.source.clone();
    let cutover::config::SourceKind::Prometheus(prom_cfg) = config.source.kind.clone() else {
        panic!("the test config reads Prometheus")
    };
    let mut src = PrometheusSource::new(
        &prom_cfg,
        &source_cfg,
        &cutover_testkit::prometheus::legacy_specs(&prom_cfg),
    )
    .unwrap();
    assert_eq!(src.kind(), "prometheus");

    // 1. rate() has data after about 6-7 s (discovery waits 5 s).
    let first = poll_until_values(&mut src, Duration::from_secs(40)).await;
    eprintln!("first values after start: {first:?}");
    for c in Color::BOTH {
        assert_eq!(first.color(c).pods_up, Some((2, 2)), "{c}");
        assert!(first.color(c).up);
    }

    ground_truth(&mut src, &blue_urls, &green_urls).await;
    honest_readings(&url, &source_cfg).await;
    backfill(&mut src).await;
    auth(&url, &source_cfg, dir.path()).await;
    secrets_stay_hidden(&url, dir.path()).await;
    stop_and_restart(&mut server, &mut src, &running.handle).await;

    running.stop().await;
    let journal_text = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(
        !journal_text.contains("tok-"),
        "a token reached the journal"
    );
    drop(server);
}

/// The cockpit's numbers agree with the fleet's own: the same pods read
/// directly (the scrape source's arithmetic, itself tested against the
/// simulator) over the same 10 s as Prometheus' rate() window.
async fn ground_truth(src: &mut PrometheusSource, blue: &[String], green: &[String]) {
    // The fleet serves the common names, not the scrape defaults.
    let scrape_cfg = ScrapeConfig {
        latency_histogram: cutover::demo::stats::LATENCY_HISTOGRAM.into(),
        requests_counter: cutover::demo::stats::REQUESTS_COUNTER.into(),
        ..ScrapeConfig::new(blue.to_vec(), green.to_vec())
    };
    let window = Duration::from_secs(10);
    let mut truth = ScrapeSource::legacy(&scrape_cfg, Duration::from_secs(2), window).unwrap();
    let _baseline = truth.poll().await;
    tokio::time::sleep(window).await;
    let (t, p) = tokio::join!(truth.poll(), src.poll());
    eprintln!("ground truth: {t:?}\nprometheus:   {p:?}");
    // Tolerances: p99 is interpolated within the same histogram buckets,
    // over windows that differ by up to one 1 s scrape: 15 % or 25 ms.
    // Error rate: percentage points over ~5000 requests per colour: 0.5.
    // Quality: Prometheus averages pods, the scrape source weights them by
    // traffic; round-robin makes the two agree within 0.02.
    for c in Color::BOTH {
        let (tp, pp) = (
            value(&t, c, Metric::P99Ms).unwrap(),
            value(&p, c, Metric::P99Ms).unwrap(),
        );
        assert!(
            (tp - pp).abs() <= (0.15 * tp).max(25.0),
            "{c} p99: truth {tp} ms, prometheus {pp} ms"
        );
        let (te, pe) = (
            value(&t, c, Metric::ErrorRate).unwrap(),
            value(&p, c, Metric::ErrorRate).unwrap(),
        );
        assert!(
            (te - pe).abs() <= 0.5,
            "{c} error rate: truth {te} %, prometheus {pe} %"
        );
        let (tq, pq) = (
            value(&t, c, Metric::Quality).unwrap(),
            value(&p, c, Metric::Quality).unwrap(),
        );
        assert!(
            (tq - pq).abs() <= 0.02,
            "{c} quality: truth {tq}, prometheus {pq}"
        );
        let (tr, pr) = (t.color(c).rps.unwrap(), p.color(c).rps.unwrap());
        assert!(
            (tr - pr).abs() <= 0.15 * tr,
            "{c} rps: truth {tr}, prometheus {pr}"
        );
    }
    // The observed split at 50 %.
    let observed = cutover::engine::observed::of_snapshot(&p).unwrap();
    assert!((observed - 50.0).abs() < 5.0, "observed split {observed}");
    // The data is fresh: its time is the last scrape, within a few seconds.
    let age = std::time::SystemTime::now().duration_since(p.wall).unwrap();
    assert!(age < Duration::from_secs(3), "data age {age:?}");
}

/// A bad query, no series, two series: each is no data with its reason.
async fn honest_readings(url: &str, source_cfg: &SourceConfig) {
    let mut cfg = app::demo_prometheus(url);
    cfg.queries = PromQueries {
        p99_ms: Some("sum(rate(".into()),
        error_rate: Some(r#"avg(no_such_series{track="$color"})"#.into()),
        quality: Some(r#"up{track="$color"}"#.into()),
        rps: None,
        up: None,
        data_time: None,
    };
    let mut src = PrometheusSource::new(
        &cfg,
        source_cfg,
        &cutover_testkit::prometheus::legacy_specs(&cfg),
    )
    .unwrap();
    let s = src.poll().await;
    for c in Color::BOTH {
        match s.color(c).get(Metric::P99Ms) {
            Reading::NoData(NoData::Other(msg)) => {
                assert!(msg.starts_with("bad_data: "), "{msg}");
                assert!(msg.contains("parse error"), "{msg}");
            }
            other => panic!("bad query gave {other:?}"),
        }
        assert_eq!(
            s.color(c).get(Metric::ErrorRate),
            &Reading::NoData(NoData::Missing("no series".into()))
        );
        match s.color(c).get(Metric::Quality) {
            Reading::NoData(NoData::Other(msg)) => {
                assert!(msg.starts_with("2 series where one is needed"), "{msg}");
                assert!(msg.contains("labels differ: instance"), "{msg}");
            }
            other => panic!("two series gave {other:?}"),
        }
    }
    // `check` reports each, and fails.
    let lines = check::run(&src).await;
    let text = check::render(src.client().url(), &lines);
    eprintln!("{text}");
    assert_eq!(lines.len(), 6);
    assert!(text.contains("FAILED: bad_data: "), "{text}");
    assert!(
        text.contains("no data: missing series: no series  [series: 0"),
        "{text}"
    );
    assert!(
        text.contains(r#"avg(no_such_series{track="green"})"#),
        "{text}"
    );
    assert!(text.contains("# 6 queries, 4 failed"), "{text}");
}

async fn backfill(src: &mut PrometheusSource) {
    let h = src
        .backfill(Duration::from_secs(120), Duration::from_secs(1))
        .await;
    assert!(h.len() >= 10, "only {} snapshots", h.len());
    assert!(
        h.windows(2)
            .all(|w| w[0].wall < w[1].wall && w[0].at < w[1].at)
    );
    let filled = h
        .iter()
        .filter(|s| value(s, Color::Green, Metric::P99Ms).is_some())
        .count();
    assert!(
        filled >= 10,
        "{filled} of {} snapshots have green p99",
        h.len()
    );
    let last = h.last().unwrap();
    assert!(value(last, Color::Blue, Metric::Quality).is_some());
    assert!(last.blue.rps.is_some());
}

/// A token file and a tenant header reach the server through a proxy that
/// demands both; a rotated token is read again; without them: no data.
async fn auth(url: &str, source_cfg: &SourceConfig, dir: &std::path::Path) {
    let proxy = proxy::start(url.to_string(), "/prom", "tok-first", "team-ml").await;
    let token_file = dir.join("prom-token");
    std::fs::write(&token_file, "tok-first\n").unwrap();
    let mut cfg = app::demo_prometheus(&format!("http://{}/prom/", proxy.addr));
    cfg.bearer_token_file = Some(token_file.clone());
    cfg.headers.insert("X-Scope-OrgID".into(), "team-ml".into());
    let mut src = PrometheusSource::new(
        &cfg,
        source_cfg,
        &cutover_testkit::prometheus::legacy_specs(&cfg),
    )
    .unwrap();
    let s = src.poll().await;
    assert!(all_values(&s), "through the proxy: {s:?}");
    assert_eq!(proxy.seen.lock().unwrap().1, 0, "nothing refused");

    // Rotation: the proxy now wants the new token, the file has it.
    *proxy.token.lock().unwrap() = "tok-second-longer".into();
    std::fs::write(&token_file, "tok-second-longer\n").unwrap();
    let s = src.poll().await;
    assert!(all_values(&s), "after rotation: {s:?}");
    assert_eq!(proxy.seen.lock().unwrap().1, 0, "nothing refused");

    // Without the tenant: refused, no data with the status, no secret.
    cfg.headers.clear();
    let mut bare = PrometheusSource::new(
        &cfg,
        source_cfg,
        &cutover_testkit::prometheus::legacy_specs(&cfg),
    )
    .unwrap();
    let s = bare.poll().await;
    assert_eq!(
        s.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::Unreachable("HTTP 401 Unauthorized".into()))
    );
    assert!(!format!("{s:?} {cfg:?}").contains("tok-"));
}

/// `check`, `status --json`, the log and the journal never show a token.
async fn secrets_stay_hidden(url: &str, dir: &std::path::Path) {
    let secret = "tok-env-9f8e7d6c5b4a";
    let proxy = proxy::start(url.to_string(), "/prom", secret, "team-ml").await;
    let config = dir.join("secret.toml");
    let journal = dir.join("secret-journal.jsonl");
    let log = dir.join("secret.log");
    std::fs::write(
        &config,
        format!(
            r#"[service]
name = "secret-test"
[source]
kind = "prometheus"
interval = "1s"
timeout = "800ms"
window = "10s"
[source.prometheus]
url = "http://{}/prom"
bearer_token_env = "CUTOVER_TEST_PROM_TOKEN"
headers = {{ "X-Scope-OrgID" = "team-ml" }}
[source.prometheus.queries]
p99_ms = '{}'
quality = 'avg(model_quality_score{{track="$color"}})'
up = 'up{{track="$color"}}'
[router]
kind = "demo"
[router.demo]
scenario = "healthy"
[journal]
path = "{}"
"#,
            proxy.addr,
            "1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{track=\"$color\"}[$window])))",
            journal.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Process::new("timeout")
            .args(["60", env!("CARGO_BIN_EXE_cutover")])
            .arg("--config")
            .arg(&config)
            .arg("--log")
            .arg(&log)
            .args(args)
            .env("CUTOVER_TEST_PROM_TOKEN", secret)
            .output()
            .unwrap();
        (
            out.status,
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (status, out) = tokio::task::block_in_place(|| run(&["check"]));
    eprintln!("{out}");
    assert!(status.success(), "check failed: {out}");
    assert!(out.contains("green p99_ms"), "{out}");
    assert!(!out.contains(secret), "check shows the token");
    let (status, out) = tokio::task::block_in_place(|| run(&["status", "--json"]));
    assert!(status.success(), "status failed: {out}");
    assert!(!out.contains(secret), "status --json shows the token");
    assert!(
        proxy.seen.lock().unwrap().0 > 0,
        "the token reached the proxy"
    );
    for f in [&log, &journal] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        assert!(!text.contains(secret), "{} holds the token", f.display());
    }
}

/// Stopping Prometheus: no data, a growing age, no crash. Starting it
/// again: values return.
async fn stop_and_restart(
    server: &mut prom::Prometheus,
    src: &mut PrometheusSource,
    handle: &cutover::engine::EngineHandle,
) {
    let state = handle.state();
    let quality_at = |c| state.borrow().last_value(c, "quality").map(|v| v.at);
    assert!(
        quality_at(Color::Green).is_some(),
        "the engine has a green quality"
    );
    tokio::task::block_in_place(|| server.stop());
    let s = src.poll().await;
    assert_eq!(
        s.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::Unreachable("connection refused".into()))
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let last = quality_at(Color::Green).unwrap();
    let age1 = last.elapsed();
    {
        let st = state.borrow();
        let snap = st.guard.snapshot.as_ref().unwrap();
        assert!(
            matches!(
                snap.green.get(Metric::Quality),
                Reading::NoData(NoData::Unreachable(_))
            ),
            "{:?}",
            snap.green
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        quality_at(Color::Green),
        Some(last),
        "no new value while down"
    );
    assert!(
        last.elapsed() >= age1 + Duration::from_secs(1),
        "the age grows"
    );

    tokio::task::block_in_place(|| server.restart());
    poll_until_values(src, Duration::from_secs(40)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while quality_at(Color::Green) == Some(last) {
        assert!(Instant::now() < deadline, "the engine did not recover");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
