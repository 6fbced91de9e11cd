//! The real binary in a real terminal: `cutover demo` under tmux, driven
//! with send-keys and read with capture-pane.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux::{self, Tmux, advance_to_one_percent, shows_split, timed_rollback};
use crate::support::unique;
use cutover::engine::journal::{RecordAction, RecordOrigin};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Starts `cutover demo <args>` in a fresh tmux server named `socket`. A
/// shell around the cockpit keeps the pane (and what the cockpit prints on
/// quitting) after it exits, and shows its exit status.
fn start_demo(socket: String, args: &str, journal: &Path, log: &Path, size: (u16, u16)) -> Tmux {
    let t = Tmux {
        socket,
        session: "cockpit".into(),
    };
    let command = format!(
        "{} demo {args} --journal {} --log {}; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_cutover"),
        journal.display(),
        log.display()
    );
    t.start(&command, size);
    t
}

#[test]
fn demo_in_tmux_advances_and_rolls_back() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "demo_in_tmux_advances_and_rolls_back") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = start_demo(
        unique("cutover-test"),
        "--dwell 60s",
        &journal,
        &dir.path().join("log"),
        (120, 40),
    );

    let shown = t.wait("BLUE and GREEN panels", Duration::from_secs(10), |s| {
        s.contains("BLUE") && s.contains("GREEN")
    });
    eprintln!("panels on screen {shown:?} after the session started");
    assert!(shown < Duration::from_secs(2), "panels took {shown:?}");

    // The first step needs green up: wait for the gate, then `n`.
    t.wait("the gate to open", Duration::from_secs(15), |s| {
        s.contains("gate OPEN")
    });
    t.keys("n");
    let pending = t.wait("the write in flight", Duration::from_secs(5), |s| {
        s.contains("0% → 1%")
    });
    let applied = t.wait("split at 1%", Duration::from_secs(5), |s| shows_split(s, 1));
    eprintln!(
        "n: change in flight on screen after {pending:?}, split at 1% after {applied:?} more"
    );

    t.keys("r");
    let took = t.wait("split back at 0%", Duration::from_secs(5), |s| {
        shows_split(s, 0) && s.contains("ROLLED BACK")
    });
    // The demo router takes 150 ms to apply, like a reload.
    eprintln!("r: split at 0% on screen after {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "rollback took {took:?} to show"
    );

    t.keys("q");
    t.wait("the cockpit to quit", Duration::from_secs(10), |s| {
        s.contains("quitting never moves traffic") && s.contains("EXIT=0")
    });
    let records = cutover::engine::journal::Journal::read_all(Path::new(&journal)).unwrap();
    let outcomes: Vec<_> = records
        .iter()
        .filter(|r| r.kind == cutover::engine::journal::RecordKind::Outcome)
        .map(|r| (r.action.clone(), r.to, r.origin.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (
                Some(RecordAction::Advance),
                Some(1),
                Some(RecordOrigin::Tui)
            ),
            (
                Some(RecordAction::Rollback),
                Some(0),
                Some(RecordOrigin::Tui)
            )
        ]
    );
}

