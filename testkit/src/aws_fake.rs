//! A small in-process stand-in for an AWS API, for the paths moto does not
//! emulate faithfully (FACTS.md): a Lambda alias whose `RevisionId`
//! changes and is checked, a SageMaker endpoint that stays `Updating` for
//! a while, API Gateway canary settings, throttling. The test gives the
//! handler; the fake serves it on 127.0.0.1 and logs every request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// `x-amz-target`, for JSON-RPC services.
    pub target: Option<String>,
    pub authorization: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

/// What the handler answers: status, `x-amzn-ErrorType` (if any), other
/// headers, body.
pub struct Answer {
    pub status: u16,
    pub error_type: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

impl Call {
    /// The header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Answer {
    pub fn ok(body: serde_json::Value) -> Answer {
        Answer {
            status: 200,
            error_type: None,
            headers: Vec::new(),
            body,
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Answer {
        Answer {
            status,
            error_type: Some(code.to_string()),
            headers: Vec::new(),
            body: serde_json::json!({ "message": message }),
        }
    }

    /// With the header `name: value` too.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.to_string()));
        self
    }
}

type Handler = dyn Fn(&Call) -> Answer + Send + Sync;

pub struct FakeAws {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    task: JoinHandle<()>,
}

impl Drop for FakeAws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAws {
    pub async fn start(handler: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> FakeAws {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = calls.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (h, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (h, log) = (h.clone(), log.clone());
                        async move { Ok::<_, Infallible>(serve(req, &*h, &log).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeAws { addr, calls, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client of this fake, in us-east-1, with the test keys.
    pub fn client(&self) -> cutover::aws::AwsClient {
        let aws = cutover::config::AwsConfig {
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.url()),
            ..Default::default()
        };
        cutover::aws::AwsClient::with_credentials(&aws, crate::moto::credentials()).unwrap()
    }

    /// The requests so far, as `METHOD /path` or `POST Target`.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
            .into_iter()
            .map(|c| match c.target {
                Some(t) => format!("{} {t}", c.method),
                None => format!("{} {}", c.method, c.path),
            })
            .collect()
    }

    /// The requests so far, whole.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn serve(
    req: Request<Incoming>,
    h: &Handler,
    log: &Mutex<Vec<Call>>,
) -> Response<Full<Bytes>> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (target, authorization) = (header("x-amz-target"), header("authorization"));
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let bytes = req.into_body().collect().await.map(|b| b.to_bytes());
    let body = bytes
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let call = Call {
        method,
        path,
        target,
        authorization,
        headers,
        body,
    };
    let answer = h(&call);
    log.lock().unwrap().push(call);
    let mut r = Response::new(Full::new(Bytes::from(answer.body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(answer.status).unwrap();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(t) = answer.error_type {
        r.headers_mut()
            .insert("x-amzn-errortype", t.parse().unwrap());
    }
    for (name, value) in answer.headers {
        r.headers_mut().insert(name, value.parse().unwrap());
    }
    r
}

/// SageMaker's answer to an update while the endpoint is not `InService`.
pub fn update_in_progress() -> Answer {
    Answer::error(
        400,
        "ValidationException",
        "Cannot update in-progress endpoint",
    )
}

/// The blue and green weights an `UpdateEndpointWeightsAndCapacities`
/// asks for (blue's variant first, as the router sends them).
pub fn desired_weights(call: &Call) -> (f64, f64) {
    let d = &call.body["DesiredWeightsAndCapacities"];
    (
        d[0]["DesiredWeight"].as_f64().unwrap(),
        d[1]["DesiredWeight"].as_f64().unwrap(),
    )
}
