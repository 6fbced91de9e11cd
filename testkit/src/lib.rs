//! The test kit: everything cutover's integration tests (`tests/it/`) and
//! benchmark programs (`examples/`) share, in one place. Helpers that run
//! the `cutover` binary itself stay in `tests/it/support/`, where cargo
//! names the binary's path.

pub mod aws_fake;
pub mod child;
pub mod engine;
pub mod fake_router;
pub mod gates_rig;
pub mod journal_gen;
pub mod kube_apiserver;
pub mod kube_objects;
pub mod moto;
pub mod moto_setup;
pub mod nginx;
pub mod prometheus;
pub mod proxy;
pub mod serial;
pub mod skip;
pub mod source;

/// Where the router writes its lock (and the holder's pid).
pub fn nginx_lock_path(include: &std::path::Path) -> std::path::PathBuf {
    cutover::router::nginx::lock::lock_path(include)
}

/// `name` made unique in this process: every test runs as a thread of one
/// binary, so the pid alone no longer tells two tests' tmux servers (or
/// files) apart.
pub fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}
