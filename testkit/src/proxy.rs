//! A small loopback proxy in front of Prometheus that demands a bearer
//! token and a tenant header, as Mimir or an auth proxy would, under a
//! path prefix. Debian's Prometheus has no auth of its own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct AuthProxy {
    pub addr: SocketAddr,
    /// The token the proxy accepts now (tests rotate it).
    pub token: Arc<Mutex<String>>,
    /// Requests let through and refused.
    pub seen: Arc<Mutex<(u32, u32)>>,
    task: JoinHandle<()>,
}

impl Drop for AuthProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Proxies `GET /prefix/...` to `upstream` when `Authorization: Bearer
/// <token>` and `X-Scope-OrgID: <tenant>` are present; 401 otherwise.
pub async fn start(
    upstream: String,
    prefix: &'static str,
    token: &str,
    tenant: &'static str,
) -> AuthProxy {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = Arc::new(Mutex::new(token.to_string()));
    let seen = Arc::new(Mutex::new((0, 0)));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .no_proxy()
        .build()
        .unwrap();
    let (t, s) = (token.clone(), seen.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (t, s, client, upstream) = (t.clone(), s.clone(), client.clone(), upstream.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (t, s, client, upstream) =
                        (t.clone(), s.clone(), client.clone(), upstream.clone());
                    async move {
                        Ok::<_, Infallible>(
                            handle(req, &t, &s, &client, &upstream, prefix, tenant).await,
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    AuthProxy {
        addr,
        token,
        seen,
        task,
    }
}

async fn handle(
    req: Request<Incoming>,
    token: &Mutex<String>,
    seen: &Mutex<(u32, u32)>,
    client: &reqwest::Client,
    upstream: &str,
    prefix: &str,
    tenant: &str,
) -> Response<Full<Bytes>> {
    let want = format!("Bearer {}", token.lock().unwrap());
    let auth_ok = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == want.as_bytes());
    let tenant_ok = req
        .headers()
        .get("x-scope-orgid")
        .is_some_and(|v| v.as_bytes() == tenant.as_bytes());
    let path = req.uri().path().strip_prefix(prefix).map(str::to_string);
    let (Some(path), true, true) = (path, auth_ok, tenant_ok) else {
        seen.lock().unwrap().1 += 1;
        let mut r = Response::new(Full::new(Bytes::from_static(b"unauthorized\n")));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    };
    seen.lock().unwrap().0 += 1;
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let resp = client
        .get(format!("{upstream}{path}{query}"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_string();
    let body = resp.bytes().await.unwrap_or_default();
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert("content-type", ctype.parse().unwrap());
    r
}
