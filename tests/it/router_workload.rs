//! The engine holds a router's two faces apart: the split through
//! `TrafficRouter`, readiness and scaling through `Workload`. Here they
//! are two different objects, so each answer shows which face it came from.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cutover::engine::journal::Journal;
use cutover::engine::{Command, EngineOptions, Origin};
use cutover::router::{Readiness, Replicas, RouterError, Routing, Workload};

use crate::support::engine as engine_rig;
use engine_rig::{FakeRouter, Scripted, records, wait_for};

/// Workloads that say their own readiness and note each scaling call.
#[derive(Default)]
struct Pods {
    readiness: Readiness,
    scaled: Mutex<Vec<&'static str>>,
}

#[async_trait]
impl Workload for Pods {
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        Ok(self.readiness)
    }

    async fn after_rollback(&self) -> Result<Option<String>, RouterError> {
        self.scaled.lock().unwrap().push("green");
        Ok(Some("green scaled to 0 by the workload".into()))
    }
}

fn replicas(ready: u32, desired: u32) -> Option<Replicas> {
    Some(Replicas { ready, desired })
}

#[tokio::test(start_paused = true)]
async fn readiness_and_scaling_come_from_the_workload_not_the_traffic_router() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    // The traffic face claims every replica ready; the workload says green
    // has none. Only the workload's word may count.
    let traffic = FakeRouter::at(5).with(|p| {
        p.readiness = Readiness {
            blue: replicas(3, 3),
            green: replicas(3, 3),
        }
    });
    let pods = Arc::new(Pods {
        readiness: Readiness {
            blue: replicas(3, 3),
            green: replicas(0, 3),
        },
        ..Pods::default()
    });
    let routing = Routing {
        traffic: Arc::new(traffic.clone()),
        workload: pods.clone(),
    };
    let (handle, _task) = cutover::engine::spawn(
        &engine_rig::config("workload-svc"),
        routing,
        Box::new(Scripted::healthy()),
        Journal::open(&path).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    let s = wait_for(&handle, "readiness read", |s| s.traffic.readiness.is_some()).await;
    assert_eq!(s.traffic.readiness, Some(pods.readiness));
    // Green has no ready replica: even a forced advance writes nothing.
    let refused = handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await;
    assert!(refused.is_err());
    assert_eq!(traffic.writes(), 0);

    // The rollback moves traffic through the traffic face, then the
    // workload scales green down, and that is journaled.
    let rolled = handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await;
    assert!(rolled.is_ok());
    assert_eq!(traffic.split(), 0);
    wait_for(&handle, "the after-rollback chore", |_| {
        !pods.scaled.lock().unwrap().is_empty()
    })
    .await;
    let journaled = || {
        records(&path)
            .iter()
            .any(|r| r.detail.as_deref() == Some("green scaled to 0 by the workload"))
    };
    for _ in 0..50 {
        if journaled() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(journaled(), "{:#?}", records(&path));
    assert_eq!(*pods.scaled.lock().unwrap(), ["green"]);
}
