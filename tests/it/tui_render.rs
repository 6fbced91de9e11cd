//! Renders the cockpit into a ratatui `TestBackend` and checks text and the
//! colours of the cells that carry verdicts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color as Tc, Modifier};

use cutover::engine::guardrail::{evaluate, gate_reasons};
use cutover::engine::state::{HistoryPoint, LastValue};
use cutover::engine::{Event, EventLevel, Gate, Phase, PlanView, State};
use cutover::metrics::SourceInfo;
use cutover::model::{Color, ColorReadings, Metric, NoData, Reading, Snapshot, Split};
use cutover::tui::{App, Theme, draw};

const W: u16 = 120;
const H: u16 = 40;

fn plan() -> PlanView {
    PlanView::default()
}

fn readings(p99: Reading, err: Reading, q: Reading, rps: f64) -> ColorReadings {
    ColorReadings {
        metrics: vec![p99, err, q],
        rps: Some(rps),
        up: true,
        pods_up: None,
        warnings: vec![],
        alarms: Vec::new(),
        span: Duration::from_secs(5),
        tallies: Vec::new(),
    }
}

/// "Now" an hour ahead of the clock, so instants in the past never underflow.
pub(crate) fn now() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Mid-cutover at 25 %: blue healthy, green's error rate in breach (7.90 %
/// against ≤ 5.00 %), green's p99 as given.
pub(crate) fn mid_cutover(now: Instant, green_p99: Reading) -> State {
    let prometheus = SourceInfo {
        queries: true,
        ..SourceInfo::new("prometheus")
    };
    let mut s = State::new("llm-gateway", "nginx", prometheus, plan(), true, 2);
    let split = Split::new(25).unwrap();
    s.phase = Phase::Canary { step: 2 };
    s.traffic.split = Some(split);
    s.traffic.split_read_at = Some(now - Duration::from_secs(1));
    s.clock.dwell_until = Some(now + Duration::from_secs(192));
    s.guard.breach_streak = 1;
    let snap = Snapshot {
        at: now - Duration::from_secs(2),
        wall: std::time::SystemTime::now(),
        window: Duration::from_secs(30),
        blue: readings(
            Reading::Value(412.0),
            Reading::Value(0.21),
            Reading::Value(0.871),
            96.4,
        ),
        green: readings(green_p99, Reading::Value(7.9), Reading::Value(0.866), 32.1),
    };
    s.guard.judgements = evaluate(&snap, Some(split), &s.metrics);
    s.guard.gate = Gate {
        open: false,
        reasons: gate_reasons(&s.guard.judgements),
    };
    s.guard.snapshot = Some(snap);
    for (i, secs) in (0..60u64).rev().map(|k| k * 5 + 2).enumerate() {
        let at = now - Duration::from_secs(secs);
        let wobble = (i as f64 * 0.7).sin();
        let pts = [
            (Color::Blue, Metric::P99Ms, Some(410.0 + 15.0 * wobble)),
            (Color::Blue, Metric::ErrorRate, Some(0.2 + 0.05 * wobble)),
            (Color::Blue, Metric::Quality, Some(0.87 + 0.004 * wobble)),
            (
                Color::Green,
                Metric::P99Ms,
                (i % 17 != 5).then_some(430.0 + 25.0 * wobble),
            ),
            (
                Color::Green,
                Metric::ErrorRate,
                Some(if i > 50 { 7.9 } else { 0.3 + 0.1 * wobble }),
            ),
            (Color::Green, Metric::Quality, Some(0.866 + 0.005 * wobble)),
        ];
        for (c, m, v) in pts {
            s.guard
                .history
                .push(c, m.index(), HistoryPoint { at, value: v });
        }
    }
    s.guard.last_values[1] = vec![Some(LastValue {
        value: 412.0,
        at: now - Duration::from_secs(14),
    })];
    let t0 = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    for (k, (level, text)) in [
        (EventLevel::Info, "router nginx read: green 0%"),
        (EventLevel::Traffic, "advance 0% → 1% (tui) ok in 0.12s"),
        (EventLevel::Traffic, "advance 1% → 5% (tui) ok in 0.11s"),
        (EventLevel::Traffic, "advance 5% → 25% (tui) ok in 0.13s"),
        (EventLevel::Warn, "green error rate 1.40 % WARN (≤ 5.00 %)"),
        (
            EventLevel::Error,
            "green error rate 7.90 % BREACH (≤ 5.00 %) 1/2",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        s.events.push_back(Event {
            wall: t0 + Duration::from_secs(60 * k as u64),
            level,
            text: text.into(),
        });
    }
    s
}

pub(crate) fn render(state: &State, app: &App, now: Instant, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, state, app, now)).unwrap();
    term.backend().buffer().clone()
}