/// Ctrl-C, SIGTERM and SIGHUP each end the cockpit with the terminal
/// restored: off the alternate screen, with the parting line printed.
#[test]
fn signals_and_ctrl_c_restore_the_terminal() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "signals_and_ctrl_c_restore_the_terminal") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (how, expect) in [
        ("C-c", "EXIT=0"),
        ("TERM", "EXIT=143"),
        ("HUP", "EXIT=129"),
        ("INT", "EXIT=130"),
    ] {
        let t = start_demo(
            unique(&format!("cutover-sig-{how}")),
            "",
            &dir.path().join(format!("{how}.jsonl")),
            &dir.path().join("log"),
            (100, 30),
        );
        // The split read back, not just the panels: quitting before the
        // first read says "traffic left at an unknown split", rightly.
        t.wait("the cockpit with its split", Duration::from_secs(10), |s| {
            s.contains("GREEN") && shows_split(s, 0)
        });
        let alt = |t: &Tmux| {
            String::from_utf8_lossy(
                &t.cmd(&["display-message", "-p", "-t", "cockpit", "#{alternate_on}"])
                    .stdout,
            )
            .trim()
            .to_string()
        };
        assert_eq!(alt(&t), "1", "the cockpit owns the alternate screen");
        if how == "C-c" {
            t.keys("C-c");
        } else {
            // The shell is the pane's process; the cockpit is its child.
            let shell = String::from_utf8_lossy(
                &t.cmd(&["display-message", "-p", "-t", "cockpit", "#{pane_pid}"])
                    .stdout,
            )
            .trim()
            .to_string();
            let status = Command::new("pkill")
                .args([&format!("-{how}"), "-P", &shell, "-x", "cutover"])
                .status()
                .unwrap();
            assert!(status.success(), "pkill -{how}");
        }
        // The exit line says where traffic was left.
        let screen_has = |s: &str| {
            s.contains(expect)
                && s.contains("quitting never moves traffic")
                && s.contains("traffic left at 0% green")
        };
        t.wait(
            &format!("exit after {how}"),
            Duration::from_secs(10),
            screen_has,
        );
        assert_eq!(alt(&t), "0", "{how}: still on the alternate screen");
    }
}

/// A burst of 5,000 `a` does not delay `r`: the header shows green 0 %
/// within 3 s, and the rollback is journaled. Prints the rollback time at
/// rest and under the burst, measured the same way.
#[test]
fn rollback_is_as_fast_under_a_key_burst_as_at_rest() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "rollback_is_as_fast_under_a_key_burst_as_at_rest",
    ) {
        return;
    }
    let at_rest = timed_rollback("rest", |_| {});
    let burst = timed_rollback("burst", |t| {
        // One `send-keys -l` call: one write to the pty, as a paste
        // without brackets arrives.
        t.cmd(&["send-keys", "-t", &t.session, "-l", &"a".repeat(5000)]);
    });
    eprintln!("rollback on screen: at rest {at_rest:?}, after 5,000 keys of a {burst:?}");
    // Both are within 3 s (checked in `timed_rollback`); the burst costs
    // no more than a second over the rest (before the drain it waited for
    // the next key, that is for ever).
    assert!(
        burst <= at_rest + Duration::from_secs(1),
        "rollback after the burst took {burst:?}, at rest {at_rest:?}"
    );
}

fn alternate_on(t: &Tmux) -> String {
    String::from_utf8_lossy(
        &t.cmd(&["display-message", "-p", "-t", &t.session, "#{alternate_on}"])
            .stdout,
    )
    .trim()
    .to_string()
}

