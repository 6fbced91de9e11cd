//! The cockpit on the `aws-sagemaker` router, driven through tmux: at 5 %
//! green, `r` puts the variant weights back to 1.0/0.0, the header shows
//! `Updating` until the endpoint is `InService`, and the journal holds the
//! cockpit's rollback with its time. moto applies an update at once, so
//! the endpoint is the small fake (support/aws_fake.rs), which stays
//! `Updating` for five seconds after an update, as SageMaker does for
//! minutes: longer than the cockpit's two seconds between reads of the
//! router, so that one read at least lands while it is updating.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::aws_fake::{Answer, Call, FakeAws, desired_weights, update_in_progress};
use crate::support::moto;
use crate::support::serial;
use crate::support::skip::{Server, skip_without};
use crate::support::tmux::{Tmux, journal_outcomes, shows_split};

use cutover::engine::journal::{RecordAction, RecordOrigin};
use serde_json::json;

/// How long the fake endpoint stays `Updating` after an update.
const UPDATING: Duration = Duration::from_secs(5);

struct Endpoint {
    current: (f64, f64),
    desired: (f64, f64),
    updating_until: Option<Instant>,
}

fn endpoint_api(state: Arc<Mutex<Endpoint>>) -> impl Fn(&Call) -> Answer + Send + Sync {
    move |call| {
        let mut e = state.lock().unwrap();
        if e.updating_until.is_some_and(|t| Instant::now() >= t) {
            e.updating_until = None;
            e.current = e.desired;
        }
        if call.target.as_deref() == Some("SageMaker.UpdateEndpointWeightsAndCapacities") {
            if e.updating_until.is_some() {
                return update_in_progress();
            }
            e.desired = desired_weights(call);
            e.updating_until = Some(Instant::now() + UPDATING);
            return Answer::ok(
                json!({"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/chat-model"}),
            );
        }
        let status = if e.updating_until.is_some() {
            "Updating"
        } else {
            "InService"
        };
        let v = |name: &str, c: f64, d: f64| {
            json!({"VariantName": name, "CurrentWeight": c,
            "DesiredWeight": d, "CurrentInstanceCount": 1, "DesiredInstanceCount": 1})
        };
        Answer::ok(
            json!({"EndpointName": "chat-model", "EndpointStatus": status,
            "ProductionVariants": [v("blue", e.current.0, e.desired.0), v("green", e.current.1, e.desired.1)]}),
        )
    }
}

/// The header: the lines above its bottom border (the event log below
/// keeps the `Updating` line once it has passed).
fn header(screen: &str) -> String {
    screen
        .lines()
        .take_while(|l| !l.starts_with('─'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_in_the_cockpit_rolls_the_variants_back_showing_updating() {
    let _turn = serial::heavy();
    if skip_without(
        Server::Tmux,
        "r_in_the_cockpit_rolls_the_variants_back_showing_updating",
    ) {
        return;
    }
    let state = Arc::new(Mutex::new(Endpoint {
        current: (0.95, 0.05),
        desired: (0.95, 0.05),
        updating_until: None,
    }));
    let fake = FakeAws::start(endpoint_api(state.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let dead = |c: &str| format!("[\"http://127.0.0.1:9/metrics?colour={c}\"]");
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nname = \"aws-cockpit\"\n\
             [source]\nkind = \"scrape\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\nwindow = \"1s\"\n\
             [source.scrape]\nblue = {}\ngreen = {}\n\
             [aws]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\
             [router]\nkind = \"aws-sagemaker\"\n[router.aws-sagemaker]\n\
             endpoint = \"chat-model\"\nblue_variant = \"blue\"\ngreen_variant = \"green\"\n\
             poll_interval = \"200ms\"\n\
             [journal]\npath = {:?}\n",
            dead("blue"),
            dead("green"),
            fake.url(),
            journal.display().to_string()
        ),
    )
    .unwrap();
    let env: Vec<String> = moto::env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let t = Tmux {
        socket: crate::support::unique("cutover-aws-cockpit"),
        session: "cockpit".into(),
    };
    t.start(
        &format!(
            "env {} {} --config {} --log {} tui; echo EXIT=$?; sleep 60",
            env.join(" "),
            env!("CARGO_BIN_EXE_cutover"),
            cfg.display(),
            dir.path().join("log").display()
        ),
        (140, 40),
    );
    // The blocking waits run off the runtime's workers: the fake serves.
    let screens = tokio::task::spawn_blocking(move || {
        t.wait("green at 5%", Duration::from_secs(20), |s| {
            shows_split(s, 5)
        });
        t.keys("r");
        let updating = t.wait_screen("Updating in the header", UPDATING, |s| {
            header(s).contains("is Updating")
        });
        let back = t.wait_screen("green at 0% and InService", UPDATING * 3, |s| {
            shows_split(s, 0) && !header(s).contains("Updating")
        });
        t.keys("q");
        t.cmd(&["kill-server"]);
        (updating, back)
    })
    .await
    .unwrap();
    eprintln!(
        "while updating:\n{}\nafter:\n{}",
        header(&screens.0),
        header(&screens.1)
    );
    assert_eq!(
        state.lock().unwrap().current,
        (1.0, 0.0),
        "weights back to 1.0/0.0"
    );
    let rolled_back = (
        Some(RecordAction::Rollback),
        Some(0),
        Some(RecordOrigin::Tui),
    );
    assert!(
        journal_outcomes(&journal).contains(&rolled_back),
        "{}",
        std::fs::read_to_string(&journal).unwrap()
    );
    // The rollback's outcome carries how long the router took.
    let records = cutover::engine::journal::Journal::read_all(&journal).unwrap();
    let took = records
        .iter()
        .filter(|r| r.kind == cutover::engine::journal::RecordKind::Outcome)
        .find(|r| r.action == Some(RecordAction::Rollback))
        .and_then(|r| r.duration_ms);
    assert!(took.is_some(), "no duration on the rollback:\n{records:#?}");
    eprintln!("rollback journaled, the router took {} ms", took.unwrap());
}
