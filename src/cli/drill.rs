//! `cutover drill`: a rollback rehearsed against the configured router
//! (the embedded demo when none is configured). Each run sets a small
//! split through the engine, waits until the router (with its verify) and,
//! where the source shows request rates, the observed split confirm it,
//! then rolls back through the very path a real rollback takes and reads
//! the engine's measured times. Every record a drill writes has origin
//! `drill`, so no drill is ever remembered as a rollback of green.

use std::time::{Duration, Instant};

use crate::app::Running;
use crate::config::Config;
use crate::engine::journal::ZERO_EPSILON;
use crate::engine::{Command, EngineHandle, Origin, RollbackTimes, State};
use crate::model::Split;

use crate::console::say;

/// What was asked on the command line.
#[derive(Debug, Clone, Copy)]
pub struct DrillOptions {
    pub times: u32,
    /// Green's share during each run; default: the plan's first step.
    pub split: Option<u8>,
    /// Run even while green has traffic (a cutover may be in progress) or
    /// was rolled back.
    pub force: bool,
}

/// Exit status of a drill that refused to start (as for other refusals).
pub const DRILL_REFUSED: u8 = 2;

/// How long the first read of the router may take.
const FIRST_READ: Duration = Duration::from_secs(15);

/// One run's figures.
#[derive(Debug, Clone)]
struct Run {
    times: RollbackTimes,
}

/// Runs the drill on a started engine and stops it. Exit 0 when every run
/// rolled back, 1 when one failed (the runs before it are reported).
pub async fn drill(running: Running, config: &Config, opts: DrillOptions) -> anyhow::Result<u8> {
    let code = drill_on(&running.handle, config, opts).await;
    running.stop().await;
    code
}

async fn drill_on(
    handle: &EngineHandle,
    config: &Config,
    opts: DrillOptions,
) -> anyhow::Result<u8> {
    let s = super::headless::router_answered(handle, FIRST_READ).await;
    let Some(now_split) = s.traffic.split else {
        let why = match &s.traffic.router_error {
            Some(e) => e.clone(),
            None => format!("no answer in {}", crate::format::span(FIRST_READ)),
        };
        anyhow::bail!("drill: cannot read the router's split: {why}");
    };
    if now_split.green() > 0 && !opts.force {
        say(format!(
            "cutover drill: refused: green has {}% of the traffic, so a cutover may be in \
             progress and a drill would end it with a rollback. Pass --force to drill anyway.",
            now_split.green()
        ));
        return Ok(DRILL_REFUSED);
    }
    if let Some(why) = rolled_back(&s, opts.force) {
        say(why);
        return Ok(DRILL_REFUSED);
    }
    let pct = opts.split.unwrap_or(config.plan.steps[0]);
    let split = Split::new(pct).ok_or_else(|| anyhow::anyhow!("--split {pct} is not 1 to 100"))?;
    say(format!(
        "drill: {} runs on the {} router ({}): {split} green, confirmed, then rolled back{}",
        opts.times,
        s.router_kind,
        s.service,
        match config.plan.rollback_sla {
            Some(sla) => format!("; rollback_sla {}", figure(sla)),
            None => String::new(),
        }
    ));
    let rates = source_shows_rates(&mut handle.state(), config, &s).await;
    let mut runs = Vec::new();
    // Listening from the first run to the last, so a signal between two
    // runs is not lost: SIGINT, SIGTERM (a supervisor) and SIGHUP (a
    // closed terminal) all stop a drill the same way.
    let stop = crate::signals::any_stop();
    tokio::pin!(stop);
    for i in 1..=opts.times {
        let run = tokio::select! {
            r = one_run(handle, config, split, rates, i, opts.times) => r,
            sig = &mut stop => {
                let said = roll_back_stopped(handle, config, &sig, i, opts.times).await;
                say(format!("drill {i}/{}: {sig}; {said}", opts.times));
                summary(handle, &runs, opts.times, config.source.window).await;
                return Ok(sig.code);
            }
        };
        match run {
            Ok(run) => runs.push(run),
            Err(e) => {
                say(format!("drill {i}/{}: FAILED: {e}", opts.times));
                summary(handle, &runs, opts.times, config.source.window).await;
                return Ok(if runs.is_empty() && e.starts_with("refused") {
                    DRILL_REFUSED
                } else {
                    1
                });
            }
        }
    }
    summary(handle, &runs, opts.times, config.source.window).await;
    Ok(0)
}

