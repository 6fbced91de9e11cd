//! After a rollback the cockpit says so and asks before raising green:
//! the header names when and why and that force is needed, and `:set N`
//! past a closed gate opens the force dialog focused on No.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use cutover::engine::gate_reason::GateReason;
use cutover::engine::{Command, Gate, Phase, PlanView, RolledBackMemory, State};
use cutover::model::Split;
use cutover::tui::{Action, App, ConfirmKind, Mode, draw};

pub(crate) fn rolled_back_state() -> State {
    let mut s = State::new("llm-gateway", "demo", "demo", PlanView::default(), true, 2);
    s.traffic.split = Some(Split::ZERO);
    let reason = "auto-rollback: green error rate 7.90 % BREACH".to_string();
    s.phase = Phase::RolledBack {
        reason: reason.clone(),
    };
    s.rollback.rolled_back = Some(RolledBackMemory {
        at: SystemTime::now() - Duration::from_secs(250),
        reason,
        green_version: None,
    });
    s.guard.gate = Gate {
        open: false,
        reasons: vec![GateReason::RolledBack],
    };
    s
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn the_header_says_green_was_rolled_back_when_why_and_force_needed() {
    let s = rolled_back_state();
    let app = App::new(false, true);
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| draw(f, &s, &app, Instant::now())).unwrap();
    let buf = term.backend().buffer().clone();
    // The memory is written on the header's reason rows, under the first.
    let top: String = (0..3)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .map(|(x, y)| buf[(x, y)].symbol().to_string())
        .collect();
    assert!(
        top.contains("green rolled back 4m10s ago — force needed: auto-rollback: green error"),
        "{top}"
    );
}

#[test]
fn set_past_a_closed_gate_opens_the_force_dialog_on_no() {
    let s = rolled_back_state();
    let mut app = App::new(false, true);
    app.on_key(key(KeyCode::Char(':')), &s);
    for c in "set 25".chars() {
        app.on_key(key(KeyCode::Char(c)), &s);
    }
    assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
    let twenty_five = Split::new(25).unwrap();
    assert_eq!(
        app.mode(),
        &Mode::Confirm {
            kind: ConfirmKind::ForceSet(twenty_five),
            yes_focused: false
        }
    );
    // Enter on No cancels; nothing is sent.
    assert_eq!(app.on_key(key(KeyCode::Enter), &s), Action::None);
    assert_eq!(app.mode(), &Mode::Normal);

    // Again, and yes: a forced set.
    app.on_key(key(KeyCode::Char(':')), &s);
    for c in "set 25".chars() {
        app.on_key(key(KeyCode::Char(c)), &s);
    }
    app.on_key(key(KeyCode::Enter), &s);
    assert_eq!(
        app.on_key(key(KeyCode::Char('y')), &s),
        Action::Send(Command::SetSplit {
            split: twenty_five,
            reason: None,
            force: true
        })
    );

    // Lowering is never asked about (nothing to lower at 0 %, so from 25).
    let mut at25 = s.clone();
    at25.traffic.split = Some(twenty_five);
    app.on_key(key(KeyCode::Char(':')), &at25);
    for c in "set 5".chars() {
        app.on_key(key(KeyCode::Char(c)), &at25);
    }
    assert!(matches!(
        app.on_key(key(KeyCode::Enter), &at25),
        Action::Send(Command::SetSplit { force: false, .. })
    ));
}
