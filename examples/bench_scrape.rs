//! Measures what one poll of the scrape source costs besides the network:
//! parsing every pod's text and computing the readings. Prints figures.
//!
//! Shape: 2 colours × 4 pods, each pod exporting a 12-bucket latency
//! histogram over 20 label sets, a request counter over 20 × 3 status
//! codes and a quality gauge. A second figure adds HTTP over loopback.
//! Then the vLLM fixture (`assets/fixtures/vllm.prom`, 651 series with
//! `vllm:` names): its parse time with the old and the new parser, and a
//! poll of 2 colours x 4 such pages.
//!
//! Last, one poll of 8 targets over loopback, each serving a vLLM page,
//! with 12 metrics (the vLLM preset, 4 `[[metrics]]` and a cost) against
//! today's three, per poll and per metric; and per verdict: the guardrails
//! judging each poll's readings of both colours, as the engine does.
//!
//! `cargo run --release --example bench_scrape` (`-- poll`: the last only)

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cutover::config::ScrapeConfig;
use cutover::engine::guardrail::{self, Specs};
use cutover::metrics::MetricSource;
use cutover::metrics::scrape::vllm::VllmPage;
use cutover::metrics::scrape::{Sample, ScrapeSource, TargetResult, Value, parse, parse_where};
use cutover::model::{Reading, Snapshot, Split};
use http_body_util::Full;
use hyper::Response;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

const PODS: usize = 4;
const LABEL_SETS: usize = 20;
const BOUNDS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

/// One pod's text after `n` rounds of traffic.
fn body(pod: usize, n: u64) -> String {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("# HELP request_duration_seconds Request latency.\n");
    s.push_str("# TYPE request_duration_seconds histogram\n");
    for set in 0..LABEL_SETS {
        let per_round = 10 + (set + pod) as u64;
        let total = per_round * n;
        for (i, le) in BOUNDS.iter().enumerate() {
            // Roughly log-normal: most requests in the middle buckets.
            let share = [
                0.01, 0.03, 0.08, 0.2, 0.45, 0.7, 0.85, 0.93, 0.97, 0.99, 0.995, 1.0,
            ][i];
            let c = (total as f64 * share).round() as u64;
            let _ = writeln!(
                s,
                "request_duration_seconds_bucket{{model=\"m{set}\",route=\"/v1/infer\",le=\"{le}\"}} {c}"
            );
        }
        let _ = writeln!(
            s,
            "request_duration_seconds_sum{{model=\"m{set}\",route=\"/v1/infer\"}} {}",
            total as f64 * 0.2
        );
        let _ = writeln!(
            s,
            "request_duration_seconds_count{{model=\"m{set}\",route=\"/v1/infer\"}} {total}"
        );
    }
    s.push_str("# TYPE requests_total counter\n");
    for set in 0..LABEL_SETS {
        let total = (10 + (set + pod) as u64) * n;
        for (code, share) in [("200", 0.97), ("429", 0.02), ("503", 0.01)] {
            let _ = writeln!(
                s,
                "requests_total{{model=\"m{set}\",code=\"{code}\"}} {}",
                (total as f64 * share).round() as u64
            );
        }
    }
    s.push_str("# TYPE model_quality_score gauge\n");
    let _ = writeln!(s, "model_quality_score {}", 0.85 + pod as f64 * 0.01);
    s
}

fn config(blue: Vec<String>, green: Vec<String>) -> ScrapeConfig {
    ScrapeConfig::new(blue, green)
}

fn show(r: &Reading) -> String {
    match r {
        Reading::Value(v) => format!("{v:.3}"),
        Reading::NoData(n) => n.to_string(),
    }
}

