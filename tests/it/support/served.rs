//! A `/metrics` page served on loopback, and the `cutover` binary run
//! against a config: what the `check` and `status` tests share.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// A server on loopback whose N-th answer (from 1) is `page(N)`, so a test
/// can make counters advance between polls; it lives as long as the test
/// process. Its `/metrics` URL.
pub fn serve_pages(page: impl Fn(u64) -> String + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, stream) in (1u64..).zip(listener.incoming()) {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = page(n);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/metrics")
}

/// `cutover --config CONFIG ARGS` with `home` as its home and data
/// directories, whatever the environment says.
pub fn cutover(home: &Path, config: &Path, args: &[&str]) -> Output {
    command(home, config, args).output().unwrap()
}

/// The same command, to be spawned as the caller likes.
pub fn command(home: &Path, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.env_remove("CUTOVER_CONFIG")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .arg("--config")
        .arg(config)
        .args(args);
    c
}
