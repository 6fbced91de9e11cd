//! `[[alerts]]`: webhooks told of rollbacks, promotes and first breaches.
//!
//! The alert task watches the engine from outside. The engine hands it a
//! [`Notice`] on an unbounded channel once the change is journaled (a
//! `send` that never waits); the task renders each configured body and
//! posts it on a task of its own per webhook, with retries and backoff. So
//! a receiver that is down, or that accepts and never answers, can never
//! delay the traffic change an alert reports: the engine never awaits an
//! alert. How each call went comes back as [`Command::AlertResult`]: an
//! event on screen and a journal line of kind `alert`.
//!
//! Why a notice and not the `watch` channel of states: published states
//! are coalesced (a reader sees the latest, not every one), and a state
//! says neither that a rollback *failed* nor the readings it was decided
//! on; a notice carries exactly what was journaled.

pub mod limit;
pub mod message;
pub mod send;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::config::AlertConfig;
use crate::config::alert_template as template;
use crate::engine::journal::{Journal, Record, RecordKind};
use crate::engine::{Command, EngineHandle, Notice, NoticeReceiver, Origin};
use crate::http::{HttpClient, HttpOptions};
use limit::BreachLimit;

pub use send::{Delivery, Policy};

/// More alerts than this on their way at once (a flapping breach and a
/// dead receiver) are dropped, each said to be.
const MAX_IN_FLIGHT: usize = 64;

/// The running alert task.
pub struct Alerts {
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    policy: Policy,
    after: Arc<OnceLock<AfterEngine>>,
}

/// Where results go once the engine has stopped (and released the
/// journal): printed, and journaled only if this process can take the
/// journal's lock again (a new cockpit may hold it by then).
#[derive(Debug, Clone)]
pub struct AfterEngine {
    pub journal: PathBuf,
    pub service: String,
}

impl AfterEngine {
    /// Says a result the engine can no longer journal.
    pub fn report(&self, delivered: bool, text: &str) {
        crate::console::warn(format!("cutover: {text}"));
        let action = if delivered {
            "alert sent"
        } else {
            "alert failed"
        };
        let mut rec = Record::new(RecordKind::Alert, &self.service, "alerts", action);
        rec.detail = Some(text.to_string());
        // Without the writer's lock: taking it, even for a moment, could
        // make a cockpit starting now (a take-over) come up read-only. One
        // O_APPEND write per line never interleaves with its records.
        match Journal::open_unlocked(&self.journal) {
            Ok(mut j) => {
                if let Err(e) = j.append(&rec) {
                    tracing::warn!("{text} (not journaled: {e})");
                }
            }
            Err(e) => tracing::warn!("{text} (not journaled: {e})"),
        }
    }
}

impl Alerts {
    /// Alerts still on their way.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The live count of alerts on their way, for whoever stops waiting.
    pub fn in_flight_counter(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.in_flight.clone()
    }

    /// The longest [`Alerts::finish`] waits.
    pub fn drain(&self) -> std::time::Duration {
        self.policy.drain
    }

    /// Where results go once the engine is gone; set before stopping it,
    /// so a result that arrives in between is not lost.
    pub fn after_engine(&self, after: AfterEngine) {
        let _ = self.after.set(after);
    }

    /// Lets the alerts on their way finish (up to the policy's `drain`),
    /// reports each that did not, and ends the task. Called once the
    /// engine has stopped: results then go where [`Alerts::after_engine`]
    /// said.
    pub async fn finish(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        // Not finished: the task holds an engine handle, which must not
        // outlive its owner.
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// One configured webhook, ready to call.
struct Hook {
    config: AlertConfig,
    /// `alerts[0]`: how events and the journal name it, with its host.
    label: String,
}

/// Starts the alert task for `configs`, reading `notices` and reporting to
/// `engine`.
pub fn spawn(
    configs: &[AlertConfig],
    notices: NoticeReceiver,
    engine: EngineHandle,
    policy: Policy,
) -> anyhow::Result<Alerts> {
    let client = HttpClient::build(&HttpOptions {
        timeout: policy.timeout,
        // A redirect is not a delivery: see `send::deliver`.
        no_redirects: true,
        ..Default::default()
    })?
    .client()
    .clone();
    let hooks: Vec<Arc<Hook>> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Arc::new(Hook {
                label: format!("alerts[{i}] {}", c.url.shown()),
                config: c.clone(),
            })
        })
        .collect();
    let stop = CancellationToken::new();
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let after = Arc::new(OnceLock::new());
    let to = Reporter {
        engine,
        after: after.clone(),
    };
    let task = tokio::spawn(run(
        hooks,
        client,
        notices,
        to,
        policy,
        stop.clone(),
        in_flight.clone(),
    ));
    Ok(Alerts {
        stop,
        task: Some(task),
        in_flight,
        policy,
        after,
    })
}

