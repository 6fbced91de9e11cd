//! Alert bodies: a JSON text with `{{placeholders}}`. Every value is put in
//! JSON-string-escaped (no quotes added), so a placeholder belongs inside a
//! JSON string: `{"text": "{{summary}}"}`. A reason holding quotes, a
//! backslash or a newline can never break the body. Pure: no IO.
//!
//! It lives in `config`, below `alerts`, because loading checks every
//! configured template (naming its key and line) before anything runs.

/// Every placeholder, with what it holds (for the docs and for errors).
pub const PLACEHOLDERS: [(&str, &str); 9] = [
    (
        "summary",
        "one readable paragraph: what happened, the reason, green's readings",
    ),
    ("service", "[service] name"),
    ("event", "rollback, promote or breach"),
    (
        "reason",
        "why: the rollback's reason (for an automatic one, the breaching metric, its value and the threshold), or the breaching readings",
    ),
    (
        "split",
        "green's share after the change (or at the breach), e.g. 0%",
    ),
    ("from", "green's share before the change"),
    ("origin", "who: tui, cli, autopilot, auto-rollback"),
    (
        "readings",
        "green's readings at the decision, `; `-separated",
    ),
    ("time", "when, RFC 3339 UTC"),
];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Part<'a> {
    Text(&'a str),
    Value(&'a str),
}

fn parse(template: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        parts.push(Part::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "`{{` without a closing `}}`".to_string())?;
        let name = after[..close].trim();
        if !PLACEHOLDERS.iter().any(|(n, _)| *n == name) {
            return Err(format!(
                "`{{{{{name}}}}}` is not a placeholder; use {}",
                names()
            ));
        }
        parts.push(Part::Value(name));
        rest = &after[close + 2..];
    }
    parts.push(Part::Text(rest));
    Ok(parts)
}

fn names() -> String {
    PLACEHOLDERS
        .iter()
        .map(|(n, _)| format!("{{{{{n}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `s` as it goes between the quotes of a JSON string.
pub fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Fills `template` with `value(name)`, each JSON-string-escaped.
pub fn render(template: &str, value: impl Fn(&str) -> String) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 256);
    for part in parse(template)? {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Value(name) => out.push_str(&json_escape(&value(name))),
        }
    }
    Ok(out)
}

/// Checks a configured template: known placeholders only, and JSON once
/// they are filled (with a value holding every character that needs
/// escaping, so a placeholder outside a string is caught too).
pub fn check(template: &str) -> Result<(), String> {
    let body = render(template, |_| "x \"y\" \\ z\n".to_string())?;
    serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
        format!(
            "is not JSON once its placeholders are filled ({e}); a placeholder goes inside a JSON string, as in {}",
            super::DEFAULT_ALERT_TEMPLATE
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_a_json_string() {
        let body = render(
            r#"{"text": "{{summary}}", "svc": "{{ service }}"}"#,
            |n| match n {
                "summary" => "green \"error rate\" 12 % > 5 %\nback\\slash".into(),
                _ => "chat".into(),
            },
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["text"], "green \"error rate\" 12 % > 5 %\nback\\slash");
        assert_eq!(v["svc"], "chat");
    }

    #[test]
    fn bad_templates_say_why() {
        assert!(check(r#"{"text": "{{summary}}"}"#).is_ok());
        assert!(
            check(r#"{"blocks": [{"type": "section", "text": "{{event}}: {{reason}}"}]}"#).is_ok()
        );
        let e = check(r#"{"text": "{{sumary}}"}"#).unwrap_err();
        assert!(e.contains("`{{sumary}}` is not a placeholder"), "{e}");
        assert!(e.contains("{{summary}}"), "{e}");
        let e = check(r#"{"text": "{{summary"}"#).unwrap_err();
        assert!(e.contains("without a closing"), "{e}");
        let e = check(r#"{"text": {{summary}}}"#).unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let e = check("text={{summary}}").unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
    }
}