fn row(buf: &Buffer, y: u16, xs: std::ops::Range<u16>) -> String {
    xs.map(|x| buf[(x, y)].symbol().to_string()).collect()
}

pub(crate) fn text(buf: &Buffer) -> String {
    let a = buf.area;
    (0..a.height)
        .map(|y| row(buf, y, 0..a.width))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first cell where `needle` starts, searching rows `ys` and columns `xs`.
fn find(
    buf: &Buffer,
    needle: &str,
    xs: std::ops::Range<u16>,
    ys: std::ops::Range<u16>,
) -> Option<(u16, u16)> {
    let chars: Vec<String> = needle.chars().map(String::from).collect();
    for y in ys {
        for x in xs.clone() {
            if x as usize + chars.len() > xs.end as usize {
                break;
            }
            if chars
                .iter()
                .enumerate()
                .all(|(i, c)| buf[(x + i as u16, y)].symbol() == c)
            {
                return Some((x, y));
            }
        }
    }
    None
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// Rows of the BLUE | GREEN panels at 120×40.
const PANEL_ROWS: std::ops::Range<u16> = 3..27;

#[test]
fn panels_show_breach_and_ok_in_words_and_colours() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let app = App::new(false, false);
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    let theme = Theme::color();

    let (_, by) = find(&buf, "BLUE", 0..60, PANEL_ROWS).expect("BLUE panel");
    let (_, gy) = find(&buf, "GREEN", 60..W, PANEL_ROWS).expect("GREEN panel");
    assert_eq!(by, gy, "panels side by side\n{all}");

    let (x, y) = find(&buf, "BREACH", 60..W, PANEL_ROWS).expect("BREACH in the green panel");
    assert!(row(&buf, y, 60..W).contains("error rate"), "{all}");
    assert!(row(&buf, y, 60..W).contains("7.90 %"), "{all}");
    assert!(row(&buf, y, 60..W).contains("✗ BREACH"), "{all}");
    assert_eq!(buf[(x, y)].fg, theme.breach.fg.unwrap());
    assert_eq!(buf[(x, y)].fg, Tc::Red);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    // Green's delta against blue.
    assert!(row(&buf, y, 60..W).contains("Δ +7.69 pt vs blue"), "{all}");
    // The bound under it.
    assert!(all.contains("≤ 5.00 %  warn 1.00 %"), "{all}");

    // Blue's error rate is OK, in the ok colour, and no BREACH on blue's side.
    let (x, y) = find(&buf, "✓ OK", 0..60, PANEL_ROWS).expect("OK in the blue panel");
    assert_eq!(buf[(x + 2, y)].fg, theme.ok.fg.unwrap());
    assert_eq!(buf[(x + 2, y)].fg, Tc::Green);
    assert!(find(&buf, "BREACH", 0..60, PANEL_ROWS).is_none(), "{all}");

    // Header, split bar, gate, events, footer.
    assert!(all.contains("CANARY"), "{all}");
    assert!(all.contains("green 25% · blue 75%"), "{all}");
    assert!(all.contains("step 3/5 · 25%"), "{all}");
    assert!(all.contains("dwell 03:12"), "{all}");
    assert!(all.contains("ARMED 1/2"), "{all}");
    assert!(all.contains("data 2s"), "{all}");
    assert!(
        all.contains("gate CLOSED: green error rate 7.90 % BREACH"),
        "{all}"
    );
    assert!(
        all.contains("96.4 rps") && all.contains("32.1 rps"),
        "{all}"
    );
    assert!(all.contains("75% of traffic") && all.contains("25% of traffic"));
    assert!(all.contains("BREACH (≤ 5.00 %) 1/2"), "{all}");
    assert!(!all.contains("READ-ONLY"), "{all}");
    let (x, y) = find(&buf, "BREACH (≤ 5.00 %) 1/2", 0..W, 27..H).expect("event");
    assert_eq!(buf[(x, y)].fg, Tc::Red);
    assert!(all.contains("ROLLBACK"), "footer hints\n{all}");
}

#[test]
fn no_data_shows_the_reason_and_last_value_never_a_zero() {
    let now = now();
    let state = mid_cutover(
        now,
        Reading::NoData(NoData::Timeout("prometheus took over 2s".into())),
    );
    let app = App::new(false, false);
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    let (x, y) = find(&buf, "NO DATA", 60..W, PANEL_ROWS).expect("NO DATA in green");
    let line = row(&buf, y, 60..W);
    assert!(line.contains("p99 latency"), "{all}");
    assert!(
        line.contains("? NO DATA  timeout: prometheus took over 2s"),
        "{all}"
    );
    assert!(!line.contains('0'), "a zero on the no-data line: {line}");
    assert_eq!(buf[(x, y)].fg, Tc::DarkGray);
    let next = row(&buf, y + 1, 60..W);
    assert!(next.contains("last 412 ms, 14s ago"), "{all}");
}

#[test]
fn readonly_shows_the_lock() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(true, false);
    app.on_key(key('r'), &state);
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    assert!(row(&buf, 0, 0..W).contains("⊘ READ-ONLY"), "{all}");
    assert!(all.contains("read-only: r disabled"), "{all}");
}

