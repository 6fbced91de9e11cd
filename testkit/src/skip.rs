//! One skip for every external program a test needs: the test is skipped
//! (said on stderr) when the program is missing, and fails instead when
//! `CUTOVER_REQUIRE_SERVERS` is set (CI), so nothing skips silently there.

use std::io::Write;
use std::process::{Command, Stdio};

/// An external program some tests run for real.
#[derive(Clone, Copy, Debug)]
pub enum Server {
    Nginx,
    Prometheus,
    Tmux,
    Openssl,
    Moto,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Prometheus => "prometheus",
            Server::Tmux => "tmux",
            Server::Openssl => "openssl",
            Server::Moto => "moto_server",
        }
    }

    fn installed(self) -> bool {
        match self {
            Server::Nginx => super::nginx::nginx_bin().is_some(),
            Server::Prometheus => super::prometheus::available(),
            Server::Tmux => answers("tmux", "-V"),
            Server::Openssl => answers("openssl", "version"),
            Server::Moto => super::moto::available(),
        }
    }
}

fn answers(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True (after saying so) when `test` must be skipped: `server` is missing
/// and the run does not require it.
pub fn skip_without(server: Server, test: &str) -> bool {
    if server.installed() {
        return false;
    }
    let name = server.name();
    assert!(
        std::env::var_os("CUTOVER_REQUIRE_SERVERS").is_none(),
        "{name} is required (CUTOVER_REQUIRE_SERVERS is set) but not installed"
    );
    // Straight to stderr: the harness captures eprintln! of passing tests,
    // and a skip must be seen.
    let install = match server {
        Server::Moto => "pip install 'moto[server]'".to_string(),
        _ => format!("apt-get install {name}"),
    };
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {name} not installed ({install})"
    );
    true
}
