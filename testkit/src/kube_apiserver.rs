//! A stand-in Kubernetes API server for tests: no kube-apiserver can be
//! installed on these machines. It serves, over real HTTP on 127.0.0.1, the
//! few paths the router uses, and behaves as the API server does where the
//! router depends on it:
//!
//! - objects are kept as Kubernetes JSON; `resourceVersion` comes from one
//!   counter and increments on every write;
//! - a merge or strategic-merge patch carrying a stale
//!   `metadata.resourceVersion` gets 409 Conflict;
//! - a JSON Patch whose `test` op fails gets 422;
//! - merge patches follow RFC 7386 (a list is replaced whole), JSON Patches
//!   RFC 6902, strategic merge merges lists of named objects by `name`
//!   (custom resources refuse it with 415, as the real server does);
//! - 401 without the bearer token, 403 for a verb forbidden by the test,
//!   404 for a missing object;
//! - `deployments/{name}/scale` reads and patches an autoscaling/v1 Scale;
//! - a test can inject a status (a 500) for the next N requests of a verb,
//!   and a controller that rewrites an object before every PATCH of it;
//! - each write records its field manager (`?fieldManager=`) in
//!   `managedFields` with an increasing time.
//!
//! What it does not do: field-level ownership in `managedFields`, watches,
//! lists, admission, server-side apply, real controllers (a scale changes
//! `status` at once). Every request is logged, so tests count round trips.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const TOKEN: &str = "stand-in-token-7f3a";

type Key = (String, String, String); // (resource, namespace, name)

/// A controller's edit, made before every PATCH of its object.
type Edit = Arc<dyn Fn(&mut Value) + Send + Sync>;

#[derive(Default)]
struct Store {
    objects: HashMap<Key, Value>,
    rv: u64,
    forbidden: HashSet<(String, String)>, // (verb, resource[/sub])
    /// (verb, resource[/sub], status code, how many more times)
    failing: Vec<(String, String, u16, u32)>,
    /// Objects a controller rewrites before every PATCH: (manager, edit).
    controllers: HashMap<Key, (String, Edit)>,
    log: Vec<String>,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiServer {
    pub async fn start() -> ApiServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = Arc::new(Mutex::new(Store::default()));
        let s = store.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&s, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        ApiServer { addr, store, task }
    }

    /// Writes a kubeconfig with two contexts: `elsewhere` (the current one,
    /// pointing at a closed port, namespace `wrong`) and `standin` (this
    /// server, namespace `namespace`, the bearer token).
    pub fn kubeconfig(&self, dir: &Path, namespace: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1
kind: Config
current-context: elsewhere
clusters:
- name: standin
  cluster:
    server: http://{addr}
- name: elsewhere
  cluster:
    server: http://127.0.0.1:9
contexts:
- name: standin
  context:
    cluster: standin
    user: cockpit
    namespace: {namespace}
- name: elsewhere
  context:
    cluster: elsewhere
    user: cockpit
    namespace: wrong
users:
- name: cockpit
  user:
    token: {TOKEN}
",
            addr = self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Stores `object` (its kind picks the resource) with a fresh version.
    pub fn put(&self, object: Value) {
        let mut s = self.store.lock().unwrap();
        let resource = plural(object["kind"].as_str().unwrap());
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap()
            .to_string();
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        let mut object = object;
        s.rv += 1;
        object["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        s.objects.insert((resource, ns, name), object);
    }

    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Value {
        let s = self.store.lock().unwrap();
        s.objects[&(resource.into(), ns.into(), name.into())].clone()
    }

    /// Someone else's write (`kubectl edit`, a controller), as `manager`.
    pub fn edit(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        manager: &str,
        f: impl FnOnce(&mut Value),
    ) {
        let mut s = self.store.lock().unwrap();
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let mut object = s.objects[&key].clone();
        f(&mut object);
        commit(&mut s, key, object, manager);
    }

    /// Makes `verb` on `resource` (e.g. `patch`, `httproutes` or
    /// `deployments/scale`) answer 403.
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.store
            .lock()
            .unwrap()
            .forbidden
            .insert((verb.into(), resource.into()));
    }

    /// Makes the next `times` requests of `verb` on `resource` answer
    /// `code` (e.g. 500) without touching anything.
    pub fn fail_next(&self, verb: &str, resource: &str, code: u16, times: u32) {
        self.store
            .lock()
            .unwrap()
            .failing
            .push((verb.into(), resource.into(), code, times));
    }

    /// Makes `verb` on `resource` answer `code` (500: an API server in
    /// trouble) until [`ApiServer::heal`].
    pub fn fail(&self, verb: &str, resource: &str, code: u16) {
        self.fail_next(verb, resource, code, u32::MAX);
    }

    /// Ends every failure injected for `verb` on `resource`.
    pub fn heal(&self, verb: &str, resource: &str) {
        self.store
            .lock()
            .unwrap()
            .failing
            .retain(|f| !(f.0 == verb && f.1 == resource));
    }

    /// A controller that rewrites the object as `manager` before every
    /// PATCH of it (its own reconcile loop winning every race), so every
    /// conditional write is stale by the time it arrives.
    pub fn controller(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        manager: &str,
        edit: impl Fn(&mut Value) + Send + Sync + 'static,
    ) {
        self.store.lock().unwrap().controllers.insert(
            (resource.into(), ns.into(), name.into()),
            (manager.into(), Arc::new(edit)),
        );
    }

    /// The requests so far (`GET services/chat-model`), and clears the log.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.store.lock().unwrap().log)
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "Service" => "services",
        "Ingress" => "ingresses",
        "HTTPRoute" => "httproutes",
        "Deployment" => "deployments",
        other => panic!("the stand-in does not keep {other}"),
    }
    .to_string()
}