#[test]
fn help_overlay_lists_every_key() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(key('?'), &state);
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    for needle in [
        "n  →",
        "advance to the next step",
        "b  ←",
        "step back",
        "ROLLBACK to 0% now, no confirmation",
        "promote: flip 100% to green (asks)",
        "force advance past a closed gate",
        "space",
        "pause / resume",
        "arm / disarm auto-rollback",
        "command line",
        "?  Esc",
        "q  Ctrl-C",
        "set <pct>",
        "rollback [reason...]",
        "note <text...>",
    ] {
        assert!(all.contains(needle), "help lacks {needle:?}\n{all}");
    }
}

#[test]
fn promote_dialog_focuses_no() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(
        KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT),
        &state,
    );
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    assert!(all.contains("Promote: flip 100% to green now?"), "{all}");
    let (x, y) = find(&buf, "[ No ]", 0..W, 0..H).expect("No button");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(&buf, "[ Yes ]", 0..W, 0..H).expect("Yes button");
    assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn force_dialog_lists_the_gate_reasons() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(key('f'), &state);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("Force advance past the gate?"), "{all}");
    assert!(all.contains("• green error rate 7.90 % BREACH"), "{all}");
}

#[test]
fn no_color_theme_uses_modifiers_only() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let app = App::new(false, true);
    let buf = render(&state, &app, now, W, H);
    let (x, y) = find(&buf, "BREACH", 60..W, PANEL_ROWS).expect("BREACH in green");
    let cell = &buf[(x, y)];
    assert_eq!(cell.fg, Tc::Reset);
    assert!(cell.modifier.contains(Modifier::BOLD | Modifier::REVERSED));
    for y in 0..H {
        for x in 0..W {
            let c = &buf[(x, y)];
            assert_eq!((c.fg, c.bg), (Tc::Reset, Tc::Reset), "colour at {x},{y}");
        }
    }
}

#[test]
fn stale_unknown_split_and_rollback_are_said() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.guard.snapshot.as_mut().unwrap().at = now - Duration::from_secs(17);
    state.traffic.split = None;
    state.traffic.router_error = Some("nginx -t failed".into());
    let mut app = App::new(false, false);
    app.set_poll_interval(Duration::from_secs(5));
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("STALE 17s"), "{all}");
    assert!(all.contains("split unknown: nginx -t failed"), "{all}");

    state.traffic.split = Some(Split::ZERO);
    state.traffic.router_error = None;
    state.phase = Phase::RolledBack {
        reason: "operator rollback".into(),
    };
    state.clock.dwell_until = None;
    state.guard.armed = false;
    let all = text(&render(&state, &app, now, W, H));
    assert!(
        all.contains("ROLLED BACK") && all.contains("why: operator rollback"),
        "{all}"
    );
    assert!(all.contains("green 0% · blue 100%"), "{all}");
    assert!(all.contains("DISARMED"), "{all}");

    let fresh = State::new("svc", "demo", "demo", plan(), true, 2);
    let all = text(&render(&fresh, &app, now, W, H));
    assert!(all.contains("no data yet"), "{all}");
    assert!(all.contains("split unknown: router not read yet"), "{all}");
}

#[test]
fn pending_write_paused_and_standby_in_header() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.traffic.pending = Some(cutover::engine::PendingChange {
        from: Split::new(5),
        to: Split::new(25).unwrap(),
        started: now - Duration::from_millis(400),
        action: cutover::engine::Action::Advance,
    });
    state.phase = Phase::Paused { step: 2 };
    state.clock.dwell_until = None;
    state.clock.dwell_left = Some(Duration::from_secs(130));
    state.autopilot = true;
    state.clock.standby_until = Some(SystemTime::now() + Duration::from_secs(47 * 3600 + 1800));
    let all = text(&render(&state, &App::new(false, false), now, 160, H));
    assert!(all.contains("applying 5% → 25% 0.4s"), "{all}");
    assert!(all.contains("paused 02:10 left"), "{all}");
    assert!(all.contains("AUTOPILOT"), "{all}");
    assert!(all.contains("blue standby 47h"), "{all}");
}

