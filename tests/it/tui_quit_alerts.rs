//! Quitting the cockpit while an alert hangs (issue 16, point 8): `q`
//! used to wait for the receiver with the journal's lock held (23 s,
//! Ctrl-C ignored), so a cockpit started meanwhile came up read-only. Now
//! the lock is released first, the wait is said, and Ctrl-C ends it. The
//! real binary in tmux (a private socket), a receiver that never answers.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux::Tmux;
use crate::support::unique;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

fn header(screen: &str) -> String {
    screen
        .lines()
        .take_while(|l| !l.starts_with('─'))
        .take(8)
        .collect::<Vec<_>>()
        .join("\n")
}

fn shows_split(screen: &str, green: u8) -> bool {
    header(screen).contains(&format!("green {green}% · blue {}%", 100 - green))
}

fn config(dir: &Path, hook_port: u16) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    std::fs::write(
        &path,
        format!(
            r#"[service]
name = "chat-model"

[source]
kind = "demo"
interval = "1s"
timeout = "500ms"
window = "5s"

[router]
kind = "demo"

[journal]
path = "{}"

[[alerts]]
url = "http://127.0.0.1:{hook_port}/hook"
on = ["rollback"]
"#,
            dir.join("journal.jsonl").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn q_with_a_hung_receiver_releases_the_journal_and_ctrl_c_ends_the_wait() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "q_with_a_hung_receiver_releases_the_journal_and_ctrl_c_ends_the_wait",
    ) {
        return;
    }
    // Accepts and never answers.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hung.incoming().flatten() {
            held.push(c);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), port);
    let cockpit = |log: &str| {
        format!(
            "{} tui --config {} --log {}; echo EXIT=$?",
            env!("CARGO_BIN_EXE_cutover"),
            cfg.display(),
            dir.path().join(log).display()
        )
    };
    // Two sessions of one tmux server.
    let socket = unique("cutover-quit-alerts");
    let session = |name: &str| Tmux {
        socket: socket.clone(),
        session: name.into(),
    };
    let (cockpit1, cockpit2) = (session("first"), session("second"));
    cockpit1.start_in_shell(&cockpit("first.log"), (140, 45));
    cockpit1.wait_screen("the gate to open", Duration::from_secs(30), |s| {
        s.contains("gate OPEN")
    });
    cockpit1.keys("n");
    cockpit1.wait_screen("green at 1%", Duration::from_secs(10), |s| {
        shows_split(s, 1)
    });
    cockpit1.keys("r");
    cockpit1.wait_screen("green at 0%", Duration::from_secs(10), |s| {
        shows_split(s, 0)
    });
    // The rollback's alert now hangs on its receiver.
    cockpit1.keys("q");
    let waiting = cockpit1.wait_screen("the wait to be said", Duration::from_secs(10), |s| {
        s.contains("waiting up to")
    });
    assert!(waiting.contains("journal released"), "{waiting}");
    assert!(waiting.contains("Ctrl-C stops waiting"), "{waiting}");
    assert!(
        !waiting.lines().any(|l| l.starts_with("EXIT=")),
        "{waiting}"
    );

    // A cockpit started meanwhile takes the journal: not read-only.
    cockpit2.start_in_shell(&cockpit("second.log"), (140, 45));
    let second = cockpit2.wait_screen("the second cockpit", Duration::from_secs(30), |s| {
        shows_split(s, 0)
    });
    assert!(!header(&second).contains("READ-ONLY"), "{second}");
    assert!(
        cockpit1.screen().lines().all(|l| !l.starts_with("EXIT=")),
        "the first was still waiting"
    );

    // Ctrl-C ends the first one's wait at once.
    let asked = Instant::now();
    cockpit1.keys("C-c");
    let done = cockpit1.wait_screen("the first to exit", Duration::from_secs(5), |s| {
        s.lines().any(|l| l.starts_with("EXIT="))
    });
    eprintln!("{done}\nexited {:?} after Ctrl-C", asked.elapsed());
    assert!(done.contains("abandoned at exit"), "{done}");
    cockpit2.keys("q");
    cockpit2.wait_screen("the second to exit", Duration::from_secs(10), |s| {
        s.contains("EXIT=0")
    });
}
