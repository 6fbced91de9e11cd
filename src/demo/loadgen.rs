//! The load generator: real requests at a steady rate through the front
//! door, half over kept-alive connections and half over new ones, counting
//! every answer by the colour that served it (`X-Served-By`) and its status,
//! and every failure to connect or to read. What it counts is the data
//! plane's own account of a cutover, independent of router and metrics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use super::serve::SERVED_BY;
use crate::model::Color;

/// Requests per second when none is configured.
pub const DEFAULT_RPS: u32 = 200;

#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// Where requests go, e.g. `http://127.0.0.1:PORT/v1/completions`.
    pub url: String,
    pub rps: u32,
    /// Every n-th request opens a new connection; the others reuse idle ones.
    pub new_connection_every: u32,
    /// A request not answered within this is a read failure.
    pub timeout: Duration,
}

impl LoadgenConfig {
    pub fn new(url: String) -> Self {
        LoadgenConfig {
            url,
            rps: DEFAULT_RPS,
            new_connection_every: 2,
            timeout: Duration::from_secs(20),
        }
    }
}

/// What happened to the requests sent during one second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Second {
    pub blue: u64,
    pub green: u64,
    /// Answers without `X-Served-By`: nginx itself answered (502, 504...).
    pub unmarked: u64,
    /// Answers by status code.
    pub status: BTreeMap<u16, u64>,
    pub connect_failures: u64,
    pub read_failures: u64,
    /// Requests sent again after a kept-alive connection closed under them
    /// before any answer (nginx retires idle connections on a reload); a
    /// GET is idempotent, so a client may, and browsers do.
    pub retried: u64,
}

impl Second {
    /// Green's share of the answers marked with a colour, percent.
    pub fn green_share(&self) -> Option<f64> {
        let t = self.blue + self.green;
        (t > 0).then(|| self.green as f64 * 100.0 / t as f64)
    }

    /// Requests that failed for a reason other than the model's own
    /// answer: no connection, no complete answer, or an answer from the
    /// proxy instead of a pod.
    pub fn failed(&self) -> u64 {
        self.connect_failures + self.read_failures + self.unmarked
    }
}

/// Green's share of the answers received over a recent window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservedSplit {
    pub green_pct: f64,
    pub answers: u64,
    pub window: Duration,
}

impl std::fmt::Display for ObservedSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}% green ({} answers, last {}s)",
            self.green_pct,
            self.answers,
            self.window.as_secs()
        )
    }
}

/// The last answer green gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreenMark {
    /// When the request it answered was sent: when the proxy last chose green.
    pub sent: SystemTime,
    pub received: SystemTime,
}

/// Everything counted so far, by second of sending.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub seconds: Vec<Second>,
    pub last_green: Option<GreenMark>,
    recent: VecDeque<(Instant, Color)>,
}

enum Answer {
    Served {
        color: Option<Color>,
        status: u16,
        retried: bool,
    },
    ConnectFailed,
    ReadFailed,
}

impl Tally {
    fn second(&mut self, i: usize) -> &mut Second {
        if self.seconds.len() <= i {
            self.seconds.resize(i + 1, Second::default());
        }
        &mut self.seconds[i]
    }

    fn record(&mut self, second: usize, sent: SystemTime, answer: Answer) {
        let s = self.second(second);
        match answer {
            Answer::Served {
                color,
                status,
                retried,
            } => {
                s.retried += u64::from(retried);
                *s.status.entry(status).or_default() += 1;
                match color {
                    Some(Color::Blue) => s.blue += 1,
                    Some(Color::Green) => s.green += 1,
                    None => s.unmarked += 1,
                }
                if let Some(c) = color {
                    self.recent.push_back((Instant::now(), c));
                }
                if color == Some(Color::Green) {
                    let received = SystemTime::now();
                    if self.last_green.is_none_or(|m| m.sent <= sent) {
                        self.last_green = Some(GreenMark { sent, received });
                    }
                }
            }
            Answer::ConnectFailed => s.connect_failures += 1,
            Answer::ReadFailed => s.read_failures += 1,
        }
    }

    /// Green's share of the answers received in the last `window`.
    pub fn observed(&mut self, window: Duration) -> Option<ObservedSplit> {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > window)
        {
            self.recent.pop_front();
        }
        let answers = self.recent.len() as u64;
        let green = self
            .recent
            .iter()
            .filter(|(_, c)| *c == Color::Green)
            .count();
        (answers > 0).then(|| ObservedSplit {
            green_pct: green as f64 * 100.0 / answers as f64,
            answers,
            window,
        })
    }

    /// Sums every second.
    pub fn total(&self) -> Second {
        let mut t = Second::default();
        for s in &self.seconds {
            t.blue += s.blue;
            t.green += s.green;
            t.unmarked += s.unmarked;
            t.connect_failures += s.connect_failures;
            t.read_failures += s.read_failures;
            t.retried += s.retried;
            for (k, v) in &s.status {
                *t.status.entry(*k).or_default() += v;
            }
        }
        t
    }
}

/// A running load generator. Stops sending (and drops what is in flight)
/// on drop.
pub struct Loadgen {
    tally: Arc<Mutex<Tally>>,
    started: SystemTime,
    task: JoinHandle<()>,
}