/// A drill stopped mid-run by a signal: green may have the drill's
/// traffic, and a drill never leaves it there. Says how the rollback went.
async fn roll_back_stopped(
    handle: &EngineHandle,
    config: &Config,
    sig: &crate::signals::Stop,
    i: u32,
    times: u32,
) -> String {
    // Stopped mid-run: green may have the drill's traffic. A
    // drill never leaves it there.
    let asked = handle.call(
        Origin::Drill,
        Command::Rollback {
            reason: format!("drill {i}/{times} {sig}"),
        },
    );
    // A failing rollback is answered only once it lands: wait
    // as a one-shot rollback does, and a second signal ends it.
    tokio::select! {
        r = tokio::time::timeout(config.safety.rollback_retry_for, asked) => match r {
            Ok(Ok(m)) => format!("rolled back: {m}"),
                        Ok(Err(m)) => format!("rolled back: {m}"),
            Err(_) => format!(
                "ROLLBACK NOT LANDED after {}: green may still have the drill's traffic",
                crate::format::span(config.safety.rollback_retry_for)
            ),
        },
        again = crate::signals::any_stop() => format!(
            "ROLLBACK NOT LANDED: {again} while it was retried; green may still have the drill's traffic"
        ),
    }
}

/// Whether the source shows request rates, so the traffic at 0 % can be
/// timed; says so either way.
async fn source_shows_rates(
    rx: &mut tokio::sync::watch::Receiver<std::sync::Arc<State>>,
    config: &Config,
    s: &State,
) -> bool {
    // Rates need a poll or two: whether the source can show the split at
    // all is known once they had time to arrive.
    let settle = config.source.interval * 3 + config.source.timeout + Duration::from_secs(1);
    let rates = tokio::time::timeout(settle, rx.wait_for(|s| s.traffic.observed.is_some()))
        .await
        .is_ok_and(|r| r.is_ok());
    if !rates {
        say(format!(
            "drill: the {} source shows no request rates: the traffic at 0 % cannot be timed",
            s.source
        ));
    } else {
        say(resolution(config.source.window));
    }
    rates
}

/// Why a drill must not raise green: the journal says it was rolled back
/// (a drill would send real traffic to it), unless forced.
fn rolled_back(s: &State, force: bool) -> Option<String> {
    let m = s.rollback.rolled_back.as_ref()?;
    if force {
        say(format!(
            "drill: {} was rolled back ({}); drilling anyway (--force)",
            m.describe_green(),
            m.reason
        ));
        return None;
    }
    Some(format!(
        "cutover drill: refused: {} was rolled back ({}), and a drill sends it real traffic. \
         Pass --force to drill anyway, or deploy a new green (its green_version ends the rollback).",
        m.describe_green(),
        m.reason
    ))
}

/// Raise, confirm, roll back, measure.
async fn one_run(
    handle: &EngineHandle,
    config: &Config,
    split: Split,
    rates: bool,
    i: u32,
    n: u32,
) -> Result<Run, String> {
    let label = format!("drill {i}/{n}");
    let t0 = Instant::now();
    let before = handle.current();
    if before.traffic.split != Some(split) {
        handle
            .call(
                Origin::Drill,
                Command::SetSplit {
                    split,
                    reason: Some(label.clone()),
                    force: false,
                },
            )
            .await
            .map_err(|e| format!("refused: setting {split}: {e}"))?;
    }
    let raised = Instant::now();
    let mut confirm = vec![format!(
        "{}% green confirmed by the router in {}",
        split.green(),
        figure(raised - t0)
    )];
    let s = handle.current();
    if let Some(v) = &s.traffic.verified {
        confirm.push(format!("verify: {}", v.detail));
    }
    if rates {
        match observed_at(handle, config, raised, split).await {
            Some(took) => confirm.push(format!("by the traffic after {}", figure(took))),
            None => confirm.push("not seen in the traffic".into()),
        }
    }
    let previous = s.rollback.last.as_ref().map(|t| t.decided);
    handle
        .call(
            Origin::Drill,
            Command::Rollback {
                reason: label.clone(),
            },
        )
        .await
        .map_err(|e| format!("rollback: {e}"))?;
    let landed = handle.current();
    let times = match &landed.rollback.last {
        Some(t) if Some(t.decided) != previous => t.clone(),
        _ => return Err("the rollback landed without a measured time".into()),
    };
    let verified = verified_at_zero(&landed, times.decided);
    let times = if rates && times.to_zero.seen().is_none() {
        wait_for_zero(handle, config, times).await
    } else {
        times
    };
    say(format!(
        "{label}: {}; rollback: decision → router confirmed {}{}{verified}, → traffic at 0 % {}",
        confirm.join(", "),
        figure(times.to_router),
        sla_word(&times),
        times
            .to_zero
            .seen()
            .map(figure)
            .unwrap_or_else(|| "not observed".into())
    ));
    Ok(Run { times })
}

/// What the router's verify saw at 0 % since `decided`, when it observes
/// the data plane: ` (verify: …)`, else nothing.
fn verified_at_zero(s: &State, decided: Instant) -> String {
    s.traffic
        .verified
        .as_ref()
        .filter(|v| v.served == Split::ZERO && v.at >= decided)
        .map(|v| format!(" (verify: {})", v.detail))
        .unwrap_or_default()
}

