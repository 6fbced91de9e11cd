//! What the API server's answers mean for a router call, and who changed an
//! object: the newest `managedFields` entry names the field manager
//! (`kubectl-edit`, `argocd-controller`, another cockpit) and when.

use kube::core::ObjectMeta;

use crate::router::RouterError;

/// How a failed call ended, by the API server's status code.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 409 on a stale `resourceVersion`, 422 on a failed JSON Patch `test`:
    /// the object is not what the write was conditioned on.
    Conflict(String),
    /// Anything else, already mapped.
    Other(RouterError),
}

/// Maps a kube error of a call on `what` (e.g. `Service ml/chat-model`).
/// `writing`: after a refused write the previous state is still in force.
pub fn classify(what: &str, writing: bool, e: kube::Error) -> Failure {
    match e {
        kube::Error::Api(status) => {
            let msg = clean(&status.message);
            match status.code {
                409 | 422 => Failure::Conflict(msg),
                401 => Failure::Other(RouterError::Unavailable(format!(
                    "{what}: not authenticated (401): {msg}; check the kubeconfig's credentials"
                ))),
                403 => {
                    let text = format!(
                        "{what}: forbidden (403): {msg}; the Role in assets/kubernetes/rbac.yaml \
                         lists what the cockpit needs"
                    );
                    Failure::Other(if writing {
                        RouterError::Rejected(text)
                    } else {
                        RouterError::Unreadable(text)
                    })
                }
                404 => {
                    let text = format!("{what} not found (404): {msg}");
                    Failure::Other(if writing {
                        RouterError::Rejected(text)
                    } else {
                        RouterError::Unreadable(text)
                    })
                }
                400 | 415 => Failure::Other(RouterError::Rejected(format!(
                    "{what}: the API server refused the request ({}): {msg}",
                    status.code
                ))),
                code => Failure::Other(RouterError::Unavailable(format!(
                    "{what}: API server answered {code}: {msg}"
                ))),
            }
        }
        other => Failure::Other(RouterError::Unavailable(format!(
            "{what}: {}",
            clean(&other.to_string())
        ))),
    }
}

/// Who changed an object last, from its `managedFields`: the entry with the
/// newest time. `None` when the server keeps no managed fields.
pub fn last_manager(meta: &ObjectMeta) -> Option<String> {
    let entries = meta.managed_fields.as_ref()?;
    let newest = entries
        .iter()
        .filter(|e| e.manager.is_some())
        .max_by_key(|e| e.time.as_ref().map(|t| t.0))?;
    let manager = clean(newest.manager.as_deref().unwrap_or_default());
    let op = newest.operation.as_deref().unwrap_or("write");
    Some(match &newest.time {
        Some(t) => format!("`{manager}` ({op} at {})", t.0),
        None => format!("`{manager}` ({op})"),
    })
}

/// Text from the cluster (names, server messages) with control characters
/// escaped, so it cannot drive the terminal it is shown on.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
