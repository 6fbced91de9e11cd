//! The `scrape` metric source: reads Prometheus text from each pod's
//! `/metrics` directly, without a Prometheus server, and computes each
//! metric's formula (quantile, ratio, rate, gauge, cost) per colour from
//! the differences between polls.
//!
//! - `exposition`: one body → samples of the watched names
//!   (prometheus-parse, reading names with `:` through a stand-in, its
//!   other blind spots reported as warnings);
//! - `watch`: the selectors the specs read, and a pod's samples summed
//!   into them (cumulative totals);
//! - `window`: per-colour history, baselines, counter resets, deltas;
//! - `histogram`: bucket maths and the `histogram_quantile` estimate;
//! - `evaluate`: one formula over totals and deltas;
//! - `readings`: every spec → one colour's readings;
//! - `tally`: a spec's cumulative totals over the pods, for the tests;
//! - `legacy`: today's three over `[source.scrape]`'s names;
//! - `vllm`, `tgi`, `triton`: a model server's `/metrics` page written
//!   from given values (fixtures, the demo fleet).

pub mod check;
mod evaluate;
mod exposition;
mod histogram;
#[cfg(test)]
mod histogram_props;
pub mod legacy;
mod readings;
mod tally;
mod text;
pub mod tgi;
pub mod triton;
pub mod vllm;
mod watch;
mod window;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_trait::async_trait;
use futures_util::future::{join, join_all};

use crate::config::ScrapeConfig;
use crate::http::HttpClient;
use crate::metricspec::{MetricSpec, Selector};
use crate::model::{Color, ColorReadings, NoData, Reading, Snapshot};

use super::MetricSource;
use watch::Watch;
use window::{Progress, Window};

pub use exposition::{Parsed, Sample, Value, parse, parse_where};
pub use histogram::{Bucket, Quantile, quantile};

/// What fetching one target gave: its body, or why there is none.
pub type TargetResult = Result<String, NoData>;

/// Scrapes every pod of both colours on each poll.
pub struct ScrapeSource {
    client: HttpClient,
    /// The metrics computed, in the order of the readings.
    specs: Vec<MetricSpec>,
    watch: Watch,
    /// The counters the request rate comes from (`rps`, and the request
    /// count `min_requests` is held against).
    requests: Option<Vec<Selector>>,
    /// Indexed like `windows`: blue, then green.
    targets: [Vec<String>; 2],
    windows: [Window; 2],
}

impl ScrapeSource {
    /// `cfg` gives the targets and how to reach them; `specs` what to
    /// compute (a spec without a formula reads *not configured*; each
    /// spec's `min_requests` applies to formulas that count requests).
    /// `timeout` per HTTP request; `window`: rates/quantiles over this much
    /// history (at least the previous poll).
    pub fn new(
        cfg: &ScrapeConfig,
        specs: &[MetricSpec],
        timeout: Duration,
        window: Duration,
    ) -> anyhow::Result<Self> {
        for (color, urls) in [(Color::Blue, &cfg.blue), (Color::Green, &cfg.green)] {
            if urls.is_empty() {
                bail!("scrape: {color} has no /metrics URLs");
            }
            for u in urls {
                reqwest::Url::parse(u).with_context(|| format!("scrape: bad {color} URL {u:?}"))?;
            }
        }
        // The one client builder (no proxy: pods are scraped on their own
        // addresses), with the section's TLS and auth keys.
        let client = HttpClient::build(&cfg.http_options(timeout)?)
            .context("source.scrape: the HTTP client")?;
        let specs = legacy::base_names(specs);
        Ok(ScrapeSource {
            client,
            watch: Watch::new(&specs),
            requests: readings::request_counters(&specs),
            specs,
            targets: [cfg.blue.clone(), cfg.green.clone()],
            windows: [Window::new(window), Window::new(window)],
        })
    }

    /// The `/metrics` URLs of a colour, in the order `ingest` expects.
    pub fn targets(&self, c: Color) -> &[String] {
        &self.targets[c.index()]
    }

    /// Turns fetched bodies (one per target, in [`Self::targets`] order)
    /// into a snapshot taken at `at`. This is everything `poll` does after
    /// the network, exposed so it can be measured and tested without it.
    pub fn ingest(
        &mut self,
        blue: &[TargetResult],
        green: &[TargetResult],
        at: Instant,
    ) -> Snapshot {
        let (blue, blue_span) = self.color(Color::Blue, blue, at);
        let (green, green_span) = self.color(Color::Green, green, at);
        Snapshot {
            at,
            wall: std::time::SystemTime::now(),
            // The colours share one window unless one's history restarted
            // (failure, reset); then the longer span is what the rates shown
            // cover. Each colour's own span is in its readings: the gate
            // judges each colour on its own.
            window: blue_span.max(green_span),
            blue,
            green,
        }
    }

