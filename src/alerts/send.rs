//! One webhook call: POST the body, retry with exponential backoff, each
//! attempt bounded by a timeout. Error texts are built without the URL
//! (reqwest puts it in its messages) and scrubbed of its secret parts.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use crate::config::WebhookUrl;

/// How hard an alert is tried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Each attempt's whole time: connect, send, answer.
    pub timeout: Duration,
    /// The wait before the second attempt; doubled before each next one.
    pub backoff: Duration,
    /// At stop, how long alerts still on their way may take before they
    /// are given up (and said to be).
    pub drain: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        // 4 attempts of at most 5 s with 0.5, 1 and 2 s between them: a
        // receiver that never answers is given up after 23.5 s.
        Policy {
            attempts: 4,
            timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(500),
            drain: Duration::from_secs(30),
        }
    }
}

impl Policy {
    /// The longest one alert can take, all attempts and waits included.
    pub fn worst_case(&self) -> Duration {
        let waits: Duration = (0..self.attempts.saturating_sub(1))
            .map(|i| self.backoff * 2u32.saturating_pow(i))
            .sum();
        self.timeout * self.attempts + waits
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub ok: bool,
    /// `HTTP 200 after 1 attempt`, or why it failed.
    pub detail: String,
}

/// Posts `body` to `url` until it is taken (any 2xx), refused for good
/// (a 4xx other than 408 and 429: retrying cannot help), or out of
/// attempts.
pub async fn deliver(
    client: &reqwest::Client,
    url: &WebhookUrl,
    body: &str,
    policy: Policy,
) -> Delivery {
    let mut last = String::new();
    let attempts = policy.attempts.max(1);
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(policy.backoff * 2u32.saturating_pow(attempt - 2)).await;
        }
        let sent = client
            .post(url.expose())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .timeout(policy.timeout)
            .send()
            .await;
        let tries = if attempt == 1 {
            "1 attempt".to_string()
        } else {
            format!("{attempt} attempts")
        };
        match sent {
            Ok(r) if r.status().is_success() => {
                return Delivery {
                    ok: true,
                    detail: format!("HTTP {} after {tries}", r.status().as_u16()),
                };
            }
            // Never followed (the client is built without redirects): a
            // POST that is followed becomes a GET without the body, and
            // its 200 would say an alert arrived that nobody received.
            Ok(r) if r.status().is_redirection() => {
                let to = r
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
                    .unwrap_or_else(|| "no Location given".into());
                let to = crate::format::sanitize(&scrub(&to, url), false).into_owned();
                return Delivery {
                    ok: false,
                    detail: format!(
                        "refused after {tries}: HTTP {} redirects to {to}; a webhook is not followed through redirects (configure the final URL)",
                        status_text(r.status())
                    ),
                };
            }
            Ok(r) => {
                let status = r.status();
                // The body is not quoted: a receiver's error page may echo
                // the path, which is the secret.
                last = format!("HTTP {}", status_text(status));
                let permanent = status.is_client_error()
                    && status != StatusCode::REQUEST_TIMEOUT
                    && status != StatusCode::TOO_MANY_REQUESTS;
                if permanent {
                    return Delivery {
                        ok: false,
                        detail: format!("refused after {tries}: {last}"),
                    };
                }
            }
            Err(e) => last = describe(&e, policy.timeout),
        }
    }
    Delivery {
        ok: false,
        detail: scrub(&format!("failed after {attempts} attempts: {last}"), url),
    }
}

fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// A reqwest error in words, without its URL.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", crate::format::span(timeout));
    }
    let head = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "bad answer"
    } else {
        "request failed"
    };
    // The top error's text carries the URL; its sources do not.
    let mut parts = vec![head.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        src = s.source();
    }
    parts.join(": ")
}

/// `text` with every secret part of `url` replaced by `***`.
pub fn scrub(text: &str, url: &WebhookUrl) -> String {
    let mut t = text.to_string();
    for p in url.secret_parts() {
        t = t.replace(&p, "***");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_gives_up_in_bounded_time() {
        let p = Policy::default();
        assert_eq!(p.worst_case(), Duration::from_millis(23_500));
    }

    #[test]
    fn scrub_removes_the_secret_parts() {
        let url = WebhookUrl::new("http://u:pw@127.0.0.1:9/services/T1/B2/key?sig=abc");
        let t = scrub(
            "POST http://u:pw@127.0.0.1:9/services/T1/B2/key?sig=abc failed; Cannot POST /services/T1/B2/key",
            &url,
        );
        assert!(!t.contains("services/T1"), "{t}");
        assert!(!t.contains("sig=abc"), "{t}");
        assert!(!t.contains("pw"), "{t}");
    }
}
