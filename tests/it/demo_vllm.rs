//! `cutover demo --preset vllm`: the fleet's pods serve vLLM's page,
//! holding every series the vllm preset reads, and in slow-first-token
//! green's time to first token breaches against blue's while it fails
//! nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use cutover::demo::{Fleet, Scenario};
use cutover::metrics::scrape::{Bucket, Quantile, Value, parse, quantile};
use cutover::model::{Color, Split};
use cutover::router::demo::SharedSplit;

use crate::support::{demo, serial};

async fn vllm_fleet(scenario: Scenario) -> Fleet {
    let fleet = Fleet::start(scenario, 400, 2, SharedSplit::new(Split::new(50).unwrap()))
        .await
        .unwrap();
    fleet.serve_page(cutover::metrics::demo_page::for_preset(Some("vllm")));
    fleet
}

async fn pages(fleet: &Fleet, color: Color) -> Vec<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for url in fleet.urls(color) {
        out.push(client.get(&url).send().await.unwrap().text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_fleet_serves_every_series_of_the_vllm_preset() {
    let fleet = vllm_fleet(Scenario::Healthy).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    for color in Color::BOTH {
        for body in pages(&fleet, color).await {
            let p = crate::demo_presets::holds_every_series("vllm", &body);
            // The error rate's requests: the chat API's, by status class.
            assert!(p.samples.iter().any(|s| s.metric == "http_requests_total"
                && s.labels.get("handler") == Some("/v1/chat/completions")
                && s.labels.get("status") == Some("2xx")));
        }
    }
}

/// TTFT buckets of a colour, summed over its pods: `le -> count`.
async fn ttft(fleet: &Fleet, color: Color) -> BTreeMap<u64, (f64, f64)> {
    let mut out = BTreeMap::new();
    for body in pages(fleet, color).await {
        for s in parse("pod", &body).unwrap().samples {
            if s.metric != "vllm:time_to_first_token_seconds" {
                continue;
            }
            let Value::Histogram(h) = &s.value else {
                panic!("not a histogram")
            };
            for c in h {
                out.entry(c.less_than.to_bits())
                    .or_insert((c.less_than, 0.0))
                    .1 += c.count;
            }
        }
    }
    out
}

/// p95 of what was added between two readings, seconds.
fn p95(before: &BTreeMap<u64, (f64, f64)>, after: &BTreeMap<u64, (f64, f64)>) -> f64 {
    let buckets: Vec<Bucket> = after
        .iter()
        .map(|(k, (le, n))| Bucket::new(*le, n - before.get(k).map_or(0.0, |b| b.1)))
        .collect();
    match quantile(0.95, &buckets) {
        Quantile::Value(v) => v,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn slow_first_token_breaches_against_blue_after_it_starts() {
    let _turn = serial::heavy();
    let fleet = vllm_fleet(Scenario::SlowFirstToken).await;
    // Green serves from the start: the regression begins at 2 s.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (blue0, green0) = (
        ttft(&fleet, Color::Blue).await,
        ttft(&fleet, Color::Green).await,
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (blue1, green1) = (
        ttft(&fleet, Color::Blue).await,
        ttft(&fleet, Color::Green).await,
    );
    let (blue, green) = (p95(&blue0, &blue1), p95(&green0, &green1));
    // The vllm preset breaches at +50 % over blue; the absolute warn is 2 s.
    assert!(
        green > blue * 1.5,
        "green ttft p95 {green} s, blue {blue} s"
    );
    assert!(green < 2.0, "green ttft p95 {green} s");
    let errors = |pages: Vec<String>| {
        pages
            .iter()
            .flat_map(|b| parse("pod", b).unwrap().samples)
            .filter(|s| s.labels.get("status") == Some("5xx"))
            .count()
    };
    assert_eq!(
        errors(pages(&fleet, Color::Green).await),
        0,
        "green fails nothing"
    );
}

#[test]
fn the_ttft_guardrail_rolls_back_the_silent_regression() {
    use cutover::engine::journal::{Journal, RecordAction, RecordKind};
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut cmd = demo::headless("slow-first-token", &journal, &dir.path().join("log"));
    cmd.args(["--preset", "vllm", "--dwell", "2s"]);
    let out = demo::run_within(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let records = Journal::read_all(&journal).unwrap();
    let rollback = records
        .iter()
        .find(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .expect("a rollback");
    // The reason names it by its label; the readings by its id.
    let reason = rollback.reason.as_deref().unwrap_or("");
    assert!(reason.contains("time to first token"), "{reason}");
    assert!(
        rollback.readings.iter().any(|r| r.color == Color::Green
            && r.metric == "ttft_p95_ms"
            && r.verdict == cutover::model::Verdict::Breach),
        "{:?}",
        rollback.readings
    );
}