/// A state of `[cost]` `cost` over today's three, blue on standby.
fn standby_with_cost(cost: &str) -> (State, Instant) {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let config = cutover::config::load_str(
        &format!(
            "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n\
             [cost]\n{cost}\n"
        ),
        "t.toml",
    )
    .unwrap();
    state.metrics = cutover::engine::guardrail::shared(config.metric_specs().unwrap());
    state.clock.standby_until = Some(SystemTime::now() + Duration::from_secs(47 * 3600 + 1800));
    (state, now)
}

#[test]
fn the_standby_countdown_shows_what_idle_blue_costs_per_hour() {
    let (state, now) =
        standby_with_cost("per_replica_hour = 1.5\nreplicas = { blue = 4, green = 2 }");
    let all = text(&render(&state, &App::new(false, false), now, 160, H));
    // Blue's 4 replicas at $1.50 each.
    assert!(all.contains("blue standby 47h"), "{all}");
    assert!(all.contains("idle $6.00/h"), "{all}");
    // With token prices an idle colour spends nothing: no figure.
    let (state, now) = standby_with_cost(
        "prompt_per_mtok = 0.5\ncompletion_per_mtok = 1.5\n\
         prompt_tokens = \"prompt_tokens_total\"\ncompletion_tokens = \"completion_tokens_total\"",
    );
    let all = text(&render(&state, &App::new(false, false), now, 160, H));
    assert!(all.contains("blue standby 47h"), "{all}");
    assert!(!all.contains("idle $"), "{all}");
}

#[test]
fn small_terminals_do_not_panic() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(true, false);
    let buf = render(&state, &app, now, 80, 24);
    let all = text(&buf);
    assert!(all.contains("BLUE") && all.contains("GREEN"), "{all}");
    assert!(all.contains("BREACH"), "{all}");
    app.on_key(key('?'), &state);
    for (w, h) in [(80, 24), (60, 15), (20, 6), (3, 2), (1, 1)] {
        render(&state, &app, now, w, h);
        render(&state, &App::new(false, true), now, w, h);
    }
}

/// At 60×15 the panels have two rows: green's error rate in BREACH keeps
/// its row, and an OK row is what goes.
#[test]
fn breach_row_survives_a_small_terminal() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let app = App::new(false, false);
    let buf = render(&state, &app, now, 60, 15);
    let all = text(&buf);
    let Some((_, y)) = find(&buf, "BREACH", 30..60, 3..8) else {
        panic!("no BREACH row in green\n{all}");
    };
    assert!(
        row(&buf, y, 30..60).contains("error rate 7.90 % ✗ BREACH"),
        "{all}"
    );
    // The header's items wrap whole: auto-rollback is not cut off.
    assert!(all.contains("auto-rollback ARMED 1/2"), "{all}");
    // Every size from there down to the compact view keeps it too.
    for h in 14..=24 {
        let all = text(&render(&state, &app, now, 60, h));
        assert!(
            all.contains("error rate 7.90 % ✗ BREACH") || all.contains("terminal too small"),
            "{h}\n{all}"
        );
    }
}

/// Below the smallest useful size: one compact view with the split, the
/// worst verdict and the rollback hint; `r` still rolls back.
#[test]
fn too_small_terminal_says_so_and_keeps_what_matters() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    let all = text(&render(&state, &app, now, 40, 10));
    assert!(all.contains("terminal too small (40x10)"), "{all}");
    assert!(all.contains("green 25% · blue 75%"), "{all}");
    assert!(all.contains("worst ✗ BREACH green error rate"), "{all}");
    assert!(all.contains("r = ROLLBACK now"), "{all}");
    assert!(matches!(
        app.on_key(key('r'), &state),
        cutover::tui::Action::Send(cutover::engine::Command::Rollback { .. })
    ));
    let all = text(&render(&state, &app, now, 40, 10));
    assert!(all.contains("asked: ROLLBACK"), "{all}");
}

