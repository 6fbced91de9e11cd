//! `cutover demo --scenario degrading` in a real terminal: once green takes
//! 25 % and starts to fail, the evidence under green's error rate rises
//! poll by poll, and the cockpit then rolls back on its own.

use std::time::{Duration, Instant};

use cutover::engine::journal::{RecordAction, RecordOrigin};

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux::{cockpit_in, journal_outcomes, shows_split};

/// The right half of each line: green's panel, beside blue's.
fn green_panel(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter_map(|l| l.split_once("││").map(|(_, right)| right))
        .collect()
}

/// The e-value on green's evidence line, and the metric it sits under.
fn evidence(screen: &str) -> Option<(String, f64)> {
    let panel = green_panel(screen);
    let at = panel.iter().position(|l| l.contains("evidence"))?;
    let metric = panel[..at]
        .iter()
        .rev()
        .find_map(|l| {
            ["p99 latency", "error rate", "quality"]
                .into_iter()
                .find(|m| l.trim_start().starts_with(m))
        })?
        .to_string();
    // "evidence: 2.7× so far; ..." or "..., evidence 152× against ...":
    // the first number followed by ×.
    let line = panel[at];
    let end = line.find('×')?;
    let start = line[..end]
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(0, |i| i + 1);
    let value = line[start..end].replace(',', "").parse().ok()?;
    Some((metric, value))
}

#[test]
fn evidence_rises_on_greens_error_rate_before_the_rollback() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Tmux,
        "evidence_rises_on_greens_error_rate_before_the_rollback",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (journal, t) = cockpit_in(
        dir.path(),
        "cutover-evidence",
        "demo --scenario degrading --dwell 2s",
    );
    // Wide enough for the evidence's whole sentence in green's half.
    t.cmd(&["resize-window", "-t", &t.session, "-x", "240", "-y", "50"]);
    for step in [1, 5, 25] {
        t.wait("the gate to open", Duration::from_secs(30), |s| {
            s.contains("gate OPEN")
        });
        t.keys("n");
        t.wait(&format!("split at {step}%"), Duration::from_secs(10), |s| {
            shows_split(s, step)
        });
    }
    // Green degrades from 25 %: read each poll's evidence until the
    // rollback.
    let mut seen: Vec<f64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    let last = loop {
        let s = t.screen();
        if let Some((metric, e)) = evidence(&s) {
            assert_eq!(metric, "error rate", "evidence under {metric}:\n{s}");
            if seen.last() != Some(&e) {
                seen.push(e);
            }
        }
        if s.contains("ROLLED BACK") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no rollback within 40 s at 25 %; evidence seen {seen:?}:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("evidence on green's error rate, poll by poll: {seen:?}");
    // Up from one poll to a later one, and against green by the end (a
    // good green's evidence drifts below 1). The rollback itself may come
    // from the p99 threshold first: the demo's p99 climbs as fast.
    let rose = seen.windows(2).any(|w| w[1] > w[0]);
    let peak = seen.iter().copied().fold(0.0, f64::max);
    assert!(
        rose && seen.last() > seen.first() && peak > 1.0,
        "the evidence did not rise over polls: {seen:?}\n{last}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let automatic = (
        Some(RecordAction::Rollback),
        Some(0),
        Some(RecordOrigin::AutoRollback),
    );
    while !journal_outcomes(&journal).contains(&automatic) {
        assert!(
            Instant::now() < deadline,
            "no automatic rollback journaled: {:?}",
            journal_outcomes(&journal)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys("q");
}
