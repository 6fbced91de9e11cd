//! The rule shared by `[router]` and `[source]`: `kind = "..."` picks one
//! variant, whose settings live in the table named after it
//! (`[router.demo]`, `[source.scrape]`). Only that table may be present, so
//! a config never carries settings that silently do nothing.
//!
//! The same check runs twice: on the parsed document before serde (so the
//! error points at the right line) and in the `TryFrom` of each raw section
//! (so no other way of building a config can skip it).

use super::validate::Invalid;

/// Whether a kind has a settings table, and if it must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRule {
    /// No `[section.kind]` table exists for this kind.
    None,
    /// The table may be left out: every setting has a default.
    Optional,
    /// The table must be written (e.g. the scrape targets).
    Required,
}

/// One tagged section: its name and its kinds, in the order help lists them.
pub struct Section {
    pub name: &'static str,
    pub kinds: &'static [(&'static str, TableRule)],
}

impl Section {
    pub fn kind_names(&self) -> String {
        self.kinds
            .iter()
            .map(|(k, _)| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// [`Tagged::check`] for a typed section: `written` pairs each kind's
    /// table with whether it was written. The error is one line.
    pub fn check_written(&self, kind: &str, written: &[(&str, bool)]) -> Result<(), String> {
        let tables: Vec<&str> = written
            .iter()
            .filter_map(|&(name, w)| w.then_some(name))
            .collect();
        self.check(Some(kind), &tables)
            .map_err(|(key, m)| format!("{key}: {m}"))
    }

    /// Checks `kind` (None when the key is missing) against the sub-tables
    /// written under the section (`tables`). Errors are `(dotted key,
    /// message)`, the key being the one to point at.
    pub fn check(&self, kind: Option<&str>, tables: &[&str]) -> Result<(), Invalid> {
        let s = self.name;
        let Some(kind) = kind else {
            return Err((
                s.to_string(),
                format!(
                    "[{s}] needs `kind`, one of {} (see config.example.toml)",
                    self.kind_names()
                ),
            ));
        };
        let names = || self.kinds.iter().map(|(k, _)| *k);
        let Some((_, rule)) = self.kinds.iter().find(|(k, _)| *k == kind) else {
            let hint = super::suggest::closest(kind, names())
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            return Err((
                format!("{s}.kind"),
                format!(
                    "`{kind}` is not a {s} kind in this version; {hint}choose one of {}",
                    self.kind_names()
                ),
            ));
        };
        if let Some(stray) = tables.iter().find(|t| **t != kind) {
            let known = self.kinds.iter().any(|(k, _)| k == stray);
            if !known && let Some(near) = super::suggest::closest(stray, names()) {
                return Err((
                    format!("{s}.{stray}"),
                    format!("`[{s}.{stray}]` is unknown; did you mean `[{s}.{near}]`?"),
                ));
            }
            let why = if known {
                format!("it is only read with `kind = \"{stray}\"`")
            } else {
                format!("`{stray}` is not a {s} kind")
            };
            return Err((
                format!("{s}.{stray}"),
                format!("[{s}.{stray}] does not belong with `kind = \"{kind}\"`: {why}"),
            ));
        }
        let written = tables.contains(&kind);
        match rule {
            TableRule::Required if !written => Err((
                format!("{s}.{kind}"),
                format!(
                    "`kind = \"{kind}\"` needs its settings in a [{s}.{kind}] table (see config.example.toml)"
                ),
            )),
            TableRule::None if written => Err((
                format!("{s}.{kind}"),
                format!("`kind = \"{kind}\"` has no settings: remove [{s}.{kind}]"),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Section = Section {
        name: "source",
        kinds: &[("scrape", TableRule::Required), ("demo", TableRule::None)],
    };

    #[test]
    fn kind_selects_its_own_table_only() {
        assert!(S.check(Some("scrape"), &["scrape"]).is_ok());
        assert!(S.check(Some("demo"), &[]).is_ok());
        let (key, msg) = S.check(None, &[]).unwrap_err();
        assert_eq!(key, "source");
        assert!(msg.contains("\"scrape\", \"demo\""), "{msg}");
        let (key, msg) = S.check(Some("prom"), &[]).unwrap_err();
        assert_eq!(key, "source.kind");
        assert!(msg.contains("`prom` is not a source kind"), "{msg}");
        let (key, msg) = S.check(Some("demo"), &["scrape"]).unwrap_err();
        assert_eq!(key, "source.scrape");
        assert!(msg.contains("only read with `kind = \"scrape\"`"), "{msg}");
        let (key, _) = S.check(Some("scrape"), &[]).unwrap_err();
        assert_eq!(key, "source.scrape");
        let (key, _) = S.check(Some("demo"), &["demo"]).unwrap_err();
        assert_eq!(key, "source.demo");
    }
}
