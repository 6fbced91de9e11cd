//! Series selectors written as in PromQL, `http_requests_total{status=~"5.."}`:
//! a metric name (colons allowed, as vLLM's `vllm:` names need) and label
//! matchers with `=`, `!=`, `=~` and `!~`. The scrape source matches
//! samples with them; the Prometheus source sends them as written. Pure.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub label: String,
    pub op: Op,
    pub value: String,
    /// Anchored as PromQL anchors it; `Some` for `=~` and `!~`.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.label == o.label && self.op == o.op && self.value == o.value
    }
}

impl Matcher {
    pub fn new(label: &str, op: Op, value: &str) -> Result<Matcher, String> {
        let regex = match op {
            Op::Re | Op::NotRe => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("`{value}` is not a regular expression: {e}"))?,
            ),
            Op::Eq | Op::Ne => None,
        };
        Ok(Matcher {
            label: label.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether a sample whose label is `value` (empty when absent, as in
    /// PromQL) passes.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Eq, _) => value == self.value,
            (Op::Ne, _) => value != self.value,
            (Op::Re, Some(r)) => r.is_match(value),
            (Op::NotRe, Some(r)) => !r.is_match(value),
            (_, None) => false,
        }
    }
}

/// A metric name and its label matchers.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<Matcher>,
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the exposition format's metric names.
pub fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl Selector {
    pub fn named(name: &str) -> Selector {
        Selector {
            name: name.to_string(),
            matchers: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Selector, String> {
        let t = text.trim();
        let (name, rest) = match t.find('{') {
            Some(i) => (t[..i].trim(), Some(&t[i..])),
            None => (t, None),
        };
        if !is_metric_name(name) {
            return Err(format!(
                "`{name}` is not a metric name (letters, digits, `_` and `:`, not starting with a digit)"
            ));
        }
        let mut matchers = Vec::new();
        if let Some(body) = rest {
            let inner = body
                .strip_prefix('{')
                .and_then(|b| b.strip_suffix('}'))
                .ok_or_else(|| format!("`{t}`: the label matchers must end with `}}`"))?;
            let mut s = inner.trim();
            while !s.is_empty() {
                let (m, after) = matcher(s).map_err(|e| format!("`{t}`: {e}"))?;
                matchers.push(m);
                s = after.trim_start();
                s = match s.strip_prefix(',') {
                    Some(r) => r.trim_start(),
                    None if s.is_empty() => s,
                    None => return Err(format!("`{t}`: expected `,` between matchers")),
                };
            }
        }
        Ok(Selector {
            name: name.to_string(),
            matchers,
        })
    }

    /// Whether a sample of this name with these labels is selected.
    pub fn matches<'a>(&self, name: &str, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        name == self.name
            && self
                .matchers
                .iter()
                .all(|m| m.matches(label(&m.label).unwrap_or("")))
    }

    /// PromQL for this selector with `name_suffix` on the name (`_bucket`)
    /// and `extra` matchers written after its own (`track="$color"`).
    pub fn promql(&self, name_suffix: &str, extra: &str) -> String {
        let mut parts: Vec<String> = self
            .matchers
            .iter()
            .map(|m| format!("{}{}{}", m.label, m.op.text(), quote(&m.value)))
            .collect();
        if !extra.is_empty() {
            parts.push(extra.to_string());
        }
        format!("{}{name_suffix}{{{}}}", self.name, parts.join(","))
    }
}

impl FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Selector::parse(text)
    }
}

/// One `label op "value"` from the start of `s`, and the rest.
fn matcher(s: &str) -> Result<(Matcher, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let (label, rest) = s.split_at(end);
    if !is_label_name(label) {
        return Err(format!(
            "`{}` is not a label name",
            s.split(['=', '!']).next().unwrap_or(s).trim()
        ));
    }
    let rest = rest.trim_start();
    let (op, rest) = [
        ("=~", Op::Re),
        ("!~", Op::NotRe),
        ("!=", Op::Ne),
        ("=", Op::Eq),
    ]
    .into_iter()
    .find_map(|(w, op)| rest.strip_prefix(w).map(|r| (op, r)))
    .ok_or_else(|| format!("expected `=`, `!=`, `=~` or `!~` after `{label}`"))?;
    let rest = rest.trim_start();
    let quote = rest
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .ok_or_else(|| format!("the value of `{label}` must be quoted"))?;
    let mut value = String::new();
    let mut chars = rest[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, e)) => value.push(e),
                None => break,
            },
            c if c == quote => {
                let m = Matcher::new(label, op, &value)?;
                return Ok((m, &rest[1 + i + 1..]));
            }
            c => value.push(c),
        }
    }
    Err(format!("the value of `{label}` has no closing quote"))
}

fn quote(v: &str) -> String {
    let escaped = v
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.matchers.is_empty() {
            f.write_str(&self.name)
        } else {
            f.write_str(&self.promql("", ""))
        }
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |k| pairs.iter().find(|(l, _)| *l == k).map(|(_, v)| *v)
    }

    #[test]
    fn names_with_colons_and_matchers_parse() {
        let s = Selector::parse(
            r#"vllm:request_success_total{finished_reason!="abort", model_name=~"llama.*"}"#,
        )
        .unwrap();
        assert_eq!(s.name, "vllm:request_success_total");
        assert_eq!(s.matchers.len(), 2);
        assert_eq!(s.matchers[0].op, Op::Ne);
        assert_eq!(s.matchers[1].op, Op::Re);
        assert_eq!(Selector::parse("up").unwrap().matchers, vec![]);
        assert_eq!(Selector::parse("up{}").unwrap().matchers, vec![]);
    }

    #[test]
    fn matchers_select_samples_as_promql_does() {
        let s =
            Selector::parse(r#"http_requests_total{status=~"5..",handler!="/health"}"#).unwrap();
        assert!(s.matches(
            "http_requests_total",
            labels(&[("status", "5xx"), ("handler", "/v1/chat")])
        ));
        assert!(!s.matches("http_requests_total", labels(&[("status", "2xx")])));
        assert!(!s.matches(
            "http_requests_total",
            labels(&[("status", "503"), ("handler", "/health")])
        ));
        // Anchored: `5..` does not match `1500`.
        assert!(!s.matches("http_requests_total", labels(&[("status", "1500")])));
        assert!(!s.matches("other", labels(&[("status", "500")])));
        // An absent label reads as empty.
        let absent = Selector::parse(r#"x{model=""}"#).unwrap();
        assert!(absent.matches("x", labels(&[])));
    }

    #[test]
    fn promql_keeps_the_matchers_and_adds_the_colour() {
        let s = Selector::parse(r#"lat{model_name="a\"b"}"#).unwrap();
        assert_eq!(
            s.promql("_bucket", "track=\"$color\""),
            r#"lat_bucket{model_name="a\"b",track="$color"}"#
        );
        assert_eq!(Selector::named("up").promql("", ""), "up{}");
        assert_eq!(s.to_string(), r#"lat{model_name="a\"b"}"#);
        assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn bad_selectors_are_refused_with_the_reason() {
        for (bad, why) in [
            ("9lives", "not a metric name"),
            ("a{b=\"c\"", "must end with `}`"),
            ("a{b=c}", "must be quoted"),
            ("a{b~\"c\"}", "expected `=`"),
            ("a{b=\"c}", "no closing quote"),
            ("a{b=~\"(\"}", "not a regular expression"),
            ("a{b=\"1\" c=\"2\"}", "expected `,`"),
            ("a{-=\"1\"}", "not a label name"),
        ] {
            let e = Selector::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
