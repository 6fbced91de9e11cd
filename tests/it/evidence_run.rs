//! Evidence decides (issue 19): `cutover run` on a scrape source whose
//! green serves 25 % of 1,000 requests per second. Green's error rate at
//! 1.0 % against blue's 0.5 % never crosses the thresholds (`absolute` 5 %,
//! `vs_blue` +2 pt), yet the test on the error rate rolls it back; at
//! 0.5 % on both, nothing rolls back in the same 120 s. A mean latency
//! 50 % higher on green, far under its threshold, is rolled back by the
//! test of means.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::{Record, RecordAction, RecordKind, RecordOrigin};

use crate::support::engine::records;
use crate::support::serial;
use crate::support::served::{command, serve_pages};

/// Requests per second over both colours, and green's share of them.
const RPS: f64 = 1000.0;
const GREEN_SHARE: f64 = 0.25;

/// What a colour serves: requests per second, the share of them that
/// fail, their mean latency in seconds.
#[derive(Clone, Copy)]
struct Serves {
    rps: f64,
    errors: f64,
    mean: f64,
}

/// The sum of the latencies served in `secs` seconds: each second's mean
/// is `mean` moved by up to ±10 % (a fixed pseudo-random pattern), so
/// that the polls' batch means have a spread to estimate.
fn latency_sum(secs: f64, s: Serves) -> f64 {
    let second = |k: u64| s.mean * (1.0 + 0.1 * ((k * 7919 % 13) as f64 / 6.0 - 1.0));
    let whole = secs.floor() as u64;
    let done: f64 = (0..whole).map(second).sum();
    s.rps * (done + (secs - secs.floor()) * second(whole))
}

/// One colour's page after `secs` seconds (all requests within 100 ms:
/// only the error rate and the mean latency differ).
fn page(secs: f64, s: Serves) -> String {
    let requests = (secs * s.rps).floor();
    let errors = (requests * s.errors).floor();
    let series = [
        ("# TYPE request_duration_seconds histogram", None),
        (
            "request_duration_seconds_bucket{le=\"0.1\"}",
            Some(requests),
        ),
        (
            "request_duration_seconds_bucket{le=\"+Inf\"}",
            Some(requests),
        ),
        ("request_duration_seconds_count", Some(requests)),
        ("request_duration_seconds_sum", Some(latency_sum(secs, s))),
        ("requests_total{code=\"200\"}", Some(requests - errors)),
        ("requests_total{code=\"500\"}", Some(errors)),
        ("model_quality_score", Some(0.9)),
    ];
    series
        .iter()
        .map(|(name, v)| match v {
            Some(v) => format!("{name} {v}\n"),
            None => format!("{name}\n"),
        })
        .collect()
}

/// A colour's server: its counters advance with time from now.
fn serve(s: Serves) -> String {
    let start = Instant::now();
    serve_pages(move |_| page(start.elapsed().as_secs_f64(), s))
}

/// The test on the error rate, beside thresholds that never fire.
const ERROR_RATE_TEST: &str = "[guardrails.error_rate]\nabsolute = { warn = 4.0, breach = 5.0 }\n\
     vs_blue = { warn = 1.0, breach = 2.0 }\n\
     test = { alpha = 0.01, min_effect = \"+0.25pt\" }\n";

/// A mean latency from the histogram's `_sum` over its `_count`, with a
/// threshold that never fires and the test of means.
const MEAN_TEST: &str = "[[metrics]]\nid = \"latency_mean_ms\"\nlabel = \"mean latency\"\n\
     unit = \"ms\"\nbetter = \"lower\"\n\
     scrape = { numerator = \"request_duration_seconds_sum\", \
     denominator = \"request_duration_seconds_count\", unit = \"s\" }\n\
     absolute = { warn = \"4s\", breach = \"5s\" }\n\
     test = { alpha = 0.01, min_effect = \"+30%\" }\n";