/// Stores a write: next resourceVersion, and the manager in managedFields
/// with a time that orders writes.
fn commit(s: &mut Store, key: Key, mut object: Value, manager: &str) -> Value {
    s.rv += 1;
    let rv = s.rv;
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    let time = format!(
        "2026-01-01T{:02}:{:02}:{:02}Z",
        (rv / 3600) % 24,
        (rv / 60) % 60,
        rv % 60
    );
    let entry = json!({
        "manager": manager, "operation": "Update", "apiVersion": object["apiVersion"],
        "time": time, "fieldsType": "FieldsV1", "fieldsV1": {},
    });
    let fields = object["metadata"]
        .as_object_mut()
        .unwrap()
        .entry("managedFields")
        .or_insert(json!([]));
    let list = fields.as_array_mut().unwrap();
    list.retain(|e| e["manager"] != manager);
    list.push(entry);
    s.objects.insert(key, object.clone());
    object
}

fn status(code: StatusCode, reason: &str, message: String) -> Response<Full<Bytes>> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    reply(code, &body)
}

fn reply(code: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// `(resource, namespace, name, subresource)` of an object path.
fn route(path: &str) -> Option<(String, String, String, Option<String>)> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match seg.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        ["namespaces", ns, res, name] => {
            Some((res.to_string(), ns.to_string(), name.to_string(), None))
        }
        ["namespaces", ns, res, name, sub] => Some((
            res.to_string(),
            ns.to_string(),
            name.to_string(),
            Some(sub.to_string()),
        )),
        _ => None,
    }
}

fn scale_view(d: &Value) -> Value {
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": d["metadata"]["name"], "namespace": d["metadata"]["namespace"],
            "resourceVersion": d["metadata"]["resourceVersion"],
        },
        "spec": { "replicas": d["spec"]["replicas"].as_u64().unwrap_or(1) },
        "status": { "replicas": d["status"]["replicas"].as_u64().unwrap_or(0) },
    })
}

