//! The one HTTP client builder for every source and probe: timeouts, TLS
//! (CA bundle, client certificate, `insecure_skip_verify` only by that
//! name), and the headers every request carries (bearer token from an env
//! var or a file that is re-read when it changes, basic auth, extra headers).
//!
//! Secrets live in [`Secret`], whose `Debug`, `Display` and `Serialize`
//! print `***`, and go on the wire as headers marked sensitive, so neither
//! a log line, the journal, `check` nor `status --json` can show them.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string: readable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `check` prints the resolved config: the secret must not be in it.
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Where the bearer token comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// An environment variable, read once when the client is built.
    Env(String),
    /// A file, re-read whenever its modification time or size changes
    /// (rotated service-account tokens).
    File(PathBuf),
}

/// Everything a client needs; built from a source's or probe's config.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// PEM bundle of the CAs to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) and its private key, for mutual TLS.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    /// Accept any server certificate. Only ever set from a config key of
    /// this name, and then shown in the header.
    pub insecure_skip_verify: bool,
    pub bearer: Option<TokenSource>,
    /// Username and password for basic auth.
    pub basic: Option<(String, Secret)>,
    /// Extra headers on every request, e.g. `X-Scope-OrgID`.
    pub headers: Vec<(String, String)>,
    /// Answer a 3xx as it is instead of following it (webhooks: a
    /// followed 302 turns the POST into a bodiless GET that "succeeds").
    pub no_redirects: bool,
    /// Keep no idle connection: every request opens its own (the nginx
    /// probe must reach the workers a reload started, not an old worker
    /// through a kept-alive connection).
    pub fresh_connections: bool,
    /// Whether requests go through a proxy.
    pub proxy: ProxyUse,
}

/// Whether a client's requests go through a proxy.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ProxyUse {
    /// Never: the servers a cockpit reads are named directly in its config.
    #[default]
    Never,
    /// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` from the environment, as
    /// the AWS CLI reads them: AWS's own endpoints are on the internet.
    FromEnv,
    /// This proxy for every request.
    Url(String),
}

/// A built client and the headers every request must carry.
#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    fixed: HeaderMap,
    bearer: Option<Bearer>,
    insecure: bool,
}

#[derive(Debug)]
enum Bearer {
    Fixed(HeaderValue),
    File {
        path: PathBuf,
        /// The last read: (modified, size) of the file and its header.
        cache: Mutex<Option<(Option<SystemTime>, u64, HeaderValue)>>,
    },
}

/// Installs rustls' ring provider as the process default, once. reqwest is
/// built without a default provider (ring builds with a C compiler alone),
/// so a client cannot be built before this has run.
pub fn ensure_tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the program installed one first; that
        // one serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn read_file(path: &PathBuf, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn sensitive(v: &str, what: &str) -> anyhow::Result<HeaderValue> {
    let mut h = HeaderValue::from_str(v)
        .map_err(|_| anyhow::anyhow!("the {what} holds characters a header cannot carry"))?;
    h.set_sensitive(true);
    Ok(h)
}

fn bearer_header(token: &str, what: &str) -> anyhow::Result<HeaderValue> {
    let token = token.trim();
    if token.is_empty() {
        bail!("the {what} is empty");
    }
    sensitive(&format!("Bearer {token}"), what)
}

/// An error and its causes on one line, without the URL: reqwest's own
/// text ("error sending request") says nothing of why; its causes do
/// (a refused connection, an unknown certificate issuer).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

