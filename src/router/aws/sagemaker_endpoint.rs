//! A SageMaker endpoint as `DescribeEndpoint` tells it, read as a split of
//! two production variants, and the `UpdateEndpointWeightsAndCapacities`
//! body that sets one. Pure: JSON in, JSON out.

use serde_json::{Value, json};

use crate::model::{Color, Split};

/// One production variant. A weight SageMaker leaves out counts as 0
/// (moto drops the weight of a variant created at 0.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub current_weight: f64,
    pub desired_weight: f64,
    pub current_count: u32,
    pub desired_count: u32,
}

/// One read of the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `InService`, `Updating`, `Failed`, ...
    pub status: String,
    pub blue: Variant,
    pub green: Variant,
    /// The split the endpoint serves now (current weights).
    pub split: Split,
    /// The split it was last asked for (desired weights).
    pub desired: Split,
}

pub const IN_SERVICE: &str = "InService";

fn variant(v: &Value) -> Variant {
    let n = |k: &str| v[k].as_f64();
    let count = |k: &str| v[k].as_u64().map(|c| c as u32);
    let current_weight = n("CurrentWeight").unwrap_or(0.0);
    let current_count = count("CurrentInstanceCount").unwrap_or(0);
    Variant {
        current_weight,
        desired_weight: n("DesiredWeight").unwrap_or(current_weight),
        current_count,
        desired_count: count("DesiredInstanceCount").unwrap_or(current_count),
    }
}

/// Weights are relative: green's share of the two.
fn share(blue: f64, green: f64) -> Result<Split, String> {
    if blue < 0.0 || green < 0.0 || blue + green <= 0.0 {
        return Err(format!(
            "weights blue {blue} and green {green} send no traffic"
        ));
    }
    let pct = (green / (blue + green) * 100.0).round();
    Split::new(pct as u8).ok_or_else(|| format!("green's share {pct}% is out of range"))
}

pub fn read(v: &Value, blue: &str, green: &str) -> Result<Endpoint, String> {
    let status = v["EndpointStatus"]
        .as_str()
        .ok_or("the answer has no EndpointStatus")?
        .to_string();
    let variants = v["ProductionVariants"]
        .as_array()
        .ok_or("the endpoint lists no production variants")?;
    let find = |name: &str| {
        variants
            .iter()
            .find(|p| p["VariantName"] == name)
            .map(variant)
            .ok_or_else(|| format!("the endpoint has no variant `{name}`"))
    };
    let (b, g) = (find(blue)?, find(green)?);
    // A third variant with weight takes traffic the split does not show.
    if let Some(other) = variants.iter().find(|p| {
        p["VariantName"] != blue && p["VariantName"] != green && variant(p).current_weight > 0.0
    }) {
        return Err(format!(
            "variant `{}` also takes traffic",
            other["VariantName"].as_str().unwrap_or("?")
        ));
    }
    Ok(Endpoint {
        status,
        split: share(b.current_weight, g.current_weight)?,
        desired: share(b.desired_weight, g.desired_weight)?,
        blue: b,
        green: g,
    })
}

impl Endpoint {
    /// What identifies this state for a conditional write: the weights and
    /// counts last asked for (stable from `Updating` to `InService`).
    pub fn revision(&self) -> String {
        format!(
            "{:.4}/{:.4} x{}/{}",
            self.blue.desired_weight,
            self.green.desired_weight,
            self.blue.desired_count,
            self.green.desired_count
        )
    }

    pub fn in_service(&self) -> bool {
        self.status == IN_SERVICE
    }
}

/// The update body: both variants, each with its weight and always its
/// desired instance count (left out, SageMaker's emulator sets the counts
/// to none). `scale` sets one colour's count instead (a scale-down).
pub fn update_body(
    endpoint: &str,
    names: (&str, &str),
    now: &Endpoint,
    split: Split,
    scale: Option<(Color, u32)>,
) -> Value {
    let g = f64::from(split.green()) / 100.0;
    let count = |c: Color, v: &Variant| match scale {
        Some((s, n)) if s == c => n,
        _ => v.desired_count,
    };
    json!({
        "EndpointName": endpoint,
        "DesiredWeightsAndCapacities": [
            {"VariantName": names.0, "DesiredWeight": 1.0 - g,
             "DesiredInstanceCount": count(Color::Blue, &now.blue)},
            {"VariantName": names.1, "DesiredWeight": g,
             "DesiredInstanceCount": count(Color::Green, &now.green)},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(status: &str, green: Value) -> Value {
        json!({"EndpointStatus": status, "ProductionVariants": [
            {"VariantName": "blue", "CurrentWeight": 0.75, "DesiredWeight": 0.75,
             "CurrentInstanceCount": 2, "DesiredInstanceCount": 2},
            green,
        ]})
    }

    #[test]
    fn a_variant_without_weight_weighs_nothing() {
        let e = read(
            &endpoint(
                "InService",
                json!({"VariantName": "green", "CurrentInstanceCount": 1}),
            ),
            "blue",
            "green",
        )
        .unwrap();
        assert_eq!(e.split, Split::ZERO);
        assert_eq!(e.green.desired_count, 1);
        assert!(e.in_service());
    }

    #[test]
    fn weights_are_relative_and_updating_keeps_both() {
        let green = json!({"VariantName": "green", "CurrentWeight": 0.25, "DesiredWeight": 0.0,
                           "CurrentInstanceCount": 1, "DesiredInstanceCount": 1});
        let e = read(&endpoint("Updating", green), "blue", "green").unwrap();
        assert_eq!((e.split.green(), e.desired.green()), (25, 0));
        assert!(!e.in_service());
        assert!(
            read(
                &endpoint("InService", json!({"VariantName": "x"})),
                "blue",
                "green"
            )
            .is_err()
        );
        let body = update_body("ep", ("blue", "green"), &e, Split::new(5).unwrap(), None);
        let d = &body["DesiredWeightsAndCapacities"];
        assert_eq!(d[0]["DesiredWeight"], 0.95);
        assert_eq!(d[0]["DesiredInstanceCount"], 2);
        assert_eq!(d[1]["DesiredWeight"], 0.05);
        assert_eq!(d[1]["DesiredInstanceCount"], 1);
        // Each colour's count after a scale of one colour to 0.
        let counts = |split, colour| {
            let b = update_body("ep", ("blue", "green"), &e, split, Some((colour, 0)));
            let d = &b["DesiredWeightsAndCapacities"];
            (
                d[0]["DesiredInstanceCount"].clone(),
                d[1]["DesiredInstanceCount"].clone(),
            )
        };
        assert_eq!(counts(Split::ZERO, Color::Green), (json!(2), json!(0)));
        assert_eq!(counts(Split::FULL, Color::Blue), (json!(0), json!(1)));
    }
}
