//! `cutover report`: reads a journal and prints the post-incident record
//! of one cutover as Markdown; `--html` also writes the page with charts.
//! The rendering is pure (crate::report); this file only reads and writes.

use std::path::Path;

use anyhow::{Context, bail};

use crate::report::{self, Cutover};

use crate::console::{say, warn};

/// Prints the Markdown report of cutover `index` (the last by default)
/// and, with `html`, writes the HTML page there.
pub fn run(journal: &Path, html: Option<&Path>, index: Option<usize>) -> anyhow::Result<u8> {
    let meta = std::fs::metadata(journal)
        .with_context(|| format!("cannot read the journal {}", journal.display()))?;
    if !meta.is_file() {
        bail!(
            "{}: not a regular file, so not a journal",
            journal.display()
        );
    }
    // Streamed: a journal of a million samples costs the cutover reported.
    let source = journal.display().to_string();
    let read = super::report_read::read(journal, index, &source)?;
    if read.bad > 0 {
        warn(format!(
            "note: {}: {} unreadable line(s) skipped",
            journal.display(),
            read.bad
        ));
    }
    let cutover = Cutover::kept(
        &read.entries,
        read.span.clone(),
        read.number,
        read.of,
        &source,
    );
    if let Some(out) = html {
        let page = report::html(&cutover).map_err(anyhow::Error::msg)?;
        std::fs::write(out, page)
            .with_context(|| format!("cannot write the HTML report {}", out.display()))?;
        warn(format!("HTML report written to {}", out.display()));
    }
    say(report::markdown(&cutover).trim_end());
    Ok(0)
}
