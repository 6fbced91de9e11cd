//! Finding, reading and checking the config file. Every error names the key
//! and the line, so a malformed config is fixed in one look.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::router::ROUTER;
use super::source::SOURCE;
use super::suggest;
use super::validate::validate;
use super::{Config, MAX_CONFIG_BYTES};
use crate::metricspec::toml_place::{key_at, line_of, span_of};

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

/// Reads the config from `path`: a regular file of at most
/// [`MAX_CONFIG_BYTES`]. A device, a pipe or a directory is refused before
/// a byte is read, so `--config /dev/zero` fails at once.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = read_bounded(path).map_err(|message| ConfigError {
        origin: origin.clone(),
        key: None,
        line: None,
        message,
        excerpt: None,
    })?;
    load_str(&text, &origin)
}

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, pipe or socket)"
        };
        return Err(format!(
            "cannot read the config: it is {what}; a config is read only from a regular file"
        ));
    }
    let too_big = || {
        format!(
            "the file is larger than {} KiB; a config is a page of text, is this the right file?",
            MAX_CONFIG_BYTES / 1024
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    // Checked again on the open file: the path may have been swapped since.
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err("cannot read the config: it is not a regular file".into());
    }
    // The file may grow between the check and the read: read one byte past
    // the limit to notice.
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
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
            excerpt: line.and_then(|l| excerpt(text, l)),
        }
    };
    let doc = DeTable::parse(text).ok();
    if let Some(doc) = &doc {
        sections(doc.get_ref()).map_err(|(key, message)| {
            let span = span_of(doc.get_ref(), &key);
            // A missing table has no line: it is nowhere in the file.
            located(Some(key), span, message)
        })?;
    }
    let mut config: Config = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let key = span
            .as_ref()
            .and_then(|s| doc.as_ref().and_then(|t| key_at(t.get_ref(), s.start)));
        let message = super::words::plain(e.message().trim());
        match missing_field(&message) {
            // serde points a missing key at its table (or at the whole
            // file, for a top-level table): name the key instead.
            Some(field) => {
                let full = match &key {
                    Some(k) => format!("{k}.{field}"),
                    None => field.to_string(),
                };
                let span = doc.as_ref().and_then(|t| span_of(t.get_ref(), &full));
                located(Some(full.clone()), span, format!("`{full}` is missing"))
            }
            None => match suggest::parse_unknown_field(&message) {
                Some((name, known)) => {
                    let path = key
                        .filter(|k| k == name || k.ends_with(&format!(".{name}")))
                        .unwrap_or_else(|| name.to_string());
                    let value = doc
                        .as_ref()
                        .and_then(|t| suggest::value_at(t.get_ref(), &path));
                    let message = suggest::unknown(&path, &known, value);
                    located(Some(path), span, message)
                }
                None => {
                    // TOML that does not parse has no document to look the
                    // key up in: name the one written on the error's line.
                    let key = key.or_else(|| {
                        let line = line_of(text, span.as_ref()?.start);
                        key_on_line(text, line)
                    });
                    located(key, span, message)
                }
            },
        }
    })?;
    config.share_aws();
    validate(&config).map_err(|(key, message)| {
        let span = doc.as_ref().and_then(|t| span_of(t.get_ref(), &key));
        located(Some(key), span, message)
    })?;
    Ok(config)
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
}

/// The tables every config needs, and the `kind` of the tagged ones,
/// checked on the parsed document so errors point at their line (serde's
/// view of a tagged section has no line, and a missing table has none).
fn sections(doc: &DeTable<'_>) -> Result<(), (String, String)> {
    // A misspelt table first: else `[servce]` reads as "[service] is missing".
    if let Some(unknown) = suggest::unknown_table(doc) {
        return Err(unknown);
    }
    let hints = [
        ("service", "add it with `name = \"...\"`".to_string()),
        (
            "router",
            format!("add it with `kind = ...`, one of {}", ROUTER.kind_names()),
        ),
        (
            "source",
            format!("add it with `kind = ...`, one of {}", SOURCE.kind_names()),
        ),
    ];
    for (name, hint) in hints {
        if doc.get(name).is_none() {
            return Err((name.to_string(), format!("[{name}] is missing: {hint}")));
        }
    }
    for section in [&ROUTER, &SOURCE] {
        // Not a table at all: serde says so, with the line.
        let Some(DeValue::Table(t)) = doc.get(section.name).map(|v| v.get_ref()) else {
            continue;
        };
        let kind = match t.get("kind").map(|v| v.get_ref()) {
            // `knd = "demo"`: name the misspelling, not the missing `kind`.
            None => match t.iter().find(|(k, v)| {
                !matches!(v.get_ref(), DeValue::Table(_))
                    && suggest::closest(k.get_ref(), ["kind"]).is_some()
            }) {
                Some((k, v)) => {
                    let path = format!("{}.{}", section.name, k.get_ref());
                    let message = suggest::unknown(&path, &["kind"], Some(v.get_ref()));
                    return Err((path, message));
                }
                None => None,
            },
            Some(DeValue::String(s)) => Some(s.as_ref()),
            // Wrong type: serde says so, with the line.
            Some(_) => continue,
        };
        let tables: Vec<&str> = t
            .iter()
            .filter(|(_, v)| matches!(v.get_ref(), DeValue::Table(_)))
            .map(|(k, _)| k.get_ref().as_ref())
            .collect();
        section.check(kind, &tables)?;
    }
    Ok(())
}