/// The header keeps the whole rollback reason, wrapped.
#[test]
fn rollback_reason_wraps_instead_of_being_cut() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.traffic.split = Some(Split::ZERO);
    state.phase = Phase::RolledBack {
        reason: "auto-rollback: green error rate 7.90 % BREACH (≤ 5.00 %) for 2 polls in a row"
            .into(),
    };
    let all = text(&render(&state, &App::new(false, false), now, 60, 24));
    let header: String = all
        .lines()
        .take_while(|l| !l.starts_with('─'))
        .collect::<Vec<_>>()
        .join(" ");
    let words: String = header.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(
            "why: auto-rollback: green error rate 7.90 % BREACH (≤ 5.00 %) for 2 polls in a row"
        ),
        "{all}"
    );
    assert!(words.contains("green 0% · blue 100%"), "{all}");
}

/// Repeats of one event show once with a count, and the log scrolls.
#[test]
fn repeated_events_collapse_and_the_log_scrolls() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let t0 = UNIX_EPOCH + Duration::from_secs(1_750_000_600);
    for k in 0..6 {
        state.events.push_back(Event {
            wall: t0 + Duration::from_secs(k),
            level: EventLevel::Warn,
            text: "refused: gate closed".into(),
        });
    }
    let mut app = App::new(false, false);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("refused: gate closed ×6"), "{all}");
    assert_eq!(all.matches("refused: gate closed").count(), 1, "{all}");
    // PgUp shows older lines; the title says newer ones are below.
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE), &state);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("router nginx read: green 0%"), "{all}");
    assert!(!all.contains("refused: gate closed ×6"), "{all}");
    assert!(all.contains("newer below"), "{all}");
    // `:events` shows the whole log on the full screen.
    let mut app = App::new(false, false);
    for c in ":events".chars() {
        app.on_key(key(c), &state);
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), &state);
    let all = text(&render(&state, &app, now, W, 20));
    assert!(!all.contains("GREEN"), "panels under the full log\n{all}");
    for needle in [
        "router nginx read: green 0%",
        "advance 5% → 25% (tui) ok in 0.13s",
        "refused: gate closed ×6",
        "Esc closes",
    ] {
        assert!(all.contains(needle), "{needle}\n{all}");
    }
}

/// Read-only lists no key it would refuse.
#[test]
fn readonly_key_bar_lists_no_traffic_keys() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    for w in [W, 80] {
        let buf = render(&state, &App::new(true, false), now, w, H);
        let bar = row(&buf, H - 2, 0..w);
        for gone in ["advance", "back", "ROLLBACK", "promote", "force"] {
            assert!(!bar.contains(gone), "{w}: {gone} in {bar}");
        }
        // Pause and arm write the journal: refused read-only, so not listed.
        for gone in ["pause", " arm", "disarm"] {
            assert!(!bar.contains(gone), "{w}: {gone} in {bar}");
        }
        assert!(bar.contains("quit"), "{bar}");
        let buf = render(&state, &App::new(false, false), now, w, H);
        let bar = row(&buf, H - 2, 0..w);
        assert!(bar.contains("ROLLBACK") && bar.contains("promote"), "{bar}");
    }
}

/// `a` while armed opens a dialog with No focused.
#[test]
fn disarm_dialog_focuses_no() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    assert_eq!(app.on_key(key('a'), &state), cutover::tui::Action::None);
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    assert!(all.contains("Disarm auto-rollback?"), "{all}");
    let (x, y) = find(&buf, "[ No ]", 0..W, 0..H).expect("No button");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(&buf, "[ Yes ]", 0..W, 0..H).expect("Yes button");
    assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

/// Right after a split change, both windows still hold the old split: the
/// panels say "settling" instead of a rate for a share they no longer have.
#[test]
fn settling_after_a_split_change() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    // The window is 30 s; the split changed 10 s before the snapshot.
    let snap_at = state.guard.snapshot.as_ref().unwrap().at;
    state.traffic.split_changed_at = Some(snap_at - Duration::from_secs(10));
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    assert_eq!(all.matches("settling").count(), 2, "{all}");
    assert!(!all.contains("32.1 rps"), "{all}");
    // A window that starts after the change is judged as usual.
    state.traffic.split_changed_at = Some(snap_at - Duration::from_secs(31));
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    assert!(!all.contains("settling"), "{all}");
    assert!(all.contains("32.1 rps"), "{all}");
}

/// The y axis fits the data, not a far-off threshold, and the x axis has
/// time labels.
#[test]
fn charts_fit_the_data_and_label_time() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    // Blue's p99 wobbles 395..425 ms; its levels (612 ms warn, 1412 ms
    // breach against blue, 5000 ms absolute) stay off the axis.
    let labels: Vec<f64> = all
        .lines()
        .filter_map(|l| l.split('│').nth(1))
        .filter_map(|cell| cell.trim().strip_suffix(" ms"))
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(labels.len() >= 2, "{all}");
    assert!(
        labels.iter().all(|&v| (380.0..480.0).contains(&v)),
        "{labels:?}\n{all}"
    );
    assert!(all.contains("now"), "{all}");
    assert!(all.contains("-4m57s"), "{all}");
}

