//! Finding, reading and checking the config file. Every error names the key
//! and the line, so a malformed config is fixed in one look.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::Config;
use super::validate::validate;

/// A config that cannot be used, with where and why.
#[derive(Debug)]
pub struct ConfigError {
    /// The file (or `<built-in>`).
    pub origin: String,
    /// Dotted key, e.g. `guardrails.quality.absolute.warn`, when known.
    pub key: Option<String>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
    /// The offending line of the file, for context.
    pub excerpt: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config error in {}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(line), Some(excerpt)) = (self.line, &self.excerpt) {
            write!(f, "\n  {line:>4} | {excerpt}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// `cutover/config.toml` in the user's config directory.
pub fn default_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("cutover").join("config.toml"))
}

/// `--config`, else `$CUTOVER_CONFIG` (clap folds the variable into the
/// explicit path), else the default path.
pub fn resolve_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(default_path)
}

pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        origin: path.display().to_string(),
        key: None,
        line: None,
        message: format!("cannot read the file: {e}"),
        excerpt: None,
    })?;
    load_str(&text, &path.display().to_string())
}

/// Parses and validates `text`; `origin` names it in errors.
pub fn load_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let located = |key: Option<String>, span: Option<Range<usize>>, message: String| {
        let line = span.as_ref().map(|s| line_of(text, s.start));
        ConfigError {
            origin: origin.to_string(),
            key,
            line,
            message,
            excerpt: line
                .and_then(|l| text.lines().nth(l - 1))
                .map(|s| s.trim_end().to_string()),
        }
    };
    let config: Config = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let key = span.as_ref().and_then(|s| {
            DeTable::parse(text)
                .ok()
                .and_then(|t| key_at(t.get_ref(), s.start))
        });
        located(key, span, e.message().trim().to_string())
    })?;
    validate(&config).map_err(|(key, message)| {
        let span = DeTable::parse(text)
            .ok()
            .and_then(|t| span_of(t.get_ref(), &key));
        located(Some(key), span, message)
    })?;
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key whose key or value contains `offset`, as deep as it goes.
/// A table's own span covers only its header, so every table is searched.
fn key_at(table: &DeTable<'_>, offset: usize) -> Option<String> {
    let inside = |r: Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
    for (k, v) in table.iter() {
        let here = k.get_ref().to_string();
        if let DeValue::Table(t) = v.get_ref()
            && let Some(d) = key_at(t, offset)
        {
            return Some(format!("{here}.{d}"));
        }
        if inside(k.span()) || inside(v.span()) {
            return Some(here);
        }
    }
    None
}

/// The span of the key `dotted` (or of its nearest existing parent, so a
/// missing key still points at its table).
fn span_of(table: &DeTable<'_>, dotted: &str) -> Option<Range<usize>> {
    let (head, rest) = match dotted.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (dotted, None),
    };
    // Array elements are written `steps[2]`: point at the array.
    let head = head.split('[').next().unwrap_or(head);
    let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == head)?;
    match (rest, v.get_ref()) {
        (Some(rest), DeValue::Table(t)) => span_of(t, rest).or(Some(k.span())),
        _ => Some(k.span()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[service]\nname = \"chat\"\n";

    #[test]
    fn minimal_config_takes_the_defaults() {
        let c = load_str(MINIMAL, "t.toml").unwrap();
        assert_eq!(c.service.name, "chat");
        assert_eq!(c.plan.steps, vec![1, 5, 25, 50, 100]);
        assert_eq!(c.plan.dwell.as_secs(), 300);
        assert_eq!(c.plan.standby.as_secs(), 48 * 3600);
        assert_eq!(c.auto_rollback.consecutive, 2);
    }

    #[test]
    fn durations_are_human() {
        let c = load_str(
            &format!("{MINIMAL}[plan]\ndwell = \"30s\"\nbake = \"1h 30m\"\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.plan.dwell.as_secs(), 30);
        assert_eq!(c.plan.bake.as_secs(), 5400);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = load_str(&format!("{MINIMAL}[plan]\ndwel = \"30s\"\n"), "t.toml").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("dwel"), "{e}");
        assert_eq!(e.key.as_deref(), Some("plan.dwel"), "{e}");
        assert!(e.to_string().contains("line 4"), "{e}");
    }

    #[test]
    fn bad_duration_names_key_and_line() {
        let e = load_str(
            &format!("{MINIMAL}\n[plan]\ndwell = \"5 minutes-ish\"\n"),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert_eq!(e.key.as_deref(), Some("plan.dwell"));
        assert!(e.message.contains("not a duration"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let e = load_str(
            &format!("{MINIMAL}[auto_rollback]\nconsecutive = \"two\"\n"),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.key.as_deref(), Some("auto_rollback.consecutive"));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = load_str("[service]\nname = \"x\n", "t.toml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn missing_service_is_named() {
        let e = load_str("[plan]\nsteps = [1, 100]\n", "t.toml").unwrap_err();
        assert!(e.message.contains("service"), "{e}");
    }

    #[test]
    fn semantic_errors_point_at_the_key() {
        let text = format!("{MINIMAL}[plan]\nsteps = [1, 5, 5, 100]\n");
        let e = load_str(&text, "t.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("plan.steps"));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("increasing"), "{e}");

        let text = format!("{MINIMAL}[plan]\nsteps = [1, 5, 50]\n");
        let e = load_str(&text, "t.toml").unwrap_err();
        assert!(e.message.contains("100"), "{e}");

        let text =
            format!("{MINIMAL}\n[guardrails.quality]\nabsolute = {{ warn = 0.6, breach = 0.7 }}\n");
        let e = load_str(&text, "t.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("guardrails.quality.absolute"));
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn absurd_durations_and_empty_guardrails_are_refused() {
        let e = load_str(
            &format!("{MINIMAL}[plan]\nstandby = \"500years\"\n"),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("plan.standby"), "{e}");
        assert!(e.message.contains("longer than a year"), "{e}");

        let none = "[guardrails.p99_ms]\n[guardrails.error_rate]\n[guardrails.quality]\n";
        let e = load_str(&format!("{MINIMAL}{none}"), "t.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("guardrails"), "{e}");
    }

    #[test]
    fn a_pod_belongs_to_one_colour_and_prefixes_are_not_empty() {
        let base = format!(
            "{MINIMAL}[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\n"
        );
        let e = load_str(
            &format!("{base}green = [\"http://127.0.0.1:1/metrics\"]\n"),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.message.contains("also a blue target"), "{e}");
        let e = load_str(
            &format!(
                "{base}green = [\"http://127.0.0.1:2/metrics\"]\nerror_status_prefixes = [\"\"]\n"
            ),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.message.contains("empty prefix"), "{e}");
    }

    #[test]
    fn scrape_needs_its_targets() {
        let text = format!(
            "{MINIMAL}[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n"
        );
        let e = load_str(&text, "t.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.scrape"), "{e}");
        let text = format!(
            "{text}[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\ngreen = [\"not a url\"]\n"
        );
        let e = load_str(&text, "t.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.scrape.green"), "{e}");
        assert_eq!(e.line, Some(10), "{e}");
    }
}
