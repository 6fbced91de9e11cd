//! `cutover report`: a post-incident record of one cutover, from the
//! journal alone, so a reviewer needs neither the cockpit nor its servers.
//! Pure: journal text in, Markdown or HTML text out; the command reads
//! and writes the files.

mod charts;
mod content;
mod cutover;
mod doc;
mod entry;
mod evidence;
mod metrics;
mod page;

pub use content::{TO_ROUTER, TO_ZERO};
pub use cutover::{DRILLS_KEPT, Finder, Marks, Span, find};
pub use entry::{Entry, parse};

/// One cutover of a journal, ready to be rendered.
#[derive(Debug, Clone)]
pub struct Cutover<'a> {
    /// Every entry of the journal, or (read as a stream) only the shown
    /// ones with the drills before them: `span` indexes into it.
    pub entries: &'a [Entry],
    pub span: Span,
    /// Its place among the journal's cutovers, from 1.
    pub number: usize,
    pub of: usize,
    /// How the journal is named in the report (its path).
    pub source: String,
}

impl<'a> Cutover<'a> {
    /// Cutover `index` (from 1; the last when `None`) of `entries`.
    pub fn select(
        entries: &'a [Entry],
        index: Option<usize>,
        source: &str,
    ) -> Result<Cutover<'a>, String> {
        let spans = find(entries);
        let of = spans.len();
        let number = pick(of, index, source)?;
        Ok(Cutover {
            entries,
            span: spans[number - 1].clone(),
            number,
            of,
            source: source.to_string(),
        })
    }

    /// Cutover `number` of `of`, from the entries a streamed read kept
    /// (the shown ones and the drills before them), `span` indexing them.
    pub fn kept(
        entries: &'a [Entry],
        span: Span,
        number: usize,
        of: usize,
        source: &str,
    ) -> Cutover<'a> {
        Cutover {
            entries,
            span,
            number,
            of,
            source: source.to_string(),
        }
    }

    pub fn shown_entries(&self) -> &'a [Entry] {
        &self.entries[self.span.shown.clone()]
    }
}

/// Which of `of` cutovers `index` names (from 1; the last when `None`),
/// or why none.
pub fn pick(of: usize, index: Option<usize>, source: &str) -> Result<usize, String> {
    if of == 0 {
        return Err(format!(
            "{source}: no cutover in this journal (no change ever gave green traffic)"
        ));
    }
    let number = index.unwrap_or(of);
    if number == 0 || number > of {
        return Err(format!(
            "--index {number}: the journal {source} holds {of} cutover(s), numbered 1 to {of}"
        ));
    }
    Ok(number)
}

/// The report as Markdown.
pub fn markdown(c: &Cutover) -> String {
    doc::markdown(&content::blocks(c, Vec::new()))
}

/// The report as one self-contained HTML page with its charts.
pub fn html(c: &Cutover) -> Result<String, String> {
    let charts = charts::charts(c)?;
    Ok(page::page(
        &content::title(c),
        &doc::html(&content::blocks(c, charts)),
    ))
}

#[cfg(test)]
mod tests;
