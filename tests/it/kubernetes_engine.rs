//! The Kubernetes router driven by the engine, as the cockpit drives it:
//! green scaled down after a rollback (`scale_down_green_on_rollback`) and
//! blue decommissioned after the standby window, each on a task of its
//! own and journaled. Against the stand-in API server, on real time.

use crate::support::kube_apiserver;
use crate::support::kube_objects;

use std::sync::Arc;
use std::time::Duration;

use cutover::config::{Config, KubernetesConfig};
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, Record, RecordKind};
use cutover::engine::{
    Command, Done, EngineHandle, EngineOptions, Origin, Phase, Refusal, Reply, State, WriteOutcome,
};
use cutover::model::Split;
use cutover::router::kubernetes::KubernetesRouter;
use kube_apiserver::ApiServer;
use kube_objects::{NS, canary_ingress, deployment};

use crate::support::engine as engine_rig;

use engine_rig::{Scripted, wait_within};

fn config() -> Config {
    let mut c = engine_rig::config("chat-model");
    c.plan.dwell = Duration::from_millis(100);
    c.plan.bake = Duration::from_millis(300);
    c.plan.standby = Duration::ZERO;
    c
}

struct Rig {
    server: ApiServer,
    handle: EngineHandle,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn rig(extra: &str, standby: Duration) -> Rig {
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
    let cfg: KubernetesConfig = toml::from_str(&format!(
        "mode = \"ingress-nginx\"\ncontext = \"standin\"\nblue_deployment = \"chat-model-blue\"\n\
         green_deployment = \"chat-model-green\"\ncanary_ingress = \"chat-model-canary\"\n{extra}\n"
    ))
    .unwrap();
    let router = KubernetesRouter::connect_with(&cfg, Some(&kubeconfig))
        .await
        .unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut c = config();
    c.plan.standby = standby;
    let (handle, _task) = cutover::engine::spawn(
        &c,
        Arc::new(router),
        Box::new(Scripted::healthy()),
        Journal::open(&journal).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    Rig {
        server,
        handle,
        journal,
        _dir: dir,
    }
}

async fn wait_for(h: &EngineHandle, what: &str, f: impl Fn(&State) -> bool) -> State {
    // Real time against a real (stand-in) server: more room than paused time.
    wait_within(h, Duration::from_secs(20), what, f).await
}

fn control(journal: &std::path::Path, action: RecordAction) -> Option<Record> {
    Journal::read_all(journal)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == RecordKind::Control && r.action == Some(action.clone()))
}

fn replicas(server: &ApiServer, name: &str) -> u64 {
    server.get("deployments", NS, name)["spec"]["replicas"]
        .as_u64()
        .unwrap()
}

/// Green to the first step (forced: this is about what follows), then
/// back to 0 %: the rollback's answer.
async fn advance_then_roll_back(r: &Rig) -> Done {
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    r.handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await
        .unwrap()
}

async fn decommission(r: &Rig) -> Reply {
    r.handle.call(Origin::Tui, Command::DecommissionBlue).await
}

#[tokio::test]
async fn green_is_scaled_down_after_the_rollback_and_it_is_journaled() {
    let r = rig("scale_down_green_on_rollback = true", Duration::ZERO).await;
    wait_for(&r.handle, "the first read", |s| s.traffic.split.is_some()).await;
    let msg = advance_then_roll_back(&r).await;
    // The rollback answers once traffic is on blue, before any scaling.
    assert!(
        matches!(&msg, Done::Landed(l) if l.change.to == Split::ZERO),
        "{msg:?}"
    );
    let s = wait_for(&r.handle, "green scaled down", |s| {
        s.events
            .iter()
            .any(|e| e.text.contains("after the rollback"))
    })
    .await;
    let said = s
        .events
        .iter()
        .find(|e| e.text.contains("after the rollback"))
        .unwrap();
    assert!(
        said.text
            .contains("Deployment ml/chat-model-green scaled 2 -> 0 replicas"),
        "{}",
        said.text
    );
    assert_eq!(replicas(&r.server, "chat-model-green"), 0);
    assert_eq!(replicas(&r.server, "chat-model-blue"), 3);
    let rec = control(&r.journal, RecordAction::ScaleDownGreen).expect("journaled");
    assert_eq!(rec.outcome, Some(WriteOutcome::Ok));
    assert!(rec.detail.unwrap().contains("chat-model-green"));
    // The rollback's outcome was journaled before the scaling.
    let recs = Journal::read_all(&r.journal).unwrap();
    let rolled = recs
        .iter()
        .position(|x| x.kind == RecordKind::Outcome && x.action == Some(RecordAction::Rollback))
        .unwrap();
    let scaled = recs
        .iter()
        .position(|x| x.action == Some(RecordAction::ScaleDownGreen))
        .unwrap();
    assert!(rolled < scaled);
}

#[tokio::test]
async fn without_the_setting_green_keeps_its_replicas() {
    let r = rig("", Duration::ZERO).await;
    wait_for(&r.handle, "the first read", |s| s.traffic.split.is_some()).await;
    advance_then_roll_back(&r).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(replicas(&r.server, "chat-model-green"), 2);
    assert!(control(&r.journal, RecordAction::ScaleDownGreen).is_none());
}

#[tokio::test]
async fn blue_is_decommissioned_only_after_a_promotion_and_the_standby_window() {
    // Refused before a promotion, whatever the window.
    let r = rig("", Duration::ZERO).await;
    wait_for(&r.handle, "the first read", |s| s.traffic.split.is_some()).await;
    let err = decommission(&r).await.unwrap_err();
    assert_eq!(err, Refusal::NotPromoted);

    // Promoted, standby window over (0 s): blue goes to 0, journaled.
    r.handle.call(Origin::Tui, Command::Promote).await.unwrap();
    wait_for(&r.handle, "promoted", |s| s.phase == Phase::Promoted).await;
    let msg = decommission(&r).await.unwrap();
    assert!(
        matches!(&msg, Done::Chore(what) if what.contains("chat-model-blue scaled 3 -> 0")),
        "{msg:?}"
    );
    assert_eq!(replicas(&r.server, "chat-model-blue"), 0);
    let rec = control(&r.journal, RecordAction::DecommissionBlue).expect("journaled");
    assert_eq!(
        (rec.outcome, rec.origin),
        (Some(WriteOutcome::Ok), Some(RecordOrigin::Tui))
    );
    let s = wait_for(&r.handle, "decommissioned", |s| s.blue_decommissioned).await;
    assert_eq!(s.traffic.split, Some(Split::FULL));
    let again = decommission(&r).await.unwrap_err();
    assert_eq!(again, Refusal::AlreadyDecommissioned);

    // Promoted, but blue is still the standby: refused, nothing scaled.
    let r = rig("", Duration::from_secs(3600)).await;
    wait_for(&r.handle, "the first read", |s| s.traffic.split.is_some()).await;
    r.handle.call(Origin::Tui, Command::Promote).await.unwrap();
    wait_for(&r.handle, "promoted", |s| s.phase == Phase::Promoted).await;
    let err = decommission(&r).await.unwrap_err();
    assert!(matches!(err, Refusal::Standby(_)), "{err:?}");
    assert_eq!(replicas(&r.server, "chat-model-blue"), 3);
}
