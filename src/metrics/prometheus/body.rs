//! Reading Prometheus' answer with a cap. The `prometheus-http-query` crate
//! reads a whole body into memory before parsing it, so a server answering
//! 55 MB to every query would cost the cockpit that much per poll; the
//! body is read here, chunk by chunk, and refused past the same cap as a
//! scrape target's ([`MAX_BODY`]), then handed to the crate's own types.

use prometheus_http_query::error::PrometheusError;
use prometheus_http_query::response::PromqlResult;
use serde::Deserialize;

use crate::model::NoData;

/// The largest answer read from Prometheus: the scrape source's cap. A
/// cutover's queries return a handful of series; more is a query that
/// selects far too much (or a server that is not Prometheus).
pub const MAX_BODY: usize = crate::metrics::scrape::MAX_BODY;

/// The API's envelope, as the crate reads it: `status` says which.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Envelope {
    Success { data: PromqlResult },
    Error(PrometheusError),
}

/// What a query's answer became: the result, Prometheus' own error, or
/// *no data* naming what was wrong with the answer.
pub enum Answer {
    Result(PromqlResult),
    Refused(PrometheusError),
}

fn too_big(url: &str) -> NoData {
    NoData::Other(format!(
        "{url}: Prometheus answered more than {} MB, not read (the query selects too many series)",
        MAX_BODY / (1024 * 1024)
    ))
}

/// Reads and decodes one answer, never more than [`MAX_BODY`] of it.
pub async fn read(mut resp: reqwest::Response, url: &str) -> Result<Answer, NoData> {
    let status = resp.status();
    let json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        // Prometheus answers its errors as JSON too: anything else is a
        // proxy's page or another server.
        return Err(NoData::Unreachable(if status.is_success() {
            format!("{url}: the answer is not JSON (is this Prometheus?)")
        } else {
            format!("HTTP {status}")
        }));
    }
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big(url));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| reading_failed(url, &e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big(url));
        }
        body.extend_from_slice(&chunk);
    }
    decode(&body, url)
}

/// The body as the API's envelope.
pub fn decode(body: &[u8], url: &str) -> Result<Answer, NoData> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope::Success { data }) => Ok(Answer::Result(data)),
        Ok(Envelope::Error(e)) => Ok(Answer::Refused(e)),
        Err(e) => Err(NoData::Other(format!(
            "{url}: not a Prometheus API answer: {e}"
        ))),
    }
}

fn reading_failed(url: &str, e: &reqwest::Error) -> NoData {
    if e.is_timeout() {
        NoData::Timeout(format!("{url}: the answer did not arrive in time"))
    } else {
        NoData::Unreachable(format!("{url}: the answer broke off: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_error_envelopes_decode() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(matches!(decode(ok, "u"), Ok(Answer::Result(r)) if r.data().as_vector().is_some()));
        let err = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        match decode(err, "u") {
            Ok(Answer::Refused(e)) => assert!(e.to_string().contains("parse error")),
            _ => panic!("an error envelope"),
        }
        match decode(b"<html>", "http://p") {
            Err(NoData::Other(t)) => assert!(t.contains("not a Prometheus API answer"), "{t}"),
            _ => panic!("garbage is no data"),
        }
    }
}
