//! A real Prometheus (Debian's package) for tests and the benchmark: on
//! 127.0.0.1, a free port, a private data directory, a 1 s scrape of the
//! given targets; stopped on drop. Run under `timeout` so that it can
//! never outlive a stuck test by more than its deadline.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BINARY: &str = "prometheus";

/// True when the binary can be run.
pub fn available() -> bool {
    Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A free port on 127.0.0.1 (bound, then released): the same for every
/// server the kit starts.
pub use crate::nginx::free_port;

/// A base port with `n` consecutive free ports after it. The bases are
/// drawn below Linux's ephemeral range (32768 and up), where outgoing
/// connections take their ports: under a load generator's thousands of
/// them, runs of free ports there can be too rare to find.
pub fn free_ports(n: u16) -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    // A different start per process and call; then a walk by a stride
    // prime to the span, so tries never repeat.
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    for i in 0..400u32 {
        let base = (LOW + (seed.wrapping_add(i.wrapping_mul(7919)) % SPAN)) as u16;
        let held: Vec<_> = (0..n)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == n as usize {
            return base;
        }
    }
    panic!(
        "no {n} consecutive free ports on 127.0.0.1 between {LOW} and {}",
        LOW + SPAN
    );
}

/// The scrape config: each colour's `host:port` targets labelled `track`,
/// scraped every second (the one `demo --exporter-only` prints).
pub fn config(blue: &[String], green: &[String]) -> String {
    cutover::cli::exporter::scrape_config(blue, green)
}

pub struct Prometheus {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus with `config` in `dir` (data in `dir/data`) on
    /// `port`, and waits until it answers `/-/ready`.
    pub fn start(dir: &Path, port: u16, config: &str) -> Prometheus {
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("timeout")
            // Never outlives a stuck test by more than this.
            .args(["--kill-after=5", "600", BINARY])
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start prometheus");
        let mut p = Prometheus {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
        };
        p.wait_ready();
        p
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self) {
        let path = self.dir.join("prometheus.log");
        let log = move || std::fs::read_to_string(&path).unwrap_or_default();
        let child = self.child.as_mut().expect("started");
        super::child::wait_ready(
            child,
            self.port,
            "/-/ready",
            Duration::from_secs(20),
            "prometheus",
            log,
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// Stops it (SIGTERM through `timeout`, which passes it on) and waits;
    /// the data directory stays for a restart.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            super::child::stop(child, Duration::from_secs(10));
        }
    }

    /// Starts it again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        let cfg = std::fs::read_to_string(self.dir.join("prometheus.yml")).unwrap();
        *self = Prometheus::start(&self.dir.clone(), self.port, &cfg);
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Today's three over `p`'s `[source.prometheus.queries]`, as a config of
/// only that `[source]` reads them: the metrics a source built in code
/// polls.
pub fn legacy_specs(p: &cutover::config::PrometheusConfig) -> Vec<cutover::metricspec::MetricSpec> {
    cutover::config::legacy_specs(
        &cutover::config::SourceKind::Prometheus(p.clone()),
        cutover::config::defaults::min_requests(),
    )
}
