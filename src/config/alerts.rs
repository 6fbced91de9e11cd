//! `[[alerts]]`: webhooks told of a rollback, a promote and, when asked, the
//! first poll of a breach. A webhook URL is a credential (a Slack incoming
//! webhook's path *is* its key), so it is held as a [`Secret`] and only its
//! scheme and host are ever shown.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strum::{Display, IntoStaticStr};

use crate::http::Secret;

/// What an alert is sent on (`on = [...]`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "snake_case")]
pub enum AlertEvent {
    /// A rollback landed or failed, manual or automatic.
    Rollback,
    /// Green reached 100 % (a promote, or the last step of the plan).
    Promote,
    /// The first poll of a run of polls in which green breaches.
    Breach,
    /// The cockpit lost its terminal (sent to every alert, whatever its
    /// `on`: nobody is watching the screen any more).
    #[serde(rename = "terminal_lost")]
    TerminalLost,
}

impl AlertEvent {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The body sent when no `template` is given: Slack's incoming-webhook
/// shape, which Mattermost, Rocket.Chat and Teams' Slack-compatible hooks
/// take too.
pub const DEFAULT_TEMPLATE: &str = r#"{"text": "{{summary}}"}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Where the JSON body is POSTed.
    pub url: WebhookUrl,
    /// The events that send it.
    #[serde(default = "default_on")]
    pub on: Vec<AlertEvent>,
    /// A JSON body with `{{placeholders}}`; see `config::alert_template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Breach alerts: at most one per metric in this time (and one per
    /// run of breaches), so a metric that flaps pages once, not every
    /// third poll. `0s` sends one per run.
    #[serde(with = "super::duration", default = "default_interval")]
    pub interval: Duration,
}

fn default_on() -> Vec<AlertEvent> {
    vec![AlertEvent::Rollback, AlertEvent::Promote]
}

/// Default [`AlertConfig::interval`]: five minutes.
pub fn default_interval() -> Duration {
    Duration::from_secs(5 * 60)
}

impl AlertConfig {
    pub fn template(&self) -> &str {
        self.template.as_deref().unwrap_or(DEFAULT_TEMPLATE)
    }

    pub fn wants(&self, e: AlertEvent) -> bool {
        e == AlertEvent::TerminalLost || self.on.contains(&e)
    }
}

/// A webhook URL: usable through [`WebhookUrl::expose`], printed (and
/// serialized, so `check` shows it) as `scheme://host:port/***`.
#[derive(Clone, PartialEq)]
pub struct WebhookUrl(Secret);

impl WebhookUrl {
    pub fn new(url: impl Into<String>) -> Self {
        WebhookUrl(Secret::new(url))
    }

    /// The URL itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What may be shown: scheme, host and port. The path, the query and
    /// any user or password are left out (`/***` when there was any).
    pub fn shown(&self) -> String {
        redact(self.0.expose())
    }

    /// The parts of the URL that must never be printed, for scrubbing
    /// text that came back from the network.
    pub fn secret_parts(&self) -> Vec<String> {
        let raw = self.0.expose();
        let mut parts = vec![raw.to_string()];
        if let Ok(u) = reqwest::Url::parse(raw) {
            if u.path() != "/" && !u.path().is_empty() {
                parts.push(u.path().to_string());
            }
            parts.extend(u.query().map(str::to_string));
            if !u.username().is_empty() {
                parts.push(u.username().to_string());
            }
            parts.extend(u.password().map(str::to_string));
        }
        // Longest first, so a part inside another is not left half-replaced.
        parts.retain(|p| p.len() >= 2);
        parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
        parts
    }
}

/// `https://hooks.slack.com/***` for `https://hooks.slack.com/services/T/B/x`.
pub fn redact(raw: &str) -> String {
    let Ok(u) = reqwest::Url::parse(raw) else {
        return "***".into();
    };
    let mut shown = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        shown.push_str(&format!(":{p}"));
    }
    let hidden = (u.path() != "/" && !u.path().is_empty())
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some();
    if hidden {
        shown.push_str("/***");
    }
    shown
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Serialize for WebhookUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `check` prints the resolved config: only the host may be in it.
        s.serialize_str(&self.shown())
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(WebhookUrl::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's name is the word written in `on = [...]`.
    #[test]
    fn event_names_are_the_config_words() {
        use AlertEvent::*;
        for e in [Rollback, Promote, Breach, TerminalLost] {
            let word = serde_json::to_value(e).unwrap();
            assert_eq!(word.as_str(), Some(e.name()));
            assert_eq!(e.to_string(), e.name());
        }
        assert_eq!(TerminalLost.name(), "terminal_lost");
    }

    #[test]
    fn only_scheme_host_and_port_are_shown() {
        let cases = [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXsecret",
                "https://hooks.slack.com/***",
            ),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            (
                "http://127.0.0.1:9/hook?token=abc",
                "http://127.0.0.1:9/***",
            ),
            ("http://127.0.0.1:9/?token=abc", "http://127.0.0.1:9/***"),
            ("https://user:pw@example.test/", "https://example.test/***"),
            ("not a url", "***"),
        ];
        for (raw, shown) in cases {
            let u = WebhookUrl::new(raw);
            assert_eq!(u.shown(), shown, "{raw}");
            assert_eq!(format!("{u}"), shown);
            assert_eq!(format!("{u:?}"), shown);
            assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{shown}\""));
        }
    }

    #[test]
    fn secret_parts_cover_path_query_and_userinfo() {
        let u = WebhookUrl::new("https://bob:hunter2@h.test/services/T1/B2/k3y?sig=zz9");
        let parts = u.secret_parts();
        for p in ["/services/T1/B2/k3y", "sig=zz9", "bob", "hunter2"] {
            assert!(parts.iter().any(|x| x == p), "{p} in {parts:?}");
        }
    }
}
