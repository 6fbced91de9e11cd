//! Checks that serde cannot express: orderings, ranges, and settings that
//! only make sense together. Errors are `(dotted key, message)`.

use std::time::Duration;

use super::{Config, KubernetesMode, Levels, RouterConfig, SourceKind};
use crate::metricspec::MetricSpec;
use crate::model::Color;

pub type Invalid = (String, String);

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
        ("plan.rollback_sla", c.plan.rollback_sla.unwrap_or_default()),
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
    let g = &c.guardrails;
    for (m, g) in [
        (Guarded::new("p99_ms", "p99 latency", true), &g.p99_ms),
        (
            Guarded::new("error_rate", "error rate", true),
            &g.error_rate,
        ),
        (Guarded::new("quality", "quality", false), &g.quality),
    ] {
        if let Some(l) = g.absolute {
            levels(&format!("guardrails.{}.absolute", m.key), &m, l, false)?;
        }
        if let Some(l) = g.vs_blue {
            levels(&format!("guardrails.{}.vs_blue", m.key), &m, l, true)?;
        }
    }
    // `[source] preset`, `[[metrics]]` and `[cost]`, resolved over the
    // keys above; errors name the entry (`metrics[2].q`).
    let specs = c.metric_specs()?;
    if let SourceKind::Prometheus(_) = &c.source.kind {
        judged_queries(c, &specs)?;
    }
    if let SourceKind::CloudWatch(cw) = &c.source.kind {
        cw.judged_reads(&specs)?;
    }
    if !specs.iter().any(|s| s.judged()) {
        // With nothing judged, every advance gate would open on the dwell
        // alone and nothing could ever roll back.
        return err("guardrails", "at least one guardrail check is needed");
    }
    if c.auto_rollback.consecutive == 0 {
        return err("auto_rollback.consecutive", "must be at least 1");
    }
    if let Some(aws) = &c.aws {
        aws.validate()?;
    }
    validate_router(&c.router, &c.plan.steps)?;
    super::gates::validate(&c.gates, &c.plan.steps, LONGEST)?;
    validate_alerts(&c.alerts)?;
    Ok(())
}

/// Errors name the entry (`alerts[0].url`) but never quote a URL: it is
/// a credential.
fn validate_alerts(alerts: &[super::AlertConfig]) -> Result<(), Invalid> {
    for (i, a) in alerts.iter().enumerate() {
        let key = |k: &str| format!("alerts[{i}].{k}");
        match reqwest::Url::parse(a.url.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            Ok(u) => {
                return err(
                    &key("url"),
                    format!("scheme `{}` is not http or https", u.scheme()),
                );
            }
            Err(e) => return err(&key("url"), format!("not a URL ({e})")),
        }
        if a.on.is_empty() {
            return err(
                &key("on"),
                "names no event; use some of \"rollback\", \"promote\", \"breach\", or remove the entry",
            );
        }
        if let Some(t) = &a.template {
            super::alert_template::check(t).map_err(|m| (key("template"), m))?;
        }
    }
    Ok(())
}

