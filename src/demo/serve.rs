//! The serving fleet: pods that answer real inference requests
//! (`POST`/`GET /v1/completions`) after the latency their scenario draws,
//! fail at its error rate, name their colour in `X-Served-By`, and count on
//! `/metrics` only what they actually served. The statistical generator is
//! off here: green's exposure (what drives the degrading scenario) is the
//! share of requests green really received, measured over the last second.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::server::{Page, Render};
use super::sim::{Behaviour, GreenHistory, Rng};
use super::stats::PodStats;
use crate::config::Scenario;
use crate::model::{Color, Split};

/// How often exposure is measured and the quality gauges refreshed.
pub const TICK: Duration = Duration::from_millis(100);
/// Exposure is green's share of the requests received over this many ticks.
const EXPOSURE_TICKS: usize = 10;
/// A task that calls `f` every `period` with the time since the last call
/// (late ticks are skipped, not bunched).
pub fn every(period: Duration, mut f: impl FnMut(Duration) + Send + 'static) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut last = Instant::now();
        loop {
            let now = interval.tick().await;
            f(now.saturating_duration_since(last));
            last = now;
        }
    })
}

/// The response header naming the colour that answered.
pub const SERVED_BY: &str = "x-served-by";

/// What every pod shares: the scenario state and the request counts that
/// measure green's exposure.
struct Shared {
    scenario: Scenario,
    history: GreenHistory,
    rng: Rng,
    /// Requests received in the current tick, by colour.
    received: [u64; 2],
    /// Requests received in each of the last ticks, by colour.
    recent: std::collections::VecDeque<[u64; 2]>,
    /// When green's behaviour first became worse than healthy.
    failing_since: Option<SystemTime>,
}

impl Shared {
    fn behaviour(&self, color: Color) -> Behaviour {
        Behaviour::of(self.scenario, color, &self.history)
    }

    /// Green's share of the requests received over the exposure window,
    /// rounded to a percent; no requests at all is 0 %.
    fn exposure(&self) -> Split {
        let (mut g, mut t) = (0u64, 0u64);
        for [b, gr] in &self.recent {
            g += gr;
            t += b + gr;
        }
        if t == 0 {
            return Split::ZERO;
        }
        Split::new(((g * 100 + t / 2) / t) as u8).unwrap_or(Split::ZERO)
    }

    /// Closes one tick: measures exposure, advances green's history, and
    /// notes the instant green starts to fail.
    fn tick(&mut self, dt: Duration, healthy: Behaviour) {
        self.recent.push_back(std::mem::take(&mut self.received));
        while self.recent.len() > EXPOSURE_TICKS {
            self.recent.pop_front();
        }
        let exposure = self.exposure();
        self.history.advance(exposure, dt);
        if self.failing_since.is_none() && self.behaviour(Color::Green) != healthy {
            let now = SystemTime::now();
            self.failing_since = Some(now);
            tracing::info!(
                target: "cutover::fleet",
                "green starts to fail at {} (exposure {exposure})",
                humantime::format_rfc3339_millis(now)
            );
        }
    }
}

struct Pod {
    color: Color,
    stats: Mutex<PodStats>,
    page: Page,
    shared: Arc<Mutex<Shared>>,
}

