//! The evidence of src/stats on simulated cutovers (issue 19, point 4):
//!
//! - A/A: blue and green identical, through the plan's steps 1 → 5 → 25 →
//!   50 % (5 min each, 5 s polls, 1,000 requests per second), the evidence
//!   checked at every poll: the share of cutovers that ever alarm, with its
//!   95 % interval; the same with no-data gaps and restarts, and with the
//!   split changing in the middle of a poll's span.
//! - Regressions (error rate 0.5 % → 1.0 %, TTFT +30 %, quality −0.03) held
//!   at each step's split: median and 95th percentile time to detection,
//!   beside today's threshold guardrails on the same streams and Kayenta's
//!   Mann-Whitney judge on one-minute points at its 50-point minimum.
//!
//! `cargo run --release --example bench_evidence [-- --runs 10000 --regression-runs 1000 --seed 19]`

// The parts live beside this file, so the example keeps its one name.
#[path = "bench_evidence/judges.rs"]
mod judges;
#[path = "bench_evidence/mann_whitney.rs"]
mod mann_whitney;
#[path = "bench_evidence/sim.rs"]
mod sim;

use cutover::stats::counts::CountTest;
use cutover::stats::text::grouped;
use cutover::stats::{Counts, MinEffect};
use judges::{Evidence, KAYENTA_POINTS, Kayenta, METRICS, Thresholds};
use sim::{SAME, Sampler, Span, Truth};

const STEPS: [f64; 4] = [0.01, 0.05, 0.25, 0.50];
const POLLS_PER_STEP: usize = 60;
const POLL_SECS: f64 = 5.0;
const RPS: f64 = 1_000.0;
/// Regressions are followed for an hour at most.
const REGRESSION_POLLS: usize = 720;
const ALPHA: f64 = 0.01;

struct Args {
    runs: u32,
    regression_runs: u32,
    seed: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        runs: 10_000,
        regression_runs: 1_000,
        seed: 19,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag} {value}: not a whole number");
        match flag.as_str() {
            "--runs" => a.runs = value.parse().map_err(bad)?,
            "--regression-runs" => a.regression_runs = value.parse().map_err(bad)?,
            "--seed" => a.seed = value.parse().map_err(bad)?,
            _ => {
                return Err(format!(
                    "unknown flag {flag} (--runs, --regression-runs, --seed)"
                ));
            }
        }
    }
    Ok(a)
}

/// Wilson score interval at 95 % for `k` of `n`.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let (z, p) = (1.96, k / n);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), centre + half)
}

fn share_text(k: u32, n: u32) -> String {
    let (lo, hi) = wilson(f64::from(k), f64::from(n));
    format!(
        "{} of {} = {:.2} % [{:.2} %, {:.2} %]",
        grouped(f64::from(k)),
        grouped(f64::from(n)),
        100.0 * f64::from(k) / f64::from(n),
        100.0 * lo,
        100.0 * hi
    )
}

#[derive(Clone, Copy)]
struct Variant {
    name: &'static str,
    gaps: bool,
    mid_window: bool,
}

/// What one A/A cutover raised: evidence per metric, and thresholds.
struct AaRun {
    evidence: [bool; 3],
    thresholds: [bool; 3],
}

fn aa_run(s: &mut Sampler, v: Variant) -> AaRun {
    let polls = STEPS.len() * POLLS_PER_STEP;
    let mut ev = Evidence::new(ALPHA);
    let mut th = Thresholds::new();
    let mut out = AaRun {
        evidence: [false; 3],
        thresholds: [false; 3],
    };
    let restart_at = [10 + s.0.usize(..polls - 20), 10 + s.0.usize(..polls - 20)];
    let half_mean = RPS * POLL_SECS / 2.0;
    for p in 0..polls {
        let mut spans = [sim::empty_span(), sim::empty_span()];
        for half in 0..2 {
            // Plain: the split changes with a poll; mid-window: half a
            // poll earlier, so one increment mixes two splits.
            let h = 2 * p + half + usize::from(v.mid_window);
            let share = STEPS[(h / (2 * POLLS_PER_STEP)).min(STEPS.len() - 1)];
            spans[0].add(&s.span(half_mean * (1.0 - share), &SAME));
            spans[1].add(&s.span(half_mean * share, &SAME));
        }
        let missing = if v.gaps {
            [s.0.f64() < 0.05, s.0.f64() < 0.10]
        } else {
            [false; 2]
        };
        let restarted = if v.gaps {
            [p == restart_at[0], p == restart_at[1]]
        } else {
            [false; 2]
        };
        for (seen, now) in
            out.evidence
                .iter_mut()
                .zip(ev.poll([&spans[0], &spans[1]], missing, restarted))
        {
            *seen |= now;
        }
        for (seen, now) in out
            .thresholds
            .iter_mut()
            .zip(th.poll([&spans[0], &spans[1]]))
        {
            *seen |= now;
        }
    }
    out
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "plain",
        gaps: false,
        mid_window: false,
    },
    Variant {
        name: "no-data gaps (5 % blue, 10 % green polls) + a restart per colour",
        gaps: true,
        mid_window: false,
    },
    Variant {
        name: "split change mid-window",
        gaps: false,
        mid_window: true,
    },
    Variant {
        name: "gaps + restarts + split change mid-window",
        gaps: true,
        mid_window: true,
    },
];

