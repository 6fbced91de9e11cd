//! Rollback through the cockpit against nginx's own floor.
//!
//! A real nginx on loopback (private prefix, weighted mode, two blue
//! backends and one green) and a client opening a new connection for every
//! request in a tight loop. Twenty times: the include is put at 50 % green,
//! then rolled back (a) through the engine (`Command::Rollback`, the nginx
//! router: lock, backup, fsync, rename, `nginx -t`, reload, read-back) and
//! (b) by a minimal rewrite of the same include plus `nginx -s reload`.
//! Measured from the command: the first window of 10 consecutive blue-only
//! responses, and the point after which every response is blue. The
//! cockpit's write is broken down: the engine up to the router, each step
//! of the router's write (from its detail), and verification.
//!
//!     cargo run --release --example bench_nginx_rollback

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use cutover::config::NginxConfig;
use cutover::engine::journal::Journal;
use cutover::engine::{Command, EngineOptions, Origin};
use cutover::model::{ColorReadings, NoData, Split};
use cutover::router::nginx::timing::{STEPS, Steps};
use cutover::router::nginx::{NginxRouter, include};
use cutover::router::{
    Applied, Capabilities, Readiness, RouterError, RouterRead, TrafficRouter, Verification,
    Workload, WriteRequest,
};

use cutover_testkit::nginx::{self, Mode, TestNginx};
use cutover_testkit::source::Scripted;

const ROUNDS: usize = 20;
/// Consecutive blue responses that make a blue-only window.
const WINDOW: usize = 10;

/// A source with nothing to say: the benchmark is about the router.
fn quiet() -> Scripted {
    Scripted::new("quiet", Duration::ZERO, |_| {
        (
            ColorReadings::all_no_data(NoData::Baseline),
            ColorReadings::all_no_data(NoData::Baseline),
        )
    })
}

/// When the engine handed the write to the router, when the router
/// returned, what it said, and when verification ended.
#[derive(Default, Clone)]
struct Marks {
    write_in: Option<Instant>,
    write_out: Option<Instant>,
    detail: String,
    verified: Option<Instant>,
}

/// The nginx router, with the moments of its last write noted.
struct Timed {
    inner: NginxRouter,
    marks: Arc<Mutex<Marks>>,
}

