//! `[cost]`: what a request costs, per colour, as a metric like any other
//! (`cost_per_1k`, $ per 1,000 requests). Either token prices over the
//! token counters, or a fleet price per replica-hour over the requests
//! served. Pure.

use serde::{Deserialize, Serialize};

use super::compute::{Compute, Formula, rates};
use super::entry::LevelsEntry;
use super::parse::{Invalid, bounds, margins};
use super::selector::Selector;
use super::unit::Unit;
use super::{Better, MetricSpec};
use crate::model::Color;

/// The cost metric's id and label.
pub const ID: &str = "cost_per_1k";
pub const LABEL: &str = "cost / 1k requests";

/// `[cost]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// $ per million prompt tokens.
    pub prompt_per_mtok: Option<f64>,
    /// $ per million completion (generated) tokens.
    pub completion_per_mtok: Option<f64>,
    /// $ per replica per hour, with `replicas`.
    pub per_replica_hour: Option<f64>,
    pub replicas: Option<Replicas>,
    /// The series counted (defaults: the preset's).
    pub prompt_tokens: Option<Selector>,
    pub completion_tokens: Option<Selector>,
    pub requests: Option<Selector>,
    pub absolute: Option<LevelsEntry>,
    pub vs_blue: Option<LevelsEntry>,
    pub guard: Option<bool>,
    pub rollback: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replicas {
    pub blue: u32,
    pub green: u32,
}

impl Replicas {
    pub fn of(self, c: Color) -> u32 {
        match c {
            Color::Blue => self.blue,
            Color::Green => self.green,
        }
    }
}

/// A server's token and request counters, the defaults of `[cost]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CostSeries {
    pub prompt_tokens: Option<Selector>,
    pub completion_tokens: Option<Selector>,
    pub requests: Selector,
}

/// How a colour's spending is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Price {
    /// $ per million tokens of each counter.
    Tokens {
        prompt: Option<(Selector, f64)>,
        completion: Option<(Selector, f64)>,
    },
    /// $ per replica-hour, for this many replicas per colour.
    Fleet {
        per_replica_hour: f64,
        replicas: Replicas,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CostModel {
    pub price: Price,
    /// Requests served, summed (the divisor).
    pub requests: Vec<Selector>,
}

/// The rates (per second) a cost is computed from, for one colour.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub requests: f64,
}

/// What `color` costs per hour while it serves nothing, from the `[cost]`
/// metric among `specs`: none without one, or with token prices (an idle
/// colour spends no tokens).
pub fn idle_cost_per_hour<'a>(
    specs: impl IntoIterator<Item = &'a MetricSpec>,
    color: Color,
) -> Option<f64> {
    specs.into_iter().find_map(|s| match &s.compute.formula {
        Some(Formula::Cost(model)) => model.idle_per_hour(color),
        _ => None,
    })
}

impl CostModel {
    /// $ per second spent by `color` at these rates.
    pub fn dollars_per_sec(&self, color: Color, r: Rates) -> f64 {
        match &self.price {
            Price::Tokens { prompt, completion } => {
                let p = prompt
                    .as_ref()
                    .map_or(0.0, |(_, price)| r.prompt_tokens * price);
                let c = completion
                    .as_ref()
                    .map_or(0.0, |(_, price)| r.completion_tokens * price);
                (p + c) / 1e6
            }
            Price::Fleet {
                per_replica_hour,
                replicas,
            } => per_replica_hour * f64::from(replicas.of(color)) / 3600.0,
        }
    }

    /// $ per 1,000 requests; none without requests.
    pub fn per_1k(&self, color: Color, r: Rates) -> Option<f64> {
        (r.requests > 0.0).then(|| self.dollars_per_sec(color, r) / r.requests * 1000.0)
    }

    /// What a colour costs per hour while it serves nothing (blue as a
    /// standby): its replicas, with a fleet price; nothing with token prices.
    pub fn idle_per_hour(&self, color: Color) -> Option<f64> {
        match &self.price {
            Price::Fleet {
                per_replica_hour,
                replicas,
            } => Some(per_replica_hour * f64::from(replicas.of(color))),
            Price::Tokens { .. } => None,
        }
    }

