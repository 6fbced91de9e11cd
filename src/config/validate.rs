//! Checks that serde cannot express: orderings, ranges, and settings that
//! only make sense together. Errors are `(dotted key, message)`.

use std::time::Duration;

use super::{Config, KubernetesMode, Levels, RouterKind, SourceKind};
use crate::model::Metric;

/// The demo scenarios, as named in config and on the command line.
pub const DEMO_SCENARIOS: [&str; 3] = ["healthy", "degrading", "slow-quality"];

type Invalid = (String, String);

fn err<T>(key: &str, message: impl Into<String>) -> Result<T, Invalid> {
    Err((key.to_string(), message.into()))
}

/// No configured duration may exceed this: clocks are added to it, and a
/// century would overflow them (and no cutover soaks for a year).
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

pub fn validate(c: &Config) -> Result<(), Invalid> {
    if c.service.name.trim().is_empty() {
        return err("service.name", "must not be empty");
    }
    for (key, d) in [
        ("source.interval", c.source.interval),
        ("source.timeout", c.source.timeout),
        ("source.window", c.source.window),
        ("plan.dwell", c.plan.dwell),
        ("plan.bake", c.plan.bake),
        ("plan.standby", c.plan.standby),
        ("plan.progress_deadline", c.plan.progress_deadline),
        ("router.demo.apply_delay", c.router.demo.apply_delay),
    ] {
        if d > LONGEST {
            return err(
                key,
                format!("{} is longer than a year", crate::format::span(d)),
            );
        }
    }
    validate_source(c)?;
    validate_plan(c)?;
    for m in Metric::ALL {
        let g = c.guardrails.for_metric(m);
        if let Some(l) = g.absolute {
            levels(&format!("guardrails.{}.absolute", m.key()), m, l, false)?;
        }
        if let Some(l) = g.vs_blue {
            levels(&format!("guardrails.{}.vs_blue", m.key()), m, l, true)?;
        }
    }
    let checks = Metric::ALL
        .iter()
        .map(|m| c.guardrails.for_metric(*m))
        .filter(|g| g.absolute.is_some() || g.vs_blue.is_some())
        .count();
    if checks == 0 {
        // With nothing judged, every advance gate would open on the dwell
        // alone and nothing could ever roll back.
        return err("guardrails", "at least one guardrail check is needed");
    }
    if c.auto_rollback.consecutive == 0 {
        return err("auto_rollback.consecutive", "must be at least 1");
    }
    if c.router.kind == RouterKind::Demo
        && !DEMO_SCENARIOS.contains(&c.router.demo.scenario.as_str())
    {
        return err(
            "router.demo.scenario",
            format!(
                "`{}` is not a scenario; choose one of {}",
                c.router.demo.scenario,
                DEMO_SCENARIOS.join(", ")
            ),
        );
    }
    if c.router.demo.rps == 0 {
        return err("router.demo.rps", "must be at least 1");
    }
    if c.router.kind == RouterKind::Kubernetes {
        validate_kubernetes(c)?;
    }
    Ok(())
}

