//! The Kubernetes objects the tests put in the stand-in API server: blue
//! and green Deployments and each mode's object, in namespace [`NS`].

use serde_json::{Value, json};

pub const NS: &str = "ml";

pub fn deployment(name: &str, replicas: u64, ready: u64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": name, "namespace": NS },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": "chat-model" } } },
        "status": { "replicas": replicas, "readyReplicas": ready },
    })
}

pub fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "chat-model", "namespace": NS },
        "spec": { "selector": { "app": "chat-model", "track": "blue" }, "ports": [ { "port": 80 } ] },
    })
}

pub fn canary_ingress() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": { "name": "chat-model-canary", "namespace": NS, "annotations": {
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "0",
            "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
            "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
        } },
        "spec": { "ingressClassName": "nginx" },
    })
}

pub fn httproute() -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": { "name": "chat-model", "namespace": NS },
        "spec": {
            "parentRefs": [ { "name": "web" } ],
            "rules": [
                { "matches": [ { "path": { "type": "PathPrefix", "value": "/admin" } } ],
                  "backendRefs": [ { "name": "chat-model-admin", "port": 80 } ] },
                { "backendRefs": [
                    { "name": "chat-model-blue", "port": 8080, "weight": 100 },
                    { "name": "chat-model-green", "port": 8080, "weight": 0 } ] },
            ],
        },
    })
}
