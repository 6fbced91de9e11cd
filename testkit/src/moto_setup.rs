//! The AWS resources each router test starts from, created in moto
//! through the cockpit's own signed client, and a `cutover` config file
//! that drives them. Names follow issue 20's example config.

use std::path::{Path, PathBuf};

use cutover::aws::{AwsClient, LAMBDA, Service};
use reqwest::Method;
use serde_json::{Value, json};

use super::moto::Moto;

pub const FUNCTION: &str = "chat-model";
pub const ALIAS: &str = "live";

/// An empty zip archive: moto stores the code without running it.
const EMPTY_ZIP: &str = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";

const IAM: Service = Service {
    signing_name: "iam",
    host_prefix: "iam",
};

/// Function `chat-model` with versions 1 and 2 and alias `live` on 1.
pub async fn lambda(c: &AwsClient) {
    let role = c
        .query(
            IAM,
            &[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", "chat-model-role"),
                ("AssumeRolePolicyDocument", "{}"),
            ],
        )
        .await
        .unwrap();
    let role = cutover::aws::xml::text(&role, "Arn").unwrap();
    let functions = "/2015-03-31/functions";
    let create = json!({"FunctionName": FUNCTION, "Runtime": "python3.12", "Role": role,
                        "Handler": "app.handler", "Code": {"ZipFile": EMPTY_ZIP}});
    c.rest_json(LAMBDA, Method::POST, functions, Some(&create))
        .await
        .unwrap();
    let versions = format!("{functions}/{FUNCTION}/versions");
    let v1 = c
        .rest_json(LAMBDA, Method::POST, &versions, Some(&json!({})))
        .await
        .unwrap();
    assert_eq!(v1["Version"], "1");
    let code = format!("{functions}/{FUNCTION}/code");
    c.rest_json(
        LAMBDA,
        Method::PUT,
        &code,
        Some(&json!({"ZipFile": EMPTY_ZIP})),
    )
    .await
    .unwrap();
    let v2 = c
        .rest_json(LAMBDA, Method::POST, &versions, Some(&json!({})))
        .await
        .unwrap();
    assert_eq!(v2["Version"], "2");
    let aliases = format!("{functions}/{FUNCTION}/aliases");
    c.rest_json(
        LAMBDA,
        Method::POST,
        &aliases,
        Some(&json!({"Name": ALIAS, "FunctionVersion": "1"})),
    )
    .await
    .unwrap();
}

/// The alias as moto has it now.
pub async fn alias(c: &AwsClient) -> Value {
    let path = format!("/2015-03-31/functions/{FUNCTION}/aliases/{ALIAS}");
    c.rest_json(LAMBDA, Method::GET, &path, None).await.unwrap()
}

/// A config for `router` (its `kind` and table) against `moto`, with a
/// scrape source whose targets serve nothing (these tests drive the
/// router, not the gate) and the journal in `dir`.
pub fn config(moto: &Moto, dir: &Path, router: &str) -> PathBuf {
    let dead = |c: &str| format!("[\"http://127.0.0.1:9/metrics?colour={c}\"]");
    let text = format!(
        "[service]\nname = \"aws-test\"\n\
         [source]\nkind = \"scrape\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\nwindow = \"1s\"\n\
         [source.scrape]\nblue = {}\ngreen = {}\n\
         [aws]\nregion = \"{}\"\nendpoint_url = \"{}\"\n\
         {router}\n\
         [journal]\npath = {:?}\n",
        dead("blue"),
        dead("green"),
        super::moto::REGION,
        moto.url(),
        dir.join("journal.jsonl").display().to_string()
    );
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}