fn main() -> anyhow::Result<()> {
    // `-- poll`: only the vLLM poll of 3 against 12 metrics.
    if std::env::args().nth(1).as_deref() == Some("poll") {
        return vllm_metrics_poll();
    }
    let urls = |c: &str| {
        (0..PODS)
            .map(|p| format!("http://{c}-{p}.invalid/metrics"))
            .collect::<Vec<_>>()
    };
    let cfg = config(urls("blue"), urls("green"));
    let mut src = ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30))?;

    // Bodies are generated before timing: only parse + compute is measured.
    let rounds: u64 = 400;
    let polls: Vec<Vec<TargetResult>> = (1..=rounds)
        .map(|n| (0..PODS).map(|p| Ok(body(p, n))).collect())
        .collect();
    let lines_per_pod = polls[0][0].as_ref().map_or(0, |b| b.lines().count());
    let bytes_per_pod = polls[0][0].as_ref().map_or(0, |b| b.len());

    let t0 = Instant::now();
    let mut last = None;
    let mut per_poll = Vec::with_capacity(polls.len());
    for (i, bodies) in polls.iter().enumerate() {
        // Synthetic clock, one second per poll, so the window slides.
        let at = t0 + Duration::from_secs(i as u64 + 1);
        let start = Instant::now();
        let snap = src.ingest(bodies, bodies, at);
        per_poll.push(start.elapsed());
        last = Some(snap);
    }
    per_poll.sort();
    let total: Duration = per_poll.iter().sum();
    let mean = total / per_poll.len() as u32;
    let pct = |q: f64| per_poll[((per_poll.len() - 1) as f64 * q) as usize];

    println!("scrape source, parse + compute (no network)");
    println!(
        "  shape: 2 colours x {PODS} pods, histogram {} buckets x {LABEL_SETS} label sets; {lines_per_pod} lines, {bytes_per_pod} bytes per pod",
        BOUNDS.len()
    );
    println!("  polls measured: {}", per_poll.len());
    println!(
        "  per poll: mean {:.0} us, median {:.0} us, p99 {:.0} us",
        mean.as_secs_f64() * 1e6,
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
    println!(
        "  throughput: {:.0} polls/s",
        per_poll.len() as f64 / total.as_secs_f64()
    );
    println!(
        "  per sample line: {:.2} us",
        mean.as_secs_f64() * 1e6 / (2 * PODS * lines_per_pod) as f64
    );
    // The same bodies through prometheus-parse alone, to show where the
    // time goes.
    let start = Instant::now();
    let mut samples = 0usize;
    for bodies in &polls {
        for b in bodies.iter().flatten() {
            for _ in 0..2 {
                let lines = b.lines().map(|l| Ok(l.to_owned()));
                samples += prometheus_parse::Scrape::parse(lines).map_or(0, |s| s.samples.len());
            }
        }
    }
    let parse_only = start.elapsed() / polls.len() as u32;
    println!(
        "  of which prometheus-parse alone: {:.0} us per poll ({samples} samples parsed)",
        parse_only.as_secs_f64() * 1e6
    );
    if let Some(s) = &last {
        println!(
            "  last snapshot: window {:?}, blue p99 {} ms, error rate {} %, quality {}, rps {:?}",
            s.window,
            show(&s.blue.metrics[0]),
            show(&s.blue.metrics[1]),
            show(&s.blue.metrics[2]),
            s.blue.rps.map(|r| r.round())
        );
    }

    loopback()?;
    vllm_parse()?;
    vllm_poll()?;
    vllm_metrics_poll()
}

/// Sample lines a parse returned (a typed histogram's buckets one each).
fn entries(samples: &[Sample]) -> usize {
    samples
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(h) => h.len(),
            Value::Summary(q) => q.len(),
            _ => 1,
        })
        .sum()
}

/// Median and p99 of a sorted list, in microseconds.
fn median_p99(sorted: &[Duration]) -> (f64, f64) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// Parse time of the vLLM fixture, median of many: prometheus-parse alone
/// as the wrapper fed it before names with `:` were read (it drops them);
/// the same parser on the fixture with every `:` written `_` (the same
/// work, nothing dropped); `scrape::parse` (the `:` stand-in and back,
/// the label rewrite, the counts); and `parse_where` feeding only the
/// lines of the three series the scrape source watches, as it does.
fn vllm_parse() -> anyhow::Result<()> {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/fixtures/vllm.prom"
    ))?;
    let underscored = body.replace(':', "_");
    let old = |text: &str| {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        prometheus_parse::Scrape::parse(lines).map_or(0, |s| entries(&s.samples))
    };
    let new = |text: &str| parse("vllm", text).map_or(0, |p| entries(&p.samples));
    // What the scrape source feeds: the three series it watches.
    let watched = |text: &str| {
        let keep = |n: &str| {
            n == "vllm:time_to_first_token_seconds"
                || n == "vllm:time_to_first_token_seconds_bucket"
                || n == "http_requests_total"
                || n == "vllm:kv_cache_usage_perc"
        };
        parse_where("vllm", text, keep).map_or(0, |p| entries(&p.samples))
    };
    const RUNS: usize = 2000;
    let mut times: [Vec<Duration>; 4] = Default::default();
    let mut read = [0usize; 4];
    // Interleaved, so drift in the machine's load hits all three alike.
    for _ in 0..RUNS {
        for (i, (f, text)) in [
            (&old as &dyn Fn(&str) -> usize, &body),
            (&old, &underscored),
            (&new, &body),
            (&watched, &body),
        ]
        .into_iter()
        .enumerate()
        {
            let start = Instant::now();
            read[i] = std::hint::black_box(f(text));
            times[i].push(start.elapsed());
        }
    }
    let lines = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    println!(
        "vLLM fixture parse ({lines} sample lines, {} bytes), median of {RUNS}",
        body.len()
    );
    let names = [
        "old: prometheus-parse, as fed before",
        "old parser, ':' written as '_'",
        "new: scrape::parse",
        "new, watched series only (parse_where)",
    ];
    for (i, name) in names.iter().enumerate() {
        times[i].sort();
        let (median, p99) = median_p99(&times[i]);
        println!(
            "  {name:<38} median {median:>6.0} us, p99 {p99:>6.0} us, {} of {lines} lines read",
            read[i]
        );
    }
    Ok(())
}