/// Line `line` of `text`, to quote in an error, with the URLs of an
/// `[[alerts]]` entry cut to their host: a webhook URL is a credential.
fn excerpt(text: &str, line: usize) -> Option<String> {
    let here = text.lines().nth(line - 1)?.trim_end();
    let section = text
        .lines()
        .take(line)
        .filter(|l| l.trim_start().starts_with('['))
        .last()
        .map(str::trim);
    if section != Some("[[alerts]]") && !here.contains("alerts") {
        return Some(here.to_string());
    }
    // Every quoted string holding `://` (closed or not) is shown redacted.
    let mut out = String::new();
    let mut rest = here;
    while let Some(q) = rest.find(['"', '\'']) {
        let quote = &rest[q..q + 1];
        out.push_str(&rest[..=q]);
        let body = &rest[q + 1..];
        let end = body.find(quote).unwrap_or(body.len());
        let value = &body[..end];
        if value.contains("://") {
            out.push_str(&super::alerts::redact(value));
        } else {
            out.push_str(value);
        }
        rest = &body[end..];
        if let Some(r) = rest.strip_prefix(quote) {
            out.push_str(quote);
            rest = r;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// The dotted key written on line `line` (under the table header above
/// it), the table itself when the line is its header or holds no key, or
/// the line's first word outside any table. Read from the text alone, for
/// a file that does not parse.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let header = |l: &str| {
        let l = l.trim();
        l.starts_with('[').then(|| {
            let inner = l.trim_start_matches('[');
            inner.split(']').next().unwrap_or(inner).trim().to_string()
        })
    };
    let table = text
        .lines()
        .take(line.saturating_sub(1))
        .filter_map(header)
        .last();
    let here = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    if let Some(h) = header(here).filter(|h| !h.is_empty()) {
        return Some(h);
    }
    let word = |t: &str| {
        t.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .find(|w| !w.is_empty())
            .map(str::to_string)
    };
    let key = match here.split_once('=') {
        Some((k, _)) => word(k),
        None if table.is_none() => word(here),
        None => None,
    };
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (t, k) => k.or(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RouterConfig, SourceKind};

    /// Service and router (3 lines); every test adds its own [source].
    const HEAD: &str = "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n";
    /// A whole minimal config: 6 lines.
    const MINIMAL: &str =
        "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n";
    const SCRAPE: &str = "[source]\nkind = \"scrape\"\n[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\ngreen = [\"http://127.0.0.1:2/metrics\"]\n";

    /// The error `text` is refused with.
    fn refused(text: &str) -> ConfigError {
        load_str(text, "t.toml").unwrap_err()
    }

    /// Where an error points: its key and line.
    fn place(e: &ConfigError) -> (Option<&str>, Option<usize>) {
        (e.key.as_deref(), e.line)
    }

    #[test]
    fn minimal_config_takes_the_defaults() {
        let c = load_str(MINIMAL, "t.toml").unwrap();
        assert_eq!(c.service.name, "chat");
        assert_eq!(c.plan.steps, vec![1, 5, 25, 50, 100]);
        assert_eq!(c.plan.dwell.as_secs(), 300);
        assert_eq!(c.plan.standby.as_secs(), 48 * 3600);
        assert_eq!(c.auto_rollback.consecutive, 2);
        assert_eq!(c.router, RouterConfig::default());
        assert_eq!(c.source.kind, SourceKind::Demo);
        assert_eq!(c.source.interval.as_secs(), 5);
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
        let e = refused(&format!("{MINIMAL}[plan]\ndwel = \"30s\"\n"));
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("dwel"), "{e}");
        assert_eq!(e.key.as_deref(), Some("plan.dwel"), "{e}");
        assert!(e.to_string().contains("line 8"), "{e}");
    }

    #[test]
    fn bad_duration_names_key_and_line() {
        let e = refused(&format!("{MINIMAL}\n[plan]\ndwell = \"5 minutes-ish\"\n"));
        assert_eq!(e.line, Some(9), "{e}");
        assert_eq!(e.key.as_deref(), Some("plan.dwell"));
        assert!(e.message.contains("not a duration"), "{e}");
    }

    #[test]
    fn a_bare_number_is_not_a_duration() {
        let e = refused(&format!("{MINIMAL}[plan]\ndwell = 300\n"));
        assert_eq!(e.line, Some(8), "{e}");
        assert_eq!(e.key.as_deref(), Some("plan.dwell"), "{e}");
        assert!(e.message.contains("\"5m\""), "{e}");
        assert!(e.message.contains("300 has no unit"), "{e}");
        let e = refused(&format!(
            "{HEAD}[source]\nkind = \"demo\"\ninterval = 1.5\n"
        ));
        assert_eq!(place(&e), (Some("source.interval"), Some(7)), "{e}");
        assert!(e.message.contains("has no unit"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_and_line_in_plain_words() {
        let e = refused(&format!(
            "{MINIMAL}[auto_rollback]\nconsecutive = \"two\"\n"
        ));
        assert_eq!(e.line, Some(8), "{e}");
        assert_eq!(e.key.as_deref(), Some("auto_rollback.consecutive"));
        assert!(e.message.contains("expected a whole number"), "{e}");
        assert!(!e.message.contains("u32"), "{e}");

        let e = refused(&format!(
            "{MINIMAL}[guardrails.p99_ms]\nabsolute = {{ warn = \"x\", breach = 5 }}\n"
        ));
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("expected a number"), "{e}");
        assert!(!e.message.contains("f64"), "{e}");

        let e = refused(&format!("{MINIMAL}[plan]\nsteps = [1, 300]\n"));
        assert!(e.message.contains("from 0 to 255"), "{e}");
        assert!(!e.message.contains("u8"), "{e}");

        let e = refused(&format!(
            "{MINIMAL}[guardrails.p99_ms]\nabsolute = \"high\"\n"
        ));
        assert!(e.message.contains("expected a table"), "{e}");
        assert!(!e.message.contains("struct"), "{e}");
        assert!(!e.message.contains("sequence"), "{e}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = refused("[service]\nname = \"x\n");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn a_missing_table_is_named_without_a_line() {
        let e = refused("# my config\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n");
        assert_eq!(place(&e), (Some("service"), None), "{e}");
        assert!(e.message.starts_with("[service] is missing"), "{e}");
        assert!(!e.to_string().contains("line"), "{e}");

        let e = refused("[service]\nname = \"x\"\n[source]\nkind = \"demo\"\n");
        assert_eq!(e.key.as_deref(), Some("router"), "{e}");
        assert!(e.message.starts_with("[router] is missing"), "{e}");
        assert!(e.message.contains("\"demo\""), "{e}");
        assert!(!e.to_string().contains("router.demo"), "{e}");

        let e = refused(HEAD);
        assert!(e.message.starts_with("[source] is missing"), "{e}");
    }

    #[test]
    fn a_missing_key_is_named_with_its_table() {
        let e = refused("[service]\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n");
        assert_eq!(e.key.as_deref(), Some("service.name"), "{e}");
        assert_eq!(e.message, "`service.name` is missing", "{e}");
        assert_eq!(e.line, Some(1), "{e}");

        let e = refused(&format!(
            "{MINIMAL}[guardrails.p99_ms]\nabsolute = {{ warn = 1 }}\n"
        ));
        assert_eq!(
            place(&e),
            (Some("guardrails.p99_ms.absolute.breach"), Some(8)),
            "{e}"
        );
    }

    #[test]
    fn router_demo_table_is_optional_and_kind_is_checked() {
        let c = load_str(
            &format!("{MINIMAL}[router.demo]\nscenario = \"degrading\"\n"),
            "t",
        );
        // [router.demo] after [source] is still the router's table.
        let RouterConfig::Demo(d) = c.unwrap().router else {
            panic!("not the demo router")
        };
        assert_eq!(d.scenario, crate::config::Scenario::Degrading);
        // The names are the command line's (clap's ValueEnum); another is
        // named with its key and line.
        let e = refused(&format!("{MINIMAL}[router.demo]\nscenario = \"melting\"\n"));
        assert_eq!(e.key.as_deref(), Some("router.demo.scenario"), "{e}");
        assert!(e.line.is_some(), "{e}");
        assert_eq!(
            e.message,
            "`melting` is not a scenario; choose one of healthy, degrading, slow-quality, slow-first-token"
        );

        let e = refused("[service]\nname = \"x\"\n[router]\n[source]\nkind = \"demo\"\n");
        assert_eq!(place(&e), (Some("router"), Some(3)), "{e}");
        assert!(e.message.contains("needs `kind`"), "{e}");

        let e = refused(
            "[service]\nname = \"x\"\n[router]\nkind = \"nginx-ish\"\n[source]\nkind = \"demo\"\n",
        );
        assert_eq!(place(&e), (Some("router.kind"), Some(4)), "{e}");
        assert!(
            e.message.contains("`nginx-ish` is not a router kind"),
            "{e}"
        );

        let e = refused(&format!(
            "{HEAD}[router.other]\nx = 1\n[source]\nkind = \"demo\"\n"
        ));
        assert_eq!(place(&e), (Some("router.other"), Some(5)), "{e}");
    }

    #[test]
    fn a_section_written_as_a_value_is_a_table_in_plain_words() {
        let e = refused("[service]\nname = \"x\"\nrouter = \"demo\"\n[source]\nkind = \"demo\"\n");
        // Written under [service], it is not the [router] section at all.
        assert!(e.message.starts_with("[router] is missing"), "{e}");
        let e = refused("router = \"demo\"\n[service]\nname = \"x\"\n[source]\nkind = \"demo\"\n");
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("expected a table"), "{e}");
        assert!(!e.message.contains("Raw"), "{e}");
    }

    #[test]
    fn a_source_table_must_match_its_kind() {
        let text = format!("{HEAD}{SCRAPE}");
        let c = load_str(&text, "t").unwrap();
        assert!(matches!(c.source.kind, SourceKind::Scrape(_)));

        let text = text.replacen("kind = \"scrape\"", "kind = \"demo\"", 1);
        let e = refused(&text);
        assert_eq!(place(&e), (Some("source.scrape"), Some(7)), "{e}");
        assert!(
            e.message.contains("does not belong with `kind = \"demo\"`"),
            "{e}"
        );
    }

    #[test]
    fn config_serializes_back_to_the_same_shape() {
        let c = load_str(&format!("{HEAD}{SCRAPE}"), "t").unwrap();
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("[router]\nkind = \"demo\""), "{text}");
        assert!(text.contains("[router.demo]"), "{text}");
        assert!(text.contains("[source.scrape]"), "{text}");
        assert_eq!(load_str(&text, "t").unwrap(), c);
    }

    #[test]
    fn semantic_errors_point_at_the_key() {
        let text = format!("{MINIMAL}[plan]\nsteps = [1, 5, 5, 100]\n");
        let e = refused(&text);
        assert_eq!(e.key.as_deref(), Some("plan.steps"));
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("increasing"), "{e}");

        let text = format!("{MINIMAL}[plan]\nsteps = [1, 5, 50]\n");
        let e = refused(&text);
        assert!(e.message.contains("100"), "{e}");

        let text =
            format!("{MINIMAL}\n[guardrails.quality]\nabsolute = {{ warn = 0.6, breach = 0.7 }}\n");
        let e = refused(&text);
        assert_eq!(e.key.as_deref(), Some("guardrails.quality.absolute"));
        assert_eq!(e.line, Some(9), "{e}");
    }

    #[test]
    fn rollback_sla_is_optional_and_read_strictly() {
        assert_eq!(load_str(MINIMAL, "t.toml").unwrap().plan.rollback_sla, None);
        let c = load_str(
            &format!("{MINIMAL}[plan]\nrollback_sla = \"2s\"\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.plan.rollback_sla, Some(std::time::Duration::from_secs(2)));
        for bad in ["2", "\"soon\"", "\"0s\""] {
            let e = refused(&format!("{MINIMAL}[plan]\nrollback_sla = {bad}\n"));
            assert_eq!(e.key.as_deref(), Some("plan.rollback_sla"), "{bad}: {e}");
            assert_eq!(e.line, Some(8), "{bad}: {e}");
        }
    }

    #[test]
    fn absurd_durations_and_empty_guardrails_are_refused() {
        let e = refused(&format!("{MINIMAL}[plan]\nstandby = \"500years\"\n"));
        assert_eq!(e.key.as_deref(), Some("plan.standby"), "{e}");
        assert!(e.message.contains("longer than a year"), "{e}");

        let none = "[guardrails.p99_ms]\n[guardrails.error_rate]\n[guardrails.quality]\n";
        let e = refused(&format!("{MINIMAL}{none}"));
        assert_eq!(e.key.as_deref(), Some("guardrails"), "{e}");
    }

    #[test]
    fn a_pod_belongs_to_one_colour_and_prefixes_are_not_empty() {
        let base = format!(
            "{HEAD}[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\n"
        );
        let e = refused(&format!("{base}green = [\"http://127.0.0.1:1/metrics\"]\n"));
        assert!(e.message.contains("also a blue target"), "{e}");
        let e = refused(&format!(
            "{base}green = [\"http://127.0.0.1:2/metrics\"]\nerror_status_prefixes = [\"\"]\n"
        ));
        assert!(e.message.contains("empty prefix"), "{e}");
    }

    #[test]
    fn scrape_needs_its_targets() {
        let text = format!(
            "{HEAD}[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n"
        );
        let e = refused(&text);
        assert_eq!(e.key.as_deref(), Some("source.scrape"), "{e}");
        assert!(e.message.contains("[source.scrape]"), "{e}");
        let text = format!(
            "{text}[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\ngreen = [\"not a url\"]\n"
        );
        let e = refused(&text);
        assert_eq!(place(&e), (Some("source.scrape.green"), Some(12)), "{e}");
    }

    #[test]
    fn alerts_errors_name_the_entry_and_line_and_never_the_url() {
        let ok = format!(
            "{MINIMAL}[[alerts]]\nurl = \"https://hooks.slack.com/services/T0/B0/s3cr3t\"\n"
        );
        let c = load_str(&ok, "t").unwrap();
        assert_eq!(c.alerts.len(), 1);
        assert_eq!(c.alerts[0].on.len(), 2, "default: rollback and promote");
        let shown = toml::to_string(&c).unwrap();
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("https://hooks.slack.com/***"), "{shown}");

        // Line 10 is the second entry's url.
        let text = format!(
            "{MINIMAL}[[alerts]]\nurl = \"http://127.0.0.1:1/a\"\n[[alerts]]\nurl = \"ftp://h.test/s3cr3t\"\n"
        );
        let e = refused(&text);
        assert_eq!(place(&e), (Some("alerts[1].url"), Some(10)), "{e}");
        assert!(e.message.contains("not http or https"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");

        let text = format!(
            "{MINIMAL}[[alerts]]\nurl = \"http://127.0.0.1:1/s3cr3t\"\non = [\"rollback\", \"flip\"]\n"
        );
        let e = refused(&text);
        assert_eq!(place(&e), (Some("alerts[0].on"), Some(9)), "{e}");
        assert!(e.message.contains("flip"), "{e}");

        let text = format!(
            "{MINIMAL}[[alerts]]\nurl = \"http://127.0.0.1:1/s3cr3t\"\ntemplate = '{{\"text\": \"{{{{summry}}}}\"}}'\n"
        );
        let e = refused(&text);
        assert_eq!(place(&e), (Some("alerts[0].template"), Some(9)), "{e}");
        assert!(e.message.contains("{{summry}}"), "{e}");

        let text = format!("{MINIMAL}[[alerts]]\non = [\"breach\"]\n");
        let e = refused(&text);
        assert_eq!(e.key.as_deref(), Some("alerts[0].url"), "{e}");
        assert!(e.message.contains("missing"), "{e}");

        // A syntax error on the url line quotes the line, host only.
        let text = format!("{MINIMAL}[[alerts]]\nurl = \"https://h.test/T0/s3cr3t\n");
        let e = refused(&text);
        assert_eq!(e.line, Some(8), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(e.to_string().contains("https://h.test/***"), "{e}");
    }

    #[test]
    fn only_a_small_regular_file_is_read() {
        let e = load(Path::new("/dev/zero")).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(e.message.contains("directory"), "{e}");
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let e = load(&big).unwrap_err();
        assert!(e.message.contains("larger than 1024 KiB"), "{e}");
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, MINIMAL).unwrap();
        assert!(load(&ok).is_ok());
    }
}
