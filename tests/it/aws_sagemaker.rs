//! The `aws-sagemaker` router. Against moto's server: `cutover set 25`,
//! then `cutover rollback`, the variant weights read back from moto after
//! each, the calls counted from moto's log, `cutover check`, and green
//! scaled to 0 instances after the rollback where the config asks. moto
//! applies an update at once, so the `Updating` → `InService` path (a read
//! refused while updating, a write that waits, a verification that waits)
//! runs against the small fake (support/aws_fake.rs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::aws_cli::cutover;
use crate::support::aws_fake::{Answer, Call, FakeAws, desired_weights, update_in_progress};
use crate::support::moto::Moto;
use crate::support::moto_setup;
use crate::support::skip::{Server, skip_without};

use cutover::config::AwsSageMakerConfig;
use cutover::engine::action::WriteOutcome;
use cutover::engine::journal::RecordAction;
use cutover::model::Split;
use cutover::router::aws::sagemaker::SageMakerRouter;
use cutover::router::{Replicas, RouterError, TrafficRouter, Workload, WriteRequest};
use serde_json::json;

const TABLE: &str = "[router]\nkind = \"aws-sagemaker\"\n[router.aws-sagemaker]\n\
                     endpoint = \"chat-model\"\nblue_variant = \"blue\"\ngreen_variant = \"green\"\n\
                     poll_interval = \"50ms\"\n";

fn table() -> AwsSageMakerConfig {
    toml::from_str(TABLE.split("]\n").last().unwrap()).unwrap()
}

/// moto with the test's endpoint and its client; `None` (said) without
/// moto.
async fn endpoint_in_moto(test: &str) -> Option<(Moto, cutover::aws::AwsClient)> {
    if skip_without(Server::Moto, test) {
        return None;
    }
    let m = Moto::start();
    let client = m.client();
    moto_setup::sagemaker(&client).await;
    Some((m, client))
}

