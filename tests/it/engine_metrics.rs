//! The engine over a config's own metrics: the vLLM preset's seven judged
//! as their specs say. Time to first token rolls back; a metric with
//! `guard = false` is shown and never breaches; one with `rollback = false`
//! holds the gate and is journaled, but never rolls back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::{RecordAction, RecordKind};
use cutover::engine::{EngineHandle, Phase};
use cutover::metricspec::MetricSpec;
use cutover::model::{Color, ColorReadings, Reading, Verdict};

use crate::support::engine as engine_rig;
use engine_rig::{Scripted, records, wait_for};

/// Green's values that differ from a healthy vLLM's, by metric id.
#[derive(Clone, Default)]
struct Green(Arc<Mutex<Vec<(&'static str, f64)>>>);

/// Blue's time to first token, ms.
const BLUE_TTFT: f64 = 1000.0;

/// A healthy vLLM colour's value of each of the preset's metrics.
fn healthy(id: &str) -> f64 {
    match id {
        id if id.starts_with("ttft") => BLUE_TTFT,
        id if id.starts_with("itl") => 30.0,
        id if id.starts_with("e2e") => 4000.0,
        "error_rate" => 0.0,
        "requests_waiting" => 2.0,
        "kv_cache_usage" => 40.0,
        _ => 900.0,
    }
}

/// Readings in the specs' order, healthy but for `over`.
fn readings(specs: &[MetricSpec], over: &[(&str, f64)]) -> ColorReadings {
    let value = |id: &str| {
        over.iter()
            .find(|(o, _)| id.starts_with(o))
            .map_or_else(|| healthy(id), |(_, v)| *v)
    };
    ColorReadings {
        metrics: specs.iter().map(|s| Reading::Value(value(&s.id))).collect(),
        ..engine_rig::readings(0.1)
    }
}

struct Rig {
    handle: EngineHandle,
    green: Green,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// The engine at 25 % over `[source] preset = "vllm"`, armed, two
/// breaching polls to roll back.
fn rig() -> Rig {
    let mut c = engine_rig::config("llm");
    c.source.preset = Some("vllm".into());
    c.plan.dwell = Duration::from_secs(60);
    let specs = c.metric_specs().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let green = Green::default();
    let script = green.clone();
    let source = Scripted::new("vllm", Duration::from_millis(100), move |_| {
        let over = script.0.lock().unwrap().clone();
        (readings(&specs, &[]), readings(&specs, &over))
    });
    let (handle, _task) = engine_rig::spawn_at(&c, 25, source, &path);
    Rig {
        handle,
        green,
        journal: path,
        _dir: dir,
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_token_is_judged_and_rolls_back() {
    let r = rig();
    let s = wait_for(&r.handle, "judged", |s| !s.guard.judgements.is_empty()).await;
    assert_eq!(s.metrics.len(), 7, "the preset's metrics");
    let ttft = s.metrics[0].id.clone();
    assert!(ttft.contains("ttft"), "{ttft}");
    assert_eq!(s.guard.verdict(Color::Green, &ttft), Verdict::Ok);
    // TTFT six times blue's, past its 5 s bound; errors stay at 0.0 %.
    r.green.0.lock().unwrap().push(("ttft", 6000.0));
    let s = wait_for(&r.handle, "auto-rollback", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    let Phase::RolledBack { reason } = s.phase else {
        unreachable!()
    };
    assert!(reason.contains("time to first token"), "{reason}");
    let rollback = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
        .unwrap();
    let green_ttft = rollback
        .readings
        .iter()
        .find(|x| x.color == Color::Green && x.metric == ttft)
        .unwrap();
    assert_eq!(
        (green_ttft.value, green_ttft.verdict),
        (Some(6000.0), Verdict::Breach)
    );
    assert!(green_ttft.bounds.contains(&"≤ 5000 ms".to_string()));
    assert!(green_ttft.bounds.contains(&"≤ blue +50%".to_string()));
}

#[tokio::test(start_paused = true)]
async fn a_metric_shown_but_not_judged_never_breaches() {
    let r = rig();
    r.green.0.lock().unwrap().push(("kv_cache_usage", 100.0));
    let s = wait_for(&r.handle, "ten polls", |s| {
        s.guard.history.series(Color::Green, 0).len() >= 10
    })
    .await;
    assert!(s.guard.judgement(Color::Green, "kv_cache_usage").is_none());
    let kv = s.metric_index("kv_cache_usage").unwrap();
    let shown = s.guard.snapshot.as_ref().unwrap().green.at(kv).value();
    assert_eq!(shown, Some(100.0), "shown all the same");
    assert_eq!(s.guard.breach_streak, 0);
    assert!(s.guard.judgements.iter().all(|j| j.verdict == Verdict::Ok));
    assert!(matches!(s.phase, Phase::Canary { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_breach_that_does_not_roll_back_holds_the_gate() {
    let r = rig();
    // A queue of 80 against a breach level of 50: `rollback = false`.
    r.green.0.lock().unwrap().push(("requests_waiting", 80.0));
    let s = wait_for(&r.handle, "ten polls in breach", |s| {
        s.guard.verdict(Color::Green, "requests_waiting") == Verdict::Breach
            && s.guard.history.series(Color::Green, 0).len() >= 10
    })
    .await;
    assert_eq!(s.guard.breach_streak, 0, "counts nothing toward rollback");
    assert!(matches!(s.phase, Phase::Canary { .. }));
    assert!(!s.guard.gate.open);
    assert!(
        s.guard.gate.reasons.iter().any(|g| matches!(
            g,
            GateReason::Guardrail { metric, verdict: Verdict::Breach, .. } if metric == "requests_waiting"
        )),
        "{:?}",
        s.guard.gate.reasons
    );
    let breach = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Breach)
        .expect("the breach is journaled");
    assert_eq!(breach.readings[0].metric, "requests_waiting");
}

#[tokio::test(start_paused = true)]
async fn green_is_judged_relative_to_blue() {
    let r = rig();
    // 40 % slower than blue, within the 2 s warn level: past the +25 %
    // warning, short of the +50 % breach.
    r.green.0.lock().unwrap().push(("ttft", BLUE_TTFT * 1.4));
    let s = wait_for(&r.handle, "a warning", |s| {
        s.guard.verdict(Color::Green, &s.metrics[0].id) == Verdict::Warn
    })
    .await;
    let j = s.guard.judgement(Color::Green, &s.metrics[0].id).unwrap();
    assert!(
        j.summary().ends_with("WARN (≤ blue +25%)"),
        "{}",
        j.summary()
    );
    assert!(matches!(s.phase, Phase::Canary { .. }));
    // 60 % slower, still under the absolute 2 s warning: a breach of the
    // relative margin alone, which rolls back.
    r.green.0.lock().unwrap()[0].1 = BLUE_TTFT * 1.6;
    let s = wait_for(&r.handle, "auto-rollback", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    let Phase::RolledBack { reason } = s.phase else {
        unreachable!()
    };
    assert!(reason.contains("1600 ms BREACH (≤ blue +50%)"), "{reason}");
}
