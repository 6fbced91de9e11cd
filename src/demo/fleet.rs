//! The simulated fleet: pods of each colour serving `/metrics`, and a
//! traffic generator that follows the shared split on every tick.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::SharedSplit;
use super::server::{self, Page, Render};
use super::sim::{Behaviour, GreenHistory, Rng};
use super::stats::PodStats;
use crate::config::Scenario;
use crate::model::{Color, Split};

/// How often the generator produces traffic.
pub const TICK: Duration = Duration::from_millis(100);
/// A stall longer than this is not made up for with a burst.
const MAX_TICK: Duration = Duration::from_secs(1);

type Pods = Vec<Arc<Mutex<PodStats>>>;

/// A running simulated fleet. Stops its tasks on drop.
pub struct Fleet {
    scenario: Scenario,
    urls: [Vec<String>; 2],
    page: Page,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Starts `pods` simulated pods per colour and a traffic generator of `rps` requests/s
    /// split by `split` (read on every tick, so traffic follows the router at once).
    pub async fn start(
        scenario: Scenario,
        rps: u32,
        pods: usize,
        split: SharedSplit,
    ) -> anyhow::Result<Fleet> {
        Self::start_on(scenario, rps, pods, split, None).await
    }

    /// As [`Fleet::start`], with the pods on consecutive ports from
    /// `base_port` (blue's first, then green's) so that a Prometheus scrape
    /// config can name them; `None` takes any free ports.
    pub async fn start_on(
        scenario: Scenario,
        rps: u32,
        pods: usize,
        split: SharedSplit,
        base_port: Option<u16>,
    ) -> anyhow::Result<Fleet> {
        anyhow::ensure!(pods > 0, "a demo fleet needs at least one pod per colour");
        let mut next_port = base_port;
        let mut fleet = Fleet {
            scenario,
            urls: [Vec::new(), Vec::new()],
            page: Page::default(),
            tasks: Vec::new(),
        };
        let mut stats: [Pods; 2] = [Vec::new(), Vec::new()];
        for color in Color::BOTH {
            for _ in 0..pods {
                let pod = Arc::new(Mutex::new(PodStats::default()));
                let port = next_port.unwrap_or(0);
                next_port = next_port.map(|p| p.saturating_add(1));
                let (addr, task) = server::serve_on(pod.clone(), fleet.page.clone(), port)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
                fleet.tasks.push(task);
                fleet.urls[color.index()].push(format!("http://{addr}/metrics"));
                stats[color.index()].push(pod);
            }
        }
        let mut generator = Generator::new(scenario, rps, stats, 0x5EED_0000 + scenario as u64);
        // Quality gauges have a value before the first scrape.
        generator.tick(split.get(), Duration::ZERO);
        fleet.tasks.push(super::serve::every(TICK, move |dt| {
            generator.tick(split.get(), dt)
        }));
        Ok(fleet)
    }

    /// The `/metrics` URLs of a colour's pods, e.g. `http://127.0.0.1:PORT/metrics`.
    pub fn urls(&self, color: Color) -> Vec<String> {
        self.urls[color.index()].clone()
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// Has every pod serve a model server's page (`None`: the fleet's own
    /// families), from its next answer on.
    pub fn serve_page(&self, render: Option<Render>) {
        self.page.set(render);
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Turns elapsed time into simulated requests and records them.
struct Generator {
    scenario: Scenario,
    rps: u64,
    pods: [Pods; 2],
    history: GreenHistory,
    rng: Rng,
    /// Requests owed, in millionths (carries fractions between ticks).
    owed_micro: u64,
    /// Green's share owed, in hundredths of a request.
    green_owed: u64,
    /// Next pod of each colour for round-robin.
    next_pod: [usize; 2],
}

impl Generator {
    fn new(scenario: Scenario, rps: u32, pods: [Pods; 2], seed: u64) -> Self {
        Generator {
            scenario,
            rps: u64::from(rps),
            pods,
            history: GreenHistory::default(),
            rng: Rng::new(seed),
            owed_micro: 0,
            green_owed: 0,
            next_pod: [0, 0],
        }
    }

    /// Simulates `dt` of traffic under `split`.
    fn tick(&mut self, split: Split, dt: Duration) {
        let dt = dt.min(MAX_TICK);
        self.history.advance(split, dt);
        self.owed_micro += self.rps * dt.as_micros() as u64;
        let total = self.owed_micro / 1_000_000;
        self.owed_micro %= 1_000_000;
        // Proportional and exact at the ends: 0 % gives green nothing (the
        // carry stays below one request), 100 % gives it everything.
        self.green_owed += total * u64::from(split.green());
        let green = self.green_owed / 100;
        self.green_owed %= 100;
        for (color, count) in [(Color::Blue, total - green), (Color::Green, green)] {
            let behaviour = Behaviour::of(self.scenario, color, &self.history);
            let c = color.index();
            let pods = &self.pods[c];
            let k = pods.len();
            let start = self.next_pod[c];
            for (j, pod) in pods.iter().enumerate() {
                // Requests start..start+count go round-robin: pod j's share.
                let offset = (j + k - start) as u64 % k as u64;
                let share = count / k as u64 + u64::from(offset < count % k as u64);
                let mut stats = pod.lock().unwrap_or_else(|e| e.into_inner());
                for _ in 0..share {
                    stats.record(behaviour.sample(&mut self.rng));
                }
                stats.llm.settle(dt);
                stats.quality = behaviour.quality_reading(&mut self.rng);
            }
            self.next_pod[c] = (start + (count % k as u64) as usize) % k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_with(pods: usize, rps: u32, scenario: Scenario) -> Generator {
        let mk = || {
            (0..pods)
                .map(|_| Arc::new(Mutex::new(PodStats::default())))
                .collect()
        };
        Generator::new(scenario, rps, [mk(), mk()], 1)
    }

    fn counts(g: &Generator, color: Color) -> Vec<u64> {
        g.pods[color.index()]
            .iter()
            .map(|p| p.lock().unwrap().count)
            .collect()
    }

    fn split(v: u8) -> Split {
        Split::new(v).unwrap()
    }

    #[test]
    fn carries_fractions_and_round_robins() {
        let mut g = gen_with(3, 15, Scenario::Healthy);
        for _ in 0..10 {
            g.tick(Split::ZERO, TICK); // 1.5 requests per tick
        }
        assert_eq!(counts(&g, Color::Blue), vec![5, 5, 5]);
        assert_eq!(counts(&g, Color::Green), vec![0, 0, 0]);
    }

    #[test]
    fn split_ends_are_exact_and_middle_is_proportional() {
        let mut g = gen_with(2, 400, Scenario::Healthy);
        for _ in 0..10 {
            g.tick(split(0), TICK);
        }
        assert_eq!(counts(&g, Color::Green).iter().sum::<u64>(), 0);
        for _ in 0..10 {
            g.tick(split(5), TICK);
        }
        assert_eq!(counts(&g, Color::Green).iter().sum::<u64>(), 20);
        let blue_before: u64 = counts(&g, Color::Blue).iter().sum();
        for _ in 0..10 {
            g.tick(split(100), TICK);
        }
        assert_eq!(counts(&g, Color::Blue).iter().sum::<u64>(), blue_before);
        assert_eq!(counts(&g, Color::Green), vec![210, 210]);
        assert!(g.pods[1][0].lock().unwrap().quality > 0.8);
    }

    #[test]
    fn long_stall_is_capped() {
        let mut g = gen_with(1, 100, Scenario::Healthy);
        g.tick(Split::ZERO, Duration::from_secs(60));
        assert_eq!(counts(&g, Color::Blue), vec![100]);
    }
}
