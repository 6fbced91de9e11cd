//! Reading conversion: what Prometheus answered → one value, or *no data*
//! with the reason. Pure: no IO.
//!
//! - an empty result is *no series*, never 0;
//! - NaN is *no traffic* (e.g. `histogram_quantile` over zero requests);
//! - more than one series is refused, naming the labels that differ, since
//!   each query must reduce to one value per colour;
//! - Prometheus' own `errorType: error` text is kept word for word.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prometheus_http_query::response::{Data, InstantVector};

use crate::model::NoData;

/// One value and the time Prometheus stamped it (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value {
    pub value: f64,
    pub timestamp: f64,
}

/// What one query answered: its series count and the value or the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub series: usize,
    pub result: Result<Value, NoData>,
}

/// The single value of an instant query.
pub fn single(data: &Data) -> Answer {
    match data {
        Data::Scalar(s) => Answer {
            series: 1,
            result: finite(s.value(), s.timestamp()),
        },
        Data::Vector(v) => match v.as_slice() {
            [] => Answer {
                series: 0,
                result: Err(no_series()),
            },
            [one] => Answer {
                series: 1,
                result: finite(one.sample().value(), one.sample().timestamp()),
            },
            many => Answer {
                series: many.len(),
                result: Err(NoData::Other(too_many(
                    many.iter().map(InstantVector::metric),
                    many.len(),
                ))),
            },
        },
        Data::Matrix(m) => Answer {
            series: m.len(),
            result: Err(NoData::Other(
                "the query returns a range vector; it must reduce to one instant value".into(),
            )),
        },
    }
}

pub fn no_series() -> NoData {
    NoData::Missing("no series".into())
}

/// NaN is no traffic; ±Inf is kept (a p99 above the top bucket is +Inf,
/// which the guardrails judge as the breach it is).
pub fn finite(value: f64, timestamp: f64) -> Result<Value, NoData> {
    if value.is_nan() {
        return Err(NoData::NoRequests);
    }
    Ok(Value { value, timestamp })
}

/// "3 series where one is needed; labels differ: instance, pod".
pub fn too_many<'a>(
    metrics: impl Iterator<Item = &'a HashMap<String, String>>,
    count: usize,
) -> String {
    let sets: Vec<BTreeMap<&str, &str>> = metrics
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    let names: BTreeSet<&str> = sets.iter().flat_map(|s| s.keys().copied()).collect();
    let differ: Vec<&str> = names
        .into_iter()
        .filter(|n| {
            let first = sets[0].get(n);
            sets.iter().any(|s| s.get(n) != first)
        })
        .collect();
    let labels = if differ.is_empty() {
        "none (identical label sets)".to_string()
    } else {
        differ.join(", ")
    };
    format!(
        "{count} series where one is needed; labels differ: {labels} (aggregate them away, e.g. sum by () or avg)"
    )
}

/// For the `up` query: one series per target (`up{...}`) gives the count
/// of targets up out of all; one value is the share up (0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Targets {
    Counted { up: u32, all: u32 },
    Share(f64),
}

pub fn targets(data: &Data) -> Result<Targets, NoData> {
    match data {
        Data::Vector(v) if v.len() > 1 || v.first().is_some_and(|s| !s.metric().is_empty()) => {
            let up = v.iter().filter(|s| s.sample().value() >= 1.0).count();
            Ok(Targets::Counted {
                up: up as u32,
                all: v.len() as u32,
            })
        }
        other => single(other).result.map(|v| Targets::Share(v.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> Data {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn one_series_is_a_value() {
        let d = data(
            r#"{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,"412.5"]}]}"#,
        );
        assert_eq!(
            single(&d).result,
            Ok(Value {
                value: 412.5,
                timestamp: 1_700_000_000.5
            })
        );
    }

    #[test]
    fn empty_is_no_series_and_nan_is_no_traffic() {
        let empty = data(r#"{"resultType":"vector","result":[]}"#);
        assert_eq!(single(&empty).result, Err(no_series()));
        assert_eq!(single(&empty).series, 0);
        let nan = data(r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}"#);
        assert_eq!(single(&nan).result, Err(NoData::NoRequests));
        let inf = data(r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}"#);
        assert_eq!(single(&inf).result.unwrap().value, f64::INFINITY);
    }

    #[test]
    fn two_series_name_the_labels_that_differ() {
        let d = data(
            r#"{"resultType":"vector","result":[
            {"metric":{"job":"a","pod":"p1","track":"blue"},"value":[1,"1"]},
            {"metric":{"job":"a","pod":"p2","track":"blue"},"value":[1,"2"]}]}"#,
        );
        let a = single(&d);
        assert_eq!(a.series, 2);
        let Err(NoData::Other(msg)) = a.result else {
            panic!("{a:?}")
        };
        assert!(msg.contains("labels differ: pod "), "{msg}");
        assert!(!msg.contains("job"), "{msg}");
    }

    #[test]
    fn targets_counted_or_shared() {
        let raw = data(
            r#"{"resultType":"vector","result":[
            {"metric":{"instance":"a"},"value":[1,"1"]},
            {"metric":{"instance":"b"},"value":[1,"0"]},
            {"metric":{"instance":"c"},"value":[1,"1"]}]}"#,
        );
        assert_eq!(targets(&raw), Ok(Targets::Counted { up: 2, all: 3 }));
        let share = data(r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"0.75"]}]}"#);
        assert_eq!(targets(&share), Ok(Targets::Share(0.75)));
    }
}
