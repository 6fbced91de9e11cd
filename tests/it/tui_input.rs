//! Input the cockpit must not lose, driven through tmux the way it fails:
//! one write of 5,000 keys, a 100 KB `paste-buffer` without brackets, and a
//! stray bracketed-paste start marker. After each, `r` puts green at 0 %
//! on screen within 3 s. Each test prints the time from `r` to the screen.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux;
use crate::support::unique;

use std::time::Duration;

use tmux::{Tmux, advance_to_one_percent, shows_split, start_cutover, wait_journal};

/// At 1 % green: `before` writes to the terminal, then `r`. Returns the
/// time from `r` until the header shows green at 0 %.
fn rollback_after(name: &str, before: impl Fn(&Tmux)) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = start_cutover(
        unique(&format!("cutover-input-{name}")),
        "demo --dwell 600s",
        &journal,
        &dir.path().join("log"),
    );
    advance_to_one_percent(&t);
    before(&t);
    t.keys("r");
    let took = t.wait("green back at 0%", Duration::from_secs(3), |s| {
        shows_split(s, 0)
    });
    wait_journal(&journal, "\"action\":\"rollback\"", Duration::from_secs(3));
    eprintln!("{name}: r → green 0% on screen in {took:?}");
    t.keys("q");
    took
}

#[test]
fn r_at_rest_rolls_back_within_3s() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "r_at_rest_rolls_back_within_3s") {
        return;
    }
    rollback_after("rest", |_| {});
}

/// One `send-keys -l` call: tmux writes the 5,000 characters to the pty
/// at once, far more than one 1 KiB read.
#[test]
fn one_write_of_5000_keys_then_r_rolls_back_within_3s() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "one_write_of_5000_keys_then_r_rolls_back_within_3s",
    ) {
        return;
    }
    rollback_after("burst", |t| {
        let burst = "a".repeat(5000);
        let out = t.cmd(&["send-keys", "-t", &t.session, "-l", &burst]);
        assert!(out.status.success());
    });
}

/// `paste-buffer` without `-p`: 100 KB of `x` as typed input, no markers.
#[test]
fn a_100kb_paste_buffer_then_r_rolls_back_within_3s() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "a_100kb_paste_buffer_then_r_rolls_back_within_3s",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paste.txt");
    std::fs::write(&file, "x".repeat(100 * 1024)).unwrap();
    rollback_after("paste", |t| {
        let f = file.to_str().unwrap();
        assert!(t.cmd(&["load-buffer", "-b", "big", f]).status.success());
        let out = t.cmd(&["paste-buffer", "-b", "big", "-t", &t.session]);
        assert!(out.status.success());
    });
}

/// `ESC [ 2 0 0 ~` with no end marker, then `r`: the paste is discarded
/// with a notice and the `r` still rolls back.
#[test]
fn a_stray_paste_marker_then_r_rolls_back_within_3s() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "a_stray_paste_marker_then_r_rolls_back_within_3s",
    ) {
        return;
    }
    rollback_after("marker", |t| {
        let out = t.cmd(&[
            "send-keys",
            "-t",
            &t.session,
            "-H",
            "1b",
            "5b",
            "32",
            "30",
            "30",
            "7e",
        ]);
        assert!(out.status.success());
    });
}
