//! Detection-to-recovery time of the whole stack (`demo --stack`), with
//! green's error rate and p99 latency judged by evidence and by thresholds
//! alone, in the same process on the same machine. Needs nginx and
//! prometheus.
//!
//!     cargo run --release --example bench_stack_recovery -- [--degrading N] [--healthy N]
//!
//! `--degrading N` (default 20; a bare `N` too): N degrading runs with
//! evidence and N with thresholds only, interleaved (which goes first
//! alternates) so both meet the same load on the machine. `--healthy N`
//! (default 20): healthy runs with evidence, which must promote.
//!
//! Three marks per run: green starts to fail (the serving fleet notes the
//! instant its exposure crosses 25 %), the auto-rollback decision (the
//! journal's intent record), and the last request the proxy routed to green
//! (the load generator). Prints median, 95th percentile and max of each
//! interval per kind of run (by nearest rank: of 20, the 10th and the 19th).

use std::collections::BTreeMap;
use std::time::Duration;

use cutover::config::defaults;
use cutover::demo::Scenario;
use cutover::demo::loadgen::DEFAULT_RPS;
use cutover::lab::{self, StackOptions, StackReport, marks::quantile, stack};

const DWELL: Duration = Duration::from_secs(3);

struct Args {
    degrading: usize,
    healthy: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        degrading: 20,
        healthy: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut count = |name: &str| -> anyhow::Result<usize> {
            let v = it
                .next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a count"))?;
            Ok(v.parse()?)
        };
        match flag.as_str() {
            "--degrading" => a.degrading = count("--degrading")?,
            "--healthy" => a.healthy = count("--healthy")?,
            n => {
                a.degrading = n.parse().map_err(|_| {
                    anyhow::anyhow!("usage: bench_stack_recovery [--degrading N] [--healthy N]")
                })?
            }
        }
    }
    Ok(a)
}

/// One kind of run: its scenario, whether evidence judges, what it found.
struct Kind {
    name: &'static str,
    scenario: Scenario,
    evidence: bool,
    reports: Vec<Run>,
}

/// The tested metrics, as the journal keys them and as the engine's
/// reason names them.
const TESTED: [(&str, &str); 2] = [("p99_ms", "p99 latency"), ("error_rate", "error rate")];

/// One run: what the lab found, and the evidence on each tested metric
/// that the auto-rollback decision journaled.
struct Run {
    report: StackReport,
    evidence: BTreeMap<String, f64>,
}

impl Run {
    /// The level each e-value is tested at: the demo's α split over the
    /// tested metrics (Bonferroni), as the engine does.
    fn level(&self) -> f64 {
        let alpha = cutover::app::demo_error_rate_test().alpha;
        1.0 / cutover::stats::bonferroni(alpha, self.evidence.len())
    }