#[tokio::test(flavor = "multi_thread")]
async fn set_and_rollback_move_the_variant_weights_in_moto() {
    let Some((m, client)) =
        endpoint_in_moto("set_and_rollback_move_the_variant_weights_in_moto").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = moto_setup::config(&m, dir.path(), TABLE);

    let mark = m.mark();
    let (code, out, err) = cutover(&cfg, &["set", "25"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let set_calls = m.since(mark);
    assert_eq!(moto_setup::variants(&client).await, [(0.75, 2), (0.25, 1)]);

    let mark = m.mark();
    let (code, out, err) = cutover(&cfg, &["rollback", "--reason", "test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let rollback_calls = m.since(mark);
    assert_eq!(moto_setup::variants(&client).await, [(1.0, 2), (0.0, 1)]);
    eprintln!(
        "aws-sagemaker set 25: {} calls {set_calls:?}\naws-sagemaker rollback: {} calls {rollback_calls:?}",
        set_calls.len(),
        rollback_calls.len()
    );

    let (_, out, _) = cutover(&cfg, &["check"]);
    for said in [
        "# aws-sagemaker: endpoint chat-model, region us-east-1 at http://127.0.0.1:",
        "# aws-sagemaker: reads green 0% (revision 1.0000/0.0000 x2/1)",
    ] {
        assert!(out.contains(said), "{said} not in\n{out}");
    }

    // Readiness is the variants' instance counts; the chore the engine
    // runs after a rollback scales green to 0 where the config asks.
    let scaling = AwsSageMakerConfig {
        scale_down_green_on_rollback: true,
        ..table()
    };
    let r = SageMakerRouter::with_client(&scaling, Arc::new(m.client()));
    let ready = r.readiness().await.unwrap();
    assert_eq!(
        ready.green,
        Some(Replicas {
            ready: 1,
            desired: 1
        })
    );
    let mark = m.mark();
    let said = r.after_rollback().await.unwrap().unwrap();
    assert!(said.contains("desired instances 1 -> 0"), "{said}");
    assert_eq!(moto_setup::variants(&client).await, [(1.0, 2), (0.0, 0)]);
    eprintln!(
        "aws-sagemaker scale green to 0: {} calls",
        m.since(mark).len()
    );
}

/// After a promotion, decommissioning blue takes its desired instance
/// count to 0; before green has all the traffic it is refused and nothing
/// is sent.
#[tokio::test(flavor = "multi_thread")]
async fn decommission_scales_blue_to_zero_only_at_full_green() {
    let Some((m, client)) =
        endpoint_in_moto("decommission_scales_blue_to_zero_only_at_full_green").await
    else {
        return;
    };
    let r = SageMakerRouter::with_client(&table(), Arc::new(m.client()));
    assert!(r.can_decommission_blue());
    r.set_split(WriteRequest::to(Split::new(50).unwrap()))
        .await
        .unwrap();
    let refused = r.decommission_blue().await.unwrap_err();
    assert!(
        matches!(&refused, RouterError::Rejected(why) if why.contains("blue still takes 50%")),
        "{refused:?}"
    );
    assert_eq!(moto_setup::variants(&client).await, [(0.5, 2), (0.5, 1)]);
    r.set_split(WriteRequest::to(Split::FULL)).await.unwrap();
    let said = r.decommission_blue().await.unwrap();
    assert!(
        said.contains("variant blue of endpoint chat-model: desired instances 2 -> 0"),
        "{said}"
    );
    assert_eq!(moto_setup::variants(&client).await, [(0.0, 0), (1.0, 1)]);
}

/// `cutover rollback` with `scale_down_green_on_rollback`: the one-shot
/// command waits for the scale-down it starts once traffic is on blue, so
/// moto shows green at 0 instances and the journal holds the chore.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_shot_rollback_scales_green_down_and_journals_it() {
    let Some((m, client)) =
        endpoint_in_moto("a_one_shot_rollback_scales_green_down_and_journals_it").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let table = format!("{TABLE}scale_down_green_on_rollback = true\n");
    let cfg = moto_setup::config(&m, dir.path(), &table);
    let (code, out, err) = cutover(&cfg, &["set", "25"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = cutover(&cfg, &["rollback", "--reason", "test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(moto_setup::variants(&client).await, [(1.0, 2), (0.0, 0)]);
    let journal =
        cutover::engine::journal::Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    let scaled = journal
        .iter()
        .find(|r| r.action == Some(RecordAction::ScaleDownGreen))
        .unwrap_or_else(|| panic!("no scale-down in the journal:\n{journal:#?}"));
    assert_eq!(scaled.outcome, Some(WriteOutcome::Ok), "{scaled:?}");
}

/// An endpoint as SageMaker runs it: an update makes it `Updating` for
/// the next `updating` describes, and is refused while it is.
struct Endpoint {
    status: &'static str,
    current: (f64, f64),
    desired: (f64, f64),
    updating: u32,
}

fn sagemaker_api(state: Arc<Mutex<Endpoint>>) -> impl Fn(&Call) -> Answer + Send + Sync {
    move |call| {
        let mut e = state.lock().unwrap();
        match call.target.as_deref() {
            Some("SageMaker.UpdateEndpointWeightsAndCapacities") => {
                if e.status != "InService" {
                    return update_in_progress();
                }
                e.desired = desired_weights(call);
                e.status = "Updating";
                e.updating = 3;
                Answer::ok(
                    json!({"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/chat-model"}),
                )
            }
            _ => {
                if e.updating > 0 {
                    e.updating -= 1;
                } else if e.status == "Updating" {
                    e.status = "InService";
                    e.current = e.desired;
                }
                let v = |name: &str, c: f64, d: f64| {
                    json!({"VariantName": name, "CurrentWeight": c,
                    "DesiredWeight": d, "CurrentInstanceCount": 1, "DesiredInstanceCount": 1})
                };
                Answer::ok(
                    json!({"EndpointName": "chat-model", "EndpointStatus": e.status,
                    "ProductionVariants": [v("blue", e.current.0, e.desired.0), v("green", e.current.1, e.desired.1)]}),
                )
            }
        }
    }
}

#[tokio::test]
async fn updating_is_shown_waited_for_and_verified() {
    let state = Arc::new(Mutex::new(Endpoint {
        status: "InService",
        current: (1.0, 0.0),
        desired: (1.0, 0.0),
        updating: 0,
    }));
    let fake = FakeAws::start(sagemaker_api(state.clone())).await;
    let client = fake.client();
    let r = SageMakerRouter::with_client(&table(), Arc::new(client));
    let read = r.get_split().await.unwrap();
    assert_eq!(read.split, Split::ZERO);

    let five = r
        .set_split(WriteRequest {
            expected: read.revision.clone(),
            ..WriteRequest::to(Split::new(5).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(five.split.green(), 5, "the desired weights, read back");
    assert!(five.detail.ends_with("Updating"), "{}", five.detail);
    let e = r.get_split().await.unwrap_err();
    let RouterError::Unavailable(text) = &e else {
        panic!("unavailable while updating, got {e:?}")
    };
    assert!(text.contains("is Updating"), "{text}");

    // A rollback while it updates waits for InService, then writes.
    let back = tokio::time::timeout(
        Duration::from_secs(10),
        r.set_split(WriteRequest::to(Split::ZERO)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(back.detail.contains("waited"), "{}", back.detail);
    assert_eq!(state.lock().unwrap().desired, (1.0, 0.0));
    let v = r.verify(Split::ZERO).await.unwrap();
    assert!(v.ok && v.detail.starts_with("InService after"), "{v:?}");
    assert_eq!(r.get_split().await.unwrap().split, Split::ZERO);
    let updates = fake
        .take_log()
        .into_iter()
        .filter(|c| c.ends_with("UpdateEndpointWeightsAndCapacities"))
        .count();
    assert_eq!(updates, 2, "no update was sent while it was updating");
}
