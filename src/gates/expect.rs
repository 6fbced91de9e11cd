//! What a smoke check's answer must be, and the verdict on one answer.
//! Pure: no IO, no clock.

use regex::Regex;

use crate::config::SmokeCheck;

/// The expectations of one smoke check, with its body pattern compiled.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The one status that passes; any 2xx when `None`.
    pub status: Option<u16>,
    /// Must match somewhere in the body (plain text is a substring match).
    pub body: Option<Regex>,
}

impl Expectation {
    /// The expectation of `check`; fails only on a pattern the config
    /// loader would have refused.
    pub fn of(check: &SmokeCheck) -> Result<Expectation, String> {
        let body = match &check.expect_body {
            Some(p) => Some(Regex::new(p).map_err(|e| format!("expect_body: {e}"))?),
            None => None,
        };
        Ok(Expectation {
            status: check.expect_status,
            body,
        })
    }

    /// `Ok(summary)` when the answer passes, else `Err(reason)`.
    pub fn judge(&self, status: u16, body: &str) -> Result<String, String> {
        let status_ok = match self.status {
            Some(want) => status == want,
            None => (200..300).contains(&status),
        };
        if !status_ok {
            let want = self
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "2xx".into());
            return Err(format!("status {status}, want {want}"));
        }
        match &self.body {
            Some(re) if !re.is_match(body) => Err(format!(
                "status {status}, body does not match `{}`{}",
                re.as_str(),
                excerpt(body)
            )),
            Some(_) => Ok(format!("status {status}, body matches")),
            None => Ok(format!("status {status}")),
        }
    }
}

/// The start of a body for a failure message: one line, a few characters.
pub fn excerpt(body: &str) -> String {
    const MAX: usize = 60;
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX + 1)
        .collect();
    let flat = flat.trim();
    if flat.is_empty() {
        return " (empty body)".into();
    }
    if flat.chars().count() > MAX {
        let cut: String = flat.chars().take(MAX).collect();
        format!(" (got \"{cut}…\")")
    } else {
        format!(" (got \"{flat}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(status: Option<u16>, body: Option<&str>) -> Expectation {
        Expectation {
            status,
            body: body.map(|b| Regex::new(b).unwrap()),
        }
    }

    #[test]
    fn any_2xx_passes_by_default() {
        let e = expect(None, None);
        assert_eq!(e.judge(200, ""), Ok("status 200".into()));
        assert_eq!(e.judge(204, ""), Ok("status 204".into()));
        assert_eq!(e.judge(301, ""), Err("status 301, want 2xx".into()));
        assert_eq!(e.judge(503, ""), Err("status 503, want 2xx".into()));
    }

    #[test]
    fn a_given_status_is_the_only_one_that_passes() {
        let e = expect(Some(201), None);
        assert!(e.judge(201, "").is_ok());
        assert_eq!(e.judge(200, ""), Err("status 200, want 201".into()));
        // A check may expect a refusal, e.g. an unauthenticated request.
        assert!(expect(Some(401), None).judge(401, "").is_ok());
    }

    #[test]
    fn the_body_is_matched_as_a_substring_or_a_pattern() {
        let e = expect(None, Some("\"choices\""));
        assert_eq!(
            e.judge(200, "{\"choices\": []}"),
            Ok("status 200, body matches".into())
        );
        let err = e.judge(200, "{\"error\": \"overloaded\"}").unwrap_err();
        assert_eq!(
            err,
            "status 200, body does not match `\"choices\"` (got \"{\"error\": \"overloaded\"}\")"
        );
        let re = expect(None, Some(r#""text":\s*"[^"]+""#));
        assert!(re.judge(200, r#"{"text": "pong"}"#).is_ok());
        assert!(re.judge(200, r#"{"text": ""}"#).is_err());
        assert!(
            expect(None, Some("x"))
                .judge(200, "")
                .unwrap_err()
                .ends_with("(empty body)")
        );
    }

    #[test]
    fn a_long_body_is_cut_in_the_reason() {
        let e = expect(None, Some("never"));
        let body = "a\nb".repeat(100);
        let err = e.judge(200, &body).unwrap_err();
        assert!(err.ends_with("…\")"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn the_status_is_judged_before_the_body() {
        let e = expect(Some(200), Some("ok"));
        assert_eq!(e.judge(500, "ok"), Err("status 500, want 200".into()));
    }
}
