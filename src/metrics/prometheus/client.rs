//! The Prometheus HTTP API over the project's one HTTP client: the
//! `prometheus-http-query` crate does the requests and the JSON; this adds
//! the per-request headers (a rotated token is re-read), the source
//! timeout on every query, and the mapping of failures to *no data*.

use std::time::Duration;

use anyhow::Context;
use prometheus_http_query::response::Data;
use prometheus_http_query::{Client, Error};

use super::body::Answer;
use crate::config::PrometheusConfig;
use crate::http::{HttpClient, error_chain as chain};
use crate::model::NoData;

pub struct PromClient {
    api: Client,
    http: HttpClient,
    timeout: Duration,
    /// The base URL, for messages (it holds no secret: the config refuses
    /// none, but credentials go in headers, never in the URL we print).
    url: String,
}

impl PromClient {
    pub fn new(cfg: &PrometheusConfig, timeout: Duration) -> anyhow::Result<PromClient> {
        let http = HttpClient::build(&cfg.http_options(timeout)?)
            .context("source.prometheus: the HTTP client")?;
        // The crate joins `api/v1/...` to the base path with a `/`: a
        // trailing slash would make it `//api`.
        let url = cfg.url.trim_end_matches('/').to_string();
        let api = Client::from(http.client().clone(), &url)
            .with_context(|| format!("source.prometheus.url `{url}`"))?;
        Ok(PromClient {
            api,
            http,
            timeout,
            url,
        })
    }

    pub fn insecure(&self) -> bool {
        self.http.insecure()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// An instant query at the server's now. Never longer than the timeout.
    pub async fn instant(&self, promql: &str) -> Result<Data, NoData> {
        let headers = self.headers()?;
        let mut q = self
            .api
            .query(promql)
            // Prometheus stops evaluating when we stop waiting.
            .timeout(self.timeout.as_millis() as i64);
        for (k, v) in &headers {
            q = q.header(k.clone(), v.clone());
        }
        self.bounded(q.get_raw()).await
    }

    /// A range query over `[start, end]` (unix seconds) every `step`.
    pub async fn range(
        &self,
        promql: &str,
        start: i64,
        end: i64,
        step: f64,
    ) -> Result<Data, NoData> {
        let headers = self.headers()?;
        let mut q = self
            .api
            .query_range(promql, start, end, step)
            .timeout(self.timeout.as_millis() as i64);
        for (k, v) in &headers {
            q = q.header(k.clone(), v.clone());
        }
        self.bounded(q.get_raw()).await
    }

    fn headers(&self) -> Result<reqwest::header::HeaderMap, NoData> {
        self.http
            .headers()
            .map_err(|e| NoData::Other(format!("credentials: {e:#}")))
    }

    /// The request and the reading of its answer, together within the
    /// timeout; the answer is read with a cap (see [`super::body`]).
    async fn bounded(
        &self,
        f: impl Future<Output = Result<reqwest::Response, Error>>,
    ) -> Result<Data, NoData> {
        let answer = async {
            let resp = f.await.map_err(|e| failure(&e))?;
            super::body::read(resp, &self.url).await
        };
        match tokio::time::timeout(self.timeout, answer).await {
            Err(_) => Err(NoData::Timeout(format!(
                "no answer from Prometheus within {}",
                crate::format::span(self.timeout)
            ))),
            Ok(Ok(Answer::Result(r))) => Ok(r.into_inner().0),
            Ok(Ok(Answer::Refused(e))) => Err(failure(&Error::Prometheus(e))),
            Ok(Err(no_data)) => Err(no_data),
        }
    }
}

/// A failed query as *no data*: Prometheus' own words for a query error,
/// the transport's for an unreachable or failing server.
pub fn failure(e: &Error) -> NoData {
    match e {
        // `errorType: error`, word for word (e.g. `bad_data: 1:5: parse
        // error: unexpected ...`).
        Error::Prometheus(p) if p.is_timeout() => NoData::Timeout(p.to_string()),
        Error::Prometheus(p) => NoData::Other(p.to_string()),
        Error::Client(c) => match c.inner() {
            Some(r) if r.is_timeout() => NoData::Timeout(chain(r)),
            Some(r) => match r.status() {
                Some(s) => NoData::Unreachable(format!("HTTP {s}")),
                None if r.is_connect() => NoData::Unreachable(connect_reason(r)),
                None => NoData::Unreachable(format!("{c}: {}", chain(r))),
            },
            None => NoData::Unreachable(c.to_string()),
        },
        other => NoData::Other(other.to_string()),
    }
}

fn connect_reason(r: &reqwest::Error) -> String {
    let text = chain(r);
    if text.contains("Connection refused") {
        "connection refused".into()
    } else {
        format!("cannot connect: {text}")
    }
}
