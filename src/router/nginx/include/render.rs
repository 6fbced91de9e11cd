//! Writing the include: per-server weights, the `split_clients` block, a
//! new file from the config, and the rewrite of only what the cockpit
//! manages in an existing one. Pure: text in, text out.

use std::ops::Range;

use super::{Edit, Include, braced};
use crate::config::{NginxConfig, NginxMode};
use crate::model::{Color, Split};

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Per-server weights for `split` with `nb` blue and `ng` green servers:
/// each colour's total is exactly its share. `None` is `down`.
pub fn weights(split: Split, nb: usize, ng: usize) -> (Option<u64>, Option<u64>) {
    let g = u64::from(split.green());
    match g {
        0 => (Some(1), None),
        100 => (None, Some(1)),
        _ => {
            let (wb, wg) = ((100 - g) * ng as u64, g * nb as u64);
            let d = gcd(wb, wg);
            (Some(wb / d), Some(wg / d))
        }
    }
}

fn server_line(address: &str, options: &[String], weight: Option<u64>) -> String {
    let mut s = format!("server {address}");
    for o in options {
        s.push(' ');
        s.push_str(o);
    }
    match weight {
        Some(w) => s.push_str(&format!(" weight={w};")),
        None => s.push_str(" down;"),
    }
    s
}

fn split_clients(cfg: &NginxConfig, split: Split) -> String {
    let up = &cfg.upstream;
    let key = braced(cfg.sticky_key.as_deref().unwrap_or_default());
    // Green is the first bucket: as it grows, keys already on green stay.
    let body = match split.green() {
        0 => format!("    * {up}_blue;\n"),
        100 => format!("    * {up}_green;\n"),
        p => format!("    {p}% {up}_green;\n    * {up}_blue;\n"),
    };
    format!("split_clients \"{key}\" ${up} {{\n{body}}}")
}

impl Include {
    /// `text` with only what the cockpit manages rewritten for `split`.
    pub fn rewrite(&self, text: &str, cfg: &NginxConfig, split: Split) -> String {
        let mut edits: Vec<(Range<usize>, String)> = match &self.edit {
            Edit::Weighted(list) => {
                let count = |c| list.iter().filter(|s| s.color == c).count();
                let (wb, wg) = weights(split, count(Color::Blue), count(Color::Green));
                list.iter()
                    .map(|s| {
                        let w = if s.color == Color::Blue { wb } else { wg };
                        (s.span.clone(), server_line(&s.address, &s.options, w))
                    })
                    .collect()
            }
            Edit::Sticky(span) => vec![(span.clone(), split_clients(cfg, split))],
        };
        edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        let mut out = text.to_string();
        for (r, new) in edits {
            out.replace_range(r, &new);
        }
        out
    }
}

const HEADER: &str = "# Owned by cutover: it rewrites the weights and `down` of the servers\n\
# (weighted mode) or the split_clients block (sticky mode) on every traffic\n\
# change. Other server options and directives such as keepalive and zone\n\
# are kept as written. Edit by hand only while no cutover is running.\n";

/// A new include for `split`, from the config alone.
pub fn render(cfg: &NginxConfig, split: Split) -> String {
    let entry = |e: &String| -> (String, Vec<String>) {
        let mut w = e.split_whitespace().map(str::to_string);
        (w.next().unwrap_or_default(), w.collect())
    };
    let mut out = String::from(HEADER);
    match cfg.mode {
        NginxMode::Weighted => {
            let (wb, wg) = weights(split, cfg.blue.len(), cfg.green.len());
            out.push_str(&format!("upstream {} {{\n", cfg.upstream));
            for (list, w) in [(&cfg.blue, wb), (&cfg.green, wg)] {
                for e in list {
                    let (a, o) = entry(e);
                    out.push_str(&format!("    {}\n", server_line(&a, &o, w)));
                }
            }
            out.push_str("}\n");
        }
        NginxMode::Sticky => {
            for (suffix, list) in [("blue", &cfg.blue), ("green", &cfg.green)] {
                out.push_str(&format!("upstream {}_{suffix} {{\n", cfg.upstream));
                for e in list {
                    let (a, o) = entry(e);
                    let mut line = format!("server {a}");
                    for x in o {
                        line.push(' ');
                        line.push_str(&x);
                    }
                    out.push_str(&format!("    {line};\n"));
                }
                out.push_str("}\n");
            }
            out.push_str(&split_clients(cfg, split));
            out.push('\n');
        }
    }
    out
}