    fn color(
        &mut self,
        c: Color,
        results: &[TargetResult],
        at: Instant,
    ) -> (ColorReadings, Duration) {
        let i = c.index();
        let window = &mut self.windows[i];
        let targets = &self.targets[i];
        let failed = |why: NoData| {
            let mut r = ColorReadings::all_no_data(why.clone());
            r.metrics = vec![Reading::NoData(why); self.specs.len()];
            r
        };
        if results.len() != targets.len() {
            window.clear();
            let why = format!("{} bodies for {} {c} targets", results.len(), targets.len());
            return (failed(NoData::Other(why)), Duration::ZERO);
        }
        let mut warnings = Vec::new();
        let mut failure: Option<NoData> = None;
        let mut pods = Vec::with_capacity(results.len());
        for (url, result) in targets.iter().zip(results) {
            let outcome = result
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|body| self.watch.read(url, body).map_err(NoData::Parse))
                .and_then(|p| watched(url, p, &self.watch));
            match outcome {
                Ok(p) => {
                    warnings.extend(p.warnings);
                    pods.push(p.totals);
                }
                // The first failure is the reason; the others are listed.
                Err(why) if failure.is_none() => failure = Some(why),
                Err(why) => warnings.push(why.to_string()),
            }
        }
        if let Some(why) = failure {
            // Sums over fewer pods would look like a counter reset, or hide
            // one, so the history starts again when all pods answer.
            window.clear();
            let mut r = failed(why);
            r.warnings = warnings;
            return (r, Duration::ZERO);
        }
        let progress = window.record(at, pods);
        let span = match &progress {
            Progress::Delta(d) => d.span,
            _ => Duration::ZERO,
        };
        let inputs = evaluate::Inputs {
            watch: &self.watch,
            color: c,
            current: window.latest(),
            progress: &progress,
        };
        let mut r = readings::color_readings(&self.specs, &inputs, self.requests.as_deref());
        r.warnings = warnings;
        (r, span)
    }
}

/// A pod that answers 200 but holds none of the series we watch (an empty
/// body, a proxy's placeholder page, the wrong port) is not up: counting it
/// would let the first step open on a green that serves no metrics.
fn watched(url: &str, p: watch::PodScrape, watch: &Watch) -> Result<watch::PodScrape, NoData> {
    if p.totals.any() {
        return Ok(p);
    }
    // Specs that read nothing from a scrape (a PromQL query only) cannot
    // tell a placeholder page from a pod.
    let names = watch.names();
    if names.is_empty() {
        return Ok(p);
    }
    Err(NoData::Missing(format!(
        "{url} answered without any of {}",
        names.join(", ")
    )))
}

#[async_trait]
impl MetricSource for ScrapeSource {
    fn kind(&self) -> &'static str {
        // As the Prometheus source says it: the header shows the warning.
        if self.client.insecure() {
            "scrape (TLS NOT VERIFIED: insecure_skip_verify)"
        } else {
            "scrape"
        }
    }

    async fn poll(&mut self) -> Snapshot {
        // Every pod of both colours at once: a poll takes as long as the
        // slowest target, bounded by the client timeout.
        let (blue, green) = join(
            fetch_all(&self.client, &self.targets[0]),
            fetch_all(&self.client, &self.targets[1]),
        )
        .await;
        let at = Instant::now();
        self.ingest(&blue, &green, at)
    }
}

async fn fetch_all(client: &HttpClient, urls: &[String]) -> Vec<TargetResult> {
    join_all(urls.iter().map(|u| fetch(client, u))).await
}

async fn fetch(client: &HttpClient, url: &str) -> TargetResult {
    // A token file that cannot be read is no data for this poll, never a
    // request without the token.
    let headers = client
        .headers()
        .map_err(|e| NoData::Other(format!("{url}: credentials: {e:#}")))?;
    let resp = client
        .client()
        .get(url)
        .headers(headers)
        .send()
        .await
        .map_err(|e| classify(url, &e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(NoData::Unreachable(format!(
            "{url}: HTTP {}",
            status.as_u16()
        )));
    }
    read_capped(resp, url).await
}

/// The largest body read from a target. A metrics page of a few services
/// is well under 1 MB; a target sending more is misconfigured (or
/// hostile), and reading it whole would cost the poll its time and memory.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Reads the body chunk by chunk, stopping as soon as it passes
/// [`MAX_BODY`]: *no data (body over N MB)*, never a truncated parse.
async fn read_capped(mut resp: reqwest::Response, url: &str) -> TargetResult {
    let too_big = || NoData::Other(format!("{url}: body over {} MB", MAX_BODY / (1024 * 1024)));
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(url, &e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Names a failed request the way an on-call engineer wants to read it:
/// timeout, or the innermost cause (`connection refused`, a DNS error),
/// rather than reqwest's outer "error sending request".
fn classify(url: &str, e: &reqwest::Error) -> NoData {
    if e.is_timeout() {
        return NoData::Timeout(url.to_string());
    }
    let mut cause: &dyn std::error::Error = e;
    let mut refused = false;
    while let Some(next) = cause.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            if io.kind() == std::io::ErrorKind::TimedOut {
                return NoData::Timeout(url.to_string());
            }
        }
        cause = next;
    }
    let what = if refused {
        "connection refused".to_string()
    } else {
        cause.to_string()
    };
    NoData::Unreachable(format!("{url}: {what}"))
}
