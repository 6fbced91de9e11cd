//! The scrape source against real HTTP servers started in the test: text
//! changed between polls, two pods per colour, a dead port, a slow pod.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cutover::config::{LatencyUnit, ScrapeConfig};
use cutover::metrics::MetricSource;
use cutover::metrics::scrape::ScrapeSource;
use cutover::model::{Metric, NoData, Reading};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the server answers on one path.
#[derive(Clone)]
struct Page {
    status: u16,
    body: String,
    delay: Duration,
}

/// A /metrics server whose pages the test rewrites between polls.
#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    pages: Arc<Mutex<HashMap<String, Page>>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pages: Arc<Mutex<HashMap<String, Page>>> = Arc::default();
        let shared = pages.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let pages = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let page = pages.lock().unwrap().get(req.uri().path()).cloned();
                        async move {
                            let page = page.unwrap_or(Page {
                                status: 404,
                                body: String::new(),
                                delay: Duration::ZERO,
                            });
                            tokio::time::sleep(page.delay).await;
                            let mut resp = Response::new(Full::new(Bytes::from(page.body)));
                            *resp.status_mut() = StatusCode::from_u16(page.status).unwrap();
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Server { addr, pages }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn set(&self, path: &str, body: String) {
        self.set_page(path, 200, body, Duration::ZERO);
    }

    fn set_page(&self, path: &str, status: u16, body: String, delay: Duration) {
        self.pages.lock().unwrap().insert(
            path.to_string(),
            Page {
                status,
                body,
                delay,
            },
        );
    }
}

fn config(blue: Vec<String>, green: Vec<String>) -> ScrapeConfig {
    ScrapeConfig::new(blue, green)
}

/// A pod's exposition. `buckets` are cumulative counts for le 0.1, 0.5, 1,
/// +Inf (the +Inf count is also the request total); `typed` adds TYPE lines.
fn exposition(buckets: [u64; 4], errors: u64, quality: Option<f64>, typed: bool) -> String {
    let mut s = String::new();
    if typed {
        s.push_str("# HELP request_duration_seconds Latency.\n");
        s.push_str("# TYPE request_duration_seconds histogram\n");
    }
    for (le, c) in ["0.1", "0.5", "1", "+Inf"].iter().zip(buckets) {
        s.push_str(&format!(
            "request_duration_seconds_bucket{{route=\"/v1\",le=\"{le}\"}} {c}\n"
        ));
    }
    s.push_str(&format!(
        "request_duration_seconds_sum 12.5\nrequest_duration_seconds_count {}\n",
        buckets[3]
    ));
    if typed {
        s.push_str("# TYPE requests_total counter\n");
    }
    let total = buckets[3];
    s.push_str(&format!(
        "requests_total{{code=\"200\"}} {}\n",
        total - errors
    ));
    s.push_str(&format!("requests_total{{code=\"503\"}} {errors}\n"));
    if let Some(q) = quality {
        if typed {
            s.push_str("# TYPE model_quality_score gauge\n");
        }
        s.push_str(&format!("model_quality_score {q}\n"));
    }
    s
}

