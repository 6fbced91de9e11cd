//! A misspelt table or key is named with the closest known name:
//! "`[servce]` is unknown; did you mean `[service]`?". Without this a
//! misspelt required table reads as "[service] is missing", which sends the
//! reader looking for a table they did write.

use toml::de::{DeTable, DeValue};

/// The top-level tables of a config, as written (`[[alerts]]` is an array).
/// A unit test checks this list against the config's own fields.
pub const TABLES: &[&str] = &[
    "service",
    "source",
    "router",
    "plan",
    "guardrails",
    "auto_rollback",
    "journal",
    "gates",
    "alerts",
    "safety",
    "metrics",
    "cost",
    "aws",
];

/// The known name most like `word`, if any is alike enough to be meant.
/// Jaro-Winkler (crate `strsim`, already in the tree through clap, which
/// uses it for the same purpose) favours a shared beginning, as typos have.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// How a name is written in the file: `[a.b]` for a table, `[[a.b]]` for
/// an array of tables, the bare key otherwise.
fn written(path: &str, key: &str, value: Option<&DeValue<'_>>) -> String {
    // `alerts[0].headers` is written `[alerts.headers]` as a header.
    let header: String = path
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect::<Vec<_>>()
        .join(".");
    match value {
        Some(DeValue::Table(_)) => format!("`[{header}]`"),
        Some(DeValue::Array(a)) if a.iter().all(|v| matches!(v.get_ref(), DeValue::Table(_))) => {
            format!("`[[{header}]]`")
        }
        _ => format!("`{key}`"),
    }
}

/// "`[servce]` is unknown; did you mean `[service]`?" for the key `path`
/// (dotted, its last part the unknown name) among `known`; `value` is what
/// the file holds there, to write tables as tables.
pub fn unknown(path: &str, known: &[&str], value: Option<&DeValue<'_>>) -> String {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (Some(p), k),
        None => (None, path),
    };
    let full = |name: &str| match parent {
        Some(p) => format!("{p}.{name}"),
        None => name.to_string(),
    };
    let shown = written(path, key, value);
    match closest(key, known.iter().copied()) {
        Some(near) => format!(
            "{shown} is unknown; did you mean {}?",
            written(&full(near), near, value)
        ),
        None => {
            let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "{shown} is unknown; the known names here are {}",
                names.join(", ")
            )
        }
    }
}

/// The first top-level name of `doc` that is not a config table, as
/// `(key, message)`.
pub fn unknown_table(doc: &DeTable<'_>) -> Option<(String, String)> {
    doc.iter()
        .map(|(k, v)| (k.get_ref().as_ref(), v.get_ref()))
        .find(|(k, _)| !TABLES.contains(k))
        .map(|(k, v)| (k.to_string(), unknown(k, TABLES, Some(v))))
}

/// serde's "unknown field `dwel`, expected one of `steps`, `dwell`, …" as
/// the unknown name and the known ones.
pub fn parse_unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest.split('`').skip(1).step_by(2).collect();
    Some((name, known))
}

/// The value at the dotted `path` of `doc` (`alerts[1].url` included).
pub fn value_at<'a>(doc: &'a DeTable<'a>, path: &str) -> Option<&'a DeValue<'a>> {
    let mut table = doc;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let mut value = table.get(name)?.get_ref();
        if let (DeValue::Array(a), Some(i)) = (value, index) {
            value = a.get(i)?.get_ref();
        }
        if parts.peek().is_none() {
            return Some(value);
        }
        match value {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_list_is_the_configs_own() {
        // serde names every field of the config when one is unknown.
        let e = toml::from_str::<crate::config::Config>("zzzz = 1\n").unwrap_err();
        let (_, mut known) = parse_unknown_field(e.message()).expect("unknown field");
        let mut ours = TABLES.to_vec();
        known.sort_unstable();
        ours.sort_unstable();
        assert_eq!(known, ours);
    }

    #[test]
    fn the_closest_name_is_suggested_and_a_stranger_is_not() {
        assert_eq!(closest("servce", TABLES.iter().copied()), Some("service"));
        assert_eq!(
            closest("gaurdrails", TABLES.iter().copied()),
            Some("guardrails")
        );
        assert_eq!(
            closest("auto-rollback", TABLES.iter().copied()),
            Some("auto_rollback")
        );
        assert_eq!(closest("xyz", TABLES.iter().copied()), None);
    }

    #[test]
    fn serdes_message_is_read() {
        let (name, known) =
            parse_unknown_field("unknown field `dwel`, expected one of `steps`, `dwell`").unwrap();
        assert_eq!(name, "dwel");
        assert_eq!(known, ["steps", "dwell"]);
        let (_, known) = parse_unknown_field("unknown field `x`, expected `a` or `b`").unwrap();
        assert_eq!(known, ["a", "b"]);
        assert!(parse_unknown_field("missing field `name`").is_none());
    }

    /// Every table and key misspelt, through the whole loader: the error
    /// names the misspelling, the closest known name and the line.
    #[test]
    fn a_misspelt_table_or_key_is_named_with_the_closest_name() {
        use crate::config::load_str;
        let service = "[service]\nname = \"x\"\n";
        let router = "[router]\nkind = \"demo\"\n";
        let source = "[source]\nkind = \"demo\"\n";
        let cases = [
            (
                format!("[servce]\nname = \"x\"\n{router}{source}"),
                "`[servce]` is unknown; did you mean `[service]`?",
                1,
            ),
            (
                format!("{service}{router}{source}[plan]\ndwel = \"30s\"\n"),
                "`dwel` is unknown; did you mean `dwell`?",
                8,
            ),
            (
                format!(
                    "{service}{router}{source}[guardrails.p99]\nabsolute = {{ warn = 1, breach = 2 }}\n"
                ),
                "`[guardrails.p99]` is unknown; did you mean `[guardrails.p99_ms]`?",
                7,
            ),
            (
                format!("{service}{router}{source}[[alert]]\nurl = \"http://127.0.0.1:1/\"\n"),
                "`[[alert]]` is unknown; did you mean `[[alerts]]`?",
                7,
            ),
            (
                format!("{service}[router]\nknd = \"demo\"\n{source}"),
                "`knd` is unknown; did you mean `kind`?",
                4,
            ),
            (
                format!(
                    "{service}[router]\nkind = \"nginx\"\n[router.ngnix]\nupstream = \"u\"\n{source}"
                ),
                "`[router.ngnix]` is unknown; did you mean `[router.nginx]`?",
                5,
            ),
            (
                format!("{service}[router]\nkind = \"ngnix\"\n{source}"),
                "did you mean \"nginx\"?",
                4,
            ),
            (
                format!("[service]\nnmae = \"x\"\n{router}{source}"),
                "`nmae` is unknown; did you mean `name`?",
                2,
            ),
            (
                format!("{service}{router}{source}[auto_rollback]\nconsecutiv = 3\n"),
                "`consecutiv` is unknown; did you mean `consecutive`?",
                8,
            ),
        ];
        for (text, said, line) in cases {
            let e = load_str(&text, "t.toml").unwrap_err();
            assert!(e.message.contains(said), "{text}\n=> {e}");
            assert_eq!(e.line, Some(line), "{text}\n=> {e}");
        }
        let e = load_str(&format!("{service}{router}{source}[zzz]\n"), "t").unwrap_err();
        assert!(
            e.message
                .starts_with("`[zzz]` is unknown; the known names here are"),
            "{e}"
        );
    }
}
