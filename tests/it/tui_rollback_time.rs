//! The last rollback's measured time in the header: in the ok colour
//! within `rollback_sla`, the warn colour over it, and gone once green has
//! traffic again.

use std::time::{Duration, Instant, SystemTime};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color as Tc;

use cutover::engine::{Phase, PlanView, RollbackTimes, State, ToZero};
use cutover::model::Split;
use cutover::tui::{App, draw};

fn state(to_router_ms: u64, sla_ms: Option<u64>) -> State {
    let mut s = State::new(
        "llm-gateway",
        "demo",
        "demo",
        PlanView {
            steps: vec![1, 5, 25, 50, 100],
            dwell: Duration::from_secs(300),
            bake: Duration::from_secs(1800),
            standby: Duration::from_secs(48 * 3600),
        },
        true,
        2,
    );
    s.traffic.split = Some(Split::ZERO);
    s.phase = Phase::RolledBack {
        reason: "operator".into(),
    };
    s.rollback.last = Some(RollbackTimes {
        decided: Instant::now(),
        decided_wall: SystemTime::now(),
        to_router: Duration::from_millis(to_router_ms),
        to_zero: ToZero::Seen(Duration::from_millis(5200)),
        sla: sla_ms.map(Duration::from_millis),
        drill: false,
        reason: "operator".into(),
    });
    s
}

/// The header rows as text, and the foreground colour where `needle` starts.
fn header(s: &State, needle: &str) -> (String, Option<Tc>) {
    let app = App::new(false, false);
    let mut term = Terminal::new(TestBackend::new(200, 40)).unwrap();
    term.draw(|f| draw(f, s, &app, Instant::now())).unwrap();
    let buf = term.backend().buffer().clone();
    let mut text = String::new();
    let mut colour = None;
    for y in 0..6 {
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(i) = row.find(needle) {
            let x = row[..i].chars().count() as u16;
            colour = Some(buf[(x, y)].fg);
        }
        text.push_str(&row);
        text.push('\n');
    }
    (text, colour)
}

#[test]
fn within_the_sla_is_ok_over_it_is_a_warning() {
    let (text, colour) = header(&state(412, Some(2000)), "rolled back in");
    assert!(
        text.contains("rolled back in 412 ms ≤ 2000 ms SLA · traffic 0 % in 5200 ms"),
        "{text}"
    );
    assert_eq!(colour, Some(Tc::Green));

    let (text, colour) = header(&state(3100, Some(2000)), "rolled back in");
    assert!(
        text.contains("rolled back in 3100 ms OVER 2000 ms SLA"),
        "{text}"
    );
    assert_eq!(colour, Some(Tc::Yellow));

    let (text, colour) = header(&state(412, None), "rolled back in");
    assert!(text.contains("rolled back in 412 ms · traffic"), "{text}");
    assert_eq!(colour, Some(Tc::Reset));
}

#[test]
fn gone_once_green_has_traffic_again() {
    let mut s = state(412, Some(2000));
    s.traffic.split = Split::new(5);
    s.phase = Phase::Canary { step: 1 };
    let (text, _) = header(&s, "rolled back in");
    assert!(!text.contains("rolled back in"), "{text}");
}
