//! Polls a local Prometheus for the six queries (three metrics × two
//! colours, all concurrent) 200 times and prints the median and p99 poll
//! latency and the CPU time per poll (this process: client, JSON, readings).
//! Target: a whole poll in at most 20 ms median on loopback.
//!
//! It starts its own Prometheus (Debian's package) on 127.0.0.1 with a
//! private data directory, scraping the demo fleet every second, and stops
//! it at the end. A second figure polls all ten queries of the demo config
//! (adding rps, up and data time).
//!
//! `cargo run --release --example bench_prometheus`

use std::time::{Duration, Instant};

use cutover::app;
use cutover::demo::{Fleet, Scenario};
use cutover::metrics::MetricSource;
use cutover::metrics::prometheus::PrometheusSource;
use cutover::model::{Color, Split};
use cutover::router::demo::SharedSplit;
use cutover_testkit::prometheus as prom;

const POLLS: usize = 200;

/// This process's CPU time (user + system) from /proc, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn measure(name: &str, src: &mut PrometheusSource) {
    // Warm up connections.
    for _ in 0..5 {
        src.poll().await;
    }
    let mut lat = Vec::with_capacity(POLLS);
    let mut no_data = 0;
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    for _ in 0..POLLS {
        let t = Instant::now();
        let s = src.poll().await;
        lat.push(t.elapsed());
        no_data += Color::BOTH
            .iter()
            .flat_map(|c| s.color(*c).metrics.iter())
            .filter(|r| r.is_configured() && r.value().is_none())
            .count();
    }
    let wall = wall0.elapsed();
    let cpu = cpu_seconds() - cpu0;
    lat.sort();
    println!(
        "{name}: {} queries/poll, {POLLS} polls: median {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         CPU {:.2} ms/poll (process, {:.1} % of wall); readings without a value: {no_data}",
        src.queries().len(),
        pct(&lat, 0.5).as_secs_f64() * 1000.0,
        pct(&lat, 0.99).as_secs_f64() * 1000.0,
        lat.last().unwrap().as_secs_f64() * 1000.0,
        cpu * 1000.0 / POLLS as f64,
        100.0 * cpu / wall.as_secs_f64(),
    );
}

fn main() {
    if !prom::available() {
        eprintln!("bench_prometheus: `prometheus` is not installed (apt-get install prometheus)");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let fleet = Fleet::start(
            Scenario::Healthy,
            1000,
            2,
            SharedSplit::new(Split::new(50).unwrap()),
        )
        .await
        .unwrap();
        let t = |c| cutover::cli::exporter::targets(&fleet.urls(c));
        let port = prom::free_port();
        let server = tokio::task::block_in_place(|| {
            prom::Prometheus::start(
                dir.path(),
                port,
                &prom::config(&t(Color::Blue), &t(Color::Green)),
            )
        });
        let mut source_cfg =
            app::demo_config(Scenario::Healthy, Duration::from_secs(10), None).source;
        source_cfg.window = Duration::from_secs(10);
        let full = app::demo_prometheus(&server.url());
        let mut six = full.clone();
        six.queries.rps = None;
        six.queries.up = None;
        six.queries.data_time = None;
        let mut src = PrometheusSource::new(
            &six,
            &source_cfg,
            &cutover_testkit::prometheus::legacy_specs(&six),
        )
        .unwrap();
        // rate() needs a few scrapes: wait for values.
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let s = src.poll().await;
            if Color::BOTH
                .iter()
                .all(|c| s.color(*c).metrics.iter().all(|r| r.value().is_some()))
            {
                break;
            }
            assert!(Instant::now() < deadline, "no data from Prometheus: {s:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // The machine's load is part of every figure: say what it was.
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "load average {} on {} CPUs",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut one = six.clone();
        one.queries.error_rate = None;
        one.queries.quality = None;
        let mut single = PrometheusSource::new(
            &one,
            &source_cfg,
            &cutover_testkit::prometheus::legacy_specs(&one),
        )
        .unwrap();
        measure("p99 only", &mut single).await;
        measure("six queries", &mut src).await;
        let mut all = PrometheusSource::new(
            &full,
            &source_cfg,
            &cutover_testkit::prometheus::legacy_specs(&full),
        )
        .unwrap();
        measure("demo config", &mut all).await;
        drop(server);
        drop(fleet);
    });
}
