//! Where credentials are fetched from beyond the files: a command, STS,
//! the container's and the instance's metadata endpoints (the IAM
//! Identity Center portal is [`super::sso`]'s). Each answer's secrets go straight into [`Secret`]s.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::credentials::Credentials;
use super::env;
use super::error::{AwsError, ErrorKind, clean};
use super::profile::{AssumeRole, WebIdentity};
use super::sign;
use crate::http::{Secret, error_chain};

/// Where STS is: the endpoint override, else the region's.
#[derive(Clone, Debug)]
pub struct Sts {
    pub url: String,
    pub region: String,
}

/// How long a metadata endpoint gets: off EC2 nothing answers at all.
const METADATA_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a `credential_process` may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) fn fail(message: impl Into<String>) -> AwsError {
    AwsError::new(ErrorKind::Credentials, message)
}

/// `2026-12-03T18:00:00Z`, with or without fractions or `+00:00`.
pub(super) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim().replace("+00:00", "Z");
    humantime::parse_rfc3339_weak(&s).ok()
}

/// Credentials from a JSON object with the given field names.
pub(super) fn from_json(v: &Value, names: [&str; 4], from: &str) -> Result<Credentials, AwsError> {
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(id), Some(secret)) = (get(names[0]), get(names[1])) else {
        return Err(fail(format!("{from}: the answer holds no credentials")));
    };
    let expires = match v.get(names[3]) {
        Some(Value::String(s)) => parse_time(s),
        // The SSO portal gives milliseconds since the epoch.
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
        _ => None,
    };
    Ok(Credentials {
        access_key_id: Secret::new(id),
        secret_access_key: Secret::new(secret),
        session_token: get(names[2]).map(Secret::new),
        expires,
        from: from.to_string(),
    })
}

/// `credential_process`: run through the shell, JSON on stdout.
pub async fn process(cmd: &str) -> Result<Credentials, AwsError> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PROCESS_TIMEOUT, child)
        .await
        .map_err(|_| fail("credential_process took over a minute"))?
        .map_err(|e| fail(format!("credential_process cannot run: {e}")))?;
    if !out.status.success() {
        // Its stderr is its own message; its stdout may hold secrets.
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!(
            "credential_process failed ({}): {}",
            out.status,
            clean(err.trim())
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail("credential_process printed no JSON"))?;
    from_json(
        &v,
        [
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration",
        ],
        "credential_process",
    )
}

/// STS's answer to an AssumeRole* call, as credentials.
fn sts_answer(status: u16, body: &str, from: &str) -> Result<Credentials, AwsError> {
    if !(200..300).contains(&status) {
        let mut e = AwsError::from_answer(status, None, body.as_bytes());
        e.message = format!("STS: {}", e.message);
        return Err(e);
    }
    let t = |tag| super::xml::text(body, tag);
    let (Some(id), Some(secret)) = (t("AccessKeyId"), t("SecretAccessKey")) else {
        return Err(fail("STS answered without credentials"));
    };
    Ok(Credentials {
        access_key_id: Secret::new(id),
        secret_access_key: Secret::new(secret),
        session_token: t("SessionToken").map(Secret::new),
        expires: t("Expiration").and_then(|e| parse_time(&e)),
        from: from.to_string(),
    })
}

async fn post_sts(
    http: &reqwest::Client,
    sts: &Sts,
    form: &[(&str, &str)],
    signer: Option<&Credentials>,
) -> Result<(u16, String), AwsError> {
    let body = form_body(form);
    let headers = [(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let unsigned = sign::Unsigned {
        method: "POST",
        url: &sts.url,
        headers: &headers,
        body: body.as_bytes(),
    };
    let signer = signer.map(|creds| sign::Signer {
        creds,
        region: &sts.region,
        service: "sts",
    });
    let resp = sign::build(http, &unsigned, signer)
        .map_err(fail)?
        .send()
        .await
        .map_err(|e| AwsError::new(ErrorKind::Network, format!("STS: {}", error_chain(&e))))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    Ok((status, text))
}

/// `a=b&c=d`, each part percent-encoded.
pub fn form_body(form: &[(&str, &str)]) -> String {
    let mut s = reqwest::Url::parse("http://x/").expect("static URL");
    s.query_pairs_mut().extend_pairs(form);
    s.query().unwrap_or_default().to_string()
}

/// The parameters every STS `AssumeRole*` call carries.
fn role_form<'a>(action: &'a str, role_arn: &'a str, session: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Action", action),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", session),
    ]
}

pub async fn assume_role(
    http: &reqwest::Client,
    sts: &Sts,
    base: &Credentials,
    role: &AssumeRole,
) -> Result<Credentials, AwsError> {
    let duration = role.duration_seconds.map(|d| d.to_string());
    let mut form = role_form("AssumeRole", &role.role_arn, &role.session_name);
    if let Some(x) = &role.external_id {
        form.push(("ExternalId", x));
    }
    if let Some(d) = &duration {
        form.push(("DurationSeconds", d));
    }
    let (status, body) = post_sts(http, sts, &form, Some(base)).await?;
    sts_answer(status, &body, &format!("assumed role from {}", base.from))
}

