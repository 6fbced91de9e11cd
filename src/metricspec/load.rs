//! The metrics of a config file's text on their own: `[[metrics]]`,
//! `[cost]` and `[source] preset` read from TOML and resolved, every error
//! with its dotted key and line. The config layer reads the same serde
//! types as part of the whole file; this reads only them (other tables
//! are left alone), for `check`-style previews and for tests.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::de::DeTable;

use super::MetricSpec;
use super::cost::CostConfig;
use super::entry::MetricEntry;
use super::legacy::Legacy;
use super::parse::{Inputs, resolve};
use super::toml_place::{key_at, line_of, span_of};

/// An error with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub key: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}, ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    metrics: Vec<MetricEntry>,
    cost: Option<CostConfig>,
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Source {
    preset: Option<String>,
}

/// The metrics `text` describes, over `legacy` (today's keys' values).
pub fn from_toml(text: &str, legacy: &Legacy) -> Result<Vec<MetricSpec>, Located> {
    let tree = DeTable::parse(text).ok();
    let table = tree.as_ref().map(|t| t.get_ref());
    let line = |span: Option<Range<usize>>| span.map(|s| line_of(text, s.start));
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let key = e
            .span()
            .and_then(|s| table.and_then(|t| key_at(t, s.start)));
        let message = e.message().trim().to_string();
        let message = match unknown_field(&message) {
            Some((name, known)) => suggest(name, &known),
            None => message,
        };
        Located {
            key,
            line: line(e.span()),
            message,
        }
    })?;
    let inputs = Inputs {
        preset: doc.source.as_ref().and_then(|s| s.preset.as_deref()),
        metrics: &doc.metrics,
        cost: doc.cost.as_ref(),
        legacy,
    };
    resolve(&inputs).map_err(|(key, message)| Located {
        line: line(table.and_then(|t| span_of(t, &key))),
        key: Some(key),
        message,
    })
}

/// serde's "unknown field `qq`, expected one of `a`, `b`" as its parts.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    Some((name, rest.split('`').skip(1).step_by(2).collect()))
}

/// "`qq` is unknown; did you mean `q`?", as the rest of the config says it.
fn suggest(name: &str, known: &[&str]) -> String {
    let near = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match near {
        Some((_, k)) => format!("`{name}` is unknown; did you mean `{k}`?"),
        None => {
            let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "`{name}` is unknown; the known names here are {}",
                names.join(", ")
            )
        }
    }
}
