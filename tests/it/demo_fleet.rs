//! The simulated fleet over real HTTP: its `/metrics` parse with
//! prometheus-parse and its traffic follows the shared split.

use std::time::Duration;

use cutover::demo::{Fleet, Scenario};
use cutover::model::{Color, Split};
use cutover::router::demo::SharedSplit;
use prometheus_parse::{Scrape, Value};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

async fn fetch(client: &reqwest::Client, url: &str) -> String {
    let resp = client.get(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.text().await.unwrap()
}

/// Parses and checks that no sample line was dropped.
fn parse(text: &str) -> Scrape {
    let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_owned())).collect();
    let scrape = Scrape::parse(lines.into_iter()).unwrap();
    let sample_lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    // A histogram's buckets come back as one sample; _sum and _count as two.
    let returned: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(b) => b.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(returned, sample_lines, "dropped lines in\n{text}");
    scrape
}

/// Requests counted by a colour's pods: (all, errors).
async fn requests(client: &reqwest::Client, fleet: &Fleet, color: Color) -> (f64, f64) {
    let (mut all, mut errors) = (0.0, 0.0);
    for url in fleet.urls(color) {
        let scrape = parse(&fetch(client, &url).await);
        for s in scrape
            .samples
            .iter()
            .filter(|s| s.metric == "http_requests_total")
        {
            let Value::Counter(v) = s.value else {
                panic!("http_requests_total is not a counter: {:?}", s.value)
            };
            all += v;
            if s.labels.get("code").is_some_and(|c| c.starts_with('5')) {
                errors += v;
            }
        }
    }
    (all, errors)
}

#[tokio::test]
async fn every_pod_serves_parsable_metrics() {
    let split = SharedSplit::new(Split::new(50).unwrap());
    let fleet = Fleet::start(Scenario::Healthy, 400, 2, split)
        .await
        .unwrap();
    assert_eq!(fleet.scenario(), Scenario::Healthy);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let client = client();
    for color in Color::BOTH {
        let urls = fleet.urls(color);
        assert_eq!(urls.len(), 2);
        for url in urls {
            assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"));
            let scrape = parse(&fetch(&client, &url).await);
            let names: Vec<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
            for family in [
                "http_requests_total",
                "http_request_duration_seconds",
                "http_request_duration_seconds_sum",
                "http_request_duration_seconds_count",
                "model_quality_score",
            ] {
                assert!(names.contains(&family), "{url}: no {family} in {names:?}");
            }
            let hist = scrape
                .samples
                .iter()
                .find(|s| s.metric == "http_request_duration_seconds")
                .unwrap();
            let Value::Histogram(buckets) = &hist.value else {
                panic!("not a histogram: {:?}", hist.value)
            };
            let les: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            assert_eq!(les.len(), 10);
            assert!(les.contains(&7.5) && les.contains(&10.0) && les[9].is_infinite());
            assert!(buckets.last().unwrap().count > 0.0, "{url}: no traffic");
            let quality = scrape
                .samples
                .iter()
                .find(|s| s.metric == "model_quality_score")
                .unwrap();
            let Value::Gauge(q) = quality.value else {
                panic!("quality is not a gauge: {:?}", quality.value)
            };
            assert!((0.8..0.9).contains(&q), "{url}: quality {q}");
        }
        let other = fleet.urls(color)[0].replace("/metrics", "/other");
        let resp = client.get(&other).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn traffic_follows_the_split() {
    let split = SharedSplit::new(Split::ZERO);
    let fleet = Fleet::start(Scenario::Healthy, 400, 2, split.clone())
        .await
        .unwrap();
    let client = client();
    let blue0 = requests(&client, &fleet, Color::Blue).await.0;
    let green0 = requests(&client, &fleet, Color::Green).await.0;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let blue1 = requests(&client, &fleet, Color::Blue).await.0;
    let green1 = requests(&client, &fleet, Color::Green).await.0;
    assert_eq!((green0, green1), (0.0, 0.0));
    assert!(blue1 - blue0 > 200.0, "blue grew {blue0} -> {blue1}");

    split.set(Split::FULL);
    // Let a tick in flight finish under the old split.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let blue2 = requests(&client, &fleet, Color::Blue).await.0;
    let green2 = requests(&client, &fleet, Color::Green).await.0;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let blue3 = requests(&client, &fleet, Color::Blue).await.0;
    let green3 = requests(&client, &fleet, Color::Green).await.0;
    assert_eq!(blue2, blue3, "blue still growing at 100 %");
    assert!(green3 - green2 > 200.0, "green grew {green2} -> {green3}");
}

#[tokio::test]
async fn degrading_at_half_produces_rising_errors() {
    let split = SharedSplit::new(Split::new(50).unwrap());
    let fleet = Fleet::start(Scenario::Degrading, 400, 2, split)
        .await
        .unwrap();
    let client = client();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (all_a, err_a) = requests(&client, &fleet, Color::Green).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (all_b, err_b) = requests(&client, &fleet, Color::Green).await;
    assert!(err_b > err_a, "errors did not rise: {err_a} -> {err_b}");
    // 3–5 s into the ramp: well above the healthy 0.1 %.
    let window_rate = (err_b - err_a) / (all_b - all_a);
    assert!(window_rate > 0.01, "error rate {window_rate}");
}

#[tokio::test]
async fn dropping_the_fleet_stops_its_servers() {
    let fleet = Fleet::start(Scenario::Healthy, 10, 1, SharedSplit::default())
        .await
        .unwrap();
    let url = fleet.urls(Color::Blue)[0].clone();
    let client = client();
    fetch(&client, &url).await;
    drop(fleet);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A fresh connection is refused once the accept loop is gone.
    let fresh = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(fresh.get(&url).send().await.is_err());
}
