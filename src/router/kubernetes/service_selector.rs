//! `service-selector`: the Service's selector is blue's label set or
//! green's. The classic flip: 0 or 100 %, nothing between.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::Split;

#[derive(Debug, Clone)]
pub struct Selector {
    pub blue: BTreeMap<String, String>,
    pub green: BTreeMap<String, String>,
}

impl Selector {
    /// The split the Service's `spec.selector` stands for.
    pub fn read(&self, object: &Value) -> Result<Split, String> {
        let Some(found) = object.pointer("/spec/selector").and_then(Value::as_object) else {
            return Err("the Service has no spec.selector".into());
        };
        let found: BTreeMap<String, String> = found
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        if found == self.blue {
            Ok(Split::ZERO)
        } else if found == self.green {
            Ok(Split::FULL)
        } else {
            Err(format!(
                "its selector {} is neither blue's {} nor green's {}",
                show(&found),
                show(&self.blue),
                show(&self.green)
            ))
        }
    }

    /// A merge patch that sets the selector of `split` (0 or 100) if the
    /// Service is still at `resource_version` (else the server answers 409).
    /// A merge patch merges maps, so the other colour's keys that the target
    /// lacks are removed with `null`.
    pub fn patch(&self, split: Split, resource_version: &str) -> Value {
        let (target, other) = if split == Split::FULL {
            (&self.green, &self.blue)
        } else {
            (&self.blue, &self.green)
        };
        let mut selector = Map::new();
        for k in other.keys().filter(|k| !target.contains_key(*k)) {
            selector.insert(k.clone(), Value::Null);
        }
        for (k, v) in target {
            selector.insert(k.clone(), Value::String(v.clone()));
        }
        json!({
            "metadata": { "resourceVersion": resource_version },
            "spec": { "selector": selector },
        })
    }
}

fn show(m: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", super::errors::clean(&parts.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> Selector {
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Selector {
            blue: m(&[("app", "chat"), ("track", "blue"), ("canary", "no")]),
            green: m(&[("app", "chat"), ("track", "green")]),
        }
    }

    #[test]
    fn reads_blue_green_or_neither() {
        let s = sel();
        let obj = |sel: Value| json!({ "spec": { "selector": sel } });
        assert_eq!(
            s.read(&obj(json!({"app":"chat","track":"blue","canary":"no"}))),
            Ok(Split::ZERO)
        );
        assert_eq!(
            s.read(&obj(json!({"app":"chat","track":"green"}))),
            Ok(Split::FULL)
        );
        let e = s.read(&obj(json!({"app":"chat"}))).unwrap_err();
        assert!(e.contains("neither"), "{e}");
        assert!(s.read(&json!({"spec": {}})).is_err());
    }

    #[test]
    fn the_flip_removes_keys_only_the_other_colour_has() {
        let p = sel().patch(Split::FULL, "41");
        assert_eq!(p["metadata"]["resourceVersion"], "41");
        assert_eq!(
            p["spec"]["selector"],
            json!({"app":"chat","track":"green","canary":null})
        );
        let back = sel().patch(Split::ZERO, "42");
        assert_eq!(
            back["spec"]["selector"],
            json!({"app":"chat","track":"blue","canary":"no"})
        );
    }
}
