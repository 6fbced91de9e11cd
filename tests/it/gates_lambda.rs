//! A smoke check whose `url` is green's Lambda version ARN: `cutover check`
//! invokes that version through the signed AWS client, in the ARN's
//! region, with `body` as the payload, and judges the function's answer;
//! a function that failed fails the check with its error. moto runs no
//! function without Docker, so the small fake (support/aws_fake.rs)
//! answers Invoke as Lambda does.

use std::path::Path;

use crate::support::aws_fake::{Answer, Call, FakeAws};
use crate::support::moto;
use serde_json::json;

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:chat-model:7";

/// A demo cockpit whose one smoke check invokes `url` through `endpoint`.
fn config(dir: &Path, endpoint: &str, url: &str) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    let text = format!(
        r#"[service]
name = "chat"
[router]
kind = "demo"
[source]
kind = "demo"
[aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
[[gates.smoke]]
name = "green answers"
url = "{url}"
body = '{{"prompt": "ping", "max_tokens": 1}}'
expect_body = '"choices"'
timeout = "5s"
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover check` with the test keys: (passed, everything it said).
fn check(dir: &Path, config: &Path) -> (bool, String) {
    let mut cmd = crate::support::served::command(dir, config, &["check"]);
    cmd.envs(moto::env());
    let out = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Lambda's answer to an Invoke: the function's result, or its error.
fn lambda(call: &Call) -> Answer {
    if call.body["prompt"] == "fail" {
        return Answer::ok(
            json!({"errorMessage": "CUDA out of memory", "errorType": "RuntimeError"}),
        )
        .with_header("x-amz-function-error", "Unhandled");
    }
    Answer::ok(json!({"choices": [{"text": "pong"}]}))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smoke_check_invokes_greens_version_and_judges_its_answer() {
    let fake = FakeAws::start(lambda).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake.url(), ARN);
    let (passed, said) = tokio::task::spawn_blocking({
        let (dir, cfg) = (dir.path().to_path_buf(), cfg.clone());
        move || check(&dir, &cfg)
    })
    .await
    .unwrap();
    assert!(passed, "{said}");
    assert!(
        said.contains("# smoke green answers: PASS invoked version 7: status 200, body matches"),
        "{said}"
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "{:?}", fake.take_log());
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.path,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Achat-model%3A7/invocations"
    );
    assert_eq!(call.body, json!({"prompt": "ping", "max_tokens": 1}));
    // Signed for the ARN's region, not [aws]'s.
    let auth = call.authorization.as_deref().unwrap_or_default();
    assert!(auth.contains("/eu-west-1/lambda/aws4_request"), "{auth}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_that_fails_fails_the_check_with_its_error() {
    let fake = FakeAws::start(lambda).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake.url(), ARN);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"ping\"", "\"fail\"");
    std::fs::write(&cfg, text).unwrap();
    let (passed, said) = tokio::task::spawn_blocking({
        let (dir, cfg) = (dir.path().to_path_buf(), cfg.clone());
        move || check(&dir, &cfg)
    })
    .await
    .unwrap();
    assert!(!passed, "{said}");
    assert!(
        said.contains("# smoke green answers: FAIL version 7 of chat-model failed (Unhandled)")
            && said.contains("CUDA out of memory"),
        "{said}"
    );
}

#[test]
fn an_arn_without_a_version_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let unqualified = ARN.trim_end_matches(":7");
    let cfg = config(dir.path(), "http://127.0.0.1:9", unqualified);
    let (passed, said) = check(dir.path(), &cfg);
    assert!(!passed);
    assert!(
        said.contains("gates.smoke[0].url") && said.contains("names no version"),
        "{said}"
    );
    let cfg = config(dir.path(), "http://127.0.0.1:9", ARN);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "timeout = \"5s\"",
        "timeout = \"5s\"\nheaders = { \"X-Key\" = \"k\" }",
    );
    std::fs::write(&cfg, text).unwrap();
    let (_, said) = check(dir.path(), &cfg);
    assert!(
        said.contains("gates.smoke[0].headers") && said.contains("takes no headers"),
        "{said}"
    );
}
