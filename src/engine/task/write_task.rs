//! A router write on a task of its own: the write, a rollback's one
//! re-read after a conflict, and (for anything but a rollback) the check
//! that the data plane took it; what it reports to the engine.

use std::sync::Arc;

use super::WRITE_TIMEOUT;

use crate::router::{Applied, RouterError, TrafficRouter};

/// Why a write did not succeed, and whether traffic may have moved anyway
/// (the router took the write but did not confirm it).
#[derive(Debug)]
pub(super) struct WriteFailure {
    pub(super) error: RouterError,
    pub(super) maybe_applied: bool,
    /// Said instead of the router's error when the write was taken but the
    /// check afterwards disagreed: the router's "rejected, previous split
    /// still in force" would contradict what happened.
    pub(super) unconfirmed: Option<String>,
}

impl WriteFailure {
    pub(super) fn refused(error: RouterError) -> WriteFailure {
        WriteFailure {
            error,
            maybe_applied: false,
            unconfirmed: None,
        }
    }

    pub(super) fn text(&self) -> String {
        self.unconfirmed
            .clone()
            .unwrap_or_else(|| self.error.to_string())
    }
}

/// What the write task reports.
#[derive(Debug)]
pub(super) struct WriteDone {
    pub(super) result: Result<Applied, WriteFailure>,
    /// The data plane as `verify` saw it after the write.
    pub(super) verification: Option<crate::router::Verification>,
    /// A rollback that met a conflict re-read and wrote again: what it found.
    pub(super) retried: Option<String>,
}

/// The write itself, on a task of its own. A rollback that meets a
/// conflict re-reads once and writes again: 0 % is the safe direction
/// whoever changed the router. Any other write stops at a conflict.
pub(super) async fn write_task(
    router: Arc<dyn TrafficRouter>,
    mut req: crate::router::WriteRequest,
    rollback: bool,
) -> WriteDone {
    let to = req.split;
    let mut retried = None;
    let refused = |error| (WriteFailure::refused(error), None);
    let write = async {
        let applied = match router.set_split(req.clone()).await {
            Err(RouterError::Conflict(who)) if rollback => {
                let read = router.get_split().await.map_err(refused)?;
                retried = Some(format!("{who}; re-read {}", read.split));
                req.expected = read.revision;
                router.set_split(req).await
            }
            r => r,
        }
        // By the router's contract a refused write left the old split.
        .map_err(refused)?;
        // From here on the router took the write: a failure to confirm it
        // means traffic may have moved.
        let unconfirmed = |error: RouterError, said: String| WriteFailure {
            error,
            maybe_applied: true,
            unconfirmed: Some(said),
        };
        if applied.split != to {
            let said = format!(
                "not confirmed: the router reports {} after setting {to}",
                applied.split
            );
            return Err((unconfirmed(RouterError::Rejected(said.clone()), said), None));
        }
        // A rollback is reported as soon as the router has taken it; the
        // engine checks the data plane afterwards (`verify.rs`).
        if rollback {
            return Ok((applied, None));
        }
        let verified = router.verify(to).await.map_err(|e| {
            let said = format!("not confirmed: {e}");
            (unconfirmed(e, said), None)
        })?;
        if !verified.ok {
            let said = format!("not confirmed after setting {to}: {}", verified.detail);
            return Err((
                unconfirmed(RouterError::Unreadable(said.clone()), said),
                Some(verified),
            ));
        }
        Ok((applied, Some(verified)))
    };
    let out = tokio::time::timeout(WRITE_TIMEOUT, write).await;
    let (result, verification) = match out {
        Ok(Ok((applied, v))) => (Ok(applied), v),
        Ok(Err((failure, v))) => (Err(failure), v),
        Err(_) => (
            Err(WriteFailure {
                error: RouterError::Unavailable(format!(
                    "no answer in {}s",
                    WRITE_TIMEOUT.as_secs()
                )),
                maybe_applied: true,
                unconfirmed: None,
            }),
            None,
        ),
    };
    WriteDone {
        result,
        verification,
        retried,
    }
}