fn value(r: &Reading) -> f64 {
    match r {
        Reading::Value(v) => *v,
        other => panic!("expected a value, got {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Blue: one typed pod. Green: two pods (one typed, one untyped) summed.
#[tokio::test]
async fn baseline_then_values_summed_across_pods() {
    let srv = Server::start().await;
    srv.set(
        "/blue/metrics",
        exposition([100, 150, 200, 200], 2, Some(0.90), true),
    );
    srv.set(
        "/g1/metrics",
        exposition([10, 20, 30, 30], 0, Some(0.80), true),
    );
    srv.set(
        "/g2/metrics",
        exposition([10, 10, 10, 10], 0, Some(0.60), false),
    );
    let cfg = config(
        vec![srv.url("/blue/metrics")],
        vec![srv.url("/g1/metrics"), srv.url("/g2/metrics")],
    );
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    assert_eq!(src.kind(), "scrape");

    let first = src.poll().await;
    assert_eq!(first.window, Duration::ZERO);
    for c in [&first.blue, &first.green] {
        assert!(c.up);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.get(Metric::P99Ms), &Reading::NoData(NoData::Baseline));
        assert_eq!(c.get(Metric::ErrorRate), &Reading::NoData(NoData::Baseline));
        assert_eq!(c.rps, None);
    }
    // Quality is a gauge: it has a value from the first poll, the plain mean.
    assert!(close(value(first.green.get(Metric::Quality)), 0.70));

    // Blue: +100 requests, all ≤ 0.1 s → p99 = 0.1 × 99/100 = 99 ms; 1 error.
    srv.set(
        "/blue/metrics",
        exposition([200, 250, 300, 300], 3, Some(0.91), true),
    );
    // Green: g1 +100 (40 ≤ 0.1, 80 ≤ 0.5, 90 ≤ 1, 10 above, 6 errors),
    //        g2 +100 (all ≤ 0.1, 4 errors).
    // Summed deltas: 0.1 → 140, 0.5 → 180, 1 → 190, +Inf → 200. rank 198
    // is beyond le=1 (190), so p99 is at least 1 s: above the top bucket.
    srv.set(
        "/g1/metrics",
        exposition([50, 100, 120, 130], 6, Some(0.80), true),
    );
    srv.set(
        "/g2/metrics",
        exposition([110, 110, 110, 110], 4, Some(0.60), false),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = src.poll().await;
    assert!(second.window >= Duration::from_millis(50) && second.window < Duration::from_secs(5));
    assert!(second.at > first.at);
    assert!(close(value(second.blue.get(Metric::P99Ms)), 99.0));
    assert!(close(value(second.blue.get(Metric::ErrorRate)), 1.0));
    assert_eq!(
        second.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::AboveRange(1000.0))
    );
    assert!(close(value(second.green.get(Metric::ErrorRate)), 5.0));
    // Weighted by each pod's 100 requests: (0.8 + 0.6) / 2.
    assert!(close(value(second.green.get(Metric::Quality)), 0.70));
    let rps = second.green.rps.unwrap();
    assert!(close(rps, 200.0 / second.window.as_secs_f64()), "{rps}");

    // Green: g1 +100 with 95 ≤ 0.5 (new: 0.1 → +50, 0.5 → +95), g2 idle.
    // Window: 30 s, so the base is still the first poll: summed deltas
    // since then are 0.1 → 190, 0.5 → 275, 1 → 290, +Inf → 300,
    // rank 297 lands beyond 1 → at least 1000 ms. Quality weights 200:100.
    srv.set(
        "/g1/metrics",
        exposition([100, 195, 220, 230], 6, Some(0.90), true),
    );
    let third = src.poll().await;
    assert!(third.window > second.window);
    assert_eq!(
        third.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::AboveRange(1000.0))
    );
    assert!(close(
        value(third.green.get(Metric::ErrorRate)),
        10.0 / 300.0 * 100.0
    ));
    assert!(close(
        value(third.green.get(Metric::Quality)),
        (0.9 * 200.0 + 0.6 * 100.0) / 300.0
    ));
}

#[tokio::test]
async fn counter_reset_then_recovery() {
    let srv = Server::start().await;
    srv.set("/b", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    srv.set(
        "/g",
        exposition([500, 900, 1000, 1000], 10, Some(0.9), true),
    );
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    src.poll().await;
    // Green restarted: every counter is lower.
    srv.set("/g", exposition([5, 9, 10, 10], 0, Some(0.9), true));
    srv.set("/b", exposition([20, 20, 20, 20], 0, Some(0.9), true));
    let snap = src.poll().await;
    assert_eq!(
        snap.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::CounterReset)
    );
    assert_eq!(
        snap.green.get(Metric::ErrorRate),
        &Reading::NoData(NoData::CounterReset)
    );
    assert!(snap.green.up);
    assert_eq!(snap.green.rps, None);
    // Blue is untouched by green's reset.
    assert!(close(value(snap.blue.get(Metric::P99Ms)), 99.0));
    // The next poll counts from the reset poll, not from before the restart.
    srv.set("/g", exposition([15, 19, 20, 20], 0, Some(0.9), true));
    let snap = src.poll().await;
    // +10 requests, all ≤ 0.1 s → 99 ms.
    assert!(close(value(snap.green.get(Metric::P99Ms)), 99.0));
    assert!(close(value(snap.green.get(Metric::ErrorRate)), 0.0));
}

#[tokio::test]
async fn unreachable_target_makes_the_colour_down() {
    let srv = Server::start().await;
    srv.set("/b", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    srv.set("/g", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    // A port that was just free: bind, read it, close.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead_url = format!("http://{dead}/metrics");
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g"), dead_url.clone()]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    let snap = src.poll().await;
    assert!(snap.blue.up);
    assert!(!snap.green.up);
    let expected = NoData::Unreachable(format!("{dead_url}: connection refused"));
    for m in Metric::ALL {
        assert_eq!(snap.green.get(m), &Reading::NoData(expected.clone()));
    }

    // An HTTP error status is unreachable too, with its code.
    srv.set_page("/b", 503, "overloaded".into(), Duration::ZERO);
    let snap = src.poll().await;
    let expected = NoData::Unreachable(format!("{}: HTTP 503", srv.url("/b")));
    assert_eq!(snap.blue.get(Metric::P99Ms), &Reading::NoData(expected));
    assert!(!snap.blue.up);

    // When blue answers again its history restarted: a baseline, not a
    // delta across the gap.
    srv.set("/b", exposition([20, 20, 20, 20], 0, Some(0.9), true));
    let snap = src.poll().await;
    assert!(snap.blue.up);
    assert_eq!(
        snap.blue.get(Metric::P99Ms),
        &Reading::NoData(NoData::Baseline)
    );
}

#[tokio::test]
async fn slow_target_times_out() {
    let srv = Server::start().await;
    srv.set("/b", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    srv.set_page(
        "/g",
        200,
        exposition([10, 10, 10, 10], 0, Some(0.9), true),
        Duration::from_secs(3),
    );
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_millis(200), Duration::from_secs(30)).unwrap();
    let started = std::time::Instant::now();
    let snap = src.poll().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "poll took {took:?}");
    assert!(snap.blue.up);
    assert!(!snap.green.up);
    assert_eq!(
        snap.green.get(Metric::ErrorRate),
        &Reading::NoData(NoData::Timeout(srv.url("/g")))
    );
}

#[tokio::test]
async fn dropped_lines_warn_and_missing_quality_is_missing() {
    let srv = Server::start().await;
    // A label value with a comma (mangled by the parser, so rewritten and
    // reported), a name with '-' (not a legal name, and not watched: not
    // fed), a name with ':' (legal: read), an unparsable value of a
    // watched series (dropped).
    let extra = "requests_total{code=\"200\",path=\"/a,b\"} 5\n\
                 job-requests-total 3\n\
                 job:requests_total:rate5m 3\n\
                 requests_total{code=\"200\",path=\"/c\"} twelve\n";
    let body = format!("{}{extra}", exposition([10, 10, 10, 10], 0, None, true));
    srv.set("/b", body);
    srv.set("/g", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    let snap = src.poll().await;
    let url = srv.url("/b");
    assert_eq!(snap.blue.warnings.len(), 2, "{:?}", snap.blue.warnings);
    assert!(snap.blue.warnings[0].starts_with(&format!("{url}: 1 sample line has label values")));
    assert_eq!(
        snap.blue.warnings[1],
        format!("{url}: 1 sample line dropped by the parser")
    );
    assert!(snap.blue.up, "warnings do not make a colour down");
    assert_eq!(
        snap.blue.get(Metric::Quality),
        &Reading::NoData(NoData::Missing("model_quality_score".into()))
    );
    assert!(snap.green.warnings.is_empty());
    assert!(close(value(snap.green.get(Metric::Quality)), 0.9));
}

#[tokio::test]
async fn missing_histogram_and_counter_are_named() {
    let srv = Server::start().await;
    srv.set("/b", "model_quality_score 0.9\n".into());
    srv.set("/g", "# nothing here\n".into());
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    let snap = src.poll().await;
    assert_eq!(
        snap.blue.get(Metric::P99Ms),
        &Reading::NoData(NoData::Missing("request_duration_seconds_bucket".into()))
    );
    assert_eq!(
        snap.blue.get(Metric::ErrorRate),
        &Reading::NoData(NoData::Missing("requests_total".into()))
    );
    assert!(close(value(snap.blue.get(Metric::Quality)), 0.9));
    // A 200 that holds none of the watched series is not up.
    assert!(!snap.green.up);
    assert!(
        matches!(snap.green.get(Metric::P99Ms), Reading::NoData(NoData::Missing(m)) if m.contains("answered without")),
        "{:?}",
        snap.green.get(Metric::P99Ms)
    );
}

#[tokio::test]
async fn zero_requests_and_milliseconds() {
    let srv = Server::start().await;
    srv.set("/b", exposition([10, 20, 30, 30], 0, Some(0.9), false));
    srv.set("/g", exposition([10, 20, 30, 30], 0, Some(0.9), false));
    let mut cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    cfg.latency_unit = LatencyUnit::Milliseconds;
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    src.poll().await;
    // Green idle; blue +10 requests all ≤ 0.1 "ms" → 0.099 ms.
    srv.set("/b", exposition([20, 30, 40, 40], 0, Some(0.9), false));
    let snap = src.poll().await;
    assert_eq!(
        snap.green.get(Metric::P99Ms),
        &Reading::NoData(NoData::NoRequests)
    );
    assert_eq!(
        snap.green.get(Metric::ErrorRate),
        &Reading::NoData(NoData::NoRequests)
    );
    assert_eq!(snap.green.rps, Some(0.0));
    assert!(close(value(snap.blue.get(Metric::P99Ms)), 0.099));
}

#[test]
fn bad_config_is_refused() {
    let mut cfg = config(
        vec!["not a url".into()],
        vec!["http://127.0.0.1:1/metrics".into()],
    );
    assert!(ScrapeSource::legacy(&cfg, Duration::from_secs(1), Duration::from_secs(1)).is_err());
    cfg.blue = vec![];
    assert!(ScrapeSource::legacy(&cfg, Duration::from_secs(1), Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn a_body_over_the_cap_is_no_data_saying_so() {
    let srv = Server::start().await;
    srv.set("/b", exposition([10, 10, 10, 10], 0, Some(0.9), true));
    let mut huge = exposition([10, 10, 10, 10], 0, Some(0.9), true);
    huge.push_str(&"#".repeat(cutover::metrics::scrape::MAX_BODY));
    srv.set("/g", huge);
    let cfg = config(vec![srv.url("/b")], vec![srv.url("/g")]);
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(5), Duration::from_secs(30)).unwrap();
    let snap = src.poll().await;
    assert!(snap.blue.up);
    assert!(!snap.green.up);
    assert_eq!(
        snap.green.get(Metric::ErrorRate),
        &Reading::NoData(NoData::Other(format!("{}: body over 16 MB", srv.url("/g"))))
    );
}