/// One poll's parse + compute of 2 colours x 4 vLLM pages (the scrape
/// source's three readings from vLLM's names), no network.
fn vllm_poll() -> anyhow::Result<()> {
    let urls = |c: &str| {
        (0..PODS)
            .map(|p| format!("http://{c}-{p}.invalid/metrics"))
            .collect::<Vec<_>>()
    };
    let cfg = VllmPage::legacy_names(config(urls("blue"), urls("green")));
    let mut src = ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30))?;
    let polls: Vec<Vec<TargetResult>> = (1..=300u64)
        .map(|n| {
            let mut page = VllmPage::fixture();
            page.requests *= n;
            page.errors *= n;
            (0..PODS).map(|_| Ok(page.render())).collect()
        })
        .collect();
    let t0 = Instant::now();
    let mut per_poll = Vec::with_capacity(polls.len());
    let mut last = None;
    for (i, bodies) in polls.iter().enumerate() {
        let at = t0 + Duration::from_secs(i as u64 + 1);
        let start = Instant::now();
        last = Some(src.ingest(bodies, bodies, at));
        per_poll.push(start.elapsed());
    }
    per_poll.sort();
    let (median, p99) = median_p99(&per_poll);
    println!("vLLM poll: 2 colours x {PODS} fixture pages, parse + compute (no network)");
    println!(
        "  per poll: median {median:.0} us, p99 {p99:.0} us ({} polls)",
        per_poll.len()
    );
    if let Some(s) = last {
        println!(
            "  last snapshot: blue TTFT p99 {} ms, error rate {} %, KV cache {}, {} warnings",
            show(&s.blue.metrics[0]),
            show(&s.blue.metrics[1]),
            show(&s.blue.metrics[2]),
            s.blue.warnings.len()
        );
    }
    Ok(())
}

/// What a test server answers: the body of pod `pod` at round `n`.
type Pages = Arc<dyn Fn(usize, u64) -> Bytes + Send + Sync>;

/// Serves `pages` on 127.0.0.1 at `/pod{N}`, at the round held in the
/// returned cell; returns the address.
async fn serve(pages: Pages) -> anyhow::Result<(std::net::SocketAddr, Arc<Mutex<u64>>)> {
    let round = Arc::new(Mutex::new(1u64));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = round.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (round, pages) = (served.clone(), pages.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let pod: usize = req
                        .uri()
                        .path()
                        .trim_start_matches("/pod")
                        .parse()
                        .unwrap_or(0);
                    let n = round.lock().map_or(1, |g| *g);
                    let body = pages(pod, n);
                    async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok((addr, round))
}

/// The same shape served over HTTP on 127.0.0.1, polled through `poll()`.
fn loopback() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (addr, round) = serve(Arc::new(|pod, n| Bytes::from(body(pod, n)))).await?;
        let urls = || {
            (0..PODS)
                .map(|p| format!("http://{addr}/pod{p}"))
                .collect::<Vec<_>>()
        };
        let cfg = config(urls(), urls());
        let mut src = ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30))?;
        let polls = 200u32;
        let start = Instant::now();
        for n in 1..=u64::from(polls) {
            if let Ok(mut g) = round.lock() {
                *g = n;
            }
            let snap = src.poll().await;
            anyhow::ensure!(snap.blue.up && snap.green.up, "loopback poll failed");
        }
        let took = start.elapsed();
        println!("scrape source, full poll over HTTP on 127.0.0.1 (8 targets, keep-alive)");
        println!(
            "  per poll: mean {:.0} us; {:.0} polls/s (server generates the text on each request)",
            took.as_secs_f64() * 1e6 / f64::from(polls),
            f64::from(polls) / took.as_secs_f64()
        );
        Ok(())
    })
}

