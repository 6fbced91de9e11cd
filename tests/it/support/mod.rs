pub mod nginx;

/// Where the router writes its lock (and the holder's pid).
pub fn nginx_lock_path(include: &std::path::Path) -> std::path::PathBuf {
    cutover::router::nginx::lock::lock_path(include)
}
