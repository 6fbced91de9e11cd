//! The metrics a journal names, and how the report writes them. The
//! journal keys every number by metric id alone, so the report, which
//! reads nothing but the journal, knows the label and unit of the ids it
//! can look up (today's three, the presets' and the cost) and writes any
//! other id as it is, with its numbers unformatted.

use std::sync::LazyLock;

use super::entry::Entry;
use crate::metricspec::{MetricSpec, Unit, cost, preset};

/// Every spec an id can be looked up in, today's three first.
static KNOWN: LazyLock<Vec<MetricSpec>> = LazyLock::new(|| {
    let mut all = crate::config::default_specs();
    for name in preset::NAMES {
        all.extend(preset::specs(name, 0).unwrap_or_default());
    }
    all
});

/// The spec of `id`, where the report can know it.
fn known(id: &str) -> Option<&'static MetricSpec> {
    KNOWN.iter().find(|s| s.id == id)
}

/// `p99 latency`, or the id itself.
pub(super) fn label(id: &str) -> String {
    match known(id) {
        Some(s) => s.label.clone(),
        None if id == cost::ID => cost::LABEL.to_string(),
        None => id.to_string(),
    }
}

/// `412 ms`, or the bare number.
pub(super) fn format(id: &str, v: f64) -> String {
    match known(id) {
        Some(s) => s.format(v),
        None if id == cost::ID => Unit::Dollars.format(v),
        None => format!("{v}"),
    }
}

/// Whether a chart of `id` belongs in the report: every judged metric,
/// and any the report does not know (a reading in a decision is judged).
fn charted(id: &str) -> bool {
    known(id).is_none_or(MetricSpec::judged)
}

/// The ids of the metrics of `entries`, in the order the samples list
/// them, then any more the decisions' readings name.
pub(super) fn ids(entries: &[Entry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |id: &str| {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    };
    let records = || entries.iter().filter_map(|e| e.record.as_ref());
    for s in records().filter_map(|r| r.sample.as_ref()) {
        s.ids.iter().for_each(|id| add(id));
    }
    for rd in records().flat_map(|r| &r.readings) {
        add(&rd.metric);
    }
    out
}

/// The ids of [`ids`] that get a chart.
pub(super) fn charted_ids(entries: &[Entry]) -> Vec<String> {
    ids(entries).into_iter().filter(|id| charted(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_have_their_label_and_unit_and_others_their_id() {
        assert_eq!(label("p99_ms"), "p99 latency");
        assert_eq!(format("error_rate", 7.2), "7.20 %");
        assert_eq!(label("ttft_p95_ms"), "time to first token p95");
        assert_eq!(label("schema_failures"), "schema_failures");
        assert_eq!(format("schema_failures", 0.25), "0.25");
        assert_eq!(label("cost_per_1k"), "cost / 1k requests");
        assert_eq!(format("cost_per_1k", 0.4213), "$0.4213");
        assert!(charted("ttft_p95_ms"));
        assert!(!charted("generation_tokens_per_s"), "shown, not judged");
        assert!(charted("schema_failures"));
    }
}