/// The simulated users' clients, built apart from the cockpit's one
/// client (`crate::http`): a user waits long for an answer but gives up
/// quickly on a connection, and half of them never reuse one.
fn client(reuse: bool, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    crate::http::ensure_tls_provider();
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .no_proxy();
    if !reuse {
        // No idle connection is kept, so every request opens its own.
        b = b.pool_max_idle_per_host(0);
    }
    Ok(b.build()?)
}

impl Loadgen {
    pub fn start(config: LoadgenConfig) -> anyhow::Result<Loadgen> {
        anyhow::ensure!(config.rps > 0, "the load generator needs a rate above 0");
        let clients = [
            client(true, config.timeout)?,
            client(false, config.timeout)?,
        ];
        let tally = Arc::new(Mutex::new(Tally::default()));
        let started = SystemTime::now();
        let start = Instant::now();
        let t = tally.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / config.rps);
            // A stall is not made up with a burst.
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let mut inflight = JoinSet::new();
            let mut n: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        n += 1;
                        let fresh = n.is_multiple_of(u64::from(config.new_connection_every.max(1)));
                        let c = clients[usize::from(fresh)].clone();
                        let (url, t) = (config.url.clone(), t.clone());
                        inflight.spawn(async move {
                            let second = start.elapsed().as_secs() as usize;
                            let sent = SystemTime::now();
                            let answer = send(&c, &url, !fresh).await;
                            t.lock().unwrap_or_else(|e| e.into_inner()).record(second, sent, answer);
                        });
                    }
                    Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
                }
            }
        });
        Ok(Loadgen {
            tally,
            started,
            task,
        })
    }

    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// A copy of everything counted so far.
    pub fn tally(&self) -> Tally {
        self.tally.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Green's share of the answers received in the last `window`.
    pub fn observed(&self, window: Duration) -> Option<ObservedSplit> {
        self.tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observed(window)
    }

    /// A function that says green's share of the last `window`, cheap
    /// enough to call on every frame (the lab hands it to the cockpit's
    /// header; the fleet knows no front end).
    pub fn observer(
        &self,
        window: Duration,
    ) -> impl Fn() -> Option<String> + Send + Sync + 'static {
        let tally = self.tally.clone();
        move || {
            tally
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observed(window)
                .map(|o| o.to_string())
        }
    }
}

impl Drop for Loadgen {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request: a POST on a new connection; a GET on a kept-alive one, sent
/// once more if that connection closed before anything was answered.
async fn send(client: &reqwest::Client, url: &str, reused: bool) -> Answer {
    let mut retried = false;
    let resp = loop {
        let req = if reused {
            client.get(url)
        } else {
            client
                .post(url)
                .body("{\"prompt\":\"hello\",\"max_tokens\":8}")
        };
        match req.send().await {
            Ok(r) => break r,
            Err(e) if e.is_connect() => return Answer::ConnectFailed,
            // Closed under us without an answer (not a timeout): once.
            Err(e) if reused && !retried && !e.is_timeout() && e.is_request() => retried = true,
            Err(_) => return Answer::ReadFailed,
        }
    };
    let status = resp.status().as_u16();
    let color = match resp.headers().get(SERVED_BY).map(|v| v.as_bytes()) {
        Some(b"blue") => Some(Color::Blue),
        Some(b"green") => Some(Color::Green),
        _ => None,
    };
    // An answer counts once it has been read whole.
    match resp.bytes().await {
        Ok(_) => Answer::Served {
            color,
            status,
            retried,
        },
        Err(_) => Answer::ReadFailed,
    }
}

/// One line per second: green's share and what failed.
pub fn summary_lines(tally: &Tally) -> Vec<String> {
    tally
        .seconds
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let share = s
                .green_share()
                .map(|g| format!("{g:5.1}%"))
                .unwrap_or_else(|| "    - ".into());
            let errors: u64 = s
                .status
                .iter()
                .filter(|(k, _)| **k >= 500)
                .map(|(_, v)| v)
                .sum();
            format!(
                "data plane t+{i:>3}s: green {share} of {:>4} answers, {errors} 5xx, {} failed",
                s.blue + s.green,
                s.failed()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_by_second_and_colour() {
        let mut t = Tally::default();
        let now = SystemTime::now();
        let served = |color, status| Answer::Served {
            color,
            status,
            retried: status == 502,
        };
        t.record(0, now, served(Some(Color::Blue), 200));
        t.record(0, now, served(Some(Color::Green), 503));
        t.record(1, now, served(Some(Color::Blue), 200));
        t.record(1, now, served(None, 502));
        t.record(2, now, Answer::ConnectFailed);
        t.record(2, now, Answer::ReadFailed);
        assert_eq!(t.seconds[0].green_share(), Some(50.0));
        assert_eq!(t.seconds[1].green_share(), Some(0.0));
        assert_eq!(t.seconds[2].green_share(), None);
        let total = t.total();
        assert_eq!((total.blue, total.green, total.failed()), (2, 1, 3));
        assert_eq!(total.retried, 1);
        assert_eq!(total.status.get(&503), Some(&1));
        assert_eq!(t.last_green.map(|m| m.sent), Some(now));
        let o = t.observed(Duration::from_secs(5)).unwrap();
        assert!((o.green_pct - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(o.answers, 3);
        assert_eq!(summary_lines(&t).len(), 3);
    }
}