/// Metrics a `[[metrics]]` list adds to the vLLM preset to reach 12 with
/// the cost: a median, a queue time, an abort ratio, a prompt token rate.
const EXTRA_METRICS: &str = r#"metrics = [
  { id = "ttft_p50_ms", label = "time to first token p50", unit = "ms", better = "lower", absolute = { warn = "1s", breach = "2s" }, scrape = { histogram = "vllm:time_to_first_token_seconds", q = 0.5, unit = "s" } },
  { id = "queue_p95_ms", label = "queue time p95", unit = "ms", better = "lower", vs_blue = { breach = "+50%" }, scrape = { histogram = "vllm:request_queue_time_seconds", q = 0.95, unit = "s" } },
  { id = "abort_rate", label = "aborted requests", unit = "%", better = "lower", absolute = { warn = "2%", breach = "5%" }, scrape = { numerator = 'vllm:request_success_total{finished_reason="abort"}', denominator = "vllm:request_success_total", unit = "ratio" } },
  { id = "prompt_tokens_per_s", label = "prompt tokens/s", unit = "tokens/s", better = "higher", guard = false, scrape = { counter = "vllm:prompt_tokens_total" } },
]"#;

#[derive(serde::Deserialize)]
struct Extra {
    metrics: Vec<cutover::metricspec::MetricEntry>,
}

/// The vLLM preset, [`EXTRA_METRICS`] and a cost by token prices: 12.
fn twelve_metrics() -> anyhow::Result<Vec<cutover::metricspec::MetricSpec>> {
    use cutover::metricspec::legacy::{Legacy, LegacyGuardrail, LegacySource};
    use cutover::metricspec::{CostConfig, Inputs, resolve};
    let extra: Extra = toml::from_str(EXTRA_METRICS)?;
    let cost = CostConfig {
        prompt_per_mtok: Some(0.5),
        completion_per_mtok: Some(1.5),
        ..CostConfig::default()
    };
    let unused = LegacyGuardrail::default();
    resolve(&Inputs {
        preset: Some("vllm"),
        metrics: &extra.metrics,
        cost: Some(&cost),
        legacy: &Legacy {
            source: LegacySource::Demo,
            p99_ms: unused,
            error_rate: unused,
            quality: unused,
            min_requests: 20,
        },
    })
    .map_err(|(k, m)| anyhow::anyhow!("{k}: {m}"))
}

