//! Credentials from IAM Identity Center through a cockpit's lifetime: a
//! cached token about to expire is renewed at SSO OIDC with its refresh
//! token, the cache file rewritten as the AWS CLI would, and the new
//! token exchanged at the portal for the role's credentials; a legacy
//! profile's expired token says to log in again. The binary runs with its
//! HOME in a scratch folder holding `~/.aws`, and the SSO endpoints at
//! the small fake (support/aws_fake.rs) through `AWS_ENDPOINT_URL_SSO`
//! and `AWS_ENDPOINT_URL_SSO_OIDC`, as the SDKs read them.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::aws_fake::{Answer, Call, FakeAws};
use serde_json::{Value, json};

/// The cache file `aws sso login` writes for `key`: named by its SHA-1.
fn sha1_name(key: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s '{key}' | sha1sum"))
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&out.stdout);
    format!(
        ".aws/sso/cache/{}.json",
        hex.split_whitespace().next().unwrap()
    )
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `~/.aws/config` with an sso-session profile and a legacy one, and the
/// session's cache with a token that expires in two minutes.
fn home(dir: &Path) {
    std::fs::create_dir_all(dir.join(".aws/sso/cache")).unwrap();
    std::fs::write(
        dir.join(".aws/config"),
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deployer\n\
         [sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://d-123.awsapps.com/start\n\
         [profile old]\nsso_start_url = https://d-456.awsapps.com/start\nsso_region = eu-west-1\n\
         sso_account_id = 123456789012\nsso_role_name = Deployer\n",
    )
    .unwrap();
    let now = SystemTime::now();
    let session = json!({
        "startUrl": "https://d-123.awsapps.com/start", "region": "eu-west-1",
        "accessToken": "expiring-token", "expiresAt": rfc3339(now + Duration::from_secs(120)),
        "refreshToken": "refresh-1", "clientId": "client-1", "clientSecret": "secret-1",
        "registrationExpiresAt": rfc3339(now + Duration::from_secs(86_400)),
    });
    std::fs::write(dir.join(sha1_name("corp")), session.to_string()).unwrap();
    let legacy = json!({
        "startUrl": "https://d-456.awsapps.com/start", "region": "eu-west-1",
        "accessToken": "legacy-token", "expiresAt": rfc3339(now - Duration::from_secs(60)),
    });
    std::fs::write(
        dir.join(sha1_name("https://d-456.awsapps.com/start")),
        legacy.to_string(),
    )
    .unwrap();
}

/// SSO OIDC, the SSO portal and a Lambda alias, as AWS answers them.
fn aws(call: &Call) -> Answer {
    if call.path == "/token" {
        if call.body["grantType"] != "refresh_token" || call.body["refreshToken"] != "refresh-1" {
            return Answer::error(400, "InvalidGrantException", "bad grant");
        }
        return Answer::ok(json!({
            "accessToken": "renewed-token", "expiresIn": 3600,
            "refreshToken": "refresh-2", "tokenType": "Bearer",
        }));
    }
    if call.path.starts_with("/federation/credentials") {
        if call.header("x-amz-sso_bearer_token") != Some("renewed-token") {
            return Answer::error(
                401,
                "UnauthorizedException",
                "Session token not found or invalid",
            );
        }
        let expires = SystemTime::now() + Duration::from_secs(3600);
        let ms = expires.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        return Answer::ok(json!({"roleCredentials": {
            "accessKeyId": "ASIASSOEXAMPLE", "secretAccessKey": "sso-secret",
            "sessionToken": "sso-session-token", "expiration": ms,
        }}));
    }
    Answer::ok(json!({
        "Name": "live", "FunctionVersion": "1", "RevisionId": "r1",
        "RoutingConfig": {"AdditionalVersionWeights": {}},
    }))
}

/// `cutover check` on an aws-lambda router with `profile`, HOME at `dir`.
fn check(dir: &Path, fake: &str, profile: &str) -> String {
    let cfg = dir.join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nname = \"chat\"\n[source]\nkind = \"scrape\"\n[source.scrape]\n\
             blue = [\"http://127.0.0.1:9/metrics\"]\ngreen = [\"http://127.0.0.1:10/metrics\"]\n\
             [aws]\nregion = \"us-east-1\"\nprofile = \"{profile}\"\nendpoint_url = \"{fake}\"\n\
             [router]\nkind = \"aws-lambda\"\n[router.aws-lambda]\nfunction = \"chat-model\"\n\
             alias = \"live\"\nblue_version = \"1\"\ngreen_version = \"2\"\n"
        ),
    )
    .unwrap();
    let mut cmd = crate::support::served::command(dir, &cfg, &["check"]);
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("AWS_ENDPOINT_URL_SSO", fake)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", fake)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// [`check`] off the runtime that serves `fake`.
async fn check_beside(fake: &FakeAws, dir: &Path, profile: &'static str) -> String {
    let (d, url) = (dir.to_path_buf(), fake.url());
    tokio::task::spawn_blocking(move || check(&d, &url, profile))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_sso_token_is_renewed_and_the_cache_rewritten() {
    let fake = FakeAws::start(aws).await;
    let dir = tempfile::tempdir().unwrap();
    home(dir.path());
    let said = check_beside(&fake, dir.path(), "dev").await;
    assert!(
        said.contains("aws-lambda: credentials from profile dev (sso)"),
        "{said}"
    );
    assert!(said.contains("reads green 0%"), "{said}");
    // Signed with the role's credentials from the portal.
    let calls = fake.calls();
    let alias = calls
        .iter()
        .find(|c| c.path.contains("/aliases/live"))
        .unwrap();
    let auth = alias.authorization.as_deref().unwrap_or_default();
    assert!(auth.contains("Credential=ASIASSOEXAMPLE/"), "{auth}");
    let log = fake.take_log();
    assert_eq!(log[0], "POST /token", "{log:?}");
    assert!(
        log[1]
            .starts_with("GET /federation/credentials?account_id=123456789012&role_name=Deployer"),
        "{log:?}"
    );
    let cache: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(sha1_name("corp"))).unwrap())
            .unwrap();
    assert_eq!(cache["accessToken"], "renewed-token");
    assert_eq!(cache["refreshToken"], "refresh-2");
    assert_eq!(cache["clientId"], "client-1");
    for secret in [
        "renewed-token",
        "refresh-2",
        "sso-secret",
        "sso-session-token",
    ] {
        assert!(!said.contains(secret), "{secret} shown:\n{said}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_legacy_token_says_to_log_in_again() {
    let fake = FakeAws::start(aws).await;
    let dir = tempfile::tempdir().unwrap();
    home(dir.path());
    let said = check_beside(&fake, dir.path(), "old").await;
    assert!(
        said.contains("the SSO token has expired: run `aws sso login`"),
        "{said}"
    );
    assert!(fake.take_log().iter().all(|l| l != "POST /token"));
}
