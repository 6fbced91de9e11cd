//! The green panel shows each tested metric's evidence under its checks,
//! in the user's words (`stats::text`).

use cutover::engine::state::EvidenceView;
use cutover::model::Reading;
use cutover::stats::Finding;
use cutover::tui::App;

use crate::tui_render::{mid_cutover, now, render, text};

#[test]
fn the_green_panel_shows_the_evidence_on_a_tested_metric() {
    let now = now();
    let mut state = mid_cutover(now, Reading::Value(436.0));
    let words = "green's error rate is higher than blue's, evidence 40× against equality (α 1 %)";
    state.guard.evidence = vec![EvidenceView {
        id: "error_rate".into(),
        finding: Finding::Worse { e_value: 40.0 },
        text: words.into(),
        e_value: 40.0,
    }];
    // Wide enough for the whole sentence in one half.
    let all = text(&render(&state, &App::new(false, false), now, 260, 40));
    let line = all
        .lines()
        .find(|l| l.contains("evidence: green's error rate is higher"))
        .unwrap_or_else(|| panic!("no evidence line:\n{all}"));
    assert!(line.contains("40×"), "{line}");
    // In the green panel, the right half; blue's has no evidence line.
    let at = line.find("evidence:").unwrap();
    assert!(line[..at].chars().count() > 130, "{line}");
}
