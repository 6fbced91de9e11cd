//! IAM Identity Center: the token `aws sso login` cached, exchanged at the
//! SSO portal for the role's credentials, and refreshed as the AWS CLI
//! and SDKs refresh it.
//!
//! An access token lasts about an hour; a cockpit watching a cutover runs
//! longer. A token from an `sso-session` comes with a refresh token and
//! the client registration that may use it: within five minutes of its
//! expiry the token is renewed at the SSO OIDC service (`CreateToken`,
//! grant `refresh_token`) and the cache file rewritten, as the CLI would.
//! A legacy profile's token has no refresh token; when it expires, the
//! message says to log in again. A failed refresh of a token that has not
//! yet expired keeps using it.
//!
//! The endpoints are AWS's, or `AWS_ENDPOINT_URL_SSO` and
//! `AWS_ENDPOINT_URL_SSO_OIDC` as the SDKs read them (tests, private
//! links).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::credentials::Credentials;
use super::error::{AwsError, ErrorKind};
use super::profile::SsoRole;
use super::sources::{fail, from_json, parse_time};
use crate::http::{Secret, error_chain};

/// How long before its expiry a token is renewed.
const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The SSO token cache file: `~/.aws/sso/cache/<sha1 of key>.json`.
pub fn cache_file(key: &str) -> PathBuf {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    super::credentials::aws_dir()
        .join("sso")
        .join("cache")
        .join(format!("{hex}.json"))
}

/// `AWS_ENDPOINT_URL_<service>` when set, else AWS's endpoint.
fn endpoint(service: &str, default: String) -> String {
    super::env(&format!("AWS_ENDPOINT_URL_{service}"))
        .map(|v| v.trim_end_matches('/').to_string())
        .unwrap_or(default)
}

/// What the cache says of its token at `now`.
#[derive(Debug, PartialEq)]
enum Token {
    /// Good for more than the refresh window.
    Fresh(String),
    /// Expiring (or expired) with what renews it; `still` is the token
    /// while it has not expired yet.
    Renewable {
        still: Option<String>,
        refresh_token: String,
        client_id: String,
        client_secret: String,
    },
    /// Expired, and nothing renews it.
    Expired,
}

fn token_state(cached: &Value, now: SystemTime) -> Token {
    let text = |k: &str| cached.get(k).and_then(Value::as_str).map(str::to_string);
    let time = |k: &str| text(k).as_deref().and_then(parse_time);
    let expires = time("expiresAt");
    let token = text("accessToken").filter(|_| expires.is_some_and(|t| t > now));
    if let Some(t) = &token
        && expires.is_some_and(|e| e > now + REFRESH_WINDOW)
    {
        return Token::Fresh(t.clone());
    }
    let registered = time("registrationExpiresAt").is_none_or(|t| t > now);
    match (text("refreshToken"), text("clientId"), text("clientSecret")) {
        (Some(refresh_token), Some(client_id), Some(client_secret)) if registered => {
            Token::Renewable {
                still: token,
                refresh_token,
                client_id,
                client_secret,
            }
        }
        _ => token.map_or(Token::Expired, Token::Fresh),
    }
}

/// The role's credentials for an SSO profile.
pub async fn credentials(http: &reqwest::Client, role: &SsoRole) -> Result<Credentials, AwsError> {
    let SsoRole {
        cache_key,
        region,
        account_id,
        role_name,
    } = role;
    let login = || format!("run `aws sso login` (cache key `{cache_key}`)");
    let path = cache_file(cache_key);
    let cached: Value = tokio::fs::read(&path)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| fail(format!("no SSO token in {}: {}", path.display(), login())))?;
    let token = match token_state(&cached, SystemTime::now()) {
        Token::Fresh(t) => t,
        Token::Expired => {
            return Err(fail(format!("the SSO token has expired: {}", login())));
        }
        Token::Renewable {
            still,
            refresh_token,
            client_id,
            client_secret,
        } => {
            let renewed = refresh(http, region, &client_id, &client_secret, &refresh_token).await;
            match (renewed, still) {
                (Ok(answer), _) => save(&path, cached, &answer),
                (Err(e), Some(still)) => {
                    tracing::warn!("renewing the SSO token failed ({e}); it is still valid");
                    still
                }
                (Err(e), None) => {
                    return Err(fail(format!(
                        "the SSO token has expired and renewing it failed ({e}): {}",
                        login()
                    )));
                }
            }
        }
    };
    role_credentials(http, region, account_id, role_name, &Secret::new(token)).await
}

/// SSO OIDC `CreateToken` with the refresh token: its JSON answer.
async fn refresh(
    http: &reqwest::Client,
    region: &str,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
) -> Result<Value, AwsError> {
    let base = endpoint("SSO_OIDC", format!("https://oidc.{region}.amazonaws.com"));
    let body = json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "grantType": "refresh_token",
        "refreshToken": refresh_token,
    });
    let v = answer(http.post(format!("{base}/token")).json(&body), "SSO OIDC").await?;
    if v.get("accessToken").and_then(Value::as_str).is_none() {
        return Err(fail("SSO OIDC answered without a token"));
    }
    Ok(v)
}

