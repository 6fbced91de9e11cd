//! The AWS resources each router test starts from, created in moto
//! through the cockpit's own signed client, and a `cutover` config file
//! that drives them. Names follow issue 20's example config.

use std::path::{Path, PathBuf};

use cutover::aws::{APIGATEWAY, AwsClient, LAMBDA, SAGEMAKER, Service};
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

pub const ENDPOINT: &str = "chat-model";

async fn sagemaker_call(c: &AwsClient, op: &str, body: Value) -> Value {
    c.json_rpc(SAGEMAKER, &format!("SageMaker.{op}"), "1.1", &body)
        .await
        .unwrap()
}

/// Endpoint `chat-model` with variants `blue` (weight 1, 2 instances) and
/// `green` (weight 0, 1 instance), in service.
pub async fn sagemaker(c: &AwsClient) {
    for model in ["chat-model-blue", "chat-model-green"] {
        let body = json!({"ModelName": model,
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/chat-model-role",
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"}});
        sagemaker_call(c, "CreateModel", body).await;
    }
    let variant = |name: &str, weight: f64, count: u32| {
        json!({"VariantName": name, "ModelName": format!("chat-model-{name}"),
               "InitialInstanceCount": count, "InstanceType": "ml.m5.large",
               "InitialVariantWeight": weight})
    };
    let config = json!({"EndpointConfigName": "chat-model-config",
        "ProductionVariants": [variant("blue", 1.0, 2), variant("green", 0.0, 1)]});
    sagemaker_call(c, "CreateEndpointConfig", config).await;
    let endpoint = json!({"EndpointName": ENDPOINT, "EndpointConfigName": "chat-model-config"});
    sagemaker_call(c, "CreateEndpoint", endpoint).await;
}

/// blue's and green's (desired weight, desired instance count) in moto.
pub async fn variants(c: &AwsClient) -> [(f64, u64); 2] {
    let e = sagemaker_call(c, "DescribeEndpoint", json!({"EndpointName": ENDPOINT})).await;
    let v = |name: &str| {
        let p = e["ProductionVariants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["VariantName"] == name)
            .unwrap()
            .clone();
        (
            p["DesiredWeight"].as_f64().unwrap_or(0.0),
            p["DesiredInstanceCount"].as_u64().unwrap(),
        )
    };
    [v("blue"), v("green")]
}

/// REST API `chat` with a mock `GET /`, deployed to stage `prod` with
/// `lambda_version = "1"`; its id.
pub async fn apigateway(c: &AwsClient) -> String {
    let call = |method: Method, path: String, body: Value| async move {
        c.rest_json(APIGATEWAY, method, &path, Some(&body))
            .await
            .unwrap()
    };
    let api = call(Method::POST, "/restapis".into(), json!({"name": "chat"})).await;
    let id = api["id"].as_str().unwrap().to_string();
    let resources = c
        .rest_json(
            APIGATEWAY,
            Method::GET,
            &format!("/restapis/{id}/resources"),
            None,
        )
        .await
        .unwrap();
    let root = resources["item"]
        .as_array()
        .or(resources["items"].as_array())
        .and_then(|items| items.iter().find(|r| r["path"] == "/"))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no root resource in {resources}"));
    let method = format!("/restapis/{id}/resources/{root}/methods/GET");
    call(
        Method::PUT,
        method.clone(),
        json!({"authorizationType": "NONE"}),
    )
    .await;
    call(
        Method::PUT,
        format!("{method}/integration"),
        json!({"type": "MOCK"}),
    )
    .await;
    let deploy = json!({"stageName": "prod", "variables": {"lambda_version": "1"}});
    call(Method::POST, format!("/restapis/{id}/deployments"), deploy).await;
    id
}

/// The stage as moto has it now.
pub async fn stage(c: &AwsClient, id: &str) -> Value {
    let path = format!("/restapis/{id}/stages/prod");
    c.rest_json(APIGATEWAY, Method::GET, &path, None)
        .await
        .unwrap()
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