/// The config: green at 25 % for as long as the test runs (one step, a
/// dwell longer than the test), blue at 0.5 % errors and 60 ms, and
/// `tests` (TOML) to judge green with.
fn config(dir: &Path, green: Serves, tests: &str) -> PathBuf {
    let path = dir.join("c.toml");
    let text = format!(
        "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n\
         [source]\nkind = \"scrape\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nwindow = \"5s\"\n\
         [source.scrape]\nblue = [\"{}\"]\ngreen = [\"{}\"]\n\
         [plan]\nsteps = [25, 100]\ndwell = \"1h\"\nprogress_deadline = \"2h\"\n\
         [journal]\npath = \"{}\"\n{tests}",
        serve(Serves {
            rps: RPS * (1.0 - GREEN_SHARE),
            errors: 0.005,
            mean: 0.060,
        }),
        serve(green),
        dir.join("journal.jsonl").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Green at 25 % of the traffic with `errors` and a mean latency of `mean`
/// seconds.
fn green(errors: f64, mean: f64) -> Serves {
    Serves {
        rps: RPS * GREEN_SHARE,
        errors,
        mean,
    }
}

/// `cutover run` on that config for at most `within`: its exit code
/// (`None`: still running, then killed), its output and its journal.
fn cutover_run(green: Serves, tests: &str, within: Duration) -> (Option<i32>, String, Vec<Record>) {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), green, tests);
    let log = dir.path().join("log");
    let child = command(
        dir.path(),
        &config,
        &["run", "--log", log.to_str().unwrap()],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (code, out) = wait(child, within);
    (code, out, records(&dir.path().join("journal.jsonl")))
}

/// Waits up to `within` for the run to end: its exit code and output, or
/// `None` when it was still running (then it is killed).
fn wait(mut child: Child, within: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + within;
    let mut code = None;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            code = status.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (code, text)
}

fn rollback_intent(recs: &[Record]) -> Option<&Record> {
    recs.iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
}

#[test]
fn a_doubled_error_rate_rolls_back_on_evidence() {
    let (code, out, recs) = cutover_run(
        green(0.010, 0.060),
        ERROR_RATE_TEST,
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(3), "{out}");
    let intent = rollback_intent(&recs).unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(intent.origin, Some(RecordOrigin::AutoRollback));
    let reason = intent.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("evidence"), "{reason}");
    assert!(reason.contains("error rate"), "{reason}");
    let e = intent.evidence.get("error_rate").copied().unwrap_or(0.0);
    assert!(e >= 100.0, "the evidence reached 1/α: {intent:?}");
    the_samples_and_the_report_carry_the_evidence(&recs);
}

/// The samples journal the evidence on the one tested metric and its
/// level (α, the only metric tested), and the report charts it after the
/// error rate's chart.
fn the_samples_and_the_report_carry_the_evidence(recs: &[Record]) {
    let samples: Vec<_> = recs.iter().filter_map(|r| r.sample.as_ref()).collect();
    assert!(!samples.is_empty(), "{recs:#?}");
    for s in &samples {
        assert_eq!(s.evidence.keys().collect::<Vec<_>>(), ["error_rate"]);
        assert_eq!(s.levels.get("error_rate"), Some(&0.01));
    }
    let text: String = recs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    let page = crate::support::report_page(&text);
    assert_eq!(
        page.matches("<svg").count(),
        1 + 3 + 1,
        "the split, today's three and the error rate's evidence"
    );
    assert!(page.contains("evidence on error rate (error_rate), log scale"));
    assert!(page.contains("rejects at 1/α = 100"));
    assert!(page.contains("rollback decided"));
}

/// The same 120 s in which a doubled error rate is rolled back: a heavy
/// test that mostly waits.
#[test]
fn equal_error_rates_do_not_roll_back() {
    let (code, out, recs) = cutover_run(
        green(0.005, 0.060),
        ERROR_RATE_TEST,
        Duration::from_secs(120),
    );
    assert_eq!(code, None, "still running: {out}");
    assert!(rollback_intent(&recs).is_none(), "{recs:#?}");
}

/// 90 ms on green against blue's 60 ms: under the 5 s threshold, and the
/// test of means judges once 10 polls have shown the spread.
#[test]
fn a_higher_mean_latency_rolls_back_on_evidence() {
    let (code, out, recs) = cutover_run(green(0.005, 0.090), MEAN_TEST, Duration::from_secs(60));
    assert_eq!(code, Some(3), "{out}");
    let intent = rollback_intent(&recs).unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(intent.origin, Some(RecordOrigin::AutoRollback));
    let reason = intent.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("green's mean latency is higher than blue's"),
        "{reason}"
    );
    let e = intent
        .evidence
        .get("latency_mean_ms")
        .copied()
        .unwrap_or(0.0);
    assert!(e >= 100.0, "the evidence reached 1/α: {intent:?}");
}