    /// The series it reads.
    pub fn series(&self) -> Vec<String> {
        let tokens = match &self.price {
            Price::Tokens { prompt, completion } => [prompt, completion]
                .into_iter()
                .flatten()
                .map(|(s, _)| s.to_string())
                .collect(),
            Price::Fleet { .. } => Vec::new(),
        };
        [
            tokens,
            self.requests.iter().map(ToString::to_string).collect(),
        ]
        .concat()
    }

    /// The PromQL template of $ per 1,000 requests for `color`.
    pub fn promql(&self, color: Color) -> String {
        let spend = match &self.price {
            Price::Tokens { prompt, completion } => {
                let terms: Vec<String> = [prompt, completion]
                    .into_iter()
                    .flatten()
                    .map(|(s, price)| {
                        format!("{} * {}", rates(std::slice::from_ref(s)), price / 1e6)
                    })
                    .collect();
                format!("({})", terms.join(" + "))
            }
            Price::Fleet { .. } => format!("{}", self.dollars_per_sec(color, Rates::default())),
        };
        format!("1000 * {spend} / {}", rates(&self.requests))
    }
}

impl CostConfig {
    /// The cost metric, with `series` (the preset's counters) where the
    /// table names none.
    pub fn spec(&self, series: &CostSeries, min_requests: u64) -> Result<MetricSpec, Invalid> {
        let price = self.price(series)?;
        let unit = Unit::Dollars;
        let requests = vec![
            self.requests
                .clone()
                .unwrap_or_else(|| series.requests.clone()),
        ];
        let absolute = self
            .absolute
            .as_ref()
            .map(|l| bounds(l, unit, Better::Lower, "cost.absolute"))
            .transpose()?;
        let vs_blue = self
            .vs_blue
            .as_ref()
            .map(|l| margins(l, unit, Better::Lower, "cost.vs_blue"))
            .transpose()?;
        Ok(MetricSpec {
            id: ID.into(),
            label: LABEL.into(),
            unit,
            better: Better::Lower,
            compute: Compute {
                formula: Some(Formula::Cost(CostModel { price, requests })),
                query: None,
                cloudwatch: None,
            },
            absolute,
            vs_blue,
            min_requests,
            guard: self.guard.unwrap_or(true),
            rollback: self.rollback.unwrap_or(true),
            test: None,
        })
    }