/// Writes the renewed token into the cache as the CLI does (the new
/// access token, its expiry, and the new refresh token where one came);
/// the new access token.
fn save(path: &Path, mut cached: Value, answer: &Value) -> String {
    let token = answer["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lasts = Duration::from_secs(answer["expiresIn"].as_u64().unwrap_or(3600));
    let expires = humantime::format_rfc3339_seconds(SystemTime::now() + lasts).to_string();
    cached["accessToken"] = json!(token);
    cached["expiresAt"] = json!(expires);
    if let Some(r) = answer.get("refreshToken").and_then(Value::as_str) {
        cached["refreshToken"] = json!(r);
    }
    // Another process may read the cache at any time: a whole file or the
    // old one, never half of the new.
    let tmp = path.with_extension("json.cutover-tmp");
    let written = std::fs::write(&tmp, cached.to_string()).and_then(|()| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, path)
    });
    if let Err(e) = written {
        // The renewed token works all the same for this process.
        tracing::warn!("cannot rewrite the SSO cache {}: {e}", path.display());
        let _ = std::fs::remove_file(&tmp);
    }
    token
}

/// The SSO portal's `GetRoleCredentials`.
async fn role_credentials(
    http: &reqwest::Client,
    region: &str,
    account_id: &str,
    role_name: &str,
    token: &Secret,
) -> Result<Credentials, AwsError> {
    let base = endpoint("SSO", format!("https://portal.sso.{region}.amazonaws.com"));
    let mut url = reqwest::Url::parse(&format!("{base}/federation/credentials"))
        .map_err(|e| fail(format!("SSO region `{region}`: {e}")))?;
    url.query_pairs_mut()
        .append_pair("account_id", account_id)
        .append_pair("role_name", role_name);
    let mut header = reqwest::header::HeaderValue::from_str(token.expose())
        .map_err(|_| fail("the SSO token is not a header value"))?;
    header.set_sensitive(true);
    let request = http.get(url).header("x-amz-sso_bearer_token", header);
    let v = answer(request, "SSO portal").await?;
    from_json(
        &v["roleCredentials"],
        [
            "accessKeyId",
            "secretAccessKey",
            "sessionToken",
            "expiration",
        ],
        "sso",
    )
}

/// Sends `request` to `what` (unsigned: the token is the credential);
/// its JSON answer, or AWS's error.
async fn answer(request: reqwest::RequestBuilder, what: &str) -> Result<Value, AwsError> {
    let resp = request
        .send()
        .await
        .map_err(|e| AwsError::new(ErrorKind::Network, format!("{what}: {}", error_chain(&e))))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(AwsError::from_answer(status, None, &body));
    }
    serde_json::from_slice(&body).map_err(|_| fail(format!("{what}: not JSON")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A cache as `aws sso login` writes it for an sso-session, its token
    /// expiring at 1_000_000 s.
    fn cache(extra: Value) -> Value {
        let mut v = json!({
            "startUrl": "https://d-123.awsapps.com/start",
            "region": "us-east-1",
            "accessToken": "old",
            "expiresAt": "1970-01-12T13:46:40Z",
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    fn renewable() -> Value {
        cache(json!({
            "refreshToken": "r1",
            "clientId": "c",
            "clientSecret": "s",
            "registrationExpiresAt": "1970-02-01T00:00:00Z",
        }))
    }

    #[test]
    fn a_token_is_renewed_within_five_minutes_of_its_expiry() {
        assert_eq!(
            token_state(&renewable(), at(999_000)),
            Token::Fresh("old".into())
        );
        let soon = token_state(&renewable(), at(999_900));
        assert!(
            matches!(&soon, Token::Renewable { still: Some(t), refresh_token, .. } if t == "old" && refresh_token == "r1"),
            "{soon:?}"
        );
        let expired = token_state(&renewable(), at(1_000_001));
        assert!(
            matches!(expired, Token::Renewable { still: None, .. }),
            "{expired:?}"
        );
    }

    #[test]
    fn without_a_refresh_token_or_registration_it_is_used_until_it_expires() {
        let legacy = cache(json!({}));
        assert_eq!(
            token_state(&legacy, at(999_900)),
            Token::Fresh("old".into())
        );
        assert_eq!(token_state(&legacy, at(1_000_001)), Token::Expired);
        let mut lapsed = renewable();
        lapsed["registrationExpiresAt"] = json!("1970-01-02T00:00:00Z");
        assert_eq!(token_state(&lapsed, at(1_000_001)), Token::Expired);
    }

    #[test]
    fn the_cache_file_is_named_as_the_cli_names_it_and_rewritten_whole() {
        // The cache file is named by the key's SHA-1, as the AWS CLI names it.
        assert!(
            cache_file("abc").ends_with("sso/cache/a9993e364706816aba3e25717850c26c9cd0d89d.json")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let answer = json!({"accessToken": "new", "expiresIn": 3600, "refreshToken": "r2"});
        assert_eq!(save(&path, renewable(), &answer), "new");
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["accessToken"], "new");
        assert_eq!(written["refreshToken"], "r2");
        assert_eq!(written["clientId"], "c", "the rest is kept");
        let expires = parse_time(written["expiresAt"].as_str().unwrap()).unwrap();
        assert!(expires > SystemTime::now() + Duration::from_secs(3500));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