/// Alarms counted over runs: any metric, then each.
#[derive(Default)]
struct Tally {
    any: u32,
    per: [u32; 3],
}

impl Tally {
    fn add(&mut self, alarms: [bool; 3]) {
        self.any += u32::from(alarms.iter().any(|b| *b));
        for (n, b) in self.per.iter_mut().zip(alarms) {
            *n += u32::from(b);
        }
    }

    fn row(&self, name: &str, runs: u32) -> String {
        let cells: Vec<String> = std::iter::once(self.any)
            .chain(self.per)
            .map(|k| share_text(k, runs))
            .collect();
        format!("| {name} | {} |", cells.join(" | "))
    }
}

fn aa_table(a: &Args) {
    println!(
        "## A/A: green identical to blue, 1 → 5 → 25 → 50 % (5 min each), checked every 5 s poll"
    );
    println!();
    println!(
        "Evidence at α = {ALPHA} over 3 metrics (Bonferroni: {:.4} each): share of cutovers that ever alarm, 95 % Wilson interval.",
        ALPHA / 3.0
    );
    println!();
    println!("| scenario | any metric | error rate | TTFT | quality |");
    println!("|---|---|---|---|---|");
    let mut thresholds = Tally::default();
    for (i, v) in VARIANTS.iter().enumerate() {
        let mut s = Sampler(fastrand::Rng::with_seed(a.seed + i as u64));
        let mut evidence = Tally::default();
        for _ in 0..a.runs {
            let r = aa_run(&mut s, *v);
            evidence.add(r.evidence);
            if i == 0 {
                thresholds.add(r.thresholds);
            }
        }
        println!("{}", evidence.row(v.name, a.runs));
    }
    println!();
    println!(
        "Today's threshold guardrails (defaults) on the plain A/A streams: share of cutovers rolled back."
    );
    println!();
    println!("| | any metric | error rate | TTFT p99 | quality |");
    println!("|---|---|---|---|---|");
    println!("{}", thresholds.row("thresholds", a.runs));
    println!();
}

/// Times to detection (seconds; `None`: not within the hour) and
/// Kayenta's verdicts at 50 minutes, over the runs of one cell.
struct Cell {
    evidence: Vec<Option<f64>>,
    thresholds: Vec<Option<f64>>,
    kayenta: u32,
}

fn regression_cell(s: &mut Sampler, runs: u32, share: f64, metric: usize, green: Truth) -> Cell {
    let mut cell = Cell {
        evidence: vec![],
        thresholds: vec![],
        kayenta: 0,
    };
    let poll_mean = RPS * POLL_SECS;
    for _ in 0..runs {
        let (mut ev, mut th, mut ka) = (Evidence::new(ALPHA), Thresholds::new(), Kayenta::new());
        let (mut te, mut tt) = (None, None);
        for p in 0..REGRESSION_POLLS {
            let spans: [Span; 2] = [
                s.span(poll_mean * (1.0 - share), &SAME),
                s.span(poll_mean * share, &green),
            ];
            let at = (p + 1) as f64 * POLL_SECS;
            if te.is_none() && ev.poll([&spans[0], &spans[1]], [false; 2], [false; 2])[metric] {
                te = Some(at);
            }
            if tt.is_none() && th.poll([&spans[0], &spans[1]])[metric] {
                tt = Some(at);
            }
            if let Some(v) = ka.poll([&spans[0], &spans[1]]) {
                cell.kayenta += u32::from(v[metric]);
            }
            if te.is_some() && tt.is_some() && p + 1 >= KAYENTA_POINTS * 12 {
                break;
            }
        }
        cell.evidence.push(te);
        cell.thresholds.push(tt);
    }
    cell
}

