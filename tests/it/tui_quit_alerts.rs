//! Quitting the cockpit while an alert hangs (issue 16, point 8): `q`
//! used to wait for the receiver with the journal's lock held (23 s,
//! Ctrl-C ignored), so a cockpit started meanwhile came up read-only. Now
//! the lock is released first, the wait is said, and Ctrl-C ends it. The
//! real binary in tmux (a private socket), a receiver that never answers.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Runs `command` at the prompt of an interactive shell, as a user
    /// does: Ctrl-C then reaches the command's process group only.
    fn start(&self, session: &str, command: &str) {
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "140",
            "-y",
            "45",
            "bash --norc --noprofile -i",
        ]);
        self.cmd(&["send-keys", "-t", session, "-l", command]);
        self.keys(session, "Enter");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn screen(&self, session: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", session]).stdout)
            .into_owned()
    }

    fn keys(&self, session: &str, keys: &str) {
        self.cmd(&["send-keys", "-t", session, keys]);
    }

    fn wait(
        &self,
        session: &str,
        what: &str,
        within: Duration,
        f: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen(session);
            if f(&s) {
                return s;
            }
            if start.elapsed() > within {
                panic!("timed out after {within:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let panes = self.cmd(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        for pid in String::from_utf8_lossy(&panes.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: plain signals to process groups this test started.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        let _ = self.cmd(&["kill-server"]);
    }
}

fn skip_without_tmux(test: &str) -> bool {
    if Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return false;
    }
    assert!(
        std::env::var_os("CUTOVER_REQUIRE_SERVERS").is_none(),
        "tmux is required (CUTOVER_REQUIRE_SERVERS is set) but not installed"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: tmux not installed");
    true
}

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
    if skip_without_tmux("q_with_a_hung_receiver_releases_the_journal_and_ctrl_c_ends_the_wait") {
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
    let t = Tmux {
        socket: format!("cutover-quit-alerts-{}", std::process::id()),
    };
    t.start("first", &cockpit("first.log"));
    t.wait("first", "the gate to open", Duration::from_secs(30), |s| {
        s.contains("gate OPEN")
    });
    t.keys("first", "n");
    t.wait("first", "green at 1%", Duration::from_secs(10), |s| {
        shows_split(s, 1)
    });
    t.keys("first", "r");
    t.wait("first", "green at 0%", Duration::from_secs(10), |s| {
        shows_split(s, 0)
    });
    // The rollback's alert now hangs on its receiver.
    t.keys("first", "q");
    let waiting = t.wait(
        "first",
        "the wait to be said",
        Duration::from_secs(10),
        |s| s.contains("waiting up to"),
    );
    assert!(waiting.contains("journal released"), "{waiting}");
    assert!(waiting.contains("Ctrl-C stops waiting"), "{waiting}");
    assert!(
        !waiting.lines().any(|l| l.starts_with("EXIT=")),
        "{waiting}"
    );

    // A cockpit started meanwhile takes the journal: not read-only.
    t.start("second", &cockpit("second.log"));
    let second = t.wait(
        "second",
        "the second cockpit",
        Duration::from_secs(30),
        |s| shows_split(s, 0),
    );
    assert!(!header(&second).contains("READ-ONLY"), "{second}");
    assert!(
        t.screen("first").lines().all(|l| !l.starts_with("EXIT=")),
        "the first was still waiting"
    );

    // Ctrl-C ends the first one's wait at once.
    let asked = Instant::now();
    t.keys("first", "C-c");
    let done = t.wait("first", "the first to exit", Duration::from_secs(5), |s| {
        s.lines().any(|l| l.starts_with("EXIT="))
    });
    eprintln!("{done}\nexited {:?} after Ctrl-C", asked.elapsed());
    assert!(done.contains("abandoned at exit"), "{done}");
    t.keys("second", "q");
    t.wait(
        "second",
        "the second to exit",
        Duration::from_secs(10),
        |s| s.contains("EXIT=0"),
    );
}
