//! Figures for the engine's hot paths. Run with
//! `cargo run --release --example bench_engine`.
//!
//! - guardrail evaluation of one snapshot,
//! - cloning the published State with full history (done once per change),
//! - rollback latency: command sent → State published at 0 %, through the
//!   real engine with the kit's fake router (no delay) (the engine's own overhead,
//!   journal fsync included).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cutover::config::SourceConfig;
use cutover::engine::journal::Journal;
use cutover::engine::{Command, EngineOptions, Origin, State};
use cutover::model::{Snapshot, Split};
use cutover_testkit::engine as engine_rig;
use cutover_testkit::fake_router::FakeRouter;
use cutover_testkit::source::{Scripted, readings};

/// Both colours healthy on every poll.
fn steady() -> Scripted {
    Scripted::new("steady", Duration::from_secs(5), |_| {
        (readings(0.2), readings(0.1))
    })
}

fn snapshot() -> Snapshot {
    Snapshot {
        at: Instant::now(),
        wall: std::time::SystemTime::now(),
        window: Duration::from_secs(5),
        blue: readings(0.2),
        green: readings(0.1),
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // 1. guardrail evaluation
    let snap = snapshot();
    let specs = cutover::engine::guardrail::shared(cutover::config::default_specs());
    let n = 200_000;
    let t = Instant::now();
    let mut sum = 0usize;
    for _ in 0..n {
        sum += cutover::engine::guardrail::evaluate(&snap, Split::new(25), &specs).len();
    }
    let per = t.elapsed() / n;
    println!(
        "guardrail evaluate (6 judgements):        {:>8.2} µs/snapshot  ({sum} judged)",
        per.as_secs_f64() * 1e6
    );

    // 2. cloning a full State
    let dir = tempfile::tempdir().unwrap();
    let mut config = engine_rig::config("bench");
    // The kit's 100 ms polls over the default window, as before.
    config.source.window = SourceConfig::default().window;
    config.plan.dwell = Duration::ZERO;
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let (handle, _task) = cutover::engine::spawn(
        &config,
        Arc::new(FakeRouter::at(0)),
        Box::new(steady()),
        journal,
        EngineOptions::default(),
    )
    .unwrap();
    // Fill the history and the event log.
    let mut rx = handle.state();
    rx.wait_for(|s| s.traffic.split.is_some()).await.unwrap();
    for _ in 0..60 {
        let _ = handle.call(Origin::Cli, Command::Note("fill".into())).await;
    }
    let full: State = {
        let mut s = (**rx.borrow()).clone();
        let snap = snapshot();
        for _ in 0..cutover::engine::state::History::CAPACITY {
            for c in cutover::model::Color::BOTH {
                for m in 0..s.metrics.len() {
                    s.guard.history.push(
                        c,
                        m,
                        cutover::engine::state::HistoryPoint {
                            at: snap.at,
                            value: Some(1.0),
                        },
                    );
                }
            }
        }
        s
    };
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        // What the engine does on each wake that changes something.
        std::hint::black_box(Arc::new(full.clone()));
    }
    println!(
        "publish (State copy, full history, {} events): {:>8.2} µs/wake",
        full.events.len(),
        (t.elapsed() / n).as_secs_f64() * 1e6
    );

    // 3. rollback latency through the engine
    let mut lat = Vec::new();
    for i in 0..200 {
        handle
            .call(
                Origin::Cli,
                Command::SetSplit {
                    split: Split::new(25).unwrap(),
                    reason: None,
                    force: true,
                },
            )
            .await
            .unwrap();
        let t = Instant::now();
        handle
            .send(
                Origin::Tui,
                Command::Rollback {
                    reason: format!("bench {i}"),
                },
            )
            .unwrap();
        rx.wait_for(|s| s.traffic.split == Some(Split::ZERO))
            .await
            .unwrap();
        lat.push(t.elapsed());
    }
    println!(
        "rollback, key → State at 0% (instant router, 2 fsyncs): median {:>7.0} µs, p99 {:>7.0} µs, max {:>7.0} µs",
        percentile(&mut lat, 0.5).as_secs_f64() * 1e6,
        percentile(&mut lat, 0.99).as_secs_f64() * 1e6,
        percentile(&mut lat, 1.0).as_secs_f64() * 1e6
    );
}