/// On a short terminal the help scrolls to its last line instead of
/// cutting it off.
#[test]
fn help_scrolls_on_a_short_terminal() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(key('?'), &state);
    let all = text(&render(&state, &app, now, 80, 24));
    assert!(all.contains("↑/↓ more"), "{all}");
    assert!(!all.contains("help | q"), "{all}");
    // More presses than the help has lines below the fold.
    for _ in 0..40 {
        app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE), &state);
    }
    let all = text(&render(&state, &app, now, 80, 24));
    assert!(all.contains("help | q"), "{all}");
    let all = text(&render(&state, &app, now, W, H));
    assert!(!all.contains("↑/↓ more") && all.contains(" keys"), "{all}");
}

#[test]
fn three_views_of_the_split_each_with_its_age() {
    use cutover::engine::{Observed, Verified};
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.traffic.observed = Some(Observed {
        green: 24.6,
        at: now - Duration::from_secs(3),
    });
    state.traffic.verified = Some(Verified {
        served: Split::new(25).unwrap(),
        at: now - Duration::from_secs(12),
        detail: "served 25%".into(),
    });
    let app = App::new(false, false);
    let theme = Theme::color();
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    // The router's split with the age of its answer, then the other two.
    assert!(all.contains("green 25% · blue 75% (1s)"), "{all}");
    let (x, y) = find(&buf, "metrics 24.6% (3s)", 0..W, 0..4).expect("metrics split");
    assert_ne!(buf[(x, y)].fg, theme.warn.fg.unwrap(), "{all}");
    assert!(row(&buf, y, 0..W).contains("data plane 25% (12s)"), "{all}");
    assert!(!all.contains('≠'), "{all}");

    // The traffic disagrees for a whole window: marked, in the warn colour.
    state.traffic.observed = Some(Observed {
        green: 40.0,
        at: now - Duration::from_secs(3),
    });
    state.traffic.observed_disagrees = true;
    let buf = render(&state, &app, now, W, H);
    let all = text(&buf);
    let (x, y) = find(&buf, "≠ metrics 40.0% (3s)", 0..W, 0..4).expect("marked split");
    assert_eq!(buf[(x, y)].fg, Tc::Yellow);
    assert_eq!(buf[(x + 2, y)].fg, theme.warn.fg.unwrap());
    assert!(!all.contains("≠ data plane"), "{all}");

    // A data plane that serves another split than the router says.
    state.traffic.verified.as_mut().unwrap().served = Split::new(5).unwrap();
    let buf = render(&state, &app, now, W, H);
    let (x, y) = find(&buf, "≠ data plane 5% (12s)", 0..W, 0..4).expect("data plane");
    assert_eq!(buf[(x, y)].fg, Tc::Yellow);

    // Nothing observed or verified yet: nothing made up.
    state.traffic.observed = None;
    state.traffic.verified = None;
    let all = text(&render(&state, &app, now, W, H));
    assert!(
        !all.contains("metrics 4") && !all.contains("data plane"),
        "{all}"
    );
}

#[test]
fn panel_titles_show_readiness_and_pods_up() {
    use cutover::router::{Readiness, Replicas};
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.traffic.readiness = Some(Readiness {
        blue: Some(Replicas {
            ready: 3,
            desired: 3,
        }),
        green: Some(Replicas {
            ready: 0,
            desired: 3,
        }),
    });
    state.guard.snapshot.as_mut().unwrap().green.pods_up = Some((3, 4));
    let buf = render(&state, &App::new(false, false), now, 160, H);
    let all = text(&buf);
    let (x, y) = find(&buf, "3/3 ready", 0..80, PANEL_ROWS).expect("blue readiness");
    assert!(![Tc::Red, Tc::Yellow].contains(&buf[(x, y)].fg), "{all}");
    // Green is sent traffic with none ready: the breach colour.
    let (x, gy) = find(&buf, "0/3 ready", 80..160, PANEL_ROWS).expect("green readiness");
    assert_eq!(gy, y, "{all}");
    assert_eq!(buf[(x, y)].fg, Tc::Red);
    let (x, py) = find(&buf, "pods 3/4 up", 80..160, PANEL_ROWS).expect("pods up");
    assert_eq!(py, y);
    assert_eq!(buf[(x, y)].fg, Tc::Yellow);
    assert!(find(&buf, "pods", 0..80, PANEL_ROWS).is_none(), "{all}");

    // Green idle: none ready is a warning, not a breach.
    state.traffic.split = Some(Split::ZERO);
    let buf = render(&state, &App::new(false, false), now, 160, H);
    let (x, y) = find(&buf, "0/3 ready", 80..160, PANEL_ROWS).expect("green readiness");
    assert_eq!(buf[(x, y)].fg, Tc::Yellow);
}

