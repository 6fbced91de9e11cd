//! `[[gates.smoke]]` and `[[gates.command]]`: the checks green must pass
//! before traffic moves. Smoke checks are HTTP requests against green made
//! while it is at 0 %; command gates (an eval suite) run before the plan
//! reaches the percentages they name.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::validate::Invalid;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke: Vec<SmokeCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<CommandGate>,
    /// `evidence = "no regression"`: the advance gate waits until a
    /// regression of each tested metric's `min_effect` would have been
    /// seen at the current split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceGate>,
}

/// What the evidence must show before traffic moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvidenceGate {
    /// Enough green requests that a regression of `min_effect` would
    /// have been detected.
    #[serde(rename = "no regression")]
    NoRegression,
}

impl GatesConfig {
    pub fn is_empty(&self) -> bool {
        self.smoke.is_empty() && self.command.is_empty()
    }
}

/// One HTTP request against green and what its answer must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeCheck {
    pub name: String,
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// Sent as written; values of credential headers print as `***`
    /// (`cutover check` prints the resolved config).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "masked_headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// Sent as is (e.g. a JSON inference request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The one status that passes; any 2xx when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// A regular expression the body must match somewhere (plain text is a
    /// substring match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body: Option<String>,
    #[serde(with = "duration", default = "default_smoke_timeout")]
    pub timeout: Duration,
}

/// A command run before the plan reaches each of `before`; exit 0 passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandGate {
    pub name: String,
    pub argv: Vec<String>,
    /// Green percentages (plan steps): the command must pass before any
    /// move that reaches one of them.
    pub before: Vec<u8>,
    #[serde(with = "duration", default = "default_command_timeout")]
    pub timeout: Duration,
}

/// True for a header that carries a credential.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["token", "key", "secret", "password", "auth"]
        .iter()
        .any(|w| n.contains(w))
}

fn masked_headers<S: serde::Serializer>(
    h: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(h.len()))?;
    for (k, v) in h {
        if is_secret_header(k) {
            m.serialize_entry(k, "***")?;
        } else {
            m.serialize_entry(k, v)?;
        }
    }
    m.end()
}

fn default_method() -> String {
    "GET".into()
}

fn default_smoke_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(10 * 60)
}

/// The HTTP methods a smoke check may use.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Checks what serde cannot; keys are written `gates.smoke[i].url`, which
/// the loader points at the entry's own line.
pub fn validate(g: &GatesConfig, steps: &[u8], longest: Duration) -> Result<(), Invalid> {
    let mut names = Vec::new();
    for (i, s) in g.smoke.iter().enumerate() {
        let at = |k: &str| format!("gates.smoke[{i}].{k}");
        named_once(&at, &s.name, &mut names)?;
        validate_smoke(&at, s)?;
        timeout_within(&at, s.timeout, longest)?;
    }
    let mut names = Vec::new();
    for (i, c) in g.command.iter().enumerate() {
        let at = |k: &str| format!("gates.command[{i}].{k}");
        named_once(&at, &c.name, &mut names)?;
        validate_command(&at, c, steps)?;
        timeout_within(&at, c.timeout, longest)?;
    }
    Ok(())
}

/// A gate's name: not empty, and not one an earlier gate of its kind has.
fn named_once<'a>(
    at: &dyn Fn(&str) -> String,
    name: &'a String,
    names: &mut Vec<&'a String>,
) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        return Err((at("name"), "must not be empty".into()));
    }
    if names.contains(&name) {
        return Err((at("name"), format!("`{name}` is used twice")));
    }
    names.push(name);
    Ok(())
}

fn timeout_within(
    at: &dyn Fn(&str) -> String,
    timeout: Duration,
    longest: Duration,
) -> Result<(), Invalid> {
    if timeout.is_zero() || timeout > longest {
        return Err((
            at("timeout"),
            "must be above zero and at most a year".into(),
        ));
    }
    Ok(())
}