/// `notice` as `hook` sends it, or `None` when a breach alert is held
/// back (see [`limit`]); a sent breach says how many were held back.
fn rate_limited(notice: &Notice, hook: &Hook, limit: &mut BreachLimit) -> Option<Notice> {
    let mut n = notice.clone();
    if n.event != crate::config::AlertEvent::Breach {
        return Some(n);
    }
    match limit.admit(&n.metrics, tokio::time::Instant::now().into_std()) {
        None => {
            tracing::debug!(
                "breach alert to {} held back: {} alerted within {}",
                hook.label,
                n.metrics.join(", "),
                crate::format::span(hook.config.interval)
            );
            None
        }
        Some(0) => Some(n),
        Some(held) => {
            let note = format!(
                "{held} more breach run(s) since the last alert were not sent (at most one per metric every {})",
                crate::format::span(hook.config.interval)
            );
            n.reason = Some(match n.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
            Some(n)
        }
    }
}

/// What a finished call reports.
struct Done {
    event: &'static str,
    label: String,
    delivery: Delivery,
}

fn text(d: &Done) -> String {
    if d.delivery.ok {
        format!(
            "alert sent: {} to {} ({})",
            d.event, d.label, d.delivery.detail
        )
    } else {
        format!(
            "ALERT NOT SENT: {} to {}: {}",
            d.event, d.label, d.delivery.detail
        )
    }
}

/// Where a result goes: the engine (an event and a journal line) while it
/// runs, then [`AfterEngine`].
struct Reporter {
    engine: EngineHandle,
    after: Arc<OnceLock<AfterEngine>>,
}

async fn report(to: &Reporter, done: Done) {
    let text = text(&done);
    let command = Command::AlertResult {
        delivered: done.delivery.ok,
        text: text.clone(),
    };
    if let Err(e) = to.engine.call(Origin::Alerts, command).await {
        match to.after.get() {
            Some(after) => after.report(done.delivery.ok, &text),
            // The engine is gone unasked: the log is all that is left.
            None => tracing::warn!("{text} (not journaled: {e})"),
        }
    }
}

async fn run(
    hooks: Vec<Arc<Hook>>,
    client: reqwest::Client,
    mut notices: NoticeReceiver,
    engine: Reporter,
    policy: Policy,
    stop: CancellationToken,
    count: Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut calls: JoinSet<Done> = JoinSet::new();
    let mut labels: HashMap<tokio::task::Id, (&'static str, String)> = HashMap::new();
    let set_count = |calls: &JoinSet<Done>| {
        count.store(calls.len(), std::sync::atomic::Ordering::Relaxed);
    };
    let mut dropped: Vec<Done> = Vec::new();
    let mut limits: Vec<BreachLimit> = hooks
        .iter()
        .map(|h| BreachLimit::new(h.config.interval))
        .collect();
    let mut dispatch = |n: Notice,
                        calls: &mut JoinSet<Done>,
                        labels: &mut HashMap<_, _>,
                        dropped: &mut Vec<Done>| {
        for (hook, limit) in hooks.iter().zip(limits.iter_mut()) {
            if !hook.config.wants(n.event) {
                continue;
            }
            let Some(n) = rate_limited(&n, hook, limit) else {
                continue;
            };
            let event = n.event.name();
            if calls.len() >= MAX_IN_FLIGHT {
                dropped.push(Done {
                    event,
                    label: hook.label.clone(),
                    delivery: Delivery {
                        ok: false,
                        detail: format!("dropped: {MAX_IN_FLIGHT} alerts already on their way"),
                    },
                });
                continue;
            }
            let body = template::render(hook.config.template(), |name| message::value(&n, name))
                // Checked at load; a failure here would be a bug, said as one.
                .unwrap_or_else(|e| format!("{{\"text\": \"{}\"}}", template::json_escape(&e)));
            let label = hook.label.clone();
            let (hook, client) = (hook.clone(), client.clone());
            let h = calls.spawn(async move {
                let delivery = send::deliver(&client, &hook.config.url, &body, policy).await;
                Done {
                    event,
                    label: hook.label.clone(),
                    delivery,
                }
            });
            labels.insert(h.id(), (event, label));
        }
    };
    loop {
        set_count(&calls);
        for d in dropped.drain(..) {
            report(&engine, d).await;
        }
        tokio::select! {
            n = notices.recv() => match n {
                Some(n) => dispatch(n, &mut calls, &mut labels, &mut dropped),
                // The engine stopped: nobody is left to journal a result.
                None => break,
            },
            Some(r) = calls.join_next_with_id() => {
                set_count(&calls);
                if let Ok((id, done)) = r {
                    labels.remove(&id);
                    report(&engine, done).await;
                }
            }
            _ = stop.cancelled() => break,
        }
    }
    // Stopping: what the engine already said still goes out, within the
    // drain time.
    while let Ok(n) = notices.try_recv() {
        dispatch(n, &mut calls, &mut labels, &mut dropped);
    }
    for d in dropped.drain(..) {
        report(&engine, d).await;
    }
    let deadline = tokio::time::Instant::now() + policy.drain;
    loop {
        set_count(&calls);
        tokio::select! {
            r = calls.join_next_with_id() => match r {
                Some(Ok((id, done))) => {
                    set_count(&calls);
                    labels.remove(&id);
                    report(&engine, done).await;
                }
                Some(Err(_)) => {}
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => {
                calls.abort_all();
                for (_, (event, label)) in labels.drain() {
                    let done = Done {
                        event,
                        label,
                        delivery: Delivery {
                            ok: false,
                            detail: format!(
                                "given up: still not delivered {} after the cockpit was told to stop",
                                crate::format::span(policy.drain)
                            ),
                        },
                    };
                    report(&engine, done).await;
                }
                break;
            }
        }
    }
    count.store(0, std::sync::atomic::Ordering::Relaxed);
}
