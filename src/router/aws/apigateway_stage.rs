//! An API Gateway REST stage read as a split, and the `UpdateStage` patch
//! that sets one. Pure: JSON in, JSON out.
//!
//! All traffic goes where the stage variable points (`blue_value` or
//! `green_value`); a weighted step is a canary on the stage whose
//! `stageVariableOverrides` point the variable at green for
//! `percentTraffic` % of the requests.

use serde_json::{Value, json};

use crate::model::Split;

/// The stage's names for blue and green.
pub struct Names<'a> {
    pub variable: &'a str,
    pub blue: &'a str,
    pub green: &'a str,
}

/// One read of the stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub split: Split,
    /// The variable's value, the canary's share and override: what the
    /// split is made of, as the revision a write is checked against.
    pub revision: String,
    pub has_canary: bool,
    pub deployment_id: Option<String>,
}

fn pct(p: f64) -> Result<Split, String> {
    Split::new(p.round().clamp(0.0, 100.0) as u8)
        .filter(|_| (0.0..=100.0).contains(&p))
        .ok_or_else(|| format!("percentTraffic {p} is outside 0..100"))
}

pub fn read(v: &Value, n: &Names<'_>) -> Result<Stage, String> {
    let value = v["variables"][n.variable]
        .as_str()
        .ok_or_else(|| format!("the stage has no variable `{}`", n.variable))?;
    let canary = v.get("canarySettings").filter(|c| c.is_object());
    let share = canary
        .and_then(|c| c["percentTraffic"].as_f64())
        .unwrap_or(0.0);
    let over = canary.and_then(|c| c["stageVariableOverrides"][n.variable].as_str());
    let split = match (value, share > 0.0, over) {
        (v, false, _) if v == n.blue => Split::ZERO,
        (v, false, _) if v == n.green => Split::FULL,
        (v, true, Some(o)) if v == n.blue && o == n.green => pct(share)?,
        (v, true, Some(o)) if v == n.green && o == n.blue => pct(share)?.flipped(),
        _ => {
            return Err(format!(
                "`{}` is `{value}` with a canary of {share}% overriding it to {}: neither blue \
                 (`{}`) nor green (`{}`) as configured",
                n.variable,
                over.unwrap_or("nothing"),
                n.blue,
                n.green
            ));
        }
    };
    Ok(Stage {
        split,
        revision: format!("{value}+{share}%{}", over.unwrap_or("")),
        has_canary: canary.is_some(),
        deployment_id: v["deploymentId"].as_str().map(str::to_string),
    })
}

/// The patch operations that set `split` on `now`: the variable alone
/// for 0 and 100 % (a canary removed), the variable on blue and a canary
/// overriding it to green for a share in between.
pub fn patch(split: Split, now: &Stage, n: &Names<'_>) -> Value {
    let var = format!("/variables/{}", n.variable);
    let mut ops = Vec::new();
    match split.green() {
        g @ (0 | 100) => {
            let value = if g == 0 { n.blue } else { n.green };
            ops.push(json!({"op": "replace", "path": var, "value": value}));
            if now.has_canary {
                ops.push(json!({"op": "remove", "path": "/canarySettings"}));
            }
        }
        g => {
            ops.push(json!({"op": "replace", "path": var, "value": n.blue}));
            if !now.has_canary
                && let Some(d) = &now.deployment_id
            {
                // A new canary runs the stage's own deployment: only the
                // variable differs.
                ops.push(
                    json!({"op": "replace", "path": "/canarySettings/deploymentId", "value": d}),
                );
            }
            ops.push(json!({"op": "replace",
                "path": format!("/canarySettings/stageVariableOverrides/{}", n.variable),
                "value": n.green}));
            ops.push(
                json!({"op": "replace", "path": "/canarySettings/percentTraffic",
                "value": format!("{g}.0")}),
            );
        }
    }
    json!({ "patchOperations": ops })
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Names<'static> = Names {
        variable: "lambda_version",
        blue: "1",
        green: "2",
    };

    #[test]
    fn the_variable_and_the_canary_make_the_split() {
        let s = |v: Value| read(&v, &N).map(|s| s.split.green());
        assert_eq!(s(json!({"variables": {"lambda_version": "1"}})), Ok(0));
        assert_eq!(s(json!({"variables": {"lambda_version": "2"}})), Ok(100));
        let canary = |p: f64, o: &str| {
            json!({"variables": {"lambda_version": "1"},
            "canarySettings": {"percentTraffic": p, "stageVariableOverrides": {"lambda_version": o}}})
        };
        assert_eq!(s(canary(25.0, "2")), Ok(25));
        assert_eq!(s(canary(0.0, "2")), Ok(0));
        assert!(s(canary(25.0, "3")).is_err());
        assert!(s(json!({"variables": {"lambda_version": "9"}})).is_err());
        assert!(s(json!({"variables": {}})).is_err());
    }

    #[test]
    fn patches_switch_the_variable_or_weight_a_canary() {
        let now = read(
            &json!({"deploymentId": "d1", "variables": {"lambda_version": "1"}}),
            &N,
        )
        .unwrap();
        let p = patch(Split::FULL, &now, &N);
        assert_eq!(
            p["patchOperations"],
            json!([{"op": "replace", "path": "/variables/lambda_version", "value": "2"}])
        );
        let p = patch(Split::new(25).unwrap(), &now, &N);
        let ops = p["patchOperations"].as_array().unwrap();
        assert_eq!(ops[1]["path"], "/canarySettings/deploymentId");
        assert_eq!(ops[3]["value"], "25.0");
        let with_canary = Stage {
            has_canary: true,
            ..now
        };
        let back = patch(Split::ZERO, &with_canary, &N);
        assert_eq!(
            back["patchOperations"][1],
            json!({"op": "remove", "path": "/canarySettings"})
        );
    }
}
