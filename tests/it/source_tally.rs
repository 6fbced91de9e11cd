//! Both sources hand over each tested metric's cumulative tally, and two
//! consecutive snapshots' tallies give the count test its increments
//! (`stats::tally`), and the test of means a mean's count and sum. The scrape source from pages written here (a pod
//! restart included); the Prometheus source against a real Prometheus
//! scraping the demo fleet, checked against the same pods read directly.

use std::time::{Duration, Instant};

use crate::support::prometheus as prom;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};

use cutover::app;
use cutover::config::ScrapeConfig;
use cutover::demo::{Fleet, Scenario};
use cutover::metrics::MetricSource;
use cutover::metrics::prometheus::PrometheusSource;
use cutover::metrics::scrape::ScrapeSource;
use cutover::metricspec::{Formula, MetricSpec, Selector, Unit, preset};
use cutover::model::{Color, Snapshot, Split, Tally};
use cutover::router::demo::SharedSplit;
use cutover::stats::increments::Cumulative;
use cutover::stats::tally::{Pair, increments, moments, slow_bound};
use cutover::stats::{Counts, MinEffect, Step, TestConfig};

/// The `http` preset (the demo fleet's names) with a test on the error
/// rate and the p99, and a mean latency (the histogram's `_sum` over its
/// `_count`, in ms) with the test of means.
fn tested_specs() -> Vec<MetricSpec> {
    let mut specs = preset::specs("http", 0).unwrap();
    for s in specs.iter_mut().filter(|s| s.id != "quality") {
        s.test = Some(TestConfig::new(0.01, MinEffect::Points(0.5)).unwrap());
    }
    let mut mean = specs[0].clone();
    mean.id = "latency_mean_ms".into();
    mean.compute.formula = Some(Formula::Ratio {
        numerator: vec![Selector::named("http_request_duration_seconds_sum")],
        denominator: vec![Selector::named("http_request_duration_seconds_count")],
        complement: false,
        unit: Unit::Seconds,
    });
    mean.test = Some(TestConfig::new(0.01, MinEffect::Relative(0.3)).unwrap());
    specs.push(mean);
    specs
}

fn index(specs: &[MetricSpec], id: &str) -> usize {
    specs.iter().position(|s| s.id == id).unwrap()
}

fn pair(s: &Snapshot, i: usize) -> Pair<'_> {
    [s.blue.tally(i), s.green.tally(i)]
}

/// One pod's page: `requests` served, `errors` of them 5xx, `slow` over
/// 0.5 s (1 s each), the rest within 0.1 s (50 ms each).
fn page(requests: u64, errors: u64, slow: u64) -> String {
    let fast = requests - slow;
    let sum = 0.05 * fast as f64 + slow as f64;
    format!(
        "# TYPE http_request_duration_seconds histogram\n\
         http_request_duration_seconds_bucket{{le=\"0.1\"}} {fast}\n\
         http_request_duration_seconds_bucket{{le=\"0.5\"}} {fast}\n\
         http_request_duration_seconds_bucket{{le=\"+Inf\"}} {requests}\n\
         http_request_duration_seconds_count {requests}\n\
         http_request_duration_seconds_sum {sum}\n\
         http_requests_total{{code=\"200\"}} {}\n\
         http_requests_total{{code=\"500\"}} {errors}\n\
         model_quality_score 0.9\n",
        requests - errors
    )
}

