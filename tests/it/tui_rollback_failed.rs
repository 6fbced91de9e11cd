//! A rollback that has not landed is shown as a state: the header's first
//! item says ROLLBACK FAILED — retrying in the breach style, with the
//! tries, the time since the decision and the reason; a split the router
//! took is marked *verifying* until the data plane's check returns.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use cutover::engine::{Phase, PlanView, RollbackRetry, State, Verifying};
use cutover::model::Split;
use cutover::tui::{App, draw};

fn rows(buf: &Buffer, n: u16) -> Vec<String> {
    (0..n)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

fn render(s: &State, now: Instant) -> Buffer {
    let app = App::new(false, true);
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| draw(f, s, &app, now)).unwrap();
    term.backend().buffer().clone()
}

/// At 5 %, a rollback decided 12 s before `now` failing for the 7th time
/// on a broken nginx config, the next try 4 s away.
pub(crate) fn rollback_failing_at_5(now: Instant) -> State {
    let mut s = State::new("llm-gateway", "nginx", "demo", PlanView::default(), true, 2);
    s.traffic.split = Some(Split::new(5).unwrap());
    s.phase = Phase::Canary { step: 1 };
    s.rollback.failed = Some(RollbackRetry {
        decided: now - Duration::from_secs(12),
        tries: 7,
        reason: "nginx: [emerg] unknown directive \"no_such_directive\"".into(),
        next_at: Some(now + Duration::from_secs(4)),
    });
    s
}

#[test]
fn a_failing_rollback_is_the_headers_first_word_in_the_breach_style() {
    let now = Instant::now();
    let mut s = rollback_failing_at_5(now);
    let buf = render(&s, now);
    let top = rows(&buf, 3);
    assert!(
        top[0].starts_with(" ROLLBACK FAILED — retrying "),
        "{top:?}"
    );
    assert!(!top[0].contains("CANARY"), "{top:?}");
    let breach = App::new(false, true).theme().breach;
    assert_eq!(
        buf[(2, 0)].fg,
        breach.fg.unwrap_or_default(),
        "breach colour"
    );
    assert!(top[1].contains("7 tries,"), "{top:?}");
    assert!(top[1].contains("since the decision"), "{top:?}");
    assert!(top[1].contains("no_such_directive"), "{top:?}");
    // Landed: the header says what the phase is again.
    s.rollback.failed = None;
    let top = rows(&render(&s, now), 1);
    assert!(top[0].starts_with(" CANARY "), "{top:?}");
}

#[test]
fn a_split_the_router_took_is_verifying_until_checked() {
    let now = Instant::now();
    let mut s = State::new("llm-gateway", "nginx", "demo", PlanView::default(), true, 2);
    s.traffic.split = Some(Split::ZERO);
    s.traffic.split_read_at = Some(now);
    s.traffic.verifying = Some(Verifying {
        split: Split::ZERO,
        since: now - Duration::from_millis(300),
    });
    let text = rows(&render(&s, now), 4).join("\n");
    assert!(
        text.contains("green 0%") && text.contains("verifying 0.3s"),
        "{text}"
    );
    s.traffic.verifying = None;
    let text = rows(&render(&s, now), 4).join("\n");
    assert!(!text.contains("verifying"), "{text}");
}