fn validate_smoke(at: &dyn Fn(&str) -> String, s: &SmokeCheck) -> Result<(), Invalid> {
    let err = |key: String, m: String| Err((key, m));
    match super::LambdaArn::parse(&s.url) {
        Some(Err(why)) => return err(at("url"), why),
        Some(Ok(_)) => return validate_invoke(at, s),
        None => {}
    }
    match reqwest::Url::parse(&s.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            if u.password().is_some() {
                return err(
                    at("url"),
                    "holds a password; it would be shown on screen (send it in `headers`)".into(),
                );
            }
        }
        Ok(u) => {
            return err(
                at("url"),
                format!("scheme `{}` is not http or https", u.scheme()),
            );
        }
        Err(e) => return err(at("url"), format!("`{}` is not a URL: {e}", s.url)),
    }
    if !METHODS.contains(&s.method.as_str()) {
        return err(
            at("method"),
            format!(
                "`{}` is not a method; use one of {}",
                s.method,
                METHODS.join(", ")
            ),
        );
    }
    for (k, v) in &s.headers {
        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
            return err(at("headers"), format!("`{k}` is not a header name"));
        }
        if reqwest::header::HeaderValue::from_str(v).is_err() {
            return err(
                at("headers"),
                format!("the value of `{k}` holds characters a header cannot carry"),
            );
        }
    }
    expectations(at, s)
}

/// A smoke check that invokes a Lambda version: `body` is the payload;
/// there is no method or header to send.
fn validate_invoke(at: &dyn Fn(&str) -> String, s: &SmokeCheck) -> Result<(), Invalid> {
    if !matches!(s.method.as_str(), "GET" | "POST") {
        return Err((
            at("method"),
            "a Lambda ARN is invoked, with `body` as its payload: leave `method` out".into(),
        ));
    }
    if !s.headers.is_empty() {
        return Err((
            at("headers"),
            "a Lambda ARN is invoked through AWS's API: it takes no headers".into(),
        ));
    }
    expectations(at, s)
}

/// `expect_status` and `expect_body`, which every smoke check may have.
fn expectations(at: &dyn Fn(&str) -> String, s: &SmokeCheck) -> Result<(), Invalid> {
    let err = |key: String, m: String| Err((key, m));
    if let Some(st) = s.expect_status
        && !(100..=599).contains(&st)
    {
        return err(
            at("expect_status"),
            format!("{st} is not an HTTP status (100 to 599)"),
        );
    }
    if let Some(re) = &s.expect_body
        && let Err(e) = regex::Regex::new(re)
    {
        return err(
            at("expect_body"),
            format!("not a regular expression: {}", first_line(&e.to_string())),
        );
    }
    Ok(())
}