/// One poll of 8 targets (2 colours x 4 pods) over HTTP on 127.0.0.1,
/// each serving the vLLM fixture's page with its counters advancing:
/// today's three (p99, error rate and a gauge over vLLM's names) against
/// 12 metrics, polled in turns in the same run. Per poll and per metric
/// (poll time / metrics), median and p99; then parse + compute alone.
fn vllm_metrics_poll() -> anyhow::Result<()> {
    const ROUNDS: u64 = 301;
    let specs = twelve_metrics()?;
    anyhow::ensure!(specs.len() == 12, "{} metrics", specs.len());
    // Pages rendered before timing: the server only copies them out.
    let pages: Vec<Bytes> = (1..=ROUNDS)
        .map(|n| {
            let mut page = VllmPage::fixture();
            page.requests *= n;
            page.errors *= n;
            Bytes::from(page.render())
        })
        .collect();
    let page_bytes = pages[0].len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let served = pages.clone();
        let (addr, round) = serve(Arc::new(move |_, n| {
            served[(n as usize - 1) % served.len()].clone()
        }))
        .await?;
        let urls = || {
            (0..PODS)
                .map(|p| format!("http://{addr}/pod{p}"))
                .collect::<Vec<_>>()
        };
        let cfg = config(urls(), urls());
        let three = ScrapeSource::legacy(
            &VllmPage::legacy_names(cfg.clone()),
            Duration::from_secs(2),
            Duration::from_secs(30),
        )?;
        let twelve = ScrapeSource::new(&cfg, &specs, Duration::from_secs(2), Duration::from_secs(30))?;
        let three_specs = guardrail::shared(cutover::config::legacy_specs(
            &cutover::config::SourceKind::Scrape(VllmPage::legacy_names(cfg.clone())),
            20,
        ));
        let mut sources = [
            (three, three_specs, Vec::new()),
            (twelve, guardrail::shared(specs.clone()), Vec::new()),
        ];
        let mut verdicts = [Vec::new(), Vec::new()];
        let mut last = None;
        for n in 1..=ROUNDS {
            if let Ok(mut g) = round.lock() {
                *g = n;
            }
            for ((src, specs, times), verdict) in sources.iter_mut().zip(&mut verdicts) {
                let start = Instant::now();
                let snap = src.poll().await;
                times.push(start.elapsed());
                anyhow::ensure!(snap.blue.up && snap.green.up, "loopback poll failed");
                verdict.push(judge(&snap, specs));
                last = Some(snap);
            }
        }
        println!(
            "vLLM poll over HTTP on 127.0.0.1: 2 colours x {PODS} pods, {page_bytes} bytes a page, {ROUNDS} polls each"
        );
        for ((_, _, times), n) in sources.iter_mut().zip([3u32, 12]) {
            // The first poll opens the connections: not a steady poll.
            times.remove(0);
            times.sort();
            let (median, p99) = median_p99(times);
            println!(
                "  {n:>2} metrics: per poll median {median:>5.0} us, p99 {p99:>5.0} us; \
                 per metric median {:>4.0} us, p99 {:>4.0} us",
                median / f64::from(n),
                p99 / f64::from(n)
            );
        }
        for (verdict, n) in verdicts.iter_mut().zip([3u32, 12]) {
            // The first poll is a baseline: rates and quantiles have no
            // value yet, so little is judged.
            verdict.remove(0);
            let judged = verdict[0].1;
            let mut times: Vec<Duration> = verdict.iter().map(|v| v.0).collect();
            times.sort();
            let (median, p99) = median_p99(&times);
            println!(
                "  {n:>2} metrics: per verdict median {median:>5.1} us, p99 {p99:>5.1} us \
                 ({judged} judgements of both colours, gate reasons and rollback breaches)"
            );
        }
        if let Some(s) = last {
            let shown: Vec<String> = specs
                .iter()
                .zip(&s.blue.metrics)
                .map(|(spec, r)| format!("{} {}", spec.id, show(r)))
                .collect();
            println!("  last blue readings: {}", shown.join(", "));
        }
        Ok::<_, anyhow::Error>(())
    })?;
    ingest_only(&specs, &pages)
}

/// One verdict on `snap` at 25 % green, as the engine reaches it after a
/// poll: every judged metric of both colours, the reasons the gate holds
/// and the breaches that roll back. Its time and how many judgements.
fn judge(snap: &Snapshot, specs: &Specs) -> (Duration, usize) {
    let start = Instant::now();
    let judgements = guardrail::evaluate(snap, Split::new(25), specs);
    std::hint::black_box(guardrail::gate_reasons(&judgements));
    std::hint::black_box(guardrail::rollback_breaches(&judgements));
    (start.elapsed(), judgements.len())
}

/// The same comparison without the network: `ingest` of 2 x 4 pages.
fn ingest_only(specs: &[cutover::metricspec::MetricSpec], pages: &[Bytes]) -> anyhow::Result<()> {
    let urls = |c: &str| {
        (0..PODS)
            .map(|p| format!("http://{c}-{p}.invalid/metrics"))
            .collect::<Vec<_>>()
    };
    let cfg = config(urls("blue"), urls("green"));
    let three = ScrapeSource::legacy(
        &VllmPage::legacy_names(cfg.clone()),
        Duration::from_secs(2),
        Duration::from_secs(30),
    )?;
    let twelve = ScrapeSource::new(&cfg, specs, Duration::from_secs(2), Duration::from_secs(30))?;
    let bodies: Vec<Vec<TargetResult>> = pages
        .iter()
        .map(|p| vec![Ok(String::from_utf8_lossy(p).into_owned()); PODS])
        .collect();
    let mut sources = [(three, Vec::new()), (twelve, Vec::new())];
    let t0 = Instant::now();
    for (i, b) in bodies.iter().enumerate() {
        let at = t0 + Duration::from_secs(i as u64 + 1);
        for (src, times) in &mut sources {
            let start = Instant::now();
            std::hint::black_box(src.ingest(b, b, at));
            times.push(start.elapsed());
        }
    }
    println!("  parse + compute alone (ingest, no network):");
    for ((_, times), n) in sources.iter_mut().zip([3, 12]) {
        times.sort();
        let (median, p99) = median_p99(times);
        println!("  {n:>2} metrics: per poll median {median:>5.0} us, p99 {p99:>5.0} us");
    }
    Ok(())
}