pub async fn web_identity(
    http: &reqwest::Client,
    sts: &Sts,
    role: &WebIdentity,
) -> Result<Credentials, AwsError> {
    let token_file = &role.token_file;
    let token = Secret::new(
        tokio::fs::read_to_string(token_file)
            .await
            .map_err(|e| fail(format!("web identity token file {token_file}: {e}")))?
            .trim(),
    );
    let mut form = role_form(
        "AssumeRoleWithWebIdentity",
        &role.role_arn,
        &role.session_name,
    );
    form.push(("WebIdentityToken", token.expose()));
    // Unsigned: the token is the credential.
    let (status, body) = post_sts(http, sts, &form, None).await?;
    sts_answer(status, &body, "web identity")
}

pub fn container_configured() -> bool {
    env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
}

/// ECS (and EKS Pod Identity): the agent's endpoint, with its token.
pub async fn container(http: &reqwest::Client) -> Result<Credentials, AwsError> {
    let url = match (
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("http://169.254.170.2{rel}"),
        (None, Some(full)) => full,
        (None, None) => return Err(fail("no container credentials endpoint")),
    };
    let token = match (
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    ) {
        (Some(f), _) => tokio::fs::read_to_string(&f)
            .await
            .ok()
            .map(|t| t.trim().to_string()),
        (None, t) => t,
    };
    let mut req = http.get(&url).timeout(METADATA_TIMEOUT * 5);
    if let Some(t) = token {
        let mut v = reqwest::header::HeaderValue::from_str(&t)
            .map_err(|_| fail("the container token is not a header value"))?;
        v.set_sensitive(true);
        req = req.header(reqwest::header::AUTHORIZATION, v);
    }
    let v = get_json(req, "container credentials").await?;
    from_json(
        &v,
        ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"],
        "container role",
    )
}

async fn get_json(req: reqwest::RequestBuilder, what: &str) -> Result<Value, AwsError> {
    let resp = req
        .send()
        .await
        .map_err(|e| fail(format!("{what}: {}", e.without_url())))?;
    if !resp.status().is_success() {
        return Err(fail(format!("{what}: HTTP {}", resp.status())));
    }
    resp.json()
        .await
        .map_err(|_| fail(format!("{what}: not JSON")))
}

/// EC2's instance role through IMDSv2 (a session token first).
pub async fn imds(http: &reqwest::Client) -> Result<Credentials, AwsError> {
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(fail("AWS_EC2_METADATA_DISABLED is set"));
    }
    let base =
        env("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".into());
    let base = base.trim_end_matches('/');
    let token = http
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .timeout(METADATA_TIMEOUT)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|_| fail(format!("no answer from {base} in 1s")))?
        .text()
        .await
        .map_err(|_| fail("IMDS token unreadable"))?;
    let mut token = reqwest::header::HeaderValue::from_str(token.trim())
        .map_err(|_| fail("IMDS token is not a header value"))?;
    token.set_sensitive(true);
    let path = format!("{base}/latest/meta-data/iam/security-credentials/");
    let roles = http
        .get(&path)
        .header("x-aws-ec2-metadata-token", token.clone())
        .timeout(METADATA_TIMEOUT)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|_| fail("the instance has no role"))?
        .text()
        .await
        .unwrap_or_default();
    let role = roles.lines().next().unwrap_or_default().trim().to_string();
    if role.is_empty() {
        return Err(fail("the instance has no role"));
    }
    let req = http
        .get(format!("{path}{role}"))
        .header("x-aws-ec2-metadata-token", token)
        .timeout(METADATA_TIMEOUT);
    let v = get_json(req, "instance role").await?;
    from_json(
        &v,
        ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"],
        &format!("instance role {role}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_answers_parse() {
        assert!(parse_time("2026-12-03T18:00:00Z").is_some());
        assert!(parse_time("2026-12-03T18:00:00.123Z").is_some());
        assert!(parse_time("2026-12-03T18:00:00+00:00").is_some());
        let body = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
            <AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
            <SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>\
            </Credentials></AssumeRoleResult></AssumeRoleResponse>";
        let c = sts_answer(200, body, "r").unwrap();
        assert_eq!(c.access_key_id.expose(), "ASIA1");
        assert!(c.expires.is_some());
        assert_eq!(
            sts_answer(403, "<Error><Code>AccessDenied</Code></Error>", "r")
                .unwrap_err()
                .kind,
            ErrorKind::Denied
        );
        assert_eq!(form_body(&[("A", "b c"), ("D", "e/f")]), "A=b+c&D=e%2Ff");
    }

    #[tokio::test]
    async fn a_credential_process_is_read_and_its_failure_said() {
        let ok = process(
            r#"echo '{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2030-01-01T00:00:00Z"}'"#,
        )
        .await
        .unwrap();
        assert_eq!(ok.session_token.unwrap().expose(), "T");
        let e = process("echo oops >&2; exit 3").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        assert!(e.message.contains("oops"), "{}", e.message);
    }
}
