//! The real binary in a real terminal: `cutover demo` under tmux, driven
//! with send-keys and read with capture-pane.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
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

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", &self.session, keys]);
    }

    /// Waits until the screen satisfies `f`; returns the time it took.
    fn wait(&self, what: &str, within: Duration, f: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if f(&s) {
                return start.elapsed();
            }
            if start.elapsed() > within {
                panic!("timed out after {within:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True (after saying so) when the test must be skipped: tmux is missing
/// and the run does not require it.
fn skip_without_tmux(test: &str) -> bool {
    if tmux_available() {
        return false;
    }
    assert!(
        std::env::var_os("CUTOVER_REQUIRE_SERVERS").is_none(),
        "tmux is required (CUTOVER_REQUIRE_SERVERS is set) but not installed"
    );
    // Straight to stderr: the test harness captures eprintln! from passing
    // tests, and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: tmux not installed (apt-get install tmux)"
    );
    true
}

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
    let (w, h) = (size.0.to_string(), size.1.to_string());
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "cockpit",
        "-x",
        &w,
        "-y",
        &h,
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t
}

/// The header's split as the router reports it, e.g. `green 1% · blue 99%`
/// (a write in flight shows as `applying 0% → 1%` beside it).
fn shows_split(screen: &str, green: u8) -> bool {
    let header: String = screen.lines().take(2).collect::<Vec<_>>().join("\n");
    header.contains(&format!("green {green}% · blue {}%", 100 - green))
}

#[test]
fn demo_in_tmux_advances_and_rolls_back() {
    if skip_without_tmux("demo_in_tmux_advances_and_rolls_back") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let t = start_demo(
        format!("cutover-test-{}", std::process::id()),
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
        .map(|r| (r.action.as_str(), r.to, r.origin.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![("advance", Some(1), "tui"), ("rollback", Some(0), "tui")]
    );
}

/// Ctrl-C, SIGTERM and SIGHUP each end the cockpit with the terminal
/// restored: off the alternate screen, with the parting line printed.
#[test]
fn signals_and_ctrl_c_restore_the_terminal() {
    if skip_without_tmux("signals_and_ctrl_c_restore_the_terminal") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (how, expect) in [("C-c", "EXIT=0"), ("TERM", "EXIT=143"), ("HUP", "EXIT=129")] {
        let t = start_demo(
            format!("cutover-sig-{}-{how}", std::process::id()),
            "",
            &dir.path().join(format!("{how}.jsonl")),
            &dir.path().join("log"),
            (100, 30),
        );
        t.wait("the cockpit", Duration::from_secs(10), |s| {
            s.contains("GREEN")
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
        let screen_has = |s: &str| s.contains(expect) && s.contains("quitting never moves traffic");
        t.wait(
            &format!("exit after {how}"),
            Duration::from_secs(10),
            screen_has,
        );
        assert_eq!(alt(&t), "0", "{how}: still on the alternate screen");
    }
}
