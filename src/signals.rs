//! The signals that end a command: SIGINT (Ctrl-C outside raw mode),
//! SIGTERM (a supervisor, `kill`) and SIGHUP (a closed terminal, an SSH
//! drop). Once tokio listens for a signal its default action is gone for
//! the life of the process, so every wait that should end at Ctrl-C must
//! listen for it itself.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// A signal that asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// `interrupted`, `terminated`, `hung up`.
    pub name: &'static str,
    /// The shell's exit status for it: 128 + the signal's number.
    pub code: u8,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub const INTERRUPTED: Stop = Stop {
    name: "interrupted",
    code: 130,
};
pub const TERMINATED: Stop = Stop {
    name: "terminated",
    code: 143,
};
pub const HUNG_UP: Stop = Stop {
    name: "hung up",
    code: 129,
};

/// Waits for SIGINT, SIGTERM or SIGHUP, whichever comes first. A signal
/// whose handler cannot be installed is not waited for.
pub async fn any_stop() -> Stop {
    async fn recv(s: &mut Option<Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = recv(&mut int) => INTERRUPTED,
        _ = recv(&mut term) => TERMINATED,
        _ = recv(&mut hup) => HUNG_UP,
    }
}
