//! `gateway-api`: one rule of an HTTPRoute has blue's and green's
//! `backendRefs`; the split is their weights. Weights are written as
//! percentages (blue 100 - p, green p) so a person reading the route sees
//! the split. A custom resource takes no strategic merge and a merge patch
//! would replace the whole `rules` list, so the write is a JSON Patch whose
//! `test` ops check the revision and that each backend is where the last
//! read found it; it touches nothing but the two weights.

use serde_json::{Value, json};

use crate::model::Split;

/// Where blue and green sit in the rule's `backendRefs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Backends {
    pub blue: usize,
    pub green: usize,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub rule: usize,
    pub blue_backend: String,
    pub green_backend: String,
}

impl Route {
    pub fn read(&self, object: &Value) -> Result<(Split, Backends), String> {
        let rules = object
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .ok_or("the HTTPRoute has no spec.rules")?;
        let rule = rules.get(self.rule).ok_or_else(|| {
            format!(
                "the HTTPRoute has {} rule(s); router.kubernetes.rule = {} is not one of them",
                rules.len(),
                self.rule
            )
        })?;
        let refs = rule
            .get("backendRefs")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("rule {} has no backendRefs", self.rule))?;
        let find = |name: &str| -> Result<usize, String> {
            let at: Vec<usize> = refs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.get("name").and_then(Value::as_str) == Some(name))
                .map(|(i, _)| i)
                .collect();
            match at[..] {
                [i] => Ok(i),
                [] => Err(format!(
                    "rule {} has no backendRef named `{name}`",
                    self.rule
                )),
                _ => Err(format!(
                    "rule {} has {} backendRefs named `{name}`",
                    self.rule,
                    at.len()
                )),
            }
        };
        let (b, g) = (find(&self.blue_backend)?, find(&self.green_backend)?);
        // Gateway API: an absent weight is 1.
        let weight = |i: usize| -> Result<u64, String> {
            match refs[i].get("weight") {
                None => Ok(1),
                Some(w) => w
                    .as_u64()
                    .ok_or_else(|| format!("backendRef {i} has weight {w}, not a whole number")),
            }
        };
        let (wb, wg) = (weight(b)?, weight(g)?);
        if wb + wg == 0 {
            return Err(format!(
                "both backends of rule {} have weight 0: the rule sends no traffic",
                self.rule
            ));
        }
        let pct = (wg * 100 + (wb + wg) / 2) / (wb + wg);
        let split = Split::new(pct as u8).ok_or("weights out of range")?;
        Ok((split, Backends { blue: b, green: g }))
    }

    /// The JSON Patch that sets `split`, failing with 422 unless the route
    /// is still at `resource_version` with the backends at `at`.
    pub fn patch(&self, split: Split, resource_version: &str, at: &Backends) -> Value {
        let base = format!("/spec/rules/{}/backendRefs", self.rule);
        json!([
            { "op": "test", "path": "/metadata/resourceVersion", "value": resource_version },
            { "op": "test", "path": format!("{base}/{}/name", at.blue), "value": self.blue_backend },
            { "op": "test", "path": format!("{base}/{}/name", at.green), "value": self.green_backend },
            { "op": "add", "path": format!("{base}/{}/weight", at.blue), "value": split.blue() },
            { "op": "add", "path": format!("{base}/{}/weight", at.green), "value": split.green() },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            rule: 1,
            blue_backend: "b".into(),
            green_backend: "g".into(),
        }
    }

    fn obj(refs: Value) -> Value {
        json!({ "spec": { "rules": [ { "backendRefs": [ { "name": "other" } ] }, { "backendRefs": refs } ] } })
    }

    #[test]
    fn reads_weights_as_a_split() {
        let (s, at) = route()
            .read(&obj(
                json!([{ "name": "g", "weight": 30 }, { "name": "b", "weight": 70 }]),
            ))
            .unwrap();
        assert_eq!(s.green(), 30);
        assert_eq!(at, Backends { blue: 1, green: 0 });
        // Absent weights are 1 each: an even split.
        let (s, _) = route()
            .read(&obj(json!([{ "name": "g" }, { "name": "b" }])))
            .unwrap();
        assert_eq!(s.green(), 50);
    }

    #[test]
    fn refuses_missing_or_doubled_backends() {
        assert!(
            route()
                .read(&obj(json!([{ "name": "b" }])))
                .unwrap_err()
                .contains("`g`")
        );
        let e = route()
            .read(&obj(
                json!([{ "name": "b" }, { "name": "g" }, { "name": "g" }]),
            ))
            .unwrap_err();
        assert!(e.contains("2 backendRefs"), "{e}");
        let e = route()
            .read(&obj(
                json!([{ "name": "b", "weight": 0 }, { "name": "g", "weight": 0 }]),
            ))
            .unwrap_err();
        assert!(e.contains("no traffic"), "{e}");
        let mut r = route();
        r.rule = 5;
        assert!(r.read(&obj(json!([]))).unwrap_err().contains("2 rule(s)"));
    }

    #[test]
    fn the_patch_tests_before_it_writes_only_the_weights() {
        let p = route().patch(
            Split::new(25).unwrap(),
            "9",
            &Backends { blue: 1, green: 0 },
        );
        let ops: Vec<&str> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["op"].as_str().unwrap())
            .collect();
        assert_eq!(ops, ["test", "test", "test", "add", "add"]);
        assert_eq!(p[3]["path"], "/spec/rules/1/backendRefs/1/weight");
        assert_eq!(p[3]["value"], 75);
        assert_eq!(p[4]["value"], 25);
    }
}
