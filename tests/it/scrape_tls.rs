//! The scrape source through the one HTTP client: pods behind TLS with a
//! private CA (`ca_file`), and behind basic auth or a bearer token, with
//! the same keys as `[source.prometheus]`. The pods are a loopback TLS
//! stand-in that answers `/metrics` only to the expected credentials;
//! certificates come from the `openssl` tool (as for prometheus_tls).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use cutover::config::{BasicAuth, ScrapeConfig, SourceKind, load_str};
use cutover::http::Secret;
use cutover::metrics::MetricSource;
use cutover::metrics::scrape::ScrapeSource;

use crate::prometheus_tls::{certificates, tls_server};
use crate::support::skip::{Server, skip_without};

const BODY: &str = "request_duration_seconds_bucket{le=\"0.1\"} 10\n\
request_duration_seconds_bucket{le=\"+Inf\"} 10\n\
request_duration_seconds_sum 0.5\n\
request_duration_seconds_count 10\n\
requests_total{code=\"200\"} 10\n\
model_quality_score 0.9\n";

/// `Basic` of `cutover:pa55`.
const BASIC: &str = "Basic Y3V0b3ZlcjpwYTU1";
const BEARER: &str = "Bearer s3cr3t-token";

/// Serves [`BODY`] over TLS to a request carrying `BASIC` or `BEARER`,
/// and 401 to any other.
async fn pod(dir: &Path) -> SocketAddr {
    tls_server(dir, false, |headers| {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        match auth {
            Some(BASIC | BEARER) => (200, "text/plain; version=0.0.4", BODY),
            _ => (401, "text/plain", "unauthorized"),
        }
    })
    .await
}

fn scrape(addr: SocketAddr) -> ScrapeConfig {
    ScrapeConfig::new(
        vec![format!("https://{addr}/blue/metrics")],
        vec![format!("https://127.0.0.1:{}/green/metrics", addr.port())],
    )
}

/// Every target scraped once: `Ok` when each answered with every series,
/// else the first target's failure.
async fn scraped(cfg: &ScrapeConfig) -> Result<(), String> {
    let src = ScrapeSource::legacy(cfg, Duration::from_secs(3), Duration::from_secs(5))
        .map_err(|e| format!("{e:#}"))?;
    for t in src.check().await {
        if t.failed() {
            return Err(t.line());
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_scrape_over_tls_with_a_ca_file_and_basic_or_bearer_auth() {
    if skip_without(Server::Openssl, "scrape_tls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificates(d);
    let addr = pod(d).await;

    // The private CA and basic auth, the password read from its file.
    std::fs::write(d.join("password"), "pa55\n").unwrap();
    let mut basic = scrape(addr);
    basic.ca_file = Some(d.join("ca.pem"));
    basic.basic_auth = Some(BasicAuth {
        username: "cutover".into(),
        password: None,
        password_file: Some(d.join("password")),
        password_env: None,
    });
    scraped(&basic).await.unwrap();

    // The private CA and a bearer token from a file.
    std::fs::write(d.join("token"), "s3cr3t-token\n").unwrap();
    let mut bearer = scrape(addr);
    bearer.ca_file = Some(d.join("ca.pem"));
    bearer.bearer_token_file = Some(d.join("token"));
    scraped(&bearer).await.unwrap();

    // The wrong password: the pod's 401, with the target named.
    let mut wrong = basic.clone();
    wrong.basic_auth.as_mut().unwrap().password_file = None;
    wrong.basic_auth.as_mut().unwrap().password = Some(Secret::new("nope"));
    let e = scraped(&wrong).await.unwrap_err();
    assert!(e.contains("HTTP 401") && e.contains("/blue/metrics"), "{e}");

    // The system's roots do not know the test CA: refused...
    let mut unknown_ca = bearer.clone();
    unknown_ca.ca_file = None;
    let e = scraped(&unknown_ca).await.unwrap_err();
    assert!(e.contains("FAIL"), "{e}");
    // ...unless verification is switched off by name, which the kind shows.
    unknown_ca.insecure_skip_verify = true;
    let src =
        ScrapeSource::legacy(&unknown_ca, Duration::from_secs(3), Duration::from_secs(5)).unwrap();
    assert!(
        src.kind().contains("insecure_skip_verify"),
        "{}",
        src.kind()
    );
    scraped(&unknown_ca).await.unwrap();

    // Extra headers go on every request (the pod ignores them).
    let mut headers = bearer.clone();
    headers.headers = BTreeMap::from([("X-Scope-OrgID".into(), "team-ml".into())]);
    scraped(&headers).await.unwrap();
}

#[test]
fn the_scrape_client_keys_load_and_are_checked_like_prometheus() {
    let base = "[service]\nname = \"s\"\n[router]\nkind = \"nginx\"\n[router.nginx]\n\
                include = \"/tmp/x.conf\"\nupstream = \"u\"\nblue = [\"127.0.0.1:1\"]\n\
                green = [\"127.0.0.1:2\"]\n[source]\nkind = \"scrape\"\n[source.scrape]\n\
                blue = [\"https://10.0.1.1/metrics\"]\ngreen = [\"https://10.0.2.1/metrics\"]\n";
    let ok = format!(
        "{base}ca_file = \"/etc/ca.pem\"\nbearer_token_file = \"/run/token\"\n\
         headers = {{ \"X-Scope-OrgID\" = \"team-ml\" }}\n"
    );
    let c = load_str(&ok, "ok").unwrap_or_else(|e| panic!("{e}"));
    let SourceKind::Scrape(s) = c.source.kind else {
        panic!("not scrape")
    };
    assert_eq!(s.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
    assert_eq!(
        s.bearer_token_file.as_deref(),
        Some(Path::new("/run/token"))
    );

    let both = format!(
        "{base}bearer_token_env = \"T\"\nbasic_auth = {{ username = \"u\", password_env = \"P\" }}\n"
    );
    let e = load_str(&both, "both").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("source.scrape.basic_auth"), "{e}");
    assert!(e.line.is_some(), "{e}");
}
