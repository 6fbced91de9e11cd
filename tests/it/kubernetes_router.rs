//! The Kubernetes router through the real `kube` client, against a
//! stand-in API server (support/kube_apiserver.rs) loaded from a real
//! kubeconfig file: no kube-apiserver can be installed on these machines.
//! The stand-in logs every request, so the tests pin the round trips of an
//! advance and of a rollback in each mode.

use crate::support::kube_apiserver;
use crate::support::kube_objects;

use cutover::config::KubernetesConfig;
use cutover::model::{Color, Split};
use cutover::router::kubernetes::KubernetesRouter;
use cutover::router::{
    Capabilities, Replicas, Revision, RouterError, TrafficRouter, Workload, WriteRequest,
};
use kube_apiserver::ApiServer;
use kube_objects::{NS, canary_ingress, deployment, httproute, service};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn config_text(mode: &str, extra: &str) -> String {
    format!(
        r#"
mode = "{mode}"
context = "standin"
blue_deployment = "chat-model-blue"
green_deployment = "chat-model-green"
service = "chat-model"
blue_selector = {{ app = "chat-model", track = "blue" }}
green_selector = {{ app = "chat-model", track = "green" }}
canary_ingress = "chat-model-canary"
httproute = "chat-model"
rule = 1
blue_backend = "chat-model-blue"
green_backend = "chat-model-green"
{extra}
"#
    )
}

fn config(mode: &str, extra: &str) -> KubernetesConfig {
    toml::from_str(&config_text(mode, extra)).unwrap()
}