#[test]
fn an_unverified_tls_source_is_said_in_the_warn_colour() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.source = SourceInfo {
        kind: "prometheus",
        tls_not_verified: Some("insecure_skip_verify"),
        queries: true,
    };
    // Narrow: the warning wraps with the status items, never cut off.
    for w in [W, 80] {
        let buf = render(&state, &App::new(false, false), now, w, H);
        let all = text(&buf);
        assert!(row(&buf, 0, 0..w).contains("metrics prometheus"), "{all}");
        let (x, y) = find(
            &buf,
            "metrics TLS NOT VERIFIED: insecure_skip_verify",
            0..w,
            0..6,
        )
        .expect("the TLS warning");
        assert_eq!(buf[(x, y)].fg, Tc::Yellow, "{all}");
    }
}

/// The text of every row of `buf`, trimmed, joined by spaces: a wrapped
/// line reads whole again.
fn flowing(buf: &Buffer) -> String {
    let a = buf.area;
    (0..a.height)
        .map(|y| row(buf, y, 0..a.width).trim().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Issue 15, point 7: `D` at 0 % and `P` after a rollback say up front why
/// not, instead of a dialog whose Yes is then refused.
#[test]
fn dialogs_open_only_when_the_engine_would_accept() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    state.traffic.split = Some(Split::ZERO);
    state.phase = Phase::Ready;
    let mut app = App::new(false, false);
    app.on_key(
        KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT),
        &state,
    );
    assert_eq!(*app.mode(), cutover::tui::Mode::Normal);
    let all = text(&render(&state, &app, now, W, H));
    assert!(!all.contains("Green has all traffic"), "{all}");
    assert!(
        all.contains("D: not now: decommission blue only after a promotion"),
        "{all}"
    );

    state.phase = Phase::RolledBack {
        reason: "auto-rollback".into(),
    };
    state.rollback.rolled_back = Some(cutover::engine::RolledBackMemory {
        at: SystemTime::now(),
        reason: "green error rate 7.90 % BREACH".into(),
        green_version: None,
    });
    app.on_key(
        KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT),
        &state,
    );
    assert_eq!(*app.mode(), cutover::tui::Mode::Normal);
    let all = text(&render(&state, &app, now, W, H));
    assert!(!all.contains("flip 100% to green now?"), "{all}");
    assert!(all.contains("P: not now: green was rolled back"), "{all}");
}

/// Issue 15, point 7: a key typed into an open dialog is named, not
/// swallowed without a word.
#[test]
fn keys_typed_into_a_dialog_are_not_swallowed_silently() {
    let now = now();
    let state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(
        KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT),
        &state,
    );
    assert!(matches!(app.mode(), cutover::tui::Mode::Confirm { .. }));
    assert_eq!(app.on_key(key('x'), &state), cutover::tui::Action::None);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("promote dialog open: `x` ignored"), "{all}");
    assert!(matches!(app.mode(), cutover::tui::Mode::Confirm { .. }));
}

/// Issue 15, point 7: at 80×24 the key bar keeps `f` and `a`, and `a` says
/// what it would do.
#[test]
fn the_key_bar_at_80_columns_keeps_force_and_arm_and_says_disarm() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    for (armed, word) in [(true, "a disarm"), (false, "a arm")] {
        state.guard.armed = armed;
        let buf = render(&state, &App::new(false, false), now, 80, 24);
        let bar = row(&buf, 22, 0..80);
        for needle in ["r ROLLBACK", "f force", word, "? help", "q quit"] {
            assert!(bar.contains(needle), "armed {armed}: {needle} not in {bar}");
        }
    }
}