fn validate_command(
    at: &dyn Fn(&str) -> String,
    c: &CommandGate,
    steps: &[u8],
) -> Result<(), Invalid> {
    let err = |key: String, m: String| Err((key, m));
    if c.argv.first().is_none_or(|p| p.trim().is_empty()) {
        return err(
            at("argv"),
            "needs the program and its arguments, e.g. [\"./eval.sh\", \"--model\", \"green\"]"
                .into(),
        );
    }
    if c.before.is_empty() {
        return err(
            at("before"),
            "needs the plan percentages it runs before, e.g. [1, 100]".into(),
        );
    }
    if let Some(p) = c.before.iter().find(|p| !steps.contains(p)) {
        let steps: Vec<String> = steps.iter().map(u8::to_string).collect();
        return err(
            at("before"),
            format!(
                "{p} is not a plan step; plan.steps is [{}]",
                steps.join(", ")
            ),
        );
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    // The regex crate's message draws a caret under the pattern over
    // several lines; the last line says what is wrong.
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const MINIMAL: &str =
        "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n";

    fn smoke(extra: &str) -> String {
        format!(
            "{MINIMAL}[[gates.smoke]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n[[gates.smoke]]\nname = \"b\"\nurl = \"http://127.0.0.1:1/\"\n{extra}"
        )
    }

    #[test]
    fn smoke_defaults_are_get_any_2xx_and_5s() {
        let c = load_str(&smoke(""), "t").unwrap();
        let s = &c.gates.smoke[1];
        assert_eq!(s.method, "GET");
        assert_eq!(s.expect_status, None);
        assert_eq!(s.timeout.as_secs(), 5);
        assert!(s.headers.is_empty() && s.body.is_none() && s.expect_body.is_none());
    }

    #[test]
    fn bad_smoke_values_name_the_entry_and_its_line() {
        // The second entry's keys start at line 10.
        let e = load_str(&smoke("method = \"FETCH\"\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.smoke[1].method"), "{e}");
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.message.contains("`FETCH` is not a method"), "{e}");

        let e = load_str(&smoke("expect_body = \"(unclosed\"\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.smoke[1].expect_body"), "{e}");
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.message.contains("not a regular expression"), "{e}");

        let e = load_str(&smoke("expect_status = 700\n"), "t").unwrap_err();
        assert!(e.message.contains("700 is not an HTTP status"), "{e}");

        let e = load_str(&smoke("timeout = \"0s\"\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.smoke[1].timeout"), "{e}");

        let e = load_str(&smoke("timeout = 5\n"), "t").unwrap_err();
        assert_eq!(e.line, Some(13), "{e}");
        assert!(e.message.contains("has no unit"), "{e}");

        let e = load_str(&smoke("headers = { \"Bad Name\" = \"x\" }\n"), "t").unwrap_err();
        assert!(e.message.contains("`Bad Name` is not a header name"), "{e}");

        let text = smoke("").replace("name = \"b\"", "name = \"a\"");
        let e = load_str(&text, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.smoke[1].name"), "{e}");
        assert_eq!(e.line, Some(11), "{e}");
        assert!(e.message.contains("used twice"), "{e}");

        let text = smoke("").replace("http://127.0.0.1:1/\"\n[[", "ftp://x/\"\n[[");
        let e = load_str(&text, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.smoke[0].url"), "{e}");
        assert_eq!(e.line, Some(9), "{e}");

        let e = load_str(&smoke("colour = \"green\"\n"), "t").unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        assert_eq!(e.line, Some(13), "{e}");
    }

    #[test]
    fn credential_headers_never_print() {
        let text = smoke(
            "headers = { Authorization = \"Bearer s3cr3t\", \"X-Api-Key\" = \"k3y\", Accept = \"application/json\" }\n",
        );
        let c = load_str(&text, "t").unwrap();
        assert_eq!(c.gates.smoke[1].headers["Authorization"], "Bearer s3cr3t");
        let shown = toml::to_string(&c).unwrap();
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("k3y"),
            "{shown}"
        );
        assert!(shown.contains("application/json"), "{shown}");
    }

    #[test]
    fn command_gates_need_argv_and_plan_steps() {
        let gate = |extra: &str| {
            format!("{MINIMAL}[[gates.command]]\nname = \"eval\"\nargv = [\"./eval.sh\"]\n{extra}")
        };
        let c = load_str(&gate("before = [1, 100]\n"), "t").unwrap();
        assert_eq!(c.gates.command[0].timeout.as_secs(), 600);

        let e = load_str(&gate(""), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.command[0].before"), "{e}");
        assert!(e.message.contains("is missing"), "{e}");

        let e = load_str(&gate("before = [30]\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.command[0].before"), "{e}");
        assert_eq!(e.line, Some(10), "{e}");
        assert!(e.message.contains("30 is not a plan step"), "{e}");

        let e = load_str(
            &gate("before = [1]\n").replace("[\"./eval.sh\"]", "[]"),
            "t",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.command[0].argv"), "{e}");
        assert_eq!(e.line, Some(9), "{e}");

        let e = load_str(&gate("before = [1]\ntimeout = \"0s\"\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gates.command[0].timeout"), "{e}");
        assert_eq!(e.line, Some(11), "{e}");
    }
}
