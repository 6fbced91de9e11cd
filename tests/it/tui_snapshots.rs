//! The cockpit's main views as whole screens, at 80×24, 120×40 and 200×60:
//! mid-cutover with green in breach, rolled back, a rollback failing, and
//! the help. The `.snap` files under `snapshots/` are the reviewed screens:
//! a change to what the operator sees shows up in review as a diff of
//! them (`cargo insta review`, or `INSTA_UPDATE=always` then `git diff`).
//!
//! Every clock is fixed: the monotonic `now` the frame is drawn at, and
//! the wall time (events, "rolled back 4m10s ago"). Snapshots hold text
//! only; the verdict colours are checked on cells in `tui_render`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use cutover::engine::State;
use cutover::model::Reading;
use cutover::tui::{App, draw_at};

/// The sizes every view is checked at.
const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// The wall clock of every frame (2025-06-15 15:06:40 UTC).
fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// Draws `state` at each size and checks the screen against its snapshot
/// `<view>@<w>x<h>`.
fn check(view: &str, state: &State, app: &App, now: Instant) {
    for (w, h) in SIZES {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| draw_at(f, state, app, now, wall())).unwrap();
        insta::assert_snapshot!(format!("{view}@{w}x{h}"), term.backend());
    }
}

#[test]
fn mid_cutover_with_green_in_breach() {
    let now = crate::tui_render::now();
    let mut state = crate::tui_render::mid_cutover(now, Reading::Value(436.0));
    if let Some(snap) = state.guard.snapshot.as_mut() {
        snap.wall = wall();
    }
    check("mid_cutover", &state, &App::new(false, false), now);
}

#[test]
fn rolled_back_with_force_needed() {
    let mut state = crate::tui_rolled_back::rolled_back_state();
    if let Some(m) = state.rollback.rolled_back.as_mut() {
        m.at = wall() - Duration::from_secs(250);
    }
    check(
        "rolled_back",
        &state,
        &App::new(false, true),
        Instant::now(),
    );
}

#[test]
fn a_rollback_failing_and_retrying() {
    // An hour ahead of the process's clock: the header must count "since
    // the decision" from the frame's `now`, not from the clock it reads.
    let now = crate::tui_render::now();
    let mut s = crate::tui_rollback_failed::rollback_failing_at_5(now);
    s.traffic.split_read_at = Some(now - Duration::from_secs(1));
    check("rollback_failing", &s, &App::new(false, true), now);
}

#[test]
fn help_over_a_cutover() {
    let now = crate::tui_render::now();
    let state = crate::tui_render::mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(
        KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE),
        &state,
    );
    check("help", &state, &app, now);
}

/// Mid-cutover at 25 % over the vLLM preset's seven metrics: green's time
/// to first token in breach (the silent LLM regression: errors at 0), its
/// token rate and KV cache shown but not judged, the queue OK.
fn vllm_mid_cutover(now: Instant) -> State {
    use cutover::engine::guardrail::{evaluate, gate_reasons, shared};
    use cutover::engine::state::HistoryPoint;
    use cutover::engine::{Gate, Phase};
    use cutover::model::{Color, ColorReadings, Snapshot, Split};

    let mut c = crate::support::engine::config("llm-gateway");
    c.source.preset = Some("vllm".into());
    let mut s = State::new("llm-gateway", "demo", "demo", Default::default(), true, 2);
    s.metrics = shared(c.metric_specs().unwrap());
    let split = Split::new(25).unwrap();
    (s.phase, s.traffic.split) = (Phase::Canary { step: 2 }, Some(split));
    s.traffic.split_read_at = Some(now - Duration::from_secs(1));
    s.clock.dwell_until = Some(now + Duration::from_secs(192));
    s.guard.breach_streak = 1;
    // ttft, itl, e2e (ms), error rate (%), tokens/s, waiting, KV cache (%).
    let values = |ttft: f64, tokens: f64| [ttft, 31.0, 4200.0, 0.0, tokens, 2.0, 41.0];
    let colour = |v: [f64; 7], rps: f64| ColorReadings {
        metrics: v.map(Reading::Value).to_vec(),
        rps: Some(rps),
        ..crate::support::engine::readings(0.0)
    };
    let snap = Snapshot {
        at: now - Duration::from_secs(2),
        wall: wall(),
        window: Duration::from_secs(30),
        blue: colour(values(180.0, 2710.0), 30.2),
        green: colour(values(6400.0, 905.0), 10.1),
    };
    s.guard.judgements = evaluate(&snap, Some(split), &s.metrics);
    s.guard.gate = Gate {
        open: false,
        reasons: gate_reasons(&s.guard.judgements),
    };
    for (i, secs) in (0..60u64).rev().map(|k| k * 5 + 2).enumerate() {
        let at = now - Duration::from_secs(secs);
        let ttft = if i > 40 {
            6400.0
        } else {
            190.0 + (i % 5) as f64 * 4.0
        };
        for (c, v) in [
            (Color::Blue, 180.0 + (i % 3) as f64 * 5.0),
            (Color::Green, ttft),
        ] {
            s.guard
                .history
                .push(c, 0, HistoryPoint { at, value: Some(v) });
        }
    }
    s.guard.snapshot = Some(snap);
    s
}

#[test]
fn a_vllm_panel_lists_its_seven_metrics_and_charts_the_picked_one() {
    let now = crate::tui_render::now();
    let state = vllm_mid_cutover(now);
    let mut app = App::new(false, true);
    app.on_key(
        KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE),
        &state,
    );
    assert_eq!(app.chart(), Some(state.metrics[0].id.as_str()));
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    term.draw(|f| draw_at(f, &state, &app, now, wall()))
        .unwrap();
    insta::assert_snapshot!("vllm_mid_cutover@100x30", term.backend());
}
