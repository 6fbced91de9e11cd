//! `cutover demo --exporter-only`: the simulated fleet's `/metrics`
//! endpoints alone, for a Prometheus to scrape (tests, trials), with a
//! ready-made scrape config. Runs until Ctrl-C or SIGTERM.

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::demo::{Fleet, Scenario};
use crate::model::{Color, Split};
use crate::router::demo::SharedSplit;

/// A Prometheus config scraping the fleet every second, each pod labelled
/// `track="blue"` or `track="green"` (what the demo's queries select on).
/// `targets` are `host:port` per colour.
pub fn scrape_config(blue: &[String], green: &[String]) -> String {
    let list = |t: &[String]| {
        t.iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "# Prometheus scrape config for the cutover demo fleet (cutover demo --exporter-only).\n\
         global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: cutover-demo\n    static_configs:\n\
         \x20     - targets: [{}]\n        labels:\n          track: blue\n\
         \x20     - targets: [{}]\n        labels:\n          track: green\n",
        list(blue),
        list(green)
    )
}

/// `host:port` of each `/metrics` URL.
pub fn targets(urls: &[String]) -> Vec<String> {
    urls.iter()
        .map(|u| {
            u.trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_string()
        })
        .collect()
}

pub async fn run(scenario: Scenario, base_port: u16, split: Split, rps: u32) -> anyhow::Result<u8> {
    let fleet = Fleet::start_on(
        scenario,
        rps,
        crate::router::build::DEMO_PODS,
        SharedSplit::new(split),
        Some(base_port),
    )
    .await
    .context("cannot start the demo fleet")?;
    super::say(format!(
        "# cutover demo fleet: scenario {}, {rps} req/s, {split} on green",
        scenario.name()
    ));
    for c in Color::BOTH {
        for u in fleet.urls(c) {
            super::say(format!("# {c}: {u}"));
        }
    }
    super::say("# scrape config (save as prometheus.yml; Ctrl-C stops the fleet):");
    super::say(scrape_config(
        &targets(&fleet.urls(Color::Blue)),
        &targets(&fleet.urls(Color::Green)),
    ));
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(fleet);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_scrape_config_is_the_default_ports() {
        let p = crate::app::DEMO_METRICS_PORT;
        let t = |a: u16, b: u16| vec![format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")];
        let text = scrape_config(&t(p, p + 1), &t(p + 2, p + 3));
        let shipped = include_str!("../../assets/prometheus/prometheus.yml");
        assert!(
            shipped.starts_with(&text),
            "assets/prometheus/prometheus.yml must begin with:\n{text}"
        );
    }
}
