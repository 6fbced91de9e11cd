//! The `aws-lambda` router. Against moto's server: `cutover set 25`, then
//! `cutover rollback`, the alias read back from moto after each, the API
//! calls of each counted from moto's log, `cutover check` naming what it
//! read, and no key, secret or token in the output, the journal or a
//! trace-level log. moto never changes or checks a `RevisionId`, so the
//! conflict path (a refused conditional write, re-read, a rollback
//! retried) runs against the small fake (support/aws_fake.rs).

use std::sync::{Arc, Mutex};

use crate::support::aws_cli::cutover;
use crate::support::aws_fake::{Answer, Call, FakeAws};
use crate::support::moto::{self, Moto};
use crate::support::moto_setup::{self, ALIAS, FUNCTION};
use crate::support::skip::{Server, skip_without};

use cutover::config::AwsLambdaConfig;
use cutover::model::Split;
use cutover::router::aws::lambda::LambdaRouter;
use cutover::router::{Revision, RouterError, TrafficRouter, WriteRequest};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const TABLE: &str = "[router]\nkind = \"aws-lambda\"\n[router.aws-lambda]\n\
                     function = \"chat-model\"\nalias = \"live\"\n\
                     blue_version = \"1\"\ngreen_version = \"2\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn set_and_rollback_move_the_alias_in_moto() {
    if skip_without(Server::Moto, "set_and_rollback_move_the_alias_in_moto") {
        return;
    }
    let m = Moto::start();
    let client = m.client();
    moto_setup::lambda(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = moto_setup::config(&m, dir.path(), TABLE);
    let log = dir.path().join("cutover.log");

    let mark = m.mark();
    let (code, out, err) = cutover(&cfg, &["set", "25"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let set_calls = m.since(mark);
    let a = moto_setup::alias(&client).await;
    assert_eq!(a["FunctionVersion"], "1");
    assert_eq!(
        a["RoutingConfig"]["AdditionalVersionWeights"],
        json!({"2": 0.25})
    );

    let mark = m.mark();
    let (code, out2, err2) = cutover(&cfg, &["rollback", "--reason", "test"]);
    assert_eq!(code, 0, "{out2}\n{err2}");
    let rollback_calls = m.since(mark);
    let a = moto_setup::alias(&client).await;
    assert_eq!(a["FunctionVersion"], "1");
    assert_eq!(a["RoutingConfig"]["AdditionalVersionWeights"], json!({}));
    eprintln!("aws-lambda set 25: {set_calls:?}\naws-lambda rollback: {rollback_calls:?}");
    let path = format!("/2015-03-31/functions/{FUNCTION}/aliases/{ALIAS}");
    for calls in [&set_calls, &rollback_calls] {
        assert!(calls.contains(&format!("PUT {path}")), "{calls:?}");
        assert!(calls.iter().all(|c| c.ends_with(&path)), "{calls:?}");
    }

    // `check` fails on the scrape targets, which serve nothing here; the
    // router's lines are what this test reads.
    let (_, out3, err3) = cutover(&cfg, &["check"]);
    for said in [
        "# aws-lambda: alias live of function chat-model, region us-east-1 at http://127.0.0.1:",
        "# aws-lambda: credentials from environment",
        "# aws-lambda: reads green 0% (revision ",
    ] {
        assert!(out3.contains(said), "{said} not in\n{out3}");
    }
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("TRACE"), "the log is at trace level");
    for (what, text) in [
        ("output", format!("{out}{err}{out2}{err2}{out3}{err3}")),
        ("journal", journal),
        ("log", log),
    ] {
        for secret in [moto::KEY_ID, moto::SECRET, moto::TOKEN] {
            assert!(!text.contains(secret), "{secret} in the {what}");
        }
    }
}

/// A Lambda alias as AWS keeps it: every update changes the RevisionId,
/// and an update naming another one is refused with 412.
struct Alias {
    version: String,
    weights: serde_json::Value,
    revision: u32,
}

fn lambda_api(state: Arc<Mutex<Alias>>) -> impl Fn(&Call) -> Answer + Send + Sync {
    move |call| {
        let mut a = state.lock().unwrap();
        if call.method == "PUT" {
            if call.body["RevisionId"] != format!("r{}", a.revision) {
                return Answer::error(
                    412,
                    "PreconditionFailedException",
                    "The Revision Id provided does not match the latest Revision Id.",
                );
            }
            a.version = call.body["FunctionVersion"].as_str().unwrap().to_string();
            a.weights = call.body["RoutingConfig"]["AdditionalVersionWeights"].clone();
            a.revision += 1;
        }
        Answer::ok(json!({
            "Name": "live", "FunctionVersion": a.version, "RevisionId": format!("r{}", a.revision),
            "RoutingConfig": {"AdditionalVersionWeights": a.weights},
        }))
    }
}

#[tokio::test]
async fn a_stale_advance_is_refused_and_a_stale_rollback_retried() {
    let state = Arc::new(Mutex::new(Alias {
        version: "1".into(),
        weights: json!({}),
        revision: 1,
    }));
    let fake = FakeAws::start(lambda_api(state.clone())).await;
    let cfg: AwsLambdaConfig = toml::from_str(TABLE.split("]\n").last().unwrap()).unwrap();
    let client = fake.client();
    let r = LambdaRouter::with_client(&cfg, Arc::new(client));
    let read = r.get_split().await.unwrap();
    assert_eq!(read.revision, Some(Revision("r1".into())));
    let write = |split: u8, expected: &Option<Revision>| WriteRequest {
        split: Split::new(split).unwrap(),
        expected: expected.clone(),
        cancel: CancellationToken::new(),
    };
    let five = r.set_split(write(5, &read.revision)).await.unwrap();
    assert_eq!(five.split.green(), 5);
    let path = "/2015-03-31/functions/chat-model/aliases/live";
    assert_eq!(
        fake.take_log(),
        [format!("GET {path}"), format!("PUT {path}")],
        "an advance on the revision just read is one call"
    );

    // Someone else moves the alias (the console, another pipeline): the
    // rollback's write on the revision it knows is refused, re-read, and
    // written again on the fresh one.
    let moved = |weights: serde_json::Value, revision: u32| {
        let mut a = state.lock().unwrap();
        a.weights = weights;
        a.revision = revision;
    };
    moved(json!({"2": 0.5}), 7);
    let back = r.set_split(write(0, &five.revision)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert!(back.detail.contains("retried"), "{}", back.detail);
    assert_eq!(state.lock().unwrap().weights, json!({}));
    assert_eq!(
        fake.take_log(),
        [
            format!("PUT {path}"),
            format!("GET {path}"),
            format!("PUT {path}")
        ],
        "the rollback's first write lost, re-read, then landed"
    );

    // An advance on a stale revision is refused, names what it found and
    // writes nothing.
    moved(json!({"2": 0.5}), 11);
    let e = r.set_split(write(25, &back.revision)).await.unwrap_err();
    let RouterError::Conflict(text) = e else {
        panic!("a conflict expected, got {e:?}")
    };
    assert!(text.contains("r8 -> r11") && text.contains("50%"), "{text}");
    assert_eq!(
        state.lock().unwrap().weights,
        json!({"2": 0.5}),
        "nothing written"
    );
    assert_eq!(
        fake.take_log(),
        [format!("PUT {path}"), format!("GET {path}")]
    );
}