/// The cockpit as a job of an interactive bash: stopped with SIGTSTP it
/// gives the terminal back and says guardrails are not running; after
/// `fg` it is back in raw mode, so `r` alone (no Enter) rolls back, and a
/// note says how long nothing watched. Ctrl-Z does the same.
#[test]
fn stop_and_fg_leave_a_cockpit_that_still_rolls_back() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "stop_and_fg_leave_a_cockpit_that_still_rolls_back",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = Tmux {
        socket: unique("cutover-tstp"),
        session: "shell".into(),
    };
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "shell",
        "-x",
        "120",
        "-y",
        "40",
        "env PS1='$ ' bash --norc --noprofile -i",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.wait("the shell prompt", Duration::from_secs(10), |s| {
        s.contains('$')
    });
    let command = format!(
        "{} demo --dwell 600s --journal {} --log {}",
        env!("CARGO_BIN_EXE_cutover"),
        journal.display(),
        dir.path().join("log").display()
    );
    t.cmd(&["send-keys", "-t", "shell", "-l", &command]);
    t.keys("Enter");
    t.wait("the cockpit", Duration::from_secs(10), |s| {
        s.contains("GREEN")
    });
    advance_to_one_percent(&t);

    let shell = t.pane_pid();
    let pid = String::from_utf8_lossy(
        &Command::new("pgrep")
            .args(["-P", &shell, "-x", "cutover"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    assert!(!pid.is_empty(), "no cutover under the shell {shell}");
    let status = Command::new("kill").args(["-TSTP", &pid]).status().unwrap();
    assert!(status.success());
    t.wait("the stop notice", Duration::from_secs(5), |s| {
        s.contains("guardrails are not running while stopped")
            && s.contains("traffic is at 1% green")
    });
    assert_eq!(
        alternate_on(&t),
        "0",
        "stopped, yet on the alternate screen"
    );
    std::thread::sleep(Duration::from_millis(1200));

    t.cmd(&["send-keys", "-t", "shell", "-l", "fg"]);
    t.keys("Enter");
    t.keys("r");
    let took = t.wait("green back at 0% after fg", Duration::from_secs(3), |s| {
        shows_split(s, 0)
    });
    eprintln!("after kill -TSTP, fg and r: green at 0% on screen after {took:?}");
    assert_eq!(
        alternate_on(&t),
        "1",
        "resumed without the alternate screen"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let records = cutover::engine::journal::Journal::read_all(&journal).unwrap();
        let rolled_back = records.iter().any(|r| {
            r.kind == cutover::engine::journal::RecordKind::Outcome
                && r.action == Some(RecordAction::Rollback)
                && r.origin == Some(RecordOrigin::Tui)
        });
        let noted = records.iter().any(|r| {
            serde_json::to_string(r)
                .unwrap()
                .contains("guardrails were not watching")
        });
        if rolled_back && noted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "journal lacks the rollback or the resume note: {records:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Ctrl-Z as a key: the same stop, the same return.
    t.keys("C-z");
    t.wait(
        "the stop notice after Ctrl-Z",
        Duration::from_secs(5),
        |s| s.contains("traffic is at 0% green"),
    );
    t.cmd(&["send-keys", "-t", "shell", "-l", "fg"]);
    t.keys("Enter");
    t.wait("the cockpit after fg", Duration::from_secs(5), |s| {
        s.contains("GREEN") && s.contains("resumed: the cockpit was suspended")
    });
    t.keys("q");
    t.wait("the shell again", Duration::from_secs(10), |s| {
        s.contains("quitting never moves traffic")
    });
}

/// Bracketed paste is on: a paste of `n` and `r` outside the `:` line is
/// one event that only says so; inside the `:` line it is text.
#[test]
fn a_paste_is_one_event_not_keys() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "a_paste_is_one_event_not_keys") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = start_demo(
        unique("cutover-paste"),
        "--dwell 600s",
        &journal,
        &dir.path().join("log"),
        (120, 40),
    );
    t.wait("the gate to open", Duration::from_secs(20), |s| {
        s.contains("gate OPEN")
    });
    t.cmd(&["set-buffer", "-b", "p", "nnnnPrrrr"]);
    t.cmd(&["paste-buffer", "-p", "-b", "p", "-t", &t.session]);
    t.wait("the paste notice", Duration::from_secs(5), |s| {
        s.contains("paste ignored (9 characters)")
    });
    std::thread::sleep(Duration::from_millis(500));
    let s = t.screen();
    assert!(shows_split(&s, 0) && !s.contains("Promote:"), "{s}");
    assert!(tmux::journal_outcomes(&journal).is_empty());

    t.keys(":");
    t.cmd(&["set-buffer", "-b", "p", "note pasted text"]);
    t.cmd(&["paste-buffer", "-p", "-b", "p", "-t", &t.session]);
    t.wait("the pasted line", Duration::from_secs(5), |s| {
        s.contains(":note pasted text")
    });
    t.keys("Enter");
    t.wait("the note in the log", Duration::from_secs(5), |s| {
        s.contains("note: pasted text")
    });
    t.keys("q");
}
