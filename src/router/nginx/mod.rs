//! The nginx router: the cockpit owns one include file holding the upstream
//! (weighted mode) or the `split_clients` block and its two upstreams
//! (sticky mode); every change is a safe rewrite of that file, `nginx -t`
//! (a rollback lets the reload be the test), and a reload. See
//! docs/nginx.md for wiring it into a config.
//!
//! Files: `syntax` (nginx's grammar), `include` (what the file means and
//! how it is rewritten), `lock` (one writer), `command` (test and reload),
//! `write` (the safe write), `load` (test and reload after it), `loaded` (what nginx last loaded; reconcile), `timing` (where a write's time goes), `probe`
//! (counting colours through nginx), `check` (`cutover check`).

pub mod check;
pub mod command;
pub mod include;
mod load;
pub mod loaded;
pub mod lock;
pub mod probe;
pub mod syntax;
pub mod timing;
pub mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{
    Applied, Revision, RouterError, RouterRead, TrafficRouter, Verification, WriteRequest,
};
use crate::config::{NginxConfig, NginxMode};
use crate::model::Split;

/// The revision of the include's bytes (FNV-1a, 64 bits; `absent` when
/// there is no file): any edit, even of a comment, changes it.
pub fn revision_of(bytes: Option<&[u8]>) -> Revision {
    let Some(bytes) = bytes else {
        return Revision("absent".into());
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Revision(format!("{h:016x}"))
}

const UNKNOWN: u8 = 0;
const WIRED: u8 = 1;
const NOT_WIRED: u8 = 2;

/// Asks nginx whether it includes the file, and remembers the answer.
/// `None` when nginx could not say (its test fails: the write reports that
/// in nginx's own words).
fn learn_wiring(cfg: &NginxConfig, wired: &AtomicU8) -> Option<bool> {
    let r = check::wired_in(cfg).ok();
    if let Some(w) = r {
        wired.store(if w { WIRED } else { NOT_WIRED }, Ordering::Release);
    }
    r
}

/// How long verification keeps probing for the new split after a reload:
/// old workers answer for about 100 ms after it, so a few rounds of at most
/// a second each (`probe::ROUND_WITHIN`) are plenty.
const VERIFY_WITHIN: Duration = Duration::from_secs(2);

pub struct NginxRouter {
    cfg: Arc<NginxConfig>,
    /// Serialises this process's writes; held by the blocking write itself,
    /// so a write abandoned by its caller still finishes before the next.
    writing: Arc<tokio::sync::Mutex<()>>,
    /// Whether nginx was seen to include the file: asked on the first read
    /// (so that a rollback does not pay for it) and before any write until
    /// the answer is yes.
    wired: Arc<AtomicU8>,
    probe: Option<probe::KeyVariation>,
}

impl NginxRouter {
    pub fn new(cfg: NginxConfig) -> anyhow::Result<Self> {
        let probe = match (&cfg.probe_url, cfg.mode) {
            (None, _) => None,
            (Some(_), NginxMode::Weighted) => Some(probe::KeyVariation::None),
            (Some(_), NginxMode::Sticky) => Some(
                probe::KeyVariation::for_key(cfg.sticky_key.as_deref())
                    .map_err(|e| anyhow::anyhow!("router.nginx.probe_url: {e}"))?,
            ),
        };
        Ok(NginxRouter {
            cfg: Arc::new(cfg),
            writing: Arc::new(tokio::sync::Mutex::new(())),
            wired: Arc::new(AtomicU8::new(UNKNOWN)),
            probe,
        })
    }

    pub fn config(&self) -> &NginxConfig {
        &self.cfg
    }

    /// Reads and interprets the include. Blocking.
    fn read(cfg: &NginxConfig) -> Result<RouterRead, RouterError> {
        let path = &cfg.include;
        let bytes = write::read_include(path)?.ok_or_else(|| {
            RouterError::Unreadable(format!(
                "{} does not exist: move your upstream there, or let `cutover set 0` write it",
                path.display()
            ))
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let inc = include::read(&text, cfg)
            .map_err(|r| RouterError::Unreadable(format!("{} {r}", path.display())))?;
        Ok(RouterRead {
            split: inc.split,
            revision: Some(revision_of(Some(&bytes))),
        })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RouterError> + Send + 'static,
) -> Result<T, RouterError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RouterError::Unavailable(format!("nginx router task failed: {e}")))?
}

/// nginx sees no workloads: readiness unknown, nothing to scale.
impl super::Workload for NginxRouter {}

#[async_trait]
impl TrafficRouter for NginxRouter {
    fn kind(&self) -> &'static str {
        "nginx"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let cfg = self.cfg.clone();
        let wired = self.wired.clone();
        blocking(move || {
            if wired.load(Ordering::Acquire) == UNKNOWN {
                learn_wiring(&cfg, &wired);
            }
            Self::read(&cfg)
        })
        .await
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        let guard = tokio::select! {
            g = self.writing.clone().lock_owned() => g,
            _ = req.cancel.cancelled() => return Err(RouterError::Cancelled),
        };
        let cfg = self.cfg.clone();
        let wired = self.wired.clone();
        blocking(move || {
            let _guard = guard;
            if wired.load(Ordering::Acquire) != WIRED
                && learn_wiring(&cfg, &wired) == Some(false)
            {
                return Err(RouterError::Rejected(format!(
                    "nginx's config does not include {}: add `include {};` in its http block (nothing was written)",
                    cfg.include.display(),
                    cfg.include.display()
                )));
            }
            write::apply(&cfg, req.split, req.expected.as_ref(), &req.cancel)
        })
        .await
    }

    async fn reconcile(&self) -> Result<Option<String>, RouterError> {
        // Behind this process's own writes, like a write.
        let guard = self.writing.clone().lock_owned().await;
        let cfg = self.cfg.clone();
        blocking(move || {
            let _guard = guard;
            loaded::reconcile(&cfg)
        })
        .await
    }

    async fn verify(&self, split: Split) -> Result<Verification, RouterError> {
        let read = self.get_split().await?;
        let (Some(url), Some(vary)) = (&self.cfg.probe_url, &self.probe) else {
            return Ok(Verification {
                ok: read.split == split,
                served: None,
                detail: format!("read back {} (no probe_url)", read.split),
            });
        };
        // A reload returns once nginx is signalled; old workers may answer
        // for about 100 ms after. Ask again until the new ones do, or give up.
        let started = Instant::now();
        let deadline = started + VERIFY_WITHIN;
        let mut rounds = 0;
        let c = loop {
            rounds += 1;
            let c = probe::count(
                url,
                self.cfg.probe_requests,
                vary,
                split,
                probe::ROUND_WITHIN,
            )
            .await
            .map_err(RouterError::Unavailable)?;
            if probe::agrees(split, &c) || Instant::now() >= deadline {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let served = c.green_pct().and_then(Split::new);
        let agrees = probe::agrees(split, &c);
        Ok(Verification {
            ok: read.split == split && agrees,
            served,
            detail: verify_detail(split, read.split, &c, agrees, rounds, started.elapsed()),
        })
    }
}

/// What a verification says, in words that cannot contradict each other:
/// what the probe counted, whether that fits `split` (with the interval),
/// and what the include reads where that differs.
fn verify_detail(
    split: Split,
    read: Split,
    c: &probe::Count,
    agrees: bool,
    rounds: u32,
    took: Duration,
) -> String {
    let share = c
        .green_pct()
        .map(|p| format!("{p}%"))
        .unwrap_or_else(|| "none answered".into());
    let mut detail = format!(
        "probe: {}/{} green ({share}) in {} ms",
        c.green,
        c.answered(),
        took.as_millis()
    );
    if c.failed + c.other > 0 {
        detail.push_str(&format!(
            ", {} failed, {} named no colour",
            c.failed, c.other
        ));
    }
    let range = probe::describe_interval(c);
    if agrees {
        detail.push_str(&format!("; fits {split} (99.9% interval {range})"));
    } else {
        detail.push_str(&format!(
            "; the data plane does not serve {split} (99.9% interval {range}) after {rounds} rounds"
        ));
    }
    if read != split {
        detail.push_str(&format!("; the include reads {read}"));
    }
    detail
}