/// Waits for an observed split close to `split` (within the configured
/// margin) from a window that ended after the router confirmed it; `None`
/// when none came in two windows.
async fn observed_at(
    handle: &EngineHandle,
    config: &Config,
    since: Instant,
    split: Split,
) -> Option<Duration> {
    let margin = config.source.observed_split_margin;
    let want = f64::from(split.green());
    let limit = config.source.window * 2 + config.source.interval * 2;
    let mut rx = handle.state();
    let seen = tokio::time::timeout(
        limit,
        rx.wait_for(|s| {
            s.traffic
                .observed
                .is_some_and(|o| o.at > since && (o.green - want).abs() <= margin)
        }),
    )
    .await
    .ok()?
    .ok()?
    .traffic
    .observed?;
    Some(seen.at.saturating_duration_since(since))
}

/// Waits until the engine reports the traffic at zero for this rollback,
/// or gives up after its own deadline and a poll.
async fn wait_for_zero(
    handle: &EngineHandle,
    config: &Config,
    times: RollbackTimes,
) -> RollbackTimes {
    // The engine gives up a few windows after the decision, saying so;
    // this bound only guards against a source that stopped polling.
    let limit =
        (config.source.window * 4 + config.source.interval * 4).max(Duration::from_secs(40));
    let decided = times.decided;
    let mut rx = handle.state();
    let found = tokio::time::timeout(
        limit,
        rx.wait_for(|s: &std::sync::Arc<State>| {
            s.rollback
                .last
                .as_ref()
                .is_none_or(|t| t.decided != decided || !t.to_zero.awaiting())
        }),
    )
    .await;
    match found {
        Ok(Ok(s)) => s.rollback.last.clone().unwrap_or(times),
        _ => times,
    }
}

/// The figures over all runs, printed and journaled (a note with origin
/// `drill`).
async fn summary(handle: &EngineHandle, runs: &[Run], asked: u32, window: Duration) {
    if runs.is_empty() {
        return;
    }
    let router: Vec<Duration> = runs.iter().map(|r| r.times.to_router).collect();
    let zero: Vec<Duration> = runs.iter().filter_map(|r| r.times.to_zero.seen()).collect();
    let (med, max) = median_max(&router);
    let mut text = format!(
        "drill summary: {} of {asked} runs; decision → router confirmed: median {}, maximum {}",
        runs.len(),
        figure(med),
        figure(max)
    );
    if let Some(sla) = runs[0].times.sla {
        let over = router.iter().filter(|d| **d > sla).count();
        text.push_str(&format!(" ({over} over the {} rollback_sla)", figure(sla)));
    }
    if zero.is_empty() {
        text.push_str("; traffic at 0 %: not observed (the source shows no request rates)");
    } else {
        let (zmed, zmax) = median_max(&zero);
        text.push_str(&format!(
            "; decision → traffic at 0 % (green below {ZERO_EPSILON} % of requests): median {}, maximum {} ({} of {} runs observed)",
            figure(zmed),
            figure(zmax),
            zero.len(),
            runs.len()
        ));
        if zmed <= window + window / 2 {
            text.push_str(&format!(
                "; about the {} metrics window, which the observed split cannot resolve below",
                crate::format::span(window)
            ));
        }
    }
    say(&text);
    if let Err(e) = handle.call(Origin::Drill, Command::Note(text)).await {
        say(format!("drill: summary NOT JOURNALED: {e}"));
    }
}

/// The median (the mean of the middle two for an even count) and the
/// maximum; `values` must not be empty.
fn median_max(values: &[Duration]) -> (Duration, Duration) {
    let mut v = values.to_vec();
    v.sort();
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    (med, v[n - 1])
}

/// The observed split is green's request rate over both colours' across
/// the source's window: green reads 0 % only once the whole window is
/// after the rollback, so that time is never shorter than the window.
fn resolution(window: Duration) -> String {
    format!(
        "drill: the observed split is a rate over the {} metrics window, so it cannot resolve a \
         time to traffic at 0 % shorter than that; the router's confirmation is the finer figure",
        crate::format::span(window)
    )
}

fn figure(d: Duration) -> String {
    crate::engine::rollback_figure(d)
}

fn sla_word(t: &RollbackTimes) -> &'static str {
    match t.over_sla() {
        Some(true) => " (OVER SLA)",
        Some(false) => " (within SLA)",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_maximum() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            median_max(&ms(&[30, 10, 20])),
            (Duration::from_millis(20), Duration::from_millis(30))
        );
        assert_eq!(
            median_max(&ms(&[40, 10, 20, 30])),
            (Duration::from_millis(25), Duration::from_millis(40))
        );
        assert_eq!(
            median_max(&ms(&[7])),
            (Duration::from_millis(7), Duration::from_millis(7))
        );
    }
}
