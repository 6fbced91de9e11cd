//! `[[metrics]]` entries resolved into specs: over a preset or today's
//! three, an entry with a known id overrides the keys it writes, a new id
//! extends the list. Errors are `(dotted key, message)`, keys as the
//! config layer spells them (`metrics[2].absolute.warn`), so it can point
//! at the line.

use super::compute::{Compute, Formula, Query};
use super::cost::CostConfig;
use super::entry::{LevelsEntry, MetricEntry, QueryEntry};
use super::legacy::{self, Legacy};
use super::threshold::Margin;
use super::unit::Unit;
use super::{Better, Levels, MetricSpec, is_id, preset};

pub type Invalid = (String, String);

fn err<T>(key: &str, message: impl Into<String>) -> Result<T, Invalid> {
    Err((key.to_string(), message.into()))
}

/// What the resolution needs besides the entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs<'a> {
    /// `[source] preset`, when written.
    pub preset: Option<&'a str>,
    pub metrics: &'a [MetricEntry],
    pub cost: Option<&'a CostConfig>,
    /// Today's keys: the base list when there is no preset.
    pub legacy: &'a Legacy,
}

/// The metrics a config watches, in order: the preset's (or today's
/// three), overridden and extended by `[[metrics]]`, then the cost.
pub fn resolve(inputs: &Inputs<'_>) -> Result<Vec<MetricSpec>, Invalid> {
    let min_requests = inputs.legacy.min_requests;
    let mut specs = match inputs.preset {
        Some(name) => preset::specs(name, min_requests).map_err(|m| ("source.preset".into(), m))?,
        None => legacy::from(inputs.legacy),
    };
    for (i, entry) in inputs.metrics.iter().enumerate() {
        let key = format!("metrics[{i}]");
        if let Some(j) = inputs.metrics[..i].iter().position(|e| e.id == entry.id) {
            return err(
                &format!("{key}.id"),
                format!("`{}` is already the id of metrics[{j}]", entry.id),
            );
        }
        match specs.iter().position(|s| s.id == entry.id) {
            Some(at) => specs[at] = apply(Some(&specs[at]), entry, &key, min_requests)?,
            None => specs.push(apply(None, entry, &key, min_requests)?),
        }
    }
    if let Some(cost) = inputs.cost {
        let series = preset::cost_series(inputs.preset);
        let spec = cost.spec(&series, min_requests)?;
        if specs.iter().any(|s| s.id == spec.id) {
            return err("cost", format!("a metric already has the id `{}`", spec.id));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// `entry` over `base` (a preset's metric), or alone for a new metric.
pub fn apply(
    base: Option<&MetricSpec>,
    entry: &MetricEntry,
    key: &str,
    min_requests: u64,
) -> Result<MetricSpec, Invalid> {
    let (unit, better, label) = identity(base, entry, key)?;
    let compute = computation(base, entry, unit, key)?;
    let (absolute, vs_blue) = guardrails(base, entry, unit, better, key)?;
    let counts = compute.formula.as_ref().map_or(
        matches!(unit, Unit::Millis | Unit::Seconds | Unit::Percent),
        Formula::counts_requests,
    );
    Ok(MetricSpec {
        id: entry.id.clone(),
        label,
        unit,
        better,
        compute,
        absolute,
        vs_blue,
        min_requests: entry
            .min_requests
            .or(base.map(|b| b.min_requests))
            .unwrap_or(if counts { min_requests } else { 0 }),
        guard: entry.guard.or(base.map(|b| b.guard)).unwrap_or(true),
        rollback: entry.rollback.or(base.map(|b| b.rollback)).unwrap_or(true),
        test: entry.test.or(base.and_then(|b| b.test)),
    })
}

/// The id checked; unit, direction and label, each the entry's or the base's.
fn identity(
    base: Option<&MetricSpec>,
    entry: &MetricEntry,
    key: &str,
) -> Result<(Unit, Better, String), Invalid> {
    let k = |s: &str| format!("{key}.{s}");
    if !is_id(&entry.id) {
        return err(
            &k("id"),
            format!(
                "`{}` is not an id: lower-case letters, digits and `_`, starting with a letter",
                entry.id
            ),
        );
    }
    let needed = |what: &str, hint: &str| {
        (
            k(what),
            format!("`{}` is new and needs `{what}` ({hint})", entry.id),
        )
    };
    let unit = match (entry.unit, base) {
        (Some(u), _) => u,
        (None, Some(b)) => b.unit,
        (None, None) => return Err(needed("unit", "ms, s, %, tokens/s, $ or none")),
    };
    if !Unit::SHOWN.contains(&unit) {
        let shown = if unit == Unit::Ratio { "%" } else { "ms" };
        return err(
            &k("unit"),
            format!(
                "`{unit}` is a source's unit: show the metric in `{shown}` and give `{unit}` as the series' unit"
            ),
        );
    }
    let better = entry
        .better
        .or(base.map(|b| b.better))
        .ok_or_else(|| needed("better", "\"lower\" or \"higher\""))?;
    let label = entry
        .label
        .clone()
        .or(base.map(|b| b.label.clone()))
        .unwrap_or_else(|| entry.id.replace('_', " "));
    Ok((unit, better, label))
}

/// The formula and query, each the entry's or the base's; at least one,
/// in a unit that converts to the metric's.
fn computation(
    base: Option<&MetricSpec>,
    entry: &MetricEntry,
    unit: Unit,
    key: &str,
) -> Result<Compute, Invalid> {
    let k = |s: &str| format!("{key}.{s}");
    let formula = match &entry.scrape {
        Some(s) => Some(s.formula(unit, &k("scrape"))?),
        None => base.and_then(|b| b.compute.formula.clone()),
    };
    if let Some(f) = &formula {
        f.unit()
            .factor_to(unit)
            .or_else(|e| err(&k("unit"), format!("{e}: the series are in `{}`", f.unit())))?;
    }
    let query = match &entry.prometheus {
        Some(q) => Some(query(q, unit, &k("prometheus"))?),
        None => base.and_then(|b| b.compute.query.clone()),
    };
    if let Some(q) = &query {
        q.unit
            .factor_to(unit)
            .or_else(|e| err(&k("unit"), format!("{e}: the query is in `{}`", q.unit)))?;
    }
    let cloudwatch = match &entry.cloudwatch {
        Some(c) => Some(c.compute(unit, &k("cloudwatch"))?),
        None => base.and_then(|b| b.compute.cloudwatch.clone()),
    };
    if let Some(c) = &cloudwatch {
        c.unit().factor_to(unit).or_else(|e| {
            err(
                &k("unit"),
                format!("{e}: CloudWatch's values are in `{}`", c.unit()),
            )
        })?;
    }
    if formula.is_none() && query.is_none() && cloudwatch.is_none() {
        return err(
            key,
            format!(
                "`{}` says neither how to scrape it (`scrape = {{ ... }}`), how to query it (`prometheus = {{ query = \"...\" }}`) nor what to read from CloudWatch (`cloudwatch = {{ ... }}`)",
                entry.id
            ),
        );
    }
    Ok(Compute {
        formula,
        query,
        cloudwatch,
    })
}

type Checks = (Option<Levels<f64>>, Option<Levels<Margin>>);

/// The entry's levels, else the base's carried into this unit.
fn guardrails(
    base: Option<&MetricSpec>,
    entry: &MetricEntry,
    unit: Unit,
    better: Better,
    key: &str,
) -> Result<Checks, Invalid> {
    let k = |s: &str| format!("{key}.{s}");
    // Only units of one dimension reach here: the formula was checked.
    let carried = base.map_or(Ok(1.0), |b| b.unit.factor_to(unit));
    let carried = carried.or_else(|e| err(&k("unit"), format!("the preset's levels: {e}")))?;
    let absolute = match &entry.absolute {
        Some(l) => Some(bounds(l, unit, better, &k("absolute"))?),
        None => base.and_then(|b| b.absolute).map(|l| Levels {
            warn: l.warn * carried,
            breach: l.breach * carried,
        }),
    };
    let vs_blue = match &entry.vs_blue {
        Some(l) => Some(margins(l, unit, better, &k("vs_blue"))?),
        None => base.and_then(|b| b.vs_blue).map(|l| Levels {
            warn: scale(l.warn, carried),
            breach: scale(l.breach, carried),
        }),
    };
    Ok((absolute, vs_blue))
}

fn scale(m: Margin, by: f64) -> Margin {
    match m {
        Margin::By(d) => Margin::By(d * by),
        r => r,
    }
}

fn query(q: &QueryEntry, unit: Unit, key: &str) -> Result<Query, Invalid> {
    if !q.query.contains("$color") {
        return err(
            &format!("{key}.query"),
            "has no `$color`: both colours would read the same series",
        );
    }
    let from = q.unit.unwrap_or(unit);
    from.factor_to(unit)
        .or_else(|e| err(&format!("{key}.unit"), e))?;
    Ok(Query {
        template: q.query.clone(),
        unit: from,
    })
}

/// `absolute` levels in `unit`: warn on the good side of breach.
pub fn bounds(
    l: &LevelsEntry,
    unit: Unit,
    better: Better,
    key: &str,
) -> Result<Levels<f64>, Invalid> {
    let breach = l
        .breach
        .bound(unit)
        .or_else(|e| err(&format!("{key}.breach"), e))?;
    let warn = match &l.warn {
        Some(w) => w.bound(unit).or_else(|e| err(&format!("{key}.warn"), e))?,
        None => breach,
    };
    if unit == Unit::Percent && !(0.0..=100.0).contains(&breach) {
        return err(
            &format!("{key}.breach"),
            format!("{breach} % is not a percentage, 0 to 100"),
        );
    }
    let (w, b) = (unit.format(warn), unit.format(breach));
    match better {
        Better::Lower if warn > breach => err(
            &format!("{key}.warn"),
            format!("warn ({w}) must not exceed breach ({b}): here higher is worse"),
        ),
        Better::Higher if warn < breach => err(
            &format!("{key}.warn"),
            format!("warn ({w}) must be at or above breach ({b}): here lower is worse"),
        ),
        _ => Ok(Levels { warn, breach }),
    }
}

/// `vs_blue` levels: margins, warn no wider than breach when alike.
pub fn margins(
    l: &LevelsEntry,
    unit: Unit,
    better: Better,
    key: &str,
) -> Result<Levels<Margin>, Invalid> {
    let higher_better = better == Better::Higher;
    let breach = l
        .breach
        .margin(unit, higher_better)
        .or_else(|e| err(&format!("{key}.breach"), e))?;
    let warn = match &l.warn {
        Some(w) => w
            .margin(unit, higher_better)
            .or_else(|e| err(&format!("{key}.warn"), e))?,
        None => breach,
    };
    let wider = match (warn, breach) {
        (Margin::By(w), Margin::By(b)) | (Margin::Relative(w), Margin::Relative(b)) => w > b,
        _ => false,
    };
    if wider {
        return err(
            &format!("{key}.warn"),
            format!(
                "warn ({}) must not exceed breach ({})",
                warn.text(unit),
                breach.text(unit)
            ),
        );
    }
    Ok(Levels { warn, breach })
}
