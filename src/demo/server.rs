//! The `/metrics` HTTP server of one simulated pod.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::stats::PodStats;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes a pod's counters as a model server's `/metrics` page. The pages
/// of real servers (vLLM's) are written in `crate::metrics`, above this
/// layer, which hands them down.
pub type Render = Arc<dyn Fn(&PodStats) -> String + Send + Sync>;

/// The page every pod of a fleet serves: the fleet's own families
/// ([`PodStats::render`]) until a server's page is set, which the pods
/// follow from their next answer on (their counters are the same).
#[derive(Clone, Default)]
pub struct Page(Arc<RwLock<Option<Render>>>);

impl Page {
    pub fn set(&self, render: Option<Render>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = render;
    }

    pub fn render(&self, stats: &PodStats) -> String {
        match &*self.0.read().unwrap_or_else(|e| e.into_inner()) {
            Some(render) => render(stats),
            None => {
                let mut body = String::with_capacity(2048);
                stats.render(&mut body);
                body
            }
        }
    }
}

/// Binds `127.0.0.1:0` and serves `stats` on `GET /metrics` until the
/// returned task is aborted (which also ends its open connections).
pub async fn serve(
    stats: Arc<Mutex<PodStats>>,
    page: Page,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_on(stats, page, 0).await
}

/// As [`serve`], on `127.0.0.1:port` (0: any free port). A fixed port lets
/// a Prometheus scrape config name the pod in advance.
pub async fn serve_on(
    stats: Arc<Mutex<PodStats>>,
    page: Page,
    port: u16,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_http(port, move |req| respond(req, stats.clone(), page.clone())).await
}

/// Binds `127.0.0.1:port` (0: any free port) and answers every request on
/// every connection with `handler`, until the returned task is aborted.
/// Shared by the `/metrics` pods here and the serving pods of the stack.
pub async fn serve_http<F, Fut>(
    port: u16,
    handler: F,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        // Dropped with this task when it is aborted: aborts every connection.
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let handler = handler.clone();
                    conns.spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service_fn(handler))
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok((addr, task))
}

async fn respond(
    req: Request<Incoming>,
    stats: Arc<Mutex<PodStats>>,
    page: Page,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return Ok(resp);
    }
    Ok(metrics_response(&stats, &page))
}

/// A pod's counters in the text exposition format, as `/metrics` answers.
pub fn metrics_response(stats: &Mutex<PodStats>, page: &Page) -> Response<Full<Bytes>> {
    let snapshot = stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let body = page.render(&snapshot);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    resp
}
