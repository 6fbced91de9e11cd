//! Where the demo journals. A demo's journal lives in `cutover/demo/`, apart
//! from real services' journals, so a real service named like the example's
//! (`chat-model`) never inherits a demo's drills or remembered rollback.
//! Without `--journal`, every `cutover demo` begins a journal of its own:
//! the demo's scenarios are each meant to be tried in any order, any number
//! of times, and a rollback remembered from the last run would hold the next.

use std::path::{Path, PathBuf};

use crate::engine::journal::{Journal, OpenError};

/// The directory of every demo journal.
pub fn dir() -> PathBuf {
    crate::config::data_dir().join("demo")
}

/// The journal of the last `cutover demo` run without `--journal`.
pub fn default_path() -> PathBuf {
    dir().join("demo.jsonl")
}

/// The journal of `cutover drill` without a config (drills are kept, one
/// after another, for `cutover report`).
pub fn drill_path() -> PathBuf {
    dir().join("drill.jsonl")
}

/// Begins the default demo journal afresh and returns its path: the last
/// run's is kept as `demo.previous.jsonl`. While another demo still writes
/// the default journal, this run takes one named after its process instead,
/// so neither disturbs the other.
pub fn fresh() -> anyhow::Result<PathBuf> {
    fresh_in(&dir())
}

/// As [`fresh`], in `dir`.
pub fn fresh_in(dir: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    let path = dir.join("demo.jsonl");
    match Journal::open(&path) {
        Ok(journal) => {
            // Holding the writer's lock, so no other demo is writing it.
            let written = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            if written {
                let previous = dir.join("demo.previous.jsonl");
                std::fs::rename(&path, &previous).with_context(|| {
                    format!(
                        "cannot move the last demo's journal {} aside",
                        path.display()
                    )
                })?;
            }
            drop(journal);
            Ok(path)
        }
        Err(OpenError::Locked { .. }) => Ok(dir.join(format!("demo-{}.jsonl", std::process::id()))),
        Err(OpenError::Io(e)) => {
            Err(e).with_context(|| format!("cannot open the demo journal {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_begins_afresh_and_keeps_the_last_one() {
        let d = tempfile::tempdir().unwrap();
        let first = fresh_in(d.path()).unwrap();
        std::fs::write(&first, "{\"kind\":\"start\"}\n").unwrap();
        let second = fresh_in(d.path()).unwrap();
        assert_eq!(first, second);
        assert!(!second.exists() || std::fs::read(&second).unwrap().is_empty());
        let kept = std::fs::read_to_string(d.path().join("demo.previous.jsonl")).unwrap();
        assert!(kept.contains("start"), "{kept}");
    }

    #[test]
    fn a_demo_still_running_keeps_its_journal() {
        let d = tempfile::tempdir().unwrap();
        let path = fresh_in(d.path()).unwrap();
        let _running = Journal::open(&path).unwrap();
        std::fs::write(&path, "{\"kind\":\"start\"}\n").unwrap();
        let other = fresh_in(d.path()).unwrap();
        assert_ne!(other, path);
        assert!(std::fs::read_to_string(&path).unwrap().contains("start"));
    }
}