async fn handle(store: &Mutex<Store>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut s = store.lock().unwrap();
    let Some((res, ns, name, sub)) = route(&path) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no route {path}"),
        );
    };
    let full_res = match &sub {
        Some(sub) => format!("{res}/{sub}"),
        None => res.clone(),
    };
    s.log.push(format!("{method} {full_res}/{name}"));
    if !authorized {
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized".into(),
        );
    }
    let verb = match method.as_str() {
        "GET" => "get",
        "PATCH" => "patch",
        m => {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("{m} is not served by the stand-in"),
            );
        }
    };
    if s.forbidden.contains(&(verb.to_string(), full_res.clone())) {
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "{res} \"{name}\" is forbidden: User \"system:serviceaccount:{ns}:cutover\" \
                 cannot {verb} resource \"{full_res}\" in API group \"\" in the namespace \"{ns}\""
            ),
        );
    }
    if let Some(f) = s
        .failing
        .iter_mut()
        .find(|f| f.0 == verb && f.1 == full_res && f.3 > 0)
    {
        f.3 -= 1;
        let code = StatusCode::from_u16(f.2).unwrap();
        return status(
            code,
            "InternalError",
            format!(
                "an error on the server (\"injected {}\") has prevented the request from succeeding",
                f.2
            ),
        );
    }
    let key = (res.clone(), ns.clone(), name.clone());
    let ctl = s.controllers.get(&key).cloned();
    if verb == "patch"
        && let Some((manager, edit)) = ctl
        && let Some(before) = s.objects.get(&key).cloned()
    {
        // A controller with nothing to change writes nothing.
        let mut object = before.clone();
        edit(&mut object);
        if object != before {
            commit(&mut s, key.clone(), object, &manager);
        }
    }
    let Some(current) = s.objects.get(&key).cloned() else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{res} \"{name}\" not found"),
        );
    };
    let is_scale = match sub.as_deref() {
        None => false,
        Some("scale") if res == "deployments" => true,
        Some(other) => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no subresource {other}"),
            );
        }
    };
    let view = if is_scale {
        scale_view(&current)
    } else {
        current.clone()
    };
    if verb == "get" {
        return reply(StatusCode::OK, &view);
    }
    let manager = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldManager="))
        .unwrap_or("unknown")
        .to_string();
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the patch is not JSON".into(),
        );
    };
    let conflict = || {
        status(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {res} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again"
            ),
        )
    };
    let mut patched = view.clone();
    match content_type.as_str() {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            if res == "httproutes" && content_type.starts_with("application/strategic") {
                return status(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    "strategic merge patch is not supported for custom resources".into(),
                );
            }
            if let Some(rv) = patch.pointer("/metadata/resourceVersion")
                && *rv != view["metadata"]["resourceVersion"]
            {
                return conflict();
            }
            if content_type.starts_with("application/strategic") {
                strategic_merge(&mut patched, &patch);
            } else {
                json_patch::merge(&mut patched, &patch);
            }
        }
        "application/json-patch+json" => {
            let ops: json_patch::Patch = match serde_json::from_value(patch) {
                Ok(p) => p,
                Err(e) => return status(StatusCode::BAD_REQUEST, "BadRequest", e.to_string()),
            };
            if let Err(e) = json_patch::patch(&mut patched, &ops) {
                return status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                );
            }
        }
        other => {
            return status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other})"
                ),
            );
        }
    }
    if patched["metadata"]["name"] != view["metadata"]["name"] {
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            "metadata.name is immutable".into(),
        );
    }
    if is_scale {
        let n = patched["spec"]["replicas"].as_u64().unwrap_or(0);
        let mut d = current;
        d["spec"]["replicas"] = json!(n);
        // No controller here: status follows at once, and ready replicas
        // never exceed the new count.
        let ready = d["status"]["readyReplicas"].as_u64().unwrap_or(0).min(n);
        d["status"]["replicas"] = json!(n);
        d["status"]["readyReplicas"] = json!(ready);
        let d = commit(&mut s, key, d, &manager);
        reply(StatusCode::OK, &scale_view(&d))
    } else {
        let object = commit(&mut s, key, patched, &manager);
        reply(StatusCode::OK, &object)
    }
}

/// Strategic merge as the API server applies it to the built-in types used
/// here: maps merge, `null` deletes, lists of objects with a `name` merge by
/// name, other lists are replaced.
fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (Value::Array(t), Value::Array(p))
            if p.iter().all(|e| e.get("name").is_some())
                && t.iter().all(|e| e.get("name").is_some()) =>
        {
            for item in p {
                match t.iter_mut().find(|e| e["name"] == item["name"]) {
                    Some(existing) => strategic_merge(existing, item),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