/// A running serving fleet. Stops its servers on drop.
pub struct ServingFleet {
    addrs: [Vec<SocketAddr>; 2],
    page: Page,
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServingFleet {
    /// Starts `pods` serving pods per colour on `127.0.0.1` with free ports.
    pub async fn start(scenario: Scenario, pods: usize) -> anyhow::Result<ServingFleet> {
        anyhow::ensure!(
            pods > 0,
            "a serving fleet needs at least one pod per colour"
        );
        let shared = Arc::new(Mutex::new(Shared {
            scenario,
            history: GreenHistory::default(),
            rng: Rng::new(0x5E2F_0000 + scenario as u64),
            received: [0, 0],
            recent: Default::default(),
            failing_since: None,
        }));
        let mut fleet = ServingFleet {
            addrs: [Vec::new(), Vec::new()],
            page: Page::default(),
            shared: shared.clone(),
            tasks: Vec::new(),
        };
        let mut all = Vec::new();
        for color in Color::BOTH {
            for _ in 0..pods {
                let pod = Arc::new(Pod {
                    color,
                    stats: Mutex::new(PodStats::default()),
                    shared: shared.clone(),
                    page: fleet.page.clone(),
                });
                let (addr, task) = serve(pod.clone()).await?;
                fleet.tasks.push(task);
                fleet.addrs[color.index()].push(addr);
                all.push(pod);
            }
        }
        let healthy = Behaviour::of(scenario, Color::Green, &GreenHistory::default());
        refresh_gauges(&all, Duration::ZERO);
        fleet.tasks.push(every(TICK, move |dt| {
            let dt = dt.min(Duration::from_secs(1));
            lock(&shared).tick(dt, healthy);
            refresh_gauges(&all, dt);
        }));
        Ok(fleet)
    }

    /// `host:port` of a colour's pods.
    pub fn addrs(&self, color: Color) -> &[SocketAddr] {
        &self.addrs[color.index()]
    }

    /// The `/metrics` URLs of a colour's pods.
    pub fn metrics_urls(&self, color: Color) -> Vec<String> {
        self.addrs(color)
            .iter()
            .map(|a| format!("http://{a}/metrics"))
            .collect()
    }

    /// Has every pod serve a model server's page (`None`: the fleet's own
    /// families), from its next answer on.
    pub fn serve_page(&self, render: Option<Render>) {
        self.page.set(render);
    }

    /// When green's scenario started to make it fail, if it has.
    pub fn failing_since(&self) -> Option<SystemTime> {
        lock(&self.shared).failing_since
    }

    /// Green's exposure now: its share of requests over the last second.
    pub fn exposure(&self) -> Split {
        lock(&self.shared).exposure()
    }
}

impl Drop for ServingFleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The quality gauges, and the load gauges over the last `dt`.
fn refresh_gauges(pods: &[Arc<Pod>], dt: Duration) {
    let mut shared = lock(&pods[0].shared);
    for pod in pods {
        let b = shared.behaviour(pod.color);
        let q = b.quality_reading(&mut shared.rng);
        let mut stats = lock(&pod.stats);
        stats.quality = q;
        stats.llm.settle(dt);
    }
}

/// Binds `127.0.0.1:0` and serves the pod until the task is aborted.
async fn serve(pod: Arc<Pod>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    super::server::serve_http(0, move |req| respond(req, pod.clone())).await
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp
}

async fn respond(
    req: Request<Incoming>,
    pod: Arc<Pod>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => Ok(super::server::metrics_response(&pod.stats, &pod.page)),
        (&Method::GET | &Method::POST, "/v1/completions") => {
            // The prompt is read (so keep-alive works) and not interpreted.
            let _ = req.into_body().collect().await;
            Ok(complete(&pod).await)
        }
        _ => Ok(text(StatusCode::NOT_FOUND, "not found\n")),
    }
}

/// Serves one completion: draws it when it arrives, answers after its
/// latency, and counts it only once answered.
async fn complete(pod: &Pod) -> Response<Full<Bytes>> {
    let sample = {
        let mut shared = lock(&pod.shared);
        shared.received[pod.color.index()] += 1;
        let b = shared.behaviour(pod.color);
        b.sample(&mut shared.rng)
    };
    tokio::time::sleep(Duration::from_secs_f64(sample.latency_s)).await;
    lock(&pod.stats).record(sample);
    let color = pod.color.name();
    let (status, body) = match sample.code {
        200 => (
            StatusCode::OK,
            format!(
                "{{\"object\":\"text_completion\",\"served_by\":\"{color}\",\"choices\":[{{\"text\":\"ok\"}}]}}\n"
            ),
        ),
        code => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("{{\"error\":\"simulated {code}\",\"served_by\":\"{color}\"}}\n"),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(SERVED_BY, HeaderValue::from_static(color));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(scenario: Scenario) -> Shared {
        Shared {
            scenario,
            history: GreenHistory::default(),
            rng: Rng::new(1),
            received: [0, 0],
            recent: Default::default(),
            failing_since: None,
        }
    }

    #[test]
    fn exposure_follows_what_green_received() {
        let mut s = shared(Scenario::Degrading);
        let healthy = s.behaviour(Color::Green);
        for _ in 0..10 {
            s.received = [19, 1];
            s.tick(TICK, healthy);
        }
        assert_eq!(s.exposure().green(), 5);
        assert!(s.failing_since.is_none());
        for _ in 0..10 {
            s.received = [15, 5];
            s.tick(TICK, healthy);
        }
        assert_eq!(s.exposure().green(), 25);
        assert!(s.failing_since.is_some(), "degrading starts at 25 % served");
    }

    #[test]
    fn healthy_never_fails_and_idle_is_zero() {
        let mut s = shared(Scenario::Healthy);
        let healthy = s.behaviour(Color::Green);
        assert_eq!(s.exposure(), Split::ZERO);
        for _ in 0..30 {
            s.received = [0, 20];
            s.tick(TICK, healthy);
        }
        assert_eq!(s.exposure().green(), 100);
        assert!(s.failing_since.is_none());
    }
}