    /// Each tested metric's e-value at the decision, or `-`.
    fn evidence_text(&self) -> String {
        TESTED
            .iter()
            .map(|(id, _)| {
                let e = self.evidence.get(*id);
                format!(
                    "{id} {}",
                    e.map(|e| format!("{e:.1}")).unwrap_or("-".into())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What decided a run's rollback, from the engine's reason: evidence (on
/// which metric), a threshold streak, or both. A streak completed at the
/// poll where some evidence also crossed its level names both ("…; and on
/// evidence: …"); a journal of an earlier build names the streak alone,
/// and the e-values on its intent record tell: `both` either way.
fn cause(r: &Run) -> &'static str {
    let outcome = &r.report.outcome;
    let worse = |label: &str| outcome.contains(&format!("green's {label} is higher"));
    let streak = outcome.contains("consecutive polls");
    if r.report.marks.decided.is_none() {
        "none"
    } else if streak && outcome.contains("on evidence") {
        "both"
    } else if outcome.contains("on evidence") {
        match (worse(TESTED[0].1), worse(TESTED[1].1)) {
            (true, true) => "ev p99+err",
            (true, false) => "ev p99",
            (false, true) => "ev errors",
            (false, false) => "evidence",
        }
    } else if r.evidence.values().any(|e| *e >= r.level()) {
        "both"
    } else if streak {
        "threshold"
    } else {
        "other"
    }
}

/// The e-values on the auto-rollback's intent record, by metric id.
fn evidence_at_decision(journal: &std::path::Path) -> BTreeMap<String, f64> {
    use cutover::engine::journal::{Journal, RecordKind, RecordOrigin};
    Journal::read_all(journal)
        .ok()
        .and_then(|records| {
            records
                .into_iter()
                .find(|r| {
                    r.kind == RecordKind::Intent && r.origin == Some(RecordOrigin::AutoRollback)
                })
                .map(|r| r.evidence)
        })
        .unwrap_or_default()
}

fn ms(v: Option<f64>) -> String {
    v.map(|s| format!("{:6.0} ms", s * 1000.0))
        .unwrap_or_else(|| "     -   ".into())
}

async fn once(kind: &Kind, i: usize) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let journal = dir.path().join("journal.jsonl");
    let report = lab::run_report(StackOptions {
        scenario: kind.scenario,
        preset: None,
        headless: true,
        dwell: DWELL,
        journal: Some(journal.clone()),
        rps: DEFAULT_RPS,
        quiet: true,
        evidence: kind.evidence,
    })
    .await?;
    let run = Run {
        evidence: evidence_at_decision(&journal),
        report,
    };
    let (r, m) = (&run.report, run.report.marks);
    println!(
        "{:22} run {i:2}: exit {}, rollback by {:10}, failing->decision {}, decision->last green {}, failing->last green {}, evidence at the decision: {}, failed requests {}, resent {}",
        kind.name,
        r.code,
        cause(&run),
        ms(m.detection()),
        ms(m.switch()),
        ms(m.recovery()),
        run.evidence_text(),
        r.failed,
        r.retried
    );
    println!("        outcome: {}", r.outcome);
    Ok(run)
}

fn table(kinds: &[Kind]) {
    println!();
    println!(
        "{:22} {:>4} {:>11} {:>6} {:>9} {:>10} {:>5} {:>10}  {:>29}  {:>29}",
        "",
        "runs",
        "rolled back",
        "ev p99",
        "ev errors",
        "ev p99+err",
        "both",
        "threshold",
        "failing->decision med/p95/max",
        "failing->last green med/p95/max"
    );
    for k in kinds {
        let n = |c: &str| k.reports.iter().filter(|r| cause(r) == c).count();
        let marks = k.reports.iter().map(|r| r.report.marks);
        let detect: Vec<f64> = marks.clone().filter_map(|m| m.detection()).collect();
        let recover: Vec<f64> = marks.filter_map(|m| m.recovery()).collect();
        let three = |v: &[f64]| {
            let s = |q| {
                quantile(v, q)
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into())
            };
            format!("{} / {} / {} s", s(0.5), s(0.95), s(1.0))
        };
        println!(
            "{:22} {:>4} {:>11} {:>6} {:>9} {:>10} {:>5} {:>10}  {:>29}  {:>29}",
            k.name,
            k.reports.len(),
            k.reports.len() - n("none"),
            n("ev p99"),
            n("ev errors"),
            n("ev p99+err"),
            n("both"),
            n("threshold"),
            three(&detect),
            three(&recover)
        );
    }
    let all = || kinds.iter().flat_map(|k| &k.reports).map(|r| &r.report);
    let failed: u64 = all().map(|r| r.failed).sum();
    let retried: u64 = all().map(|r| r.retried).sum();
    println!(
        "failed requests (connect, read, or answered by the proxy) over all runs: {failed}; GETs resent after a kept-alive connection closed under them: {retried}"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let t = cutover::app::demo_error_rate_test();
    let p99 = lab::p99_test();
    println!(
        "settings: prometheus scrape {}s, cockpit poll {}s, window {}s, auto-rollback after {} consecutive breaching polls, min_requests {}, load {DEFAULT_RPS} rps, dwell {}s, {} pods per colour; evidence on the error rate: alpha {}, min_effect {}; on the p99: alpha {}, min_effect {} (each tested at alpha / 2)",
        stack::SCRAPE_INTERVAL.as_secs(),
        stack::POLL_INTERVAL.as_secs(),
        stack::WINDOW.as_secs(),
        cutover::config::AutoRollbackConfig::default().consecutive,
        defaults::min_requests(),
        DWELL.as_secs(),
        stack::PODS,
        t.alpha,
        t.min_effect,
        p99.alpha,
        p99.min_effect
    );
    let kind = |name, scenario, evidence| Kind {
        name,
        scenario,
        evidence,
        reports: Vec::new(),
    };
    let mut kinds = [
        kind("degrading, evidence", Scenario::Degrading, true),
        kind("degrading, thresholds", Scenario::Degrading, false),
        kind("healthy, evidence", Scenario::Healthy, true),
    ];
    // Which degrading kind goes first alternates, so neither always meets
    // a machine still busy with the other's teardown.
    let order = (1..=a.degrading)
        .flat_map(|i| {
            let pair = if i % 2 == 1 { [0, 1] } else { [1, 0] };
            pair.map(|k| (k, i))
        })
        .chain((1..=a.healthy).map(|i| (2, i)));
    for (k, i) in order {
        let r = once(&kinds[k], i).await?;
        // A signal ends the run it reached (the lab tears down): it ends
        // the benchmark too, with the table so far.
        let signalled = r.report.code >= 128;
        if !signalled {
            kinds[k].reports.push(r);
        } else {
            println!("stopped by a signal");
            break;
        }
    }
    table(&kinds);
    Ok(())
}