/// The q-quantile of detection times, undetected runs counted as never.
fn quantile_text(times: &[Option<f64>], q: f64) -> String {
    let mut t: Vec<f64> = times.iter().map(|t| t.unwrap_or(f64::INFINITY)).collect();
    t.sort_by(f64::total_cmp);
    let v = t[((q * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
    if v.is_finite() {
        cutover::format::age(std::time::Duration::from_secs_f64(v))
    } else {
        "> 60m".into()
    }
}

fn detected(times: &[Option<f64>]) -> String {
    let k = times.iter().filter(|t| t.is_some()).count();
    format!("{:.0} %", 100.0 * k as f64 / times.len() as f64)
}

fn regression_tables(a: &Args) {
    let regressions = [
        (
            "error rate 0.5 % → 1.0 % (min_effect +0.5pt)",
            0,
            Truth {
                errors: 0.010,
                ..SAME
            },
        ),
        (
            "TTFT mean +30 % (299 → 389 ms, min_effect +30%)",
            1,
            Truth {
                ttft_scale: 1.3,
                ..SAME
            },
        ),
        (
            "quality 0.85 → 0.82 (min_effect 0.03)",
            2,
            Truth {
                quality_shift: -0.03,
                ..SAME
            },
        ),
    ];
    for (r, (name, metric, green)) in regressions.iter().enumerate() {
        println!(
            "## Regression: {name}, green held at each split, {} runs per split",
            grouped(f64::from(a.regression_runs))
        );
        println!();
        println!(
            "| split | evidence median | evidence p95 | detected in 1 h | thresholds median | thresholds p95 | detected in 1 h | Mann-Whitney at 50 min (50 points) |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (i, share) in STEPS.iter().enumerate() {
            let mut s = Sampler(fastrand::Rng::with_seed(
                a.seed * 1000 + (r * 10 + i) as u64,
            ));
            let c = regression_cell(&mut s, a.regression_runs, *share, *metric, *green);
            println!(
                "| {:.0} % | {} | {} | {} | {} | {} | {} | {:.0} % flagged (at 50m) |",
                share * 100.0,
                quantile_text(&c.evidence, 0.5),
                quantile_text(&c.evidence, 0.95),
                detected(&c.evidence),
                quantile_text(&c.thresholds, 0.5),
                quantile_text(&c.thresholds, 0.95),
                detected(&c.thresholds),
                100.0 * f64::from(c.kayenta) / f64::from(a.regression_runs),
            );
        }
        println!();
        if *metric == 0 {
            countdown_line();
        }
    }
}

/// What the gate's countdown would say before green's first request:
/// the green requests (and time) until a +0.5 pt regression would be seen
/// at each split, beside the medians measured above.
fn countdown_line() {
    let mut t = CountTest::new(MinEffect::Points(0.5));
    // blue's rate known from its own history: 0.5 % of a million requests
    t.update(
        Counts {
            requests: 1e6,
            events: 5e3,
        },
        Counts::default(),
    );
    let said: Vec<String> = STEPS
        .iter()
        .map(|share| {
            let n = t.needed(*share, ALPHA / 3.0).unwrap();
            let time = n.time_at(RPS * share).unwrap();
            format!(
                "{:.0} %: {} green requests, {}",
                share * 100.0,
                grouped(n.green_requests),
                cutover::format::age(time)
            )
        })
        .collect();
    println!("The countdown's estimate beforehand: {}.", said.join("; "));
    println!();
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_evidence: {e}");
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    println!(
        "# Evidence benchmark (seed {}, metrics: {})",
        a.seed,
        METRICS.join(", ")
    );
    println!();
    if a.runs > 0 {
        aa_table(&a);
    }
    if a.regression_runs > 0 {
        regression_tables(&a);
    }
    println!("({:.0} s)", started.elapsed().as_secs_f64());
}
