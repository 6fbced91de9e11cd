//! `ingress-nginx`: a canary Ingress beside the main one. The split is its
//! `canary-weight` annotation (a string) out of `canary-weight-total`
//! (default 100). A `canary-by-header` on the Ingress lets testers force
//! green; the cockpit never changes it, only reports it.

use serde_json::{Value, json};

use crate::model::Split;

const PREFIX: &str = "nginx.ingress.kubernetes.io/";

/// What a write needs from the last read.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub total: u32,
    pub header: Option<String>,
}

fn annotation<'a>(object: &'a Value, name: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(format!("{PREFIX}{name}")))
        .and_then(Value::as_str)
}

fn number(object: &Value, name: &str) -> Result<Option<u32>, String> {
    match annotation(object, name) {
        None => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| {
            format!(
                "annotation {PREFIX}{name} = {:?} is not a whole number",
                super::errors::clean(s)
            )
        }),
    }
}

pub fn read(object: &Value) -> Result<(Split, Canary), String> {
    if annotation(object, "canary") != Some("true") {
        return Err(format!(
            "annotation {PREFIX}canary is not \"true\": this Ingress is not a canary"
        ));
    }
    let total = number(object, "canary-weight-total")?.unwrap_or(100);
    if total == 0 {
        return Err(format!("annotation {PREFIX}canary-weight-total is 0"));
    }
    // ingress-nginx reads a missing weight as 0, but a missing annotation is
    // missing data, not a split the cockpit should claim to know.
    let Some(weight) = number(object, "canary-weight")? else {
        return Err(format!(
            "annotation {PREFIX}canary-weight is missing; set it to \"0\" to start"
        ));
    };
    if weight > total {
        return Err(format!(
            "canary-weight {weight} is above canary-weight-total {total}"
        ));
    }
    let pct = (u64::from(weight) * 100 + u64::from(total) / 2) / u64::from(total);
    let split = Split::new(pct as u8).ok_or("weight over total")?;
    let header = annotation(object, "canary-by-header").map(super::errors::clean);
    Ok((split, Canary { total, header }))
}

impl Canary {
    /// The weight that stands for `split` out of this Ingress's total.
    pub fn weight(&self, split: Split) -> u32 {
        let t = u64::from(self.total);
        ((u64::from(split.green()) * t + 50) / 100) as u32
    }

    /// A merge patch of the weight, conditioned on `resource_version`
    /// (409 if the Ingress changed). Other annotations are left alone.
    pub fn patch(&self, split: Split, resource_version: &str) -> Value {
        json!({
            "metadata": {
                "resourceVersion": resource_version,
                "annotations": { format!("{PREFIX}canary-weight"): self.weight(split).to_string() },
            }
        })
    }

    pub fn note(&self) -> Option<String> {
        self.header
            .as_ref()
            .map(|h| format!("header `{h}: always` forces green"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ing(annotations: Value) -> Value {
        json!({ "metadata": { "annotations": annotations } })
    }

    #[test]
    fn reads_weight_out_of_the_total() {
        let (s, c) = read(&ing(json!({
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "250",
            "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
            "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
        })))
        .unwrap();
        assert_eq!(s.green(), 25);
        assert_eq!(c.total, 1000);
        assert_eq!(c.weight(Split::new(5).unwrap()), 50);
        assert!(c.note().unwrap().contains("X-Canary"));
        let p = c.patch(Split::new(50).unwrap(), "7");
        assert_eq!(
            p["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"],
            "500"
        );
        assert_eq!(p["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let canary = "nginx.ingress.kubernetes.io/canary";
        let weight = "nginx.ingress.kubernetes.io/canary-weight";
        assert!(
            read(&ing(json!({ weight: "5" })))
                .unwrap_err()
                .contains("not a canary")
        );
        assert!(
            read(&ing(json!({ canary: "true" })))
                .unwrap_err()
                .contains("missing")
        );
        assert!(
            read(&ing(json!({ canary: "true", weight: "five" })))
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            read(&ing(json!({ canary: "true", weight: "101" })))
                .unwrap_err()
                .contains("above")
        );
    }
}
