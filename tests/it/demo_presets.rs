//! `cutover demo --preset tgi` and `--preset triton`: the fleet's pods
//! serve TGI's and Triton's pages, holding every series each preset reads,
//! and the scenarios end as they do under the other presets.

use std::time::Duration;

use cutover::demo::{Fleet, Scenario};
use cutover::engine::journal::{Journal, RecordAction, RecordKind};
use cutover::metrics::scrape::{Parsed, parse};
use cutover::model::{Color, Split, Verdict};
use cutover::router::demo::SharedSplit;

use crate::support::{demo, serial};

/// A series' name, without its matchers.
fn name(series: &str) -> &str {
    series.split('{').next().unwrap_or(series)
}

/// One pod's page, read whole, holding every series `preset`'s formulas
/// name and the quality gauge.
pub fn holds_every_series(preset: &str, body: &str) -> Parsed {
    let p = parse("pod", body).unwrap();
    assert!(p.warnings.is_empty(), "{preset}: {:?}", p.warnings);
    assert_eq!(p.lines, p.returned, "{preset}: every line read");
    let has = |n: &str| {
        p.samples
            .iter()
            .any(|s| s.metric == n || format!("{}_bucket", s.metric) == n)
    };
    for spec in cutover::metricspec::preset::specs(preset, 20).unwrap() {
        let formula = spec.compute.formula.as_ref().unwrap();
        for series in formula.series() {
            assert!(has(name(&series)), "{preset} {}: no {series}", spec.id);
        }
    }
    assert!(has("model_quality_score"), "{preset}");
    p
}

/// Every pod of both colours serves each series `preset`'s formulas name.
async fn serves_every_series_of(preset: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let split = SharedSplit::new(Split::new(50).unwrap());
    let fleet = Fleet::start(Scenario::Healthy, 400, 2, split)
        .await
        .unwrap();
    fleet.serve_page(cutover::metrics::demo_page::for_preset(Some(preset)));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let client = reqwest::Client::new();
    for color in Color::BOTH {
        for url in fleet.urls(color) {
            let body = client.get(&url).send().await.unwrap().text().await.unwrap();
            holds_every_series(preset, &body);
        }
    }
}

#[tokio::test]
async fn the_fleet_serves_every_series_of_the_tgi_preset() {
    serves_every_series_of("tgi").await;
}

#[tokio::test]
async fn the_fleet_serves_every_series_of_the_triton_preset() {
    serves_every_series_of("triton").await;
}

/// `cutover demo --headless --preset P --scenario S --dwell 2s`: its exit
/// code and journal.
fn run(
    preset: &str,
    scenario: &str,
) -> (Option<i32>, String, Vec<cutover::engine::journal::Record>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut cmd = demo::headless(scenario, &journal, &dir.path().join("log"));
    cmd.args(["--preset", preset, "--dwell", "2s"]);
    let out = demo::run_within(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code(),
        stdout,
        Journal::read_all(&journal).unwrap(),
    )
}

#[test]
fn degrading_under_tgi_rolls_back() {
    let _turn = serial::heavy();
    let (code, stdout, records) = run("tgi", "degrading");
    assert_eq!(code, Some(3), "{stdout}");
    let rollback = records
        .iter()
        .find(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .expect("a rollback");
    // Read under TGI's names: the readings are the preset's ids.
    let ids: Vec<_> = cutover::metricspec::preset::specs("tgi", 20)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(
        rollback.readings.iter().any(|r| r.color == Color::Green
            && r.verdict == Verdict::Breach
            && ids.contains(&r.metric)),
        "{:?}",
        rollback.readings
    );
}

#[test]
fn healthy_under_triton_is_promoted() {
    let _turn = serial::heavy();
    let (code, stdout, records) = run("triton", "healthy");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(records.iter().any(|x| x.kind == RecordKind::Promoted));
}
