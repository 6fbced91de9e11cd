//! What the kit's real servers (Prometheus, moto) share: waiting until one
//! answers HTTP 200, and stopping one through the `timeout` it runs under.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// True when `GET path` on 127.0.0.1:`port` answers 200.
fn answers_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes());
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")
}

/// Waits up to `limit` until `child` (`what`) answers `GET path` with 200;
/// panics with its `log` when it exits first or the time is up.
pub fn wait_ready(
    child: &mut Child,
    port: u16,
    path: &str,
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if answers_ok(port, path) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}): {}", log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} not ready after {limit:?}: {}", log());
}

/// SIGTERM (to `timeout`, which passes it on), up to `grace` to exit,
/// then SIGKILL.
pub fn stop(mut child: Child, grace: Duration) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
