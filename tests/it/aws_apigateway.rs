//! The `aws-apigateway` router. Against moto's server, all or nothing
//! (`steps = [100]`): `cutover set 100` and `cutover rollback` switch the
//! stage variable, read back from moto after each, the calls counted from
//! moto's log, and `cutover check`. moto ignores canary settings, so the
//! weighted steps (`set 25`: a canary overriding the variable to green for
//! 25 % of the requests) run against the small fake (support/aws_fake.rs).

use std::sync::{Arc, Mutex};

use crate::support::aws_cli::cutover;
use crate::support::aws_fake::{Answer, Call, FakeAws};
use crate::support::moto::Moto;
use crate::support::moto_setup;
use crate::support::skip::{Server, skip_without};

use cutover::config::AwsApiGatewayConfig;
use cutover::model::Split;
use cutover::router::aws::apigateway::ApiGatewayRouter;
use cutover::router::{RouterError, TrafficRouter, WriteRequest};
use serde_json::{Value, json};

fn table(rest_api_id: &str) -> String {
    format!(
        "[plan]\nsteps = [100]\n\
         [router]\nkind = \"aws-apigateway\"\n[router.aws-apigateway]\n\
         rest_api_id = \"{rest_api_id}\"\nstage = \"prod\"\nvariable = \"lambda_version\"\n\
         blue_value = \"1\"\ngreen_value = \"2\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stage_variable_switches_in_moto() {
    if skip_without(Server::Moto, "the_stage_variable_switches_in_moto") {
        return;
    }
    let m = Moto::start();
    let client = m.client();
    let id = moto_setup::apigateway(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = moto_setup::config(&m, dir.path(), &table(&id));
    let variable = |s: Value| s["variables"]["lambda_version"].clone();

    let mark = m.mark();
    let (code, out, err) = cutover(&cfg, &["set", "100"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let set_calls = m.since(mark);
    assert_eq!(variable(moto_setup::stage(&client, &id).await), "2");

    let mark = m.mark();
    let (code, out, err) = cutover(&cfg, &["rollback", "--reason", "test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let rollback_calls = m.since(mark);
    assert_eq!(variable(moto_setup::stage(&client, &id).await), "1");
    eprintln!("aws-apigateway set 100: {set_calls:?}\naws-apigateway rollback: {rollback_calls:?}");
    for calls in [&set_calls, &rollback_calls] {
        assert!(
            calls.contains(&format!("PATCH /restapis/{id}/stages/prod")),
            "{calls:?}"
        );
    }

    let (_, out, _) = cutover(&cfg, &["check"]);
    let said = format!("# aws-apigateway: stage prod of REST API {id}, region us-east-1 at");
    assert!(out.contains(&said), "{said} not in\n{out}");
    assert!(
        out.contains("# aws-apigateway: reads green 0% (revision 1+0%)"),
        "{out}"
    );
}

/// A stage as API Gateway keeps it, canary settings included; applies
/// `replace` and `remove` patch operations.
fn apigateway_api(state: Arc<Mutex<Value>>) -> impl Fn(&Call) -> Answer + Send + Sync {
    move |call| {
        let mut stage = state.lock().unwrap();
        if call.method == "PATCH" {
            for op in call.body["patchOperations"].as_array().unwrap() {
                let path = op["path"].as_str().unwrap();
                match op["op"].as_str().unwrap() {
                    "remove" => {
                        stage.as_object_mut().unwrap().remove(&path[1..]);
                    }
                    _ => {
                        let value = op["value"].as_str().unwrap();
                        let value = match path.ends_with("percentTraffic") {
                            true => json!(value.parse::<f64>().unwrap()),
                            false => json!(value),
                        };
                        *stage.pointer_mut_or_insert(path) = value;
                    }
                }
            }
        }
        Answer::ok(stage.clone())
    }
}

/// `pointer_mut`, creating the objects on the way.
trait Insert {
    fn pointer_mut_or_insert(&mut self, path: &str) -> &mut Value;
}

impl Insert for Value {
    fn pointer_mut_or_insert(&mut self, path: &str) -> &mut Value {
        path.split('/').skip(1).fold(self, |v, key| {
            v.as_object_mut().unwrap().entry(key).or_insert(json!({}))
        })
    }
}

#[tokio::test]
async fn weighted_steps_are_a_canary_on_the_stage() {
    let state = Arc::new(Mutex::new(json!({
        "stageName": "prod", "deploymentId": "d1", "variables": {"lambda_version": "1"},
    })));
    let fake = FakeAws::start(apigateway_api(state.clone())).await;
    let text = table("a1b2c3");
    let cfg: AwsApiGatewayConfig = toml::from_str(text.split("]\n").last().unwrap()).unwrap();
    let client = fake.client();
    let r = ApiGatewayRouter::with_client(&cfg, Arc::new(client));
    let read = r.get_split().await.unwrap();
    assert_eq!(read.split, Split::ZERO);

    let q = r
        .set_split(WriteRequest {
            expected: read.revision.clone(),
            ..WriteRequest::to(Split::new(25).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(q.split.green(), 25);
    {
        let s = state.lock().unwrap();
        assert_eq!(s["variables"]["lambda_version"], "1");
        assert_eq!(s["canarySettings"]["percentTraffic"], 25.0);
        assert_eq!(
            s["canarySettings"]["stageVariableOverrides"]["lambda_version"],
            "2"
        );
        assert_eq!(s["canarySettings"]["deploymentId"], "d1");
    }
    assert!(r.verify(Split::new(25).unwrap()).await.unwrap().ok);

    // Changed by hand since: an advance is refused, a rollback lands.
    state.lock().unwrap()["canarySettings"]["percentTraffic"] = json!(60.0);
    let e = r
        .set_split(WriteRequest {
            expected: q.revision.clone(),
            ..WriteRequest::to(Split::new(50).unwrap())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, RouterError::Conflict(ref t) if t.contains("60%")),
        "{e:?}"
    );
    fake.take_log();
    let back = r
        .set_split(WriteRequest {
            expected: q.revision,
            ..WriteRequest::to(Split::ZERO)
        })
        .await
        .unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert!(
        back.detail.contains("written over a change"),
        "{}",
        back.detail
    );
    let s = state.lock().unwrap().clone();
    assert_eq!(s["variables"]["lambda_version"], "1");
    assert!(
        s.get("canarySettings").is_none(),
        "the canary is removed: {s}"
    );
    assert_eq!(
        fake.take_log(),
        [
            "GET /restapis/a1b2c3/stages/prod",
            "PATCH /restapis/a1b2c3/stages/prod"
        ],
        "a rollback: the read it is checked on, and one UpdateStage"
    );
}
