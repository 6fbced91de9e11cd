//! Input the cockpit must not lose, driven through tmux the way it fails:
//! one write of 5,000 keys, a 100 KB `paste-buffer` without brackets, and a
//! stray bracketed-paste start marker. After each, `r` puts green at 0 %
//! on screen within 3 s. Each test prints the time from `r` to the screen.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux;

use tmux::timed_rollback;

#[test]
fn r_at_rest_rolls_back_within_3s() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "r_at_rest_rolls_back_within_3s") {
        return;
    }
    timed_rollback("rest", |_| {});
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
    timed_rollback("burst", |t| {
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
    timed_rollback("paste", |t| {
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
    timed_rollback("marker", |t| {
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