#[async_trait]
impl TrafficRouter for Timed {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        self.inner.get_split().await
    }
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        self.marks.lock().unwrap().write_in = Some(Instant::now());
        let r = self.inner.set_split(req).await;
        let mut m = self.marks.lock().unwrap();
        m.write_out = Some(Instant::now());
        if let Ok(a) = &r {
            m.detail = a.detail.clone();
        }
        r
    }
    async fn verify(&self, split: Split) -> Result<Verification, RouterError> {
        let r = self.inner.verify(split).await;
        self.marks.lock().unwrap().verified = Some(Instant::now());
        r
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

#[async_trait]
impl Workload for Timed {
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        self.inner.readiness().await
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Blue,
    Green,
    Failed,
}

type Log = Arc<Mutex<Vec<(Instant, Answer)>>>;

/// (first blue-only window, all blue) after `t0`, from the client's log.
fn measure(log: &Log, t0: Instant, t_end: Instant) -> (Duration, Duration) {
    let log = log.lock().unwrap();
    let seen: Vec<(Instant, Answer)> = log
        .iter()
        .copied()
        .filter(|(t, a)| *t >= t0 && *t <= t_end && *a != Answer::Failed)
        .collect();
    let first_window = seen
        .windows(WINDOW)
        .find(|w| w.iter().all(|(_, a)| *a == Answer::Blue))
        .map(|w| w[0].0 - t0)
        .expect("a blue-only window before the end");
    let last_green = seen.iter().rposition(|(_, a)| *a == Answer::Green);
    let all_blue = match last_green {
        None => seen.first().map(|(t, _)| *t - t0).unwrap_or_default(),
        Some(i) => seen.get(i + 1).expect("blue after the last green").0 - t0,
    };
    (first_window, all_blue)
}

/// Puts `split` in the include the minimal way and reloads.
fn minimal(n: &TestNginx, cfg: &NginxConfig, split: Split) {
    std::fs::write(&n.include, include::render(cfg, split)).unwrap();
    let reload = n.reload_command();
    let st = std::process::Command::new(&reload[0])
        .args(&reload[1..])
        .status()
        .unwrap();
    assert!(st.success());
}

fn stats(v: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mid = ms.len() / 2;
    let median = if ms.len().is_multiple_of(2) {
        (ms[mid - 1] + ms[mid]) / 2.0
    } else {
        ms[mid]
    };
    (median, *ms.last().unwrap())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if nginx::nginx_bin().is_none() {
        eprintln!("SKIPPED bench_nginx_rollback: nginx not installed");
        std::process::exit(if std::env::var_os("CUTOVER_REQUIRE_SERVERS").is_some() {
            1
        } else {
            0
        });
    }
    let n = TestNginx::start(Mode::Weighted, |blue, green| {
        format!(
            "upstream chat_model {{\n    server 127.0.0.1:{} weight=1;\n    server 127.0.0.1:{} max_fails=3 fail_timeout=10s weight=1;\n    server 127.0.0.1:{green} weight=2;\n}}\n",
            blue[0], blue[1]
        )
    });
    let config_path = n.cutover_config("");
    let config = cutover::config::load(&config_path).unwrap();
    let cutover::config::RouterConfig::Nginx(ncfg) = config.router.clone() else {
        panic!("the benchmark's config is not an nginx router")
    };
    minimal(&n, &ncfg, Split::new(50).unwrap());

    let log: Log = Arc::new(Mutex::new(Vec::with_capacity(1 << 20)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (log, stop, port) = (log.clone(), stop.clone(), n.port);
        let probe = TestNginx::request_fn(port);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let a = match probe() {
                    Some("blue") => Answer::Blue,
                    Some(_) => Answer::Green,
                    None => Answer::Failed,
                };
                log.lock().unwrap().push((t, a));
            }
        })
    };

    let mut engine = (Vec::new(), Vec::new(), Vec::new());
    let mut floor = (Vec::new(), Vec::new(), Vec::new());
    // Per step of the router's write, and around it.
    let mut steps: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    let (mut to_router, mut in_router, mut verifying) = (Vec::new(), Vec::new(), Vec::new());
    let half = Split::new(50).unwrap();
    for round in 0..ROUNDS {
        // The cockpit: a fresh engine that finds the cutover at 50 %.
        let before = n.workers();
        minimal(&n, &ncfg, half);
        n.settle(&before);
        let journal = Journal::open(&n.path(&format!("journal-{round}.jsonl"))).unwrap();
        let marks = Arc::new(Mutex::new(Marks::default()));
        let router = Arc::new(Timed {
            inner: NginxRouter::new(ncfg.clone()).unwrap(),
            marks: marks.clone(),
        });
        let (handle, task) = cutover::engine::spawn(
            &config,
            router,
            Box::new(quiet()),
            journal,
            EngineOptions::default(),
        )
        .unwrap();
        let mut rx = handle.state();
        rx.wait_for(|s| s.traffic.split == Some(half))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = n.workers();
        let t0 = Instant::now();
        handle
            .send(
                Origin::Cli,
                Command::Rollback {
                    reason: "bench".into(),
                },
            )
            .unwrap();
        rx.wait_for(|s| s.traffic.split == Some(Split::ZERO) && s.traffic.pending.is_none())
            .await
            .unwrap();
        let applied = t0.elapsed();
        let m = marks.lock().unwrap().clone();
        if let (Some(i), Some(o), Some(v)) = (m.write_in, m.write_out, m.verified) {
            to_router.push(i - t0);
            in_router.push(o - i);
            verifying.push(v - o);
        }
        let parsed = Steps::parse(&m.detail).expect("the write's steps in its detail");
        for (i, name) in STEPS.iter().enumerate() {
            if let Some(d) = parsed.get(name) {
                steps[i].push(d);
            }
        }
        n.settle(&before);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (w, b) = measure(&log, t0, Instant::now());
        engine.0.push(w);
        engine.1.push(b);
        engine.2.push(applied);
        let _ = handle.call(Origin::Cli, Command::Shutdown).await;
        let _ = task.await;

        // The floor: the same rewrite and a reload, nothing else.
        let before = n.workers();
        minimal(&n, &ncfg, half);
        n.settle(&before);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = n.workers();
        let t0 = Instant::now();
        minimal(&n, &ncfg, Split::ZERO);
        floor.2.push(t0.elapsed());
        n.settle(&before);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (w, b) = measure(&log, t0, Instant::now());
        floor.0.push(w);
        floor.1.push(b);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    client.join().unwrap();

    let total = log.lock().unwrap().len();
    let failed = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, a)| *a == Answer::Failed)
        .count();
    let (ew, ewmax) = stats(&engine.0);
    let (eb, ebmax) = stats(&engine.1);
    let (ea, eamax) = stats(&engine.2);
    let (fw, fwmax) = stats(&floor.0);
    let (fb, fbmax) = stats(&floor.1);
    let (fr, frmax) = stats(&floor.2);
    println!("nginx rollback, {ROUNDS} rounds from 50 % green, client on new connections");
    println!("                              median      max");
    println!("cockpit  first blue window  {ew:8.1} ms {ewmax:8.1} ms");
    println!("cockpit  100 % blue         {eb:8.1} ms {ebmax:8.1} ms");
    println!("cockpit  applied (engine)   {ea:8.1} ms {eamax:8.1} ms");
    let (tr, trmax) = stats(&to_router);
    println!("  engine to router         {tr:8.1} ms {trmax:8.1} ms");
    let (ir, irmax) = stats(&in_router);
    println!("  router write             {ir:8.1} ms {irmax:8.1} ms");
    for (name, took) in STEPS.iter().zip(&steps) {
        if took.is_empty() {
            println!("    {name:<22}        -  (skipped)");
        } else {
            let (m, mx) = stats(took);
            println!("    {name:<22} {m:8.1} ms {mx:8.1} ms");
        }
    }
    let (v, vmax) = stats(&verifying);
    println!("  verify (probe)           {v:8.1} ms {vmax:8.1} ms");
    println!("floor    first blue window  {fw:8.1} ms {fwmax:8.1} ms");
    println!("floor    100 % blue         {fb:8.1} ms {fbmax:8.1} ms");
    println!("floor    write + reload     {fr:8.1} ms {frmax:8.1} ms");
    println!(
        "ratio cockpit/floor (median): first window {:.2}, 100 % blue {:.2}",
        ew / fw.max(0.001),
        eb / fb.max(0.001)
    );
    println!(
        "over the floor (median): first window {:+.1} ms, 100 % blue {:+.1} ms (target <= +20 ms)",
        ew - fw,
        eb - fb
    );
    println!("requests: {total}, failed: {failed}");
}
