//! The report as a few kinds of block, written out as Markdown (to paste
//! into an incident tracker) or as HTML (the self-contained page): one
//! content, two renderings that cannot drift apart.

use std::fmt::Write;

/// One block of the report. Text is plain: each renderer escapes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    /// Text shown as written, e.g. `(to be written)` prompts.
    Emphasis(String),
    List(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// An SVG chart: only the HTML page shows it.
    Chart(String),
}

/// GitHub-flavoured Markdown.
pub fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {}\n", "#".repeat(*level as usize), md_text(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{}\n", md_text(text));
            }
            Block::Emphasis(text) => {
                let _ = writeln!(out, "_{}_\n", md_text(text));
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(out, "- {}", md_text(i));
                }
                out.push('\n');
            }
            Block::Table { head, rows } => {
                let row = |cells: &[String]| {
                    let cells: Vec<String> = cells.iter().map(|c| md_cell(c)).collect();
                    format!("| {} |\n", cells.join(" | "))
                };
                out.push_str(&row(head));
                out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                for r in rows {
                    out.push_str(&row(r));
                }
                out.push('\n');
            }
            Block::Chart(_) => {}
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Markdown treats `*`, `_`, `` ` ``, `<`, `[` and friends as markup: text
/// from the journal (reasons, notes) is shown as written.
fn md_text(s: &str) -> String {
    let s = crate::format::sanitize(s, false);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_cell(s: &str) -> String {
    md_text(&s.replace('\n', " "))
}

/// The body of an HTML page (the caller wraps it).
pub fn html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let l = (*level).clamp(1, 6);
                let _ = writeln!(out, "<h{l}>{}</h{l}>", esc(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", esc(text));
            }
            Block::Emphasis(text) => {
                let _ = writeln!(out, "<p class=\"blank\"><em>{}</em></p>", esc(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", esc(i));
                }
                out.push_str("</ul>\n");
            }
            Block::Table { head, rows } => {
                out.push_str("<table>\n<thead><tr>");
                for h in head {
                    let _ = write!(out, "<th>{}</th>", esc(h));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        let class = if c.contains("BREACH") {
                            " class=\"breach\""
                        } else {
                            ""
                        };
                        let _ = write!(out, "<td{class}>{}</td>", esc(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Chart(svg) => {
                let _ = writeln!(out, "<figure>{svg}</figure>");
            }
        }
    }
    out
}

/// HTML-escapes text from the journal.
pub fn esc(s: &str) -> String {
    let s = crate::format::sanitize(s, false);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_text_cannot_become_markup() {
        let blocks = vec![
            Block::Heading(2, "Timeline".into()),
            Block::Table {
                head: vec!["a".into(), "b".into()],
                rows: vec![vec!["x | y".into(), "<script>*z*</script>\nnext".into()]],
            },
            Block::Chart("<svg></svg>".into()),
        ];
        let md = markdown(&blocks);
        assert!(
            md.starts_with("## Timeline\n\n| a | b |\n|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("x \\| y"), "{md}");
        assert!(md.contains("\\<script\\>\\*z\\*"), "{md}");
        assert!(!md.contains("svg"));
        let h = html(&blocks);
        assert!(h.contains("&lt;script&gt;"), "{h}");
        assert!(h.contains("<figure><svg></svg></figure>"), "{h}");
    }
}