fn validate_source(c: &Config) -> Result<(), Invalid> {
    let s = &c.source;
    if s.interval < Duration::from_millis(100) {
        return err("source.interval", "must be at least 100ms");
    }
    if s.timeout.is_zero() || s.timeout > s.interval {
        return err(
            "source.timeout",
            "must be above zero and at most `source.interval` (one poll in flight at a time)",
        );
    }
    if s.window < s.interval {
        return err("source.window", "must be at least `source.interval`");
    }
    match s.kind {
        SourceKind::Demo => {
            if c.router.kind != RouterKind::Demo {
                return err(
                    "source.kind",
                    "`demo` measures the embedded fleet and needs `router.kind = \"demo\"`",
                );
            }
        }
        SourceKind::Scrape => {
            let Some(scrape) = &s.scrape else {
                return err(
                    "source.scrape",
                    "`kind = \"scrape\"` needs a [source.scrape] table with `blue` and `green` URLs",
                );
            };
            for (key, urls) in [("blue", &scrape.blue), ("green", &scrape.green)] {
                let key = format!("source.scrape.{key}");
                if urls.is_empty() {
                    return err(&key, "needs at least one /metrics URL");
                }
                for u in urls {
                    match reqwest::Url::parse(u) {
                        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                        Ok(url) => {
                            return err(
                                &key,
                                format!("`{u}`: scheme `{}` is not http or https", url.scheme()),
                            );
                        }
                        Err(e) => return err(&key, format!("`{u}` is not a URL: {e}")),
                    }
                }
            }
            for (key, v) in [
                ("latency_histogram", &scrape.latency_histogram),
                ("requests_counter", &scrape.requests_counter),
                ("status_label", &scrape.status_label),
            ] {
                if v.trim().is_empty() {
                    return err(&format!("source.scrape.{key}"), "must not be empty");
                }
            }
            if scrape.error_status_prefixes.is_empty() {
                return err(
                    "source.scrape.error_status_prefixes",
                    "needs at least one prefix, e.g. [\"5\"]",
                );
            }
            if scrape.error_status_prefixes.iter().any(|p| p.is_empty()) {
                return err(
                    "source.scrape.error_status_prefixes",
                    "an empty prefix would count every request as an error",
                );
            }
            if let Some(u) = scrape.green.iter().find(|u| scrape.blue.contains(u)) {
                return err(
                    "source.scrape.green",
                    format!("`{u}` is also a blue target: each pod belongs to one colour"),
                );
            }
        }
    }
    Ok(())
}

fn validate_plan(c: &Config) -> Result<(), Invalid> {
    let steps = &c.plan.steps;
    if steps.is_empty() {
        return err(
            "plan.steps",
            "needs at least one step, e.g. [1, 5, 25, 50, 100]",
        );
    }
    if steps[0] == 0 {
        return err(
            "plan.steps",
            "steps are green percentages above 0 (0 % is where a cutover starts)",
        );
    }
    if let Some(w) = steps.windows(2).find(|w| w[0] >= w[1]) {
        return err(
            "plan.steps",
            format!(
                "must be strictly increasing; {} is followed by {}",
                w[0], w[1]
            ),
        );
    }
    if steps.last() != Some(&100) {
        return err("plan.steps", "must end at 100 (the flip)");
    }
    Ok(())
}

/// Levels must be finite and ordered so warn comes before breach.
fn levels(key: &str, m: Metric, l: Levels, relative: bool) -> Result<(), Invalid> {
    if !l.warn.is_finite() || !l.breach.is_finite() {
        return err(key, "warn and breach must be finite numbers");
    }
    if relative {
        if l.warn < 0.0 || l.breach < 0.0 {
            return err(
                key,
                format!(
                    "levels are how much worse green may be than blue, so not negative (got warn {}, breach {})",
                    l.warn, l.breach
                ),
            );
        }
        if l.warn > l.breach {
            return err(
                key,
                format!("warn ({}) must not exceed breach ({})", l.warn, l.breach),
            );
        }
        return Ok(());
    }
    if m == Metric::ErrorRate && !(0.0..=100.0).contains(&l.breach) {
        return err(key, "error rate levels are percentages, 0 to 100");
    }
    if m.higher_is_worse() && l.warn > l.breach {
        return err(
            key,
            format!(
                "warn ({}) must not exceed breach ({}): a higher {} is worse",
                l.warn,
                l.breach,
                m.label()
            ),
        );
    }
    if !m.higher_is_worse() && l.warn < l.breach {
        return err(
            key,
            format!(
                "warn ({}) must be at or above breach ({}): a lower {} is worse",
                l.warn,
                l.breach,
                m.label()
            ),
        );
    }
    Ok(())
}

fn validate_kubernetes(c: &Config) -> Result<(), Invalid> {
    let Some(k) = &c.router.kubernetes else {
        return err(
            "router.kubernetes",
            "`kind = \"kubernetes\"` needs a [router.kubernetes] table with `mode`",
        );
    };
    k.validate()?;
    // A selector is either blue's or green's: a plan with intermediate steps
    // would stop at its first step, so it is refused before anything runs.
    if k.mode == KubernetesMode::ServiceSelector && c.plan.steps != [100] {
        return err(
            "plan.steps",
            format!(
                "`mode = \"service-selector\"` can only flip 0% <-> 100%: use `steps = [100]`, \
                 or a mode that can weight traffic ({})",
                KubernetesMode::WEIGHTING
            ),
        );
    }
    Ok(())
}