struct Rig {
    server: ApiServer,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl Rig {
    async fn new() -> Rig {
        let server = ApiServer::start().await;
        for o in [
            service(),
            canary_ingress(),
            httproute(),
            deployment("chat-model-blue", 3, 3),
            deployment("chat-model-green", 2, 1),
        ] {
            server.put(o);
        }
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.kubeconfig(dir.path(), NS);
        Rig {
            server,
            _dir: dir,
            kubeconfig,
        }
    }

    async fn router(&self, cfg: &KubernetesConfig) -> KubernetesRouter {
        KubernetesRouter::connect_with(cfg, Some(&self.kubeconfig))
            .await
            .unwrap()
    }
}

fn write(split: u8, expected: &Option<Revision>) -> WriteRequest {
    WriteRequest {
        split: Split::new(split).unwrap(),
        expected: expected.clone(),
        cancel: CancellationToken::new(),
    }
}

fn weights(route: &Value) -> (u64, u64) {
    let refs = &route["spec"]["rules"][1]["backendRefs"];
    (
        refs[0]["weight"].as_u64().unwrap(),
        refs[1]["weight"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn service_selector_flips_and_rolls_back_in_one_patch_each() {
    let rig = Rig::new().await;
    let r = rig.router(&config("service-selector", "")).await;
    let read = r.get_split().await.unwrap();
    assert_eq!(read.split, Split::ZERO);
    rig.server.take_log();

    let flip = r.set_split(write(100, &read.revision)).await.unwrap();
    assert_eq!(flip.split, Split::FULL);
    assert_eq!(rig.server.take_log(), ["PATCH services/chat-model"]);
    let svc = rig.server.get("services", NS, "chat-model");
    assert_eq!(
        svc["spec"]["selector"],
        json!({"app":"chat-model","track":"green"})
    );
    assert_eq!(
        svc["spec"]["ports"],
        json!([{ "port": 80 }]),
        "other fields untouched"
    );

    let back = r.set_split(write(0, &flip.revision)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert_eq!(rig.server.take_log(), ["PATCH services/chat-model"]);
    assert_eq!(r.get_split().await.unwrap().split, Split::ZERO);
}

#[tokio::test]
async fn service_selector_refuses_intermediate_splits_before_any_call() {
    let rig = Rig::new().await;
    let r = rig.router(&config("service-selector", "")).await;
    assert_eq!(r.capabilities(), Capabilities::Only(vec![0, 100]));
    let err = r.set_split(write(30, &None)).await.unwrap_err();
    let RouterError::Unsupported(msg) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("ingress-nginx") && msg.contains("gateway-api"),
        "{msg}"
    );
    assert!(rig.server.take_log().is_empty(), "nothing was sent");

    // And a plan with intermediate steps is refused when the config loads
    // (`check` and start).
    let text = format!(
        "[service]\nname = \"chat\"\n[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n\
         [source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\ngreen = [\"http://127.0.0.1:2/metrics\"]\n\
         [router]\nkind = \"kubernetes\"\n[router.kubernetes]\n{}",
        config_text("service-selector", "")
    );
    let e = cutover::config::load_str(&text, "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("plan.steps") && e.contains("gateway-api"), "{e}");
    let ok = format!("{text}\n[plan]\nsteps = [100]\n");
    cutover::config::load_str(&ok, "t").unwrap();
}

#[tokio::test]
async fn ingress_nginx_weights_out_of_the_total_and_keeps_other_annotations() {
    let rig = Rig::new().await;
    let r = rig.router(&config("ingress-nginx", "")).await;
    let read = r.get_split().await.unwrap();
    assert_eq!(read.split, Split::ZERO);
    rig.server.take_log();

    let a = r.set_split(write(5, &read.revision)).await.unwrap();
    assert_eq!(a.split.green(), 5);
    assert!(a.detail.contains("X-Canary"), "{}", a.detail);
    let b = r.set_split(write(25, &a.revision)).await.unwrap();
    assert_eq!(b.split.green(), 25);
    assert_eq!(
        rig.server.take_log(),
        [
            "PATCH ingresses/chat-model-canary",
            "PATCH ingresses/chat-model-canary"
        ]
    );
    let ing = rig.server.get("ingresses", NS, "chat-model-canary");
    let ann = &ing["metadata"]["annotations"];
    assert_eq!(ann["nginx.ingress.kubernetes.io/canary-weight"], "250");
    assert_eq!(
        ann["nginx.ingress.kubernetes.io/canary-weight-total"],
        "1000"
    );
    assert_eq!(
        ann["nginx.ingress.kubernetes.io/canary-by-header"],
        "X-Canary"
    );

    let back = r.set_split(write(0, &b.revision)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert_eq!(rig.server.take_log(), ["PATCH ingresses/chat-model-canary"]);
}

#[tokio::test]
async fn gateway_api_writes_percentages_and_touches_nothing_else() {
    let rig = Rig::new().await;
    let r = rig.router(&config("gateway-api", "")).await;
    let before = rig.server.get("httproutes", NS, "chat-model");
    let read = r.get_split().await.unwrap();
    rig.server.take_log();

    let a = r.set_split(write(30, &read.revision)).await.unwrap();
    assert_eq!(a.split.green(), 30);
    assert_eq!(rig.server.take_log(), ["PATCH httproutes/chat-model"]);
    let after = rig.server.get("httproutes", NS, "chat-model");
    assert_eq!(weights(&after), (70, 30));
    assert_eq!(after["spec"]["rules"][0], before["spec"]["rules"][0]);
    assert_eq!(after["spec"]["parentRefs"], before["spec"]["parentRefs"]);

    let back = r.set_split(write(0, &a.revision)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert_eq!(rig.server.take_log(), ["PATCH httproutes/chat-model"]);
    assert_eq!(
        weights(&rig.server.get("httproutes", NS, "chat-model")),
        (100, 0)
    );

    // A router that has not read yet (a restart) reads once, then writes.
    let fresh = rig.router(&config("gateway-api", "")).await;
    let c = fresh.set_split(write(50, &back.revision)).await.unwrap();
    assert_eq!(c.split.green(), 50);
    assert_eq!(
        rig.server.take_log(),
        ["GET httproutes/chat-model", "PATCH httproutes/chat-model"]
    );
}

/// Someone edits the object between the cockpit's read and its write.
async fn conflict_case(mode: &str, resource: &str, name: &str, edit: impl FnOnce(&mut Value)) {
    let rig = Rig::new().await;
    let r = rig.router(&config(mode, "")).await;
    let read = r.get_split().await.unwrap();
    rig.server.edit(resource, NS, name, "kubectl-edit", edit);
    let edited = rig.server.get(resource, NS, name);
    let err = r.set_split(write(100, &read.revision)).await.unwrap_err();
    let RouterError::Conflict(msg) = err else {
        panic!("{mode}: {err:?}")
    };
    assert!(msg.contains("`kubectl-edit`"), "{mode}: {msg}");
    assert!(msg.contains("the split is now"), "{mode}: {msg}");
    let mut now = rig.server.get(resource, NS, name);
    let mut was = edited;
    now["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    was["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    assert_eq!(now, was, "{mode}: the other writer's change stands");
}

#[tokio::test]
async fn a_concurrent_edit_is_a_conflict_naming_its_manager() {
    conflict_case("gateway-api", "httproutes", "chat-model", |o| {
        o["spec"]["rules"][1]["backendRefs"][0]["weight"] = json!(60);
        o["spec"]["rules"][1]["backendRefs"][1]["weight"] = json!(40);
    })
    .await;
    conflict_case("ingress-nginx", "ingresses", "chat-model-canary", |o| {
        o["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] = json!("400");
    })
    .await;
    conflict_case("service-selector", "services", "chat-model", |o| {
        o["metadata"]["labels"] = json!({ "owner": "someone" });
    })
    .await;
}

#[tokio::test]
async fn a_rollback_on_a_conflict_rereads_once_and_retries() {
    let rig = Rig::new().await;
    let r = rig.router(&config("gateway-api", "")).await;
    let read = r.get_split().await.unwrap();
    let up = r.set_split(write(50, &read.revision)).await.unwrap();
    rig.server
        .edit("httproutes", NS, "chat-model", "kubectl-edit", |o| {
            o["spec"]["rules"][1]["backendRefs"][1]["weight"] = json!(80);
        });
    rig.server.take_log();
    let back = r.set_split(write(0, &up.revision)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert!(back.detail.contains("re-read once"), "{}", back.detail);
    assert!(back.detail.contains("kubectl-edit"), "{}", back.detail);
    assert_eq!(
        rig.server.take_log(),
        [
            "PATCH httproutes/chat-model",
            "GET httproutes/chat-model",
            "PATCH httproutes/chat-model"
        ]
    );
    assert_eq!(
        weights(&rig.server.get("httproutes", NS, "chat-model")),
        (100, 0)
    );
}

#[tokio::test]
async fn a_forbidden_patch_is_a_clear_error_and_changes_nothing() {
    let rig = Rig::new().await;
    rig.server.forbid("patch", "httproutes");
    let r = rig.router(&config("gateway-api", "")).await;
    let read = r.get_split().await.unwrap();
    let err = r.set_split(write(30, &read.revision)).await.unwrap_err();
    let RouterError::Rejected(msg) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("forbidden (403)") && msg.contains("HTTPRoute ml/chat-model"),
        "{msg}"
    );
    assert!(msg.contains("rbac.yaml"), "{msg}");
    assert_eq!(r.get_split().await.unwrap().split, Split::ZERO);
    assert_eq!(
        weights(&rig.server.get("httproutes", NS, "chat-model")),
        (100, 0)
    );
}

#[tokio::test]
async fn readiness_comes_from_the_deployments() {
    let rig = Rig::new().await;
    let r = rig.router(&config("gateway-api", "")).await;
    let ready = r.readiness().await.unwrap();
    assert_eq!(
        ready.blue,
        Some(Replicas {
            ready: 3,
            desired: 3
        })
    );
    assert_eq!(
        ready.green,
        Some(Replicas {
            ready: 1,
            desired: 2
        })
    );
    // Kubernetes omits readyReplicas when none are ready.
    rig.server.edit(
        "deployments",
        NS,
        "chat-model-green",
        "kube-controller-manager",
        |d| {
            d["status"].as_object_mut().unwrap().remove("readyReplicas");
        },
    );
    let ready = r.readiness().await.unwrap();
    assert_eq!(
        ready.green,
        Some(Replicas {
            ready: 0,
            desired: 2
        })
    );
}

#[tokio::test]
async fn green_is_scaled_down_after_a_rollback_when_configured() {
    let rig = Rig::new().await;
    let off = rig.router(&config("ingress-nginx", "")).await;
    rig.server.take_log();
    assert_eq!(off.after_rollback().await.unwrap(), None);
    assert!(rig.server.take_log().is_empty());

    let r = rig
        .router(&config(
            "ingress-nginx",
            "scale_down_green_on_rollback = true",
        ))
        .await;
    let read = r.get_split().await.unwrap();
    let up = r.set_split(write(25, &read.revision)).await.unwrap();
    r.set_split(write(0, &up.revision)).await.unwrap();
    rig.server.take_log();
    let scaled = r.after_rollback().await.unwrap().unwrap();
    assert_eq!((scaled.from, scaled.to), (2, 0));
    assert_eq!(scaled.deployment, "ml/chat-model-green");
    assert_eq!(
        rig.server.take_log(),
        [
            "GET deployments/scale/chat-model-green",
            "PATCH deployments/scale/chat-model-green"
        ]
    );
    let green = rig.server.get("deployments", NS, "chat-model-green");
    assert_eq!(green["spec"]["replicas"], 0);
    let ready = r.readiness().await.unwrap();
    assert_eq!(
        ready.green,
        Some(Replicas {
            ready: 0,
            desired: 0
        })
    );
    assert_eq!(
        ready.blue,
        Some(Replicas {
            ready: 3,
            desired: 3
        })
    );
}

#[tokio::test]
async fn decommission_scales_blue_to_zero_only_at_full_green() {
    let rig = Rig::new().await;
    let r = rig.router(&config("service-selector", "")).await;
    let err = r.decommission_blue().await.unwrap_err();
    assert!(
        matches!(&err, RouterError::Rejected(m) if m.contains("blue still takes 100%")),
        "{err:?}"
    );
    assert_eq!(
        rig.server.get("deployments", NS, "chat-model-blue")["spec"]["replicas"],
        3
    );

    let read = r.get_split().await.unwrap();
    r.set_split(write(100, &read.revision)).await.unwrap();
    let scaled = r.decommission_blue().await.unwrap();
    assert_eq!((scaled.from, scaled.to), (3, 0));
    assert_eq!(
        rig.server.get("deployments", NS, "chat-model-blue")["spec"]["replicas"],
        0
    );

    // A forbidden scale is a clear error.
    rig.server.forbid("patch", "deployments/scale");
    let err = r.scale(Color::Blue, 1).await.unwrap_err();
    assert!(
        matches!(&err, RouterError::Rejected(m) if m.contains("forbidden")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_kubeconfig_context_namespace_and_token_are_used() {
    let rig = Rig::new().await;
    // `context = "standin"`, no namespace: the context's namespace (`ml`)
    // and its user's bearer token reach the stand-in.
    let r = rig.router(&config("gateway-api", "")).await;
    assert!(r.describe().contains("context standin"), "{}", r.describe());
    assert!(r.describe().contains("namespace ml"), "{}", r.describe());
    assert_eq!(r.get_split().await.unwrap().split, Split::ZERO);

    // An explicit namespace wins over the context's.
    let mut other = config("gateway-api", "");
    other.namespace = Some("staging".into());
    let r = rig.router(&other).await;
    let err = r.get_split().await.unwrap_err();
    assert!(
        matches!(&err, RouterError::Unreadable(m) if m.contains("HTTPRoute staging/chat-model not found")),
        "{err:?}"
    );

    // No context: the kubeconfig's current one, which points elsewhere.
    let mut current = config("gateway-api", "");
    current.context = None;
    let r = rig.router(&current).await;
    let err = r.get_split().await.unwrap_err();
    assert!(matches!(err, RouterError::Unavailable(_)), "{err:?}");

    // A context that does not exist is refused when connecting.
    let mut missing = config("gateway-api", "");
    missing.context = Some("prod".into());
    let e = KubernetesRouter::connect_with(&missing, Some(&rig.kubeconfig))
        .await
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("prod"), "{e:#}");
}

#[tokio::test]
async fn a_cancelled_write_sends_nothing() {
    let rig = Rig::new().await;
    let r = rig.router(&config("ingress-nginx", "")).await;
    let read = r.get_split().await.unwrap();
    rig.server.take_log();
    let req = write(5, &read.revision);
    req.cancel.cancel();
    assert_eq!(r.set_split(req).await.unwrap_err(), RouterError::Cancelled);
    assert!(rig.server.take_log().is_empty());
}

const WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";

/// The ingress-nginx router at 25 %; its revision after the write.
async fn at_25(rig: &Rig) -> (KubernetesRouter, Option<Revision>) {
    let r = rig.router(&config("ingress-nginx", "")).await;
    let read = r.get_split().await.unwrap();
    let up = r.set_split(write(25, &read.revision)).await.unwrap();
    rig.server.take_log();
    (r, up.revision)
}

/// What a weights operator writes on every sync: its weight and a stamp.
fn sync(o: &mut Value, n: u32) {
    o["metadata"]["annotations"][WEIGHT] = json!("250");
    o["metadata"]["annotations"]["weights-operator/synced"] = json!(n.to_string());
}

fn canary_weight(rig: &Rig) -> Value {
    rig.server.get("ingresses", NS, "chat-model-canary")["metadata"]["annotations"][WEIGHT].clone()
}

#[tokio::test]
async fn a_rollback_outlasts_a_controller_that_races_it_more_than_once() {
    let rig = Rig::new().await;
    let (r, rev) = at_25(&rig).await;
    // A controller that syncs its weight (and its stamp) before the next
    // two PATCHes, then goes quiet.
    let syncs = std::sync::atomic::AtomicU32::new(0);
    rig.server.controller(
        "ingresses",
        NS,
        "chat-model-canary",
        "weights-operator",
        move |o| {
            let n = syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < 2 {
                sync(o, n);
            }
        },
    );
    let back = r.set_split(write(0, &rev)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert!(back.detail.contains("re-read 2 times"), "{}", back.detail);
    assert!(back.detail.contains("weights-operator"), "{}", back.detail);
    assert_eq!(canary_weight(&rig), json!("0"));
}

#[tokio::test]
async fn a_controller_that_rewrites_every_time_is_named_after_a_few_quick_tries() {
    let rig = Rig::new().await;
    let (r, rev) = at_25(&rig).await;
    rig.server
        .controller("ingresses", NS, "chat-model-canary", "weights-operator", {
            let syncs = std::sync::atomic::AtomicU32::new(0);
            move |o| sync(o, syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        });
    let t0 = std::time::Instant::now();
    let err = r.set_split(write(0, &rev)).await.unwrap_err();
    let RouterError::Conflict(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("a controller keeps changing it"), "{msg}");
    assert!(msg.contains("weights-operator"), "{msg}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(2), "quick");
    let log = rig.server.take_log();
    let patches = log.iter().filter(|l| l.starts_with("PATCH")).count();
    let gets = log.iter().filter(|l| l.starts_with("GET")).count();
    assert_eq!((patches, gets), (5, 5), "each try on a fresh read: {log:?}");
    assert_eq!(canary_weight(&rig), json!("250"), "the controller's value");
}

#[tokio::test]
async fn an_api_500_is_an_error_and_the_next_try_lands() {
    let rig = Rig::new().await;
    let (r, rev) = at_25(&rig).await;
    rig.server.fail_next("patch", "ingresses", 500, 1);
    let err = r.set_split(write(0, &rev)).await.unwrap_err();
    let RouterError::Unavailable(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("500") && msg.contains("chat-model-canary"),
        "{msg}"
    );
    assert_eq!(canary_weight(&rig), json!("250"), "nothing changed");
    // The engine's retry: the same request again.
    let back = r.set_split(write(0, &rev)).await.unwrap();
    assert_eq!(back.split, Split::ZERO);
    assert_eq!(canary_weight(&rig), json!("0"));
}
