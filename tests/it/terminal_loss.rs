//! A lost terminal, the way it happens: `tmux kill-session` on a running
//! cockpit (what an SSH drop does to a shell). By default the cockpit
//! becomes a quiet guardian that a new `cutover --take-over` replaces;
//! `[safety] on_terminal_loss` = "exit" or "rollback" end it instead.

use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux;
use crate::support::unique;
use cutover::engine::journal::{RecordAction, RecordOrigin};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tmux::{Tmux, advance_to_one_percent, cockpit_in, journal_text, start_cutover, wait_journal};

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie has exited; only its parent has not reaped it yet.
        Ok(stat) => !stat[stat.rfind(')').unwrap()..].starts_with(") Z"),
        Err(_) => false,
    }
}

/// Waits until `pid` has exited; returns how long that took.
fn wait_gone(pid: i32, within: Duration) -> Duration {
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < within,
            "process {pid} still running after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// A config for `cutover tui`: the demo fleet and router, long dwells,
/// and `safety` lines for the `[safety]` table.
fn demo_config(dir: &Path, journal: &Path, safety: &str) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    let text = format!(
        "[service]\nname = \"chat-model\"\n\n[source]\nkind = \"demo\"\ninterval = \"1s\"\n\
         timeout = \"500ms\"\nwindow = \"5s\"\n\n[router]\nkind = \"demo\"\n\n[plan]\n\
         dwell = \"600s\"\n\n[journal]\npath = \"{}\"\n\n[safety]\n{safety}\n",
        journal.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover --config C tui` in a fresh tmux server.
fn start_tui(socket: &str, config: &Path, log: &Path) -> Tmux {
    let t = Tmux {
        socket: unique(socket),
        session: "cockpit".into(),
    };
    t.start(
        &format!(
            "{} --config {} --log {} tui; echo EXIT=$?; sleep 60",
            env!("CARGO_BIN_EXE_cutover"),
            config.display(),
            log.display()
        ),
        (120, 40),
    );
    t
}

#[test]
fn a_killed_session_leaves_a_quiet_guardian_that_take_over_replaces() {
    let _turn = serial::alone();
    if skip_without(
        Server::Tmux,
        "a_killed_session_leaves_a_quiet_guardian_that_take_over_replaces",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (journal, t) = cockpit_in(dir.path(), "cutover-lost", "demo --dwell 600s");
    advance_to_one_percent(&t);
    let pid = t.cockpit_pid();
    let killed = Instant::now();
    assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());

    // Within 2 s: the journal says so, and the process is quiet.
    let said = wait_journal(&journal, "terminal lost at 1 %", Duration::from_secs(2));
    eprintln!("journal says the terminal was lost {said:?} after kill-session");
    std::thread::sleep(Duration::from_secs(2).saturating_sub(killed.elapsed()));
    assert!(
        alive(pid),
        "the guardian is gone:\n{}",
        journal_text(&journal)
    );
    let hz = rustix::param::clock_ticks_per_second() as f64;
    // Ten seconds: a tick is 10 ms of CPU, so over 5 s one tick more or
    // less moves the figure by 0.2 points of the 1 % it is held to.
    let window = Duration::from_secs(10);
    let before = cpu_ticks(pid);
    std::thread::sleep(window);
    let used = (cpu_ticks(pid) - before) as f64 / hz / window.as_secs_f64();
    eprintln!(
        "guardian CPU over {window:?}: {:.2} % of a core",
        used * 100.0
    );
    assert!(
        used < 0.01,
        "the guardian uses {:.2} % of a core",
        used * 100.0
    );

    // A new process on the journal is told who guards and what to do.
    let refused = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--headless", "--dwell", "600s", "--journal"])
        .arg(&journal)
        .arg("--log")
        .arg(dir.path().join("log2"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("process {pid} lost its terminal"))
            && err.contains("ago and guards 1 % green")
            && err.contains("--take-over"),
        "{err}"
    );

    // `--take-over` replaces it within 2 s.
    let t2 = start_cutover(
        unique("cutover-takeover"),
        "demo --take-over",
        &journal,
        &dir.path().join("log3"),
    );
    let asked = Instant::now();
    wait_journal(
        &journal,
        "took over from the guardian",
        Duration::from_secs(2),
    );
    let took = asked.elapsed();
    wait_gone(pid, Duration::from_millis(100));
    eprintln!("--take-over: the new cockpit journaled the take-over {took:?} after it started");
    let text = journal_text(&journal);
    assert!(
        text.contains("guardian stopped: handed over to a new cockpit"),
        "{text}"
    );
    // No gap over a second: the guardian ran until it handed over, and
    // the new engine started right after.
    let records = cutover::engine::journal::Journal::read_all(&journal).unwrap();
    let time_of = |needle: &str| {
        records
            .iter()
            .rev()
            .find(|r| serde_json::to_string(r).unwrap().contains(needle))
            .map(|r| humantime::parse_rfc3339(&r.time).unwrap())
            .unwrap_or_else(|| panic!("no {needle:?} in the journal"))
    };
    let gap = time_of("\"kind\":\"start\"")
        .duration_since(time_of("handed over to a new cockpit"))
        .unwrap();
    eprintln!("hand-over → new engine started: {gap:?}");
    assert!(gap < Duration::from_secs(1), "gap of {gap:?}");
    t2.wait("the new cockpit", Duration::from_secs(5), |s| {
        s.contains("GREEN") && !s.contains("read-only")
    });
    t2.keys("q");
}

#[test]
fn a_guardian_stops_within_a_second_on_sigterm_sighup_and_sigint() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "a_guardian_stops_within_a_second_on_sigterm_sighup_and_sigint",
    ) {
        return;
    }
    for (sig, name) in [
        (rustix::process::Signal::TERM, "SIGTERM"),
        (rustix::process::Signal::HUP, "SIGHUP"),
        (rustix::process::Signal::INT, "SIGINT"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (journal, t) = cockpit_in(
            dir.path(),
            &format!("cutover-guard-{name}"),
            "demo --dwell 600s",
        );
        advance_to_one_percent(&t);
        let pid = t.cockpit_pid();
        assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());
        wait_journal(&journal, "terminal lost at 1 %", Duration::from_secs(2));
        // Past the hang-up that came with the lost terminal.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(alive(pid));
        // A plain signal to the process this test started.
        let target = rustix::process::Pid::from_raw(pid).expect("a pid");
        rustix::process::kill_process(target, sig).unwrap();
        let gone = wait_gone(pid, Duration::from_secs(1));
        eprintln!("{name}: the guardian exited {gone:?} later");
        let text = journal_text(&journal);
        assert!(
            text.contains(&format!(
                "guardian stopped: {name}; traffic left at 1 % green"
            )),
            "{text}"
        );
    }
}

#[test]
fn a_guardian_ends_after_guard_for() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "a_guardian_ends_after_guard_for") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = demo_config(dir.path(), &journal, "guard_for = \"2s\"");
    let t = start_tui("cutover-guardfor", &config, &dir.path().join("log"));
    advance_to_one_percent(&t);
    let pid = t.cockpit_pid();
    assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());
    let gone = wait_gone(pid, Duration::from_secs(4));
    assert!(gone > Duration::from_millis(1500), "gone after {gone:?}");
    let text = journal_text(&journal);
    assert!(text.contains("guardian stopped: guarded for 2s"), "{text}");
}

#[test]
fn with_on_terminal_loss_exit_the_process_is_gone_within_2s_and_the_lock_free() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "with_on_terminal_loss_exit_the_process_is_gone_within_2s",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = demo_config(dir.path(), &journal, "on_terminal_loss = \"exit\"");
    let t = start_tui("cutover-lost-exit", &config, &dir.path().join("log"));
    advance_to_one_percent(&t);
    let pid = t.cockpit_pid();
    assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());
    let gone = wait_gone(pid, Duration::from_secs(2));
    eprintln!("on_terminal_loss = \"exit\": gone {gone:?} after kill-session");
    let text = journal_text(&journal);
    assert!(
        text.contains("terminal lost at 1 %; exiting (on_terminal_loss = \\\"exit\\\")"),
        "{text}"
    );
    // The lock is free: a new writer gets the journal.
    cutover::engine::journal::Journal::open(&journal).expect("the journal lock is free");
}

#[test]
fn with_on_terminal_loss_rollback_green_is_rolled_back_then_the_process_exits() {
    let _turn = serial::timed();
    if skip_without(Server::Tmux, "with_on_terminal_loss_rollback") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = demo_config(dir.path(), &journal, "on_terminal_loss = \"rollback\"");
    let t = start_tui("cutover-lost-rollback", &config, &dir.path().join("log"));
    advance_to_one_percent(&t);
    let pid = t.cockpit_pid();
    assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());
    wait_gone(pid, Duration::from_secs(3));
    let records = cutover::engine::journal::Journal::read_all(&journal).unwrap();
    let rolled_back = records.iter().any(|r| {
        r.kind == cutover::engine::journal::RecordKind::Outcome
            && r.action == Some(RecordAction::Rollback)
            && r.to == Some(0)
    });
    assert!(rolled_back, "{}", journal_text(&journal));
    cutover::engine::journal::Journal::open(&journal).expect("the journal lock is free");
}

/// The guardian keeps auto-rollback as it was armed: on the slow-quality
/// scenario green breaches, is rolled back by the guardian, and with green
/// at 0 % there is nothing left to guard, so it exits.
#[test]
fn a_guardian_rolls_back_on_a_breach_and_then_exits() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "a_guardian_rolls_back_on_a_breach_and_then_exits",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (journal, t) = cockpit_in(
        dir.path(),
        "cutover-guard-breach",
        "demo --scenario slow-quality --dwell 600s",
    );
    advance_to_one_percent(&t);
    let pid = t.cockpit_pid();
    assert!(t.cmd(&["kill-session", "-t", "cockpit"]).status.success());
    wait_journal(&journal, "terminal lost at 1 %", Duration::from_secs(2));
    wait_gone(pid, Duration::from_secs(60));
    let records = cutover::engine::journal::Journal::read_all(&journal).unwrap();
    let auto = records.iter().any(|r| {
        r.kind == cutover::engine::journal::RecordKind::Outcome
            && r.action == Some(RecordAction::Rollback)
            && r.origin == Some(RecordOrigin::AutoRollback)
            && r.to == Some(0)
    });
    let text = journal_text(&journal);
    assert!(auto, "{text}");
    assert!(text.contains("guardian stopped: green is at 0 %"), "{text}");
}

/// `--take-over` takes over only a cockpit that lost its terminal: one in
/// use keeps the journal, and the new command says why it refused.
#[test]
fn take_over_refuses_a_cockpit_that_still_has_its_terminal() {
    let _turn = serial::timed();
    if skip_without(
        Server::Tmux,
        "take_over_refuses_a_cockpit_that_still_has_its_terminal",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (journal, t) = cockpit_in(dir.path(), "cutover-live", "demo --dwell 600s");
    t.wait("the cockpit", Duration::from_secs(10), |s| {
        s.contains("GREEN")
    });
    let pid = t.cockpit_pid();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--headless", "--take-over", "--journal"])
        .arg(&journal)
        .arg("--log")
        .arg(dir.path().join("log2"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "held by process {pid}, which has not lost its terminal"
        )),
        "{err}"
    );
    assert!(alive(pid));
    t.keys("q");
}
