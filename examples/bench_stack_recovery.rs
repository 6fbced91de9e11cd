//! Detection-to-recovery time of the whole stack (`demo --stack`), over N
//! degrading runs (default 10; `cargo run --release --example
//! bench_stack_recovery -- N`). Needs nginx and prometheus.
//!
//! Three marks per run: green starts to fail (the serving fleet notes the
//! instant its exposure crosses 25 %), the auto-rollback decision (the
//! journal's intent record), and the last request the proxy routed to green
//! (the load generator). Prints median and max of each interval.

use std::time::Duration;

use cutover::config::defaults;
use cutover::demo::Scenario;
use cutover::demo::loadgen::DEFAULT_RPS;
use cutover::lab::{self, StackOptions, marks::median_max, stack};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10);
    let dwell = Duration::from_secs(3);
    println!(
        "settings: prometheus scrape {}s, cockpit poll {}s, window {}s, auto-rollback after {} consecutive breaching polls, min_requests {}, load {DEFAULT_RPS} rps, dwell {}s, {} pods per colour",
        stack::SCRAPE_INTERVAL.as_secs(),
        stack::POLL_INTERVAL.as_secs(),
        stack::WINDOW.as_secs(),
        cutover::config::AutoRollbackConfig::default().consecutive,
        defaults::min_requests(),
        dwell.as_secs(),
        stack::PODS
    );
    let (mut detect, mut switch, mut recover) = (Vec::new(), Vec::new(), Vec::new());
    let (mut failed, mut retried) = (0, 0);
    for i in 1..=runs {
        let report = lab::run_report(StackOptions {
            scenario: Scenario::Degrading,
            preset: None,
            headless: true,
            dwell,
            journal: None,
            rps: DEFAULT_RPS,
            quiet: true,
        })
        .await?;
        let m = report.marks;
        let ms = |v: Option<f64>| {
            v.map(|s| format!("{:6.0} ms", s * 1000.0))
                .unwrap_or_else(|| "     -   ".into())
        };
        println!(
            "run {i:2}: exit {}, failing->decision {}, decision->last green {}, failing->last green {}, failed requests {}, resent {}",
            report.code,
            ms(m.detection()),
            ms(m.switch()),
            ms(m.recovery()),
            report.failed,
            report.retried
        );
        if m.detection().is_none() {
            println!("        no auto-rollback: {}", report.outcome);
        }
        detect.extend(m.detection());
        switch.extend(m.switch());
        recover.extend(m.recovery());
        failed += report.failed;
        retried += report.retried;
    }
    for (name, v) in [
        ("green failing -> auto-rollback decision", &detect),
        ("auto-rollback decision -> last green request", &switch),
        ("green failing -> last green request", &recover),
    ] {
        match median_max(v) {
            Some((med, max)) => println!(
                "{name:46}: median {:6.0} ms, max {:6.0} ms ({} runs)",
                med * 1000.0,
                max * 1000.0,
                v.len()
            ),
            None => println!("{name:46}: no run had both marks"),
        }
    }
    println!(
        "failed requests (connect, read, or answered by the proxy) over all runs: {failed}; GETs resent after a kept-alive connection closed under them: {retried}"
    );
    Ok(())
}