/// Issue 15, point 7: event lines wrap, in the pane and in `:events`; at
/// 80×24 the pane keeps four rows.
#[test]
fn event_lines_wrap_and_the_pane_keeps_four_rows_at_80x24() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let long = "auto-rollback after 2 consecutive polls with green in breach: green error rate 7.90 % BREACH (≤ 5.00 %); green p99 latency 5210 ms BREACH (≤ 5000 ms)";
    state.events.push_back(Event {
        wall: UNIX_EPOCH + Duration::from_secs(1_750_000_900),
        level: EventLevel::Traffic,
        text: long.into(),
    });
    let buf = render(&state, &App::new(false, false), now, 80, 24);
    assert!(flowing(&buf).contains(long), "{}", text(&buf));
    let (_, title) = find(&buf, "events (UTC)", 0..80, 0..24).expect("the log");
    assert!(
        22 - (title + 1) >= 4,
        "log rows at 80×24: {}\n{}",
        22 - (title + 1),
        text(&buf)
    );

    let mut app = App::new(false, false);
    for c in ":events".chars() {
        app.on_key(key(c), &state);
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), &state);
    let buf = render(&state, &app, now, 80, 24);
    assert!(flowing(&buf).contains(long), "{}", text(&buf));
}

/// Issue 15, point 7: "asked: advance" fades once the log has the answer.
#[test]
fn the_asked_status_fades_once_the_log_has_the_outcome() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let mut app = App::new(false, false);
    app.on_key(key('n'), &state);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("asked: advance"), "{all}");
    state.events.push_back(Event {
        wall: SystemTime::now(),
        level: EventLevel::Warn,
        text: "refused: gate closed".into(),
    });
    state.event_seq += 1;
    let all = text(&render(&state, &app, now, W, H));
    assert!(!all.contains("asked: advance"), "{all}");
    // Force is asked for, not claimed: the journal says "forced" only when
    // the gate was closed, and the log says so then.
    app.on_key(key('f'), &state);
    app.on_key(key('y'), &state);
    let all = text(&render(&state, &app, now, W, H));
    assert!(all.contains("asked: advance with force"), "{all}");
    assert!(!all.contains("forced"), "{all}");
}

/// Issue 15, point 7: the gate line shows the worst reason first (green's
/// breach, not its missing p99 or the dwell), and `g` / `:gate` lists all.
#[test]
fn the_gate_line_shows_the_worst_reason_and_g_shows_them_all() {
    let now = now();
    let state = mid_cutover(now, Reading::NoData(NoData::NoRequests));
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    let line = all
        .lines()
        .find(|l| l.contains("gate CLOSED"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        line.contains("gate CLOSED: green error rate 7.90 % BREACH"),
        "{line}"
    );
    assert!(line.contains("more: g)"), "{line}");
    for open in [
        &[key('g')][..],
        &[
            key(':'),
            key('g'),
            key('a'),
            key('t'),
            key('e'),
            KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
        ][..],
    ] {
        let mut app = App::new(false, false);
        for k in open {
            app.on_key(*k, &state);
        }
        assert_eq!(*app.mode(), cutover::tui::Mode::Gate);
        let all = text(&render(&state, &app, now, W, H));
        assert!(all.contains("gate, worst first"), "{all}");
        assert!(all.contains("• green error rate 7.90 % BREACH"), "{all}");
        assert!(all.contains("• green p99 latency"), "{all}");
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &state);
        assert_eq!(*app.mode(), cutover::tui::Mode::Normal);
    }
}

/// Issue 15, point 7: a Prometheus that does not answer is said, with how
/// long, and the pods are not shown DOWN in both panels.
#[test]
fn a_silent_prometheus_is_said_and_the_pods_are_not_called_down() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let timeout = || Reading::NoData(NoData::Timeout("http://prom:9090: 2s".into()));
    let snap = state.guard.snapshot.as_mut().unwrap();
    for r in [&mut snap.blue, &mut snap.green] {
        r.metrics = vec![timeout(), timeout(), timeout()];
        r.up = false;
        r.rps = None;
    }
    snap.at = now - Duration::from_secs(1);
    // The last answered poll, 18 s ago.
    for v in state.guard.last_values.iter_mut().flatten() {
        *v = Some(LastValue {
            value: 1.0,
            at: now - Duration::from_secs(18),
        });
    }
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    assert!(all.contains("prometheus NOT ANSWERING for 18s"), "{all}");
    assert!(!all.contains("DOWN"), "{all}");
    // The header says it too, instead of the empty poll's fresh age.
    let header: String = all.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(header.contains("NOT ANSWERING for 18s"), "{header}");
    assert!(!header.contains("data 1s"), "{header}");
    // A Prometheus whose certificate is not checked is as silent: its
    // warning is a field of its own, not a kind that reads as another.
    state.source.tls_not_verified = Some("insecure_skip_verify");
    let all = text(&render(&state, &App::new(false, false), now, W, H));
    assert!(all.contains("prometheus NOT ANSWERING for 18s"), "{all}");
    assert!(
        all.contains("TLS NOT VERIFIED: insecure_skip_verify"),
        "{all}"
    );
    assert!(!all.contains("DOWN"), "{all}");
}
