//! A rollback against the Kubernetes API stand-in answering 500: retried
//! until the API heals, then landed with no key pressed (issue 16, point
//! 1). Prints the time from healing to green at 0 % (`--nocapture`).

use crate::support::kube_apiserver;
use crate::support::kube_objects;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cutover::config::KubernetesConfig;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::{Journal, RecordKind};
use cutover::engine::{Command, EngineOptions, Origin, WriteOutcome};
use cutover::model::Split;
use cutover::router::kubernetes::KubernetesRouter;
use kube_apiserver::ApiServer;
use kube_objects::{NS, canary_ingress, deployment};

use crate::support::engine as engine_rig;

use engine_rig::{Scripted, wait_within};

#[tokio::test]
async fn a_rollback_meeting_api_500s_lands_once_the_api_heals() {
    let server = ApiServer::start().await;
    for o in [
        canary_ingress(),
        deployment("chat-model-blue", 3, 3),
        deployment("chat-model-green", 2, 2),
    ] {
        server.put(o);
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), NS);
    let cfg: KubernetesConfig = toml::from_str(
        "mode = \"ingress-nginx\"\ncontext = \"standin\"\nblue_deployment = \"chat-model-blue\"\n\
         green_deployment = \"chat-model-green\"\ncanary_ingress = \"chat-model-canary\"\n",
    )
    .unwrap();
    let router = KubernetesRouter::connect_with(&cfg, Some(&kubeconfig))
        .await
        .unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut c = engine_rig::config("chat-model");
    c.plan.dwell = Duration::from_secs(3600);
    let (h, _task) = cutover::engine::spawn(
        &c,
        Arc::new(router),
        Box::new(Scripted::healthy()),
        Journal::open(&journal).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    let wait = |what: &'static str, f: fn(&cutover::engine::State) -> bool| {
        wait_within(&h, Duration::from_secs(20), what, f)
    };
    wait("read back", |s| s.traffic.split.is_some()).await;
    h.call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    server.fail("patch", "ingresses", 500);
    h.send(Origin::Tui, Command::Rollback { reason: "r".into() })
        .unwrap();
    wait("failing", |s| s.rollback.failed.is_some()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s = h.current();
    let failing = s.rollback.failed.as_ref().expect("still failing");
    assert!(failing.tries >= 3, "{failing:?}");
    assert!(
        failing.reason.contains("500") || failing.reason.contains("Internal"),
        "{failing:?}"
    );
    assert_eq!(s.traffic.split, Split::new(1));
    server.heal("patch", "ingresses");
    let healed = Instant::now();
    let s = wait("landed", |s| {
        s.rollback.failed.is_none() && s.traffic.split == Split::new(0)
    })
    .await;
    eprintln!(
        "kube API 500 then healed: green at 0 % {} ms after healing",
        healed.elapsed().as_millis()
    );
    assert!(s.rollback.rolled_back.is_some());
    let weight = server.get("ingresses", NS, "chat-model-canary")["metadata"]["annotations"]
        ["nginx.ingress.kubernetes.io/canary-weight"]
        .clone();
    assert_eq!(weight, "0");
    let outcomes: Vec<_> = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Rollback))
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [Some(WriteOutcome::Failed), Some(WriteOutcome::Ok)]
    );
}