    fn price(&self, series: &CostSeries) -> Result<Price, Invalid> {
        let price = |key: &str, v: Option<f64>| match v {
            Some(p) if !(p.is_finite() && p >= 0.0) => Err((
                format!("cost.{key}"),
                format!("{p} is not a price: a number, 0 or more"),
            )),
            v => Ok(v),
        };
        let prompt = price("prompt_per_mtok", self.prompt_per_mtok)?;
        let completion = price("completion_per_mtok", self.completion_per_mtok)?;
        let fleet = price("per_replica_hour", self.per_replica_hour)?;
        let tokens = prompt.is_some() || completion.is_some();
        match (tokens, fleet, self.replicas) {
            (true, Some(_), _) => Err((
                "cost.per_replica_hour".into(),
                "give token prices or a fleet price, not both".into(),
            )),
            (false, None, _) => Err((
                "cost".into(),
                "names no price: give `prompt_per_mtok` and `completion_per_mtok`, or `per_replica_hour` with `replicas`".into(),
            )),
            (false, Some(_), None) => Err((
                "cost.replicas".into(),
                "a fleet price needs `replicas = { blue = N, green = N }`".into(),
            )),
            (false, Some(per_replica_hour), Some(replicas)) => Ok(Price::Fleet { per_replica_hour, replicas }),
            (true, None, _) => {
                let counter = |key: &str, own: &Option<Selector>, preset: &Option<Selector>, p: Option<f64>| {
                    match (p, own.clone().or_else(|| preset.clone())) {
                        (None, _) => Ok(None),
                        (Some(p), Some(s)) => Ok(Some((s, p))),
                        (Some(_), None) => Err((
                            format!("cost.{key}"),
                            format!("the preset has no token counter: name it with `{key} = \"...\"`"),
                        )),
                    }
                };
                Ok(Price::Tokens {
                    prompt: counter("prompt_tokens", &self.prompt_tokens, &series.prompt_tokens, prompt)?,
                    completion: counter(
                        "completion_tokens",
                        &self.completion_tokens,
                        &series.completion_tokens,
                        completion,
                    )?,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vllm() -> CostSeries {
        CostSeries {
            prompt_tokens: Some(Selector::named("vllm:prompt_tokens_total")),
            completion_tokens: Some(Selector::named("vllm:generation_tokens_total")),
            requests: Selector::named("vllm:request_success_total"),
        }
    }

    fn tokens() -> CostConfig {
        CostConfig {
            prompt_per_mtok: Some(0.5),
            completion_per_mtok: Some(1.5),
            ..CostConfig::default()
        }
    }

    fn model(c: &CostConfig) -> CostModel {
        match c.spec(&vllm(), 20).unwrap().compute.formula {
            Some(Formula::Cost(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn token_prices_give_dollars_per_thousand_requests() {
        // 10 req/s of 1,000 prompt and 200 completion tokens each:
        // $0.0005 + $0.0003 = $0.0008 a request, $0.80 per 1,000.
        let r = Rates {
            prompt_tokens: 10_000.0,
            completion_tokens: 2_000.0,
            requests: 10.0,
        };
        let v = model(&tokens()).per_1k(Color::Green, r).unwrap();
        assert!((v - 0.8).abs() < 1e-9, "{v}");
        assert_eq!(
            model(&tokens()).per_1k(Color::Green, Rates::default()),
            None
        );
        assert_eq!(model(&tokens()).idle_per_hour(Color::Blue), None);
    }

    #[test]
    fn a_fleet_price_divides_each_colours_replicas_by_its_requests() {
        let c = CostConfig {
            per_replica_hour: Some(3.6),
            replicas: Some(Replicas { blue: 4, green: 2 }),
            ..CostConfig::default()
        };
        let m = model(&c);
        let r = Rates {
            requests: 2.0,
            ..Rates::default()
        };
        // Blue: 4 × $3.60/h = $0.004/s over 2 req/s = $2 per 1,000.
        assert!((m.per_1k(Color::Blue, r).unwrap() - 2.0).abs() < 1e-9);
        assert!((m.per_1k(Color::Green, r).unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(m.idle_per_hour(Color::Blue), Some(14.4));
        assert_eq!(m.series(), ["vllm:request_success_total"]);
        assert!(
            m.promql(Color::Blue).starts_with(
                "1000 * 0.004 / sum(rate(vllm:request_success_total{track=\"$color\"}"
            )
        );
        assert!(m.promql(Color::Green).starts_with("1000 * 0.002 / "));
    }

    #[test]
    fn the_cost_is_a_metric_with_a_relative_guardrail() {
        let mut c = tokens();
        c.vs_blue = Some(LevelsEntry {
            warn: None,
            breach: super::super::Threshold::parse("+30%").unwrap(),
        });
        let s = c.spec(&vllm(), 20).unwrap();
        assert_eq!(
            (s.id.as_str(), s.unit, s.better),
            (ID, Unit::Dollars, Better::Lower)
        );
        assert!(s.judged());
        assert_eq!(s.vs_blue_allowed(1.0).map(|l| l.breach), Some(0.3));
        let q = model(&c).promql(Color::Blue);
        assert!(
            q.contains("vllm:prompt_tokens_total") && q.contains("* 0.0000005"),
            "{q}"
        );
    }

    #[test]
    fn a_cost_table_without_a_clear_price_is_refused() {
        let none = CostConfig::default().spec(&vllm(), 0).unwrap_err();
        assert_eq!(none.0, "cost");
        let both = CostConfig {
            per_replica_hour: Some(1.0),
            ..tokens()
        }
        .spec(&vllm(), 0)
        .unwrap_err();
        assert_eq!(both.0, "cost.per_replica_hour");
        let no_replicas = CostConfig {
            per_replica_hour: Some(1.0),
            ..CostConfig::default()
        };
        assert_eq!(no_replicas.spec(&vllm(), 0).unwrap_err().0, "cost.replicas");
        let negative = CostConfig {
            prompt_per_mtok: Some(-1.0),
            ..CostConfig::default()
        };
        assert_eq!(
            negative.spec(&vllm(), 0).unwrap_err().0,
            "cost.prompt_per_mtok"
        );
        let no_counter = CostSeries {
            prompt_tokens: None,
            completion_tokens: None,
            requests: Selector::named("r"),
        };
        let e = tokens().spec(&no_counter, 0).unwrap_err();
        assert_eq!(e.0, "cost.prompt_tokens", "{e:?}");
    }
}