impl HttpClient {
    pub fn build(o: &HttpOptions) -> anyhow::Result<HttpClient> {
        ensure_tls_provider();
        let mut b = reqwest::Client::builder()
            .timeout(o.timeout)
            .connect_timeout(o.timeout);
        b = match &o.proxy {
            ProxyUse::Never => b.no_proxy(),
            // reqwest reads the environment's proxies unless told not to.
            ProxyUse::FromEnv => b,
            ProxyUse::Url(url) => {
                let proxy = reqwest::Proxy::all(url).with_context(|| format!("proxy {url}"))?;
                b.proxy(proxy)
            }
        };
        b = with_tls_files(b, o)?;
        if o.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if o.no_redirects {
            b = b.redirect(reqwest::redirect::Policy::none());
        }
        if o.fresh_connections {
            b = b.pool_max_idle_per_host(0);
        }
        let client = b.build().context("building the HTTP client")?;

        let fixed = fixed_headers(o)?;
        let bearer = bearer_of(o)?;
        if bearer.is_some() && o.basic.is_some() {
            bail!("a bearer token and basic auth cannot both be set");
        }
        Ok(HttpClient {
            client,
            fixed,
            bearer,
            insecure: o.insecure_skip_verify,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// True when server certificates are not verified (shown in the header).
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The headers for the next request: the fixed ones and the current
    /// bearer token (re-read if its file changed). An unreadable token file
    /// is an error for this request, never a request without the token.
    pub fn headers(&self) -> anyhow::Result<HeaderMap> {
        let mut h = self.fixed.clone();
        if let Some(b) = &self.bearer {
            h.insert(AUTHORIZATION, b.header()?);
        }
        Ok(h)
    }
}

/// The CA bundle and the client certificate named in the options.
fn with_tls_files(
    mut b: reqwest::ClientBuilder,
    o: &HttpOptions,
) -> anyhow::Result<reqwest::ClientBuilder> {
    if let Some(ca) = &o.ca_file {
        let pem = read_file(ca, "CA bundle (ca_file)")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("ca_file {}: not a PEM bundle", ca.display()))?;
        if certs.is_empty() {
            bail!("ca_file {}: holds no certificate", ca.display());
        }
        b = b.tls_certs_only(certs);
    }
    match (&o.client_cert_file, &o.client_key_file) {
        (Some(cert), Some(key)) => {
            let mut pem = read_file(cert, "client certificate (client_cert_file)")?;
            pem.push(b'\n');
            pem.extend(read_file(key, "client key (client_key_file)")?);
            let id = reqwest::Identity::from_pem(&pem).with_context(|| {
                format!(
                    "client_cert_file {} / client_key_file {}: not a PEM certificate and key",
                    cert.display(),
                    key.display()
                )
            })?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => bail!("client_cert_file and client_key_file go together"),
    }
    Ok(b)
}

/// Headers sent with every request: the configured ones and basic auth.
fn fixed_headers(o: &HttpOptions) -> anyhow::Result<HeaderMap> {
    let mut fixed = HeaderMap::new();
    for (k, v) in &o.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .with_context(|| format!("headers: `{k}` is not a header name"))?;
        let value = HeaderValue::from_str(v)
            .with_context(|| format!("headers: the value of `{k}` is not a header value"))?;
        fixed.insert(name, value);
    }
    if let Some((user, password)) = &o.basic {
        use base64_lite::encode;
        let v = format!("Basic {}", encode(&format!("{user}:{}", password.expose())));
        fixed.insert(AUTHORIZATION, sensitive(&v, "basic auth password")?);
    }
    Ok(fixed)
}

/// The bearer token's source, read once now so a bad one fails at start.
fn bearer_of(o: &HttpOptions) -> anyhow::Result<Option<Bearer>> {
    Ok(match &o.bearer {
        None => None,
        Some(TokenSource::Env(var)) => {
            let token = std::env::var(var).with_context(|| {
                format!("bearer_token_env: the environment variable {var} is not set")
            })?;
            Some(Bearer::Fixed(bearer_header(
                &token,
                &format!("token in ${var}"),
            )?))
        }
        Some(TokenSource::File(path)) => {
            let b = Bearer::File {
                path: path.clone(),
                cache: Mutex::new(None),
            };
            // Fail at start, not at the first poll, when it cannot be read.
            b.header()?;
            Some(b)
        }
    })
}

impl Bearer {
    fn header(&self) -> anyhow::Result<HeaderValue> {
        match self {
            Bearer::Fixed(v) => Ok(v.clone()),
            Bearer::File { path, cache } => {
                let meta = std::fs::metadata(path).with_context(|| {
                    format!("bearer_token_file {} cannot be read", path.display())
                })?;
                let stamp = (meta.modified().ok(), meta.len());
                let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((m, len, v)) = cache.as_ref()
                    && (*m, *len) == stamp
                    && m.is_some()
                {
                    return Ok(v.clone());
                }
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("bearer_token_file {} cannot be read", path.display())
                })?;
                let v = bearer_header(&text, &format!("token file {}", path.display()))?;
                *cache = Some((stamp.0, stamp.1, v.clone()));
                Ok(v)
            }
        }
    }
}

/// Base64 (standard alphabet, padded) for basic auth: twelve lines do not
/// warrant a dependency.
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64_lite::encode(plain), enc);
        }
    }

    #[test]
    fn token_file_is_reread_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let c = HttpClient::build(&HttpOptions {
            timeout: Duration::from_secs(1),
            bearer: Some(TokenSource::File(path.clone())),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.headers().unwrap()[AUTHORIZATION], "Bearer first");
        // A different size changes the stamp even within one mtime tick.
        std::fs::write(&path, "second-token\n").unwrap();
        let h = c.headers().unwrap();
        assert_eq!(h[AUTHORIZATION], "Bearer second-token");
        assert!(h[AUTHORIZATION].is_sensitive());
        assert!(!format!("{c:?}").contains("second-token"));
        std::fs::remove_file(&path).unwrap();
        assert!(c.headers().is_err(), "a vanished token file is an error");
    }

    #[test]
    fn basic_auth_and_headers_and_pairs() {
        let c = HttpClient::build(&HttpOptions {
            timeout: Duration::from_secs(1),
            basic: Some(("Aladdin".into(), Secret::new("open sesame"))),
            headers: vec![("X-Scope-OrgID".into(), "team-ml".into())],
            ..Default::default()
        })
        .unwrap();
        let h = c.headers().unwrap();
        assert_eq!(h[AUTHORIZATION], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(h["x-scope-orgid"], "team-ml");
        let half = HttpClient::build(&HttpOptions {
            timeout: Duration::from_secs(1),
            client_cert_file: Some("/nonexistent".into()),
            ..Default::default()
        });
        assert!(half.unwrap_err().to_string().contains("go together"));
    }
}
