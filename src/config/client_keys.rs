//! The HTTP client keys `[source.prometheus]` and `[source.scrape]` share
//! (bearer token, basic auth, extra headers, TLS), read the same way for
//! both: one set of checks, one conversion to the client's options, errors
//! naming the section's key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use super::BasicAuth;
use super::validate::Invalid;
use crate::http::{HttpOptions, Secret, TokenSource};

/// The client keys of one section, borrowed.
pub struct ClientKeys<'a> {
    /// `source.prometheus` or `source.scrape`, for errors.
    pub section: &'static str,
    pub bearer_token_file: &'a Option<PathBuf>,
    pub bearer_token_env: &'a Option<String>,
    pub basic_auth: &'a Option<BasicAuth>,
    pub headers: &'a BTreeMap<String, String>,
    pub ca_file: &'a Option<PathBuf>,
    pub client_cert_file: &'a Option<PathBuf>,
    pub client_key_file: &'a Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

/// Declares the struct of a section (`$section` names it in errors) with
/// its own fields followed by the client keys, written once here, and its
/// `client_keys()` and `http_options()`. The keys are fields of the
/// section itself, not a nested struct, because serde's `flatten` cannot
/// be combined with `deny_unknown_fields`, which gives a misspelt key its
/// line and its suggestion.
macro_rules! with_client_keys {
    (
        $section:literal,
        $(#[$attr:meta])*
        pub struct $config:ident { $($fields:tt)* }
    ) => {
        $(#[$attr])*
        pub struct $config {
            $($fields)*
            /// File holding a bearer token, re-read when it changes.
            pub bearer_token_file: Option<::std::path::PathBuf>,
            /// Environment variable holding a bearer token.
            pub bearer_token_env: Option<String>,
            /// Basic auth.
            pub basic_auth: Option<$crate::config::BasicAuth>,
            /// Extra headers on every request, e.g. `X-Scope-OrgID`.
            #[serde(default)]
            pub headers: ::std::collections::BTreeMap<String, String>,
            /// PEM bundle of the CAs to trust instead of the system's.
            pub ca_file: Option<::std::path::PathBuf>,
            /// PEM client certificate and key, for mutual TLS.
            pub client_cert_file: Option<::std::path::PathBuf>,
            pub client_key_file: Option<::std::path::PathBuf>,
            /// Accept any server certificate (shown in the header when on).
            #[serde(default)]
            pub insecure_skip_verify: bool,
        }

        impl $config {
            pub fn client_keys(&self) -> $crate::config::client_keys::ClientKeys<'_> {
                $crate::config::client_keys::ClientKeys {
                    section: $section,
                    bearer_token_file: &self.bearer_token_file,
                    bearer_token_env: &self.bearer_token_env,
                    basic_auth: &self.basic_auth,
                    headers: &self.headers,
                    ca_file: &self.ca_file,
                    client_cert_file: &self.client_cert_file,
                    client_key_file: &self.client_key_file,
                    insecure_skip_verify: self.insecure_skip_verify,
                }
            }

            /// The HTTP client options; reads a basic-auth password from
            /// its file or variable. Errors name the key.
            pub fn http_options(&self, timeout: ::std::time::Duration,
            ) -> ::anyhow::Result<$crate::http::HttpOptions> {
                self.client_keys().http_options(timeout)
            }
        }
    };
}

pub(super) use with_client_keys;

/// A section built from `keys` alone, every other key at the default a file
/// that leaves it out gets: the constructors of the sections cannot drift
/// from what the loader does.
pub(super) fn from_keys<T: serde::de::DeserializeOwned>(keys: serde_json::Value) -> T {
    serde_json::from_value(keys).expect("a section with its required keys deserializes")
}

impl ClientKeys<'_> {
    /// The checks a config must pass on load, each naming its key.
    pub fn validate(&self) -> Result<(), Invalid> {
        let key = |k: &str| format!("{}.{k}", self.section);
        let bearer = self.bearer_token_file.is_some() || self.bearer_token_env.is_some();
        if self.bearer_token_file.is_some() && self.bearer_token_env.is_some() {
            return Err((
                key("bearer_token_file"),
                "set bearer_token_file or bearer_token_env, not both".into(),
            ));
        }
        if bearer && self.basic_auth.is_some() {
            return Err((
                key("basic_auth"),
                "a bearer token and basic auth cannot both be set".into(),
            ));
        }
        if let Some(b) = self.basic_auth {
            let n = [
                b.password.is_some(),
                b.password_file.is_some(),
                b.password_env.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n != 1 {
                return Err((
                    key("basic_auth"),
                    "set exactly one of password, password_file, password_env".into(),
                ));
            }
        }
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return Err((
                key("client_cert_file"),
                "client_cert_file and client_key_file go together".into(),
            ));
        }
        Ok(())
    }

    /// The HTTP client options; reads a basic-auth password from its file
    /// or variable. Errors name the key.
    pub fn http_options(&self, timeout: Duration) -> anyhow::Result<HttpOptions> {
        let section = self.section;
        let bearer = match (self.bearer_token_file, self.bearer_token_env) {
            (Some(_), Some(_)) => {
                bail!("{section}: set bearer_token_file or bearer_token_env, not both")
            }
            (Some(f), None) => Some(TokenSource::File(f.clone())),
            (None, Some(v)) => Some(TokenSource::Env(v.clone())),
            (None, None) => None,
        };
        let basic = match self.basic_auth {
            None => None,
            Some(b) => Some((b.username.clone(), self.password(b)?)),
        };
        Ok(HttpOptions {
            timeout,
            ca_file: self.ca_file.clone(),
            client_cert_file: self.client_cert_file.clone(),
            client_key_file: self.client_key_file.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            bearer,
            basic,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            no_redirects: false,
            fresh_connections: false,
            proxy: Default::default(),
        })
    }

    fn password(&self, b: &BasicAuth) -> anyhow::Result<Secret> {
        let section = self.section;
        Ok(match (&b.password, &b.password_file, &b.password_env) {
            (Some(p), None, None) => p.clone(),
            (None, Some(f), None) => Secret::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("{section}.basic_auth.password_file {}", f.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None, Some(v)) => {
                Secret::new(std::env::var(v).with_context(|| {
                    format!("{section}.basic_auth.password_env: ${v} is not set")
                })?)
            }
            _ => bail!(
                "{section}.basic_auth: set exactly one of password, password_file, password_env"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PrometheusConfig, ScrapeConfig};

    #[test]
    fn constructors_give_what_a_file_with_the_same_keys_gives() {
        let scrape = ScrapeConfig::new(vec!["http://b/".into()], vec!["http://g/".into()]);
        let file: ScrapeConfig =
            toml::from_str("blue = [\"http://b/\"]\ngreen = [\"http://g/\"]").unwrap();
        assert_eq!(scrape, file);
        assert_eq!(
            scrape.requests_counter,
            super::super::defaults::requests_counter()
        );
        assert!(scrape.bearer_token_file.is_none() && !scrape.insecure_skip_verify);
        let prom = PrometheusConfig::new("http://p:9090");
        let file: PrometheusConfig = toml::from_str("url = \"http://p:9090\"").unwrap();
        assert_eq!(prom, file);
        assert!(prom.queries.p99_ms.is_some());
    }
}