#[test]
fn scrape_tallies_sum_the_pods_and_a_restart_loses_the_span() {
    let specs = tested_specs();
    let cfg = ScrapeConfig::new(
        vec!["http://blue:9/metrics".into()],
        vec!["http://g1:9/metrics".into(), "http://g2:9/metrics".into()],
    );
    let mut src =
        ScrapeSource::new(&cfg, &specs, Duration::from_secs(1), Duration::from_secs(5)).unwrap();
    let t0 = Instant::now();
    let mut poll = |blue: [u64; 3], green: [[u64; 3]; 2], s: u64| {
        let body = |[r, e, slow]: [u64; 3]| Ok(page(r, e, slow));
        src.ingest(&[body(blue)], &green.map(body), t0 + Duration::from_secs(s))
    };
    let first = poll([1000, 5, 10], [[40, 0, 0], [60, 1, 1]], 0);
    let second = poll([1900, 9, 19], [[140, 2, 2], [160, 3, 3]], 1);
    let (errors, p99) = (index(&specs, "error_rate"), index(&specs, "p99_ms"));
    // Cumulative, summed over green's two pods.
    assert_eq!(
        second.green.tally(errors),
        Some(&Tally::Counts {
            requests: 300.0,
            events: 5.0
        })
    );
    match second.green.tally(p99) {
        Some(Tally::Buckets { count, buckets, .. }) => {
            assert_eq!(*count, 300.0);
            // the bounds in the metric's unit, ms
            assert_eq!(buckets[1], (500.0, 295.0));
        }
        other => panic!("p99's tally: {other:?}"),
    }
    assert_eq!(second.green.tally(index(&specs, "quality")), None);
    // The mean's count and sum, in ms: 300 requests, 5 of them slow.
    let mean = index(&specs, "latency_mean_ms");
    assert_eq!(
        second.green.tally(mean),
        Some(&Tally::Moments {
            count: 300.0,
            sum: 1000.0 * (0.05 * 295.0 + 5.0)
        })
    );
    // The increments of the poll: errors, and requests over 500 ms.
    assert_eq!(
        increments(pair(&first, errors), pair(&second, errors), None),
        Step::Increment {
            blue: Counts {
                requests: 900.0,
                events: 4.0
            },
            green: Counts {
                requests: 200.0,
                events: 4.0
            },
        }
    );
    // 1881 of blue's 1900 requests within 100 ms: 99 %, so that edge.
    let bound = slow_bound(second.blue.tally(p99).unwrap(), None, 0.99);
    assert_eq!(bound, Some(100.0));
    assert_eq!(
        increments(pair(&first, p99), pair(&second, p99), bound),
        Step::Increment {
            blue: Counts {
                requests: 900.0,
                events: 9.0
            },
            green: Counts {
                requests: 200.0,
                events: 4.0
            },
        }
    );
    // Green's second pod restarted: its colour's totals fell.
    let third = poll([2800, 13, 28], [[240, 3, 3], [5, 0, 0]], 2);
    assert_eq!(
        increments(pair(&second, errors), pair(&third, errors), None),
        Step::Reset
    );
    // A pod that does not answer: no tallies, no data for the test.
    let failed = {
        let body = |[r, e, s]: [u64; 3]| Ok(page(r, e, s));
        src.ingest(
            &[body([3700, 15, 30])],
            &[
                body([340, 4, 4]),
                Err(cutover::model::NoData::Timeout("g2".into())),
            ],
            t0 + Duration::from_secs(3),
        )
    };
    assert_eq!(failed.green.tally(errors), None);
    assert_eq!(
        increments(pair(&third, errors), pair(&failed, errors), None),
        Step::NoData
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_tallies_match_the_pods() {
    let _turn = serial::heavy();
    if skip_without(Server::Prometheus, "prometheus_tallies_match_the_pods") {
        return;
    }
    tokio::time::timeout(Duration::from_secs(120), prometheus_run())
        .await
        .expect("the Prometheus tally test took over 120 s");
}

async fn prometheus_run() {
    let dir = tempfile::tempdir().unwrap();
    let at_half = SharedSplit::new(Split::new(50).unwrap());
    let fleet = Fleet::start(Scenario::Healthy, 1000, 2, at_half)
        .await
        .unwrap();
    let (blue_urls, green_urls) = (fleet.urls(Color::Blue), fleet.urls(Color::Green));
    let targets = cutover::cli::exporter::targets;
    let server = tokio::task::block_in_place(|| {
        let config = prom::config(&targets(&blue_urls), &targets(&green_urls));
        prom::Prometheus::start(dir.path(), prom::free_port(), &config)
    });
    let prom_cfg = app::demo_prometheus(&server.url());
    let source = app::demo_config(Scenario::Healthy, Duration::from_secs(10), None).source;
    let specs = tested_specs();
    let mut src = PrometheusSource::new(&prom_cfg, &source, &specs).unwrap();
    let (errors, p99) = (index(&specs, "error_rate"), index(&specs, "p99_ms"));
    let mean = index(&specs, "latency_mean_ms");
    // Today's configs send no tally query; tested metrics send theirs.
    let untested = preset::specs("http", 0).unwrap();
    let plain = PrometheusSource::new(&prom_cfg, &source, &untested).unwrap();
    assert!(plain.queries().len() < src.queries().len());

    let has_tallies = |s: &Snapshot| {
        Color::BOTH.iter().all(|c| {
            [errors, p99, mean]
                .iter()
                .all(|i| s.color(*c).tally(*i).is_some())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    let first = loop {
        let s = src.poll().await;
        if has_tallies(&s) {
            break s;
        }
        assert!(Instant::now() < deadline, "no tallies: {s:#?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(first.blue.tally(index(&specs, "quality")), None);

    // The same pods read directly, at the same moment: Prometheus' sums
    // lag by at most a 1 s scrape.
    let scrape_cfg = ScrapeConfig::new(blue_urls.clone(), green_urls.clone());
    let mut truth = ScrapeSource::new(
        &scrape_cfg,
        &specs,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (t, p) = tokio::join!(truth.poll(), src.poll());
    for c in Color::BOTH {
        let requests = |s: &Snapshot| match s.color(c).tally(errors) {
            Some(Tally::Counts { requests, events }) => {
                assert!(events <= requests, "{c}: {events} of {requests}");
                *requests
            }
            other => panic!("{c} error rate tally: {other:?}"),
        };
        let (tr, pr) = (requests(&t), requests(&p));
        assert!(
            pr <= tr && tr - pr <= 0.25 * tr,
            "{c}: pods {tr}, prometheus {pr}"
        );
        let edges = |s: &Snapshot| match s.color(c).tally(p99) {
            Some(Tally::Buckets { buckets, .. }) => {
                buckets.iter().map(|(le, _)| *le).collect::<Vec<_>>()
            }
            other => panic!("{c} p99 tally: {other:?}"),
        };
        assert_eq!(edges(&t), edges(&p), "{c}: the same bounds, in ms");
        // The mean's count lags like the requests; its mean per request
        // (in ms) is the pods' within the lag.
        let of = |s: &Snapshot| match s.color(c).tally(mean).and_then(moments) {
            Some(m) => (m.count, m.mean().unwrap_or(f64::NAN)),
            other => panic!("{c} mean tally: {other:?}"),
        };
        let ((tc, tm), (pc, pm)) = (of(&t), of(&p));
        assert!(
            pc <= tc && tc - pc <= 0.25 * tc,
            "{c}: pods {tc}, prometheus {pc}"
        );
        assert!(
            (pm - tm).abs() <= 0.25 * tm,
            "{c}: pods {tm} ms, prometheus {pm} ms"
        );
    }
    // Between two polls, a mean's count and sum grew on both colours.
    for c in Color::BOTH {
        let m = |s: &Snapshot| s.color(c).tally(mean).and_then(moments).unwrap();
        let grown = m(&p).delta(&m(&first)).expect("no restart");
        assert!(grown.count > 0.0 && grown.sum > 0.0, "{c}: {grown:?}");
    }
    // Between two polls, both colours served: an increment to test.
    let bound = slow_bound(p.blue.tally(p99).unwrap(), None, 0.9);
    assert!(bound.is_some());
    for (i, b) in [(errors, None), (p99, bound)] {
        match increments(pair(&first, i), pair(&p, i), b) {
            Step::Increment { blue, green } => {
                assert!(
                    blue.requests > 0.0 && green.requests > 0.0,
                    "{blue:?} {green:?}"
                )
            }
            other => panic!("{}: {other:?}", specs[i].id),
        }
    }
    drop(server);
}