fn validate_router(r: &RouterConfig, plan_steps: &[u8]) -> Result<(), Invalid> {
    match r {
        RouterConfig::Demo(demo) => {
            if demo.rps == 0 {
                return err("router.demo.rps", "must be at least 1");
            }
            if demo.apply_delay > LONGEST {
                return err("router.demo.apply_delay", "is longer than a year");
            }
        }
        RouterConfig::Nginx(n) => n.validate()?,
        RouterConfig::Kubernetes(k) => validate_kubernetes(k, plan_steps)?,
        RouterConfig::AwsLambda(l) => l.validate()?,
        RouterConfig::AwsSageMaker(s) => s.validate()?,
        RouterConfig::AwsApiGateway(g) => g.validate()?,
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
    if !(0.0..=100.0).contains(&s.observed_split_margin) {
        return err(
            "source.observed_split_margin",
            "must be between 0 and 100 (percentage points)",
        );
    }
    match &s.kind {
        SourceKind::Demo => {
            // The demo source reads the simulated fleet, and only the demo
            // router runs one: with any other router it would measure
            // pods that serve none of the traffic being moved.
            if c.router.kind() != "demo" {
                return err(
                    "source.kind",
                    format!(
                        "`demo` measures the embedded simulated fleet, which only `router.kind = \"demo\"` runs; with `kind = \"{}\"` use a source that reads your service, such as \"scrape\"",
                        c.router.kind()
                    ),
                );
            }
        }
        SourceKind::Scrape(scrape) => validate_scrape(scrape)?,
        SourceKind::Prometheus(p) => validate_prometheus(p)?,
        SourceKind::CloudWatch(cw) => cw.validate(s.interval)?,
    }
    Ok(())
}

fn validate_prometheus(p: &super::PrometheusConfig) -> Result<(), Invalid> {
    match reqwest::Url::parse(&p.url) {
        Ok(url) if url.password().is_some() => {
            // `check` prints the URL: a password there would be shown.
            return err(
                "source.prometheus.url",
                "holds a password; put it in basic_auth (password_file or password_env)",
            );
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        Ok(url) => {
            return err(
                "source.prometheus.url",
                format!("scheme `{}` is not http or https", url.scheme()),
            );
        }
        Err(e) => {
            return err(
                "source.prometheus.url",
                format!("`{}` is not a URL: {e}", p.url),
            );
        }
    }
    if p.colors.blue.is_empty() || p.colors.green.is_empty() {
        return err(
            "source.prometheus.colors",
            "needs a non-empty `blue` and `green`",
        );
    }
    if p.colors.blue == p.colors.green {
        return err("source.prometheus.colors", "blue and green must differ");
    }
    p.client_keys().validate()?;
    validate_queries(&p.queries)?;
    Ok(())
}

/// `source.scrape`: the targets of each colour, the series names and
/// what counts as an error.
fn validate_scrape(scrape: &super::ScrapeConfig) -> Result<(), Invalid> {
    for (key, urls) in [("blue", &scrape.blue), ("green", &scrape.green)] {
        let key = format!("source.scrape.{key}");
        if urls.is_empty() {
            return err(&key, "needs at least one /metrics URL");
        }
        if let Some(why) = urls.iter().find_map(|u| not_http_url(u)) {
            return err(&key, why);
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
    scrape.client_keys().validate()
}

/// `source.prometheus.queries`: none empty.
fn validate_queries(q: &super::prometheus::PromQueries) -> Result<(), Invalid> {
    for (key, v) in [
        ("p99_ms", &q.p99_ms),
        ("error_rate", &q.error_rate),
        ("quality", &q.quality),
        ("rps", &q.rps),
        ("up", &q.up),
        ("data_time", &q.data_time),
    ] {
        if let Some(v) = v
            && v.trim().is_empty()
        {
            return err(
                &format!("source.prometheus.queries.{key}"),
                "is empty; leave the key out to not query it",
            );
        }
    }
    Ok(())
}

/// The Prometheus source measures what it has a query for: every judged
/// metric of a preset or `[[metrics]]` needs one (written, or rendered
/// from its scrape formula). Today's three keep their meaning: one left
/// out of `[source.prometheus.queries]` is not measured, as long as some
/// judged metric is.
fn judged_queries(c: &Config, specs: &[MetricSpec]) -> Result<(), Invalid> {
    let todays = |s: &MetricSpec| {
        c.source.preset.is_none() && ["p99_ms", "error_rate", "quality"].contains(&s.id.as_str())
    };
    let unqueried: Vec<&MetricSpec> = specs
        .iter()
        .filter(|s| s.judged() && s.compute.prometheus(Color::Blue).is_none())
        .collect();
    let all_unqueried = unqueried.len() == specs.iter().filter(|s| s.judged()).count();
    let Some(s) = unqueried.iter().find(|s| all_unqueried || !todays(s)) else {
        return Ok(());
    };
    let key = match c.metrics.iter().position(|e| e.id == s.id) {
        Some(i) => format!("metrics[{i}].prometheus"),
        None if todays(s) => format!("source.prometheus.queries.{}", s.id),
        None => "metrics".to_string(),
    };
    err(
        &key,
        format!(
            "`{}` is judged but has no query for the Prometheus source: write its query, \
             or `guard = false` in a `[[metrics]]` entry to show it without judging",
            s.id
        ),
    )
}

/// Why `u` is not an http or https URL, or `None` when it is one.
pub(super) fn not_http_url(u: &str) -> Option<String> {
    match reqwest::Url::parse(u) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => None,
        Ok(url) => Some(format!(
            "`{u}`: scheme `{}` is not http or https",
            url.scheme()
        )),
        Err(e) => Some(format!("`{u}` is not a URL: {e}")),
    }
}

fn validate_plan(c: &Config) -> Result<(), Invalid> {
    if c.plan.rollback_sla == Some(Duration::ZERO) {
        return err(
            "plan.rollback_sla",
            "must be above 0 (leave it out to show the rollback time uncoloured)",
        );
    }
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

/// One of today's `[guardrails.*]` tables: its key, the name its errors
/// use, and which way is worse.
struct Guarded {
    key: &'static str,
    label: &'static str,
    higher_is_worse: bool,
}

impl Guarded {
    fn new(key: &'static str, label: &'static str, higher_is_worse: bool) -> Guarded {
        Guarded {
            key,
            label,
            higher_is_worse,
        }
    }
}

/// Levels must be finite and ordered so warn comes before breach.
fn levels(key: &str, m: &Guarded, l: Levels, relative: bool) -> Result<(), Invalid> {
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
    if m.key == "error_rate" && !(0.0..=100.0).contains(&l.breach) {
        return err(key, "error rate levels are percentages, 0 to 100");
    }
    if m.higher_is_worse && l.warn > l.breach {
        return err(
            key,
            format!(
                "warn ({}) must not exceed breach ({}): a higher {} is worse",
                l.warn, l.breach, m.label
            ),
        );
    }
    if !m.higher_is_worse && l.warn < l.breach {
        return err(
            key,
            format!(
                "warn ({}) must be at or above breach ({}): a lower {} is worse",
                l.warn, l.breach, m.label
            ),
        );
    }
    Ok(())
}

fn validate_kubernetes(k: &super::KubernetesConfig, plan_steps: &[u8]) -> Result<(), Invalid> {
    k.validate()?;
    // A selector is either blue's or green's: a plan with intermediate steps
    // would stop at its first step, so it is refused before anything runs.
    if k.mode == KubernetesMode::ServiceSelector && plan_steps != [100] {
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

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const HEAD: &str = "[service]\nname = \"chat\"\n[router]\nkind = \"demo\"\n[source]\n\
        kind = \"prometheus\"\n";
    const PROM: &str = "[source.prometheus]\nurl = \"http://127.0.0.1:9090\"\n";

    fn key(text: &str) -> Option<String> {
        load_str(text, "t.toml").unwrap_err().key
    }

    #[test]
    fn a_preset_needs_none_of_todays_queries() {
        let text = format!(
            "{HEAD}preset = \"vllm\"\n{PROM}[source.prometheus.queries]\n\
             rps = 'sum(rate(http_requests_total{{track=\"$color\"}}[$window]))'\n"
        );
        let c = load_str(&text, "t.toml").unwrap();
        assert_eq!(c.source.preset.as_deref(), Some("vllm"));
    }

    #[test]
    fn metrics_with_queries_need_none_of_todays_queries() {
        let text = format!(
            "{HEAD}{PROM}[source.prometheus.queries]\nup = 'up{{track=\"$color\"}}'\n\
             [[metrics]]\nid = \"ttft_ms\"\nunit = \"ms\"\nbetter = \"lower\"\n\
             prometheus = {{ query = 'ttft{{track=\"$color\"}}' }}\n\
             absolute = {{ warn = 100, breach = 200 }}\n"
        );
        load_str(&text, "t.toml").unwrap();
    }

    #[test]
    fn with_no_judged_metric_queried_the_first_is_named() {
        let text =
            format!("{HEAD}{PROM}[source.prometheus.queries]\nup = 'up{{track=\"$color\"}}'\n");
        assert_eq!(
            key(&text).as_deref(),
            Some("source.prometheus.queries.p99_ms")
        );
    }

    #[test]
    fn todays_three_may_leave_queries_out_when_one_is_written() {
        let text = format!(
            "{HEAD}{PROM}[source.prometheus.queries]\n\
             quality = 'avg(model_quality_score{{track=\"$color\"}})'\n"
        );
        load_str(&text, "t.toml").unwrap();
    }
}
