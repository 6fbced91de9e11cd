//! CloudWatch alarms as a reading: `DescribeAlarms` for both colours'
//! names in one call, then per colour how many are in `ALARM`, each with
//! the alarm's own `StateReason` (the colour's `alarms`, which the event
//! log shows and a breach names). An alarm that is missing or has insufficient data is no data,
//! never a pass. Pure but for the request body.

use serde_json::{Value, json};

use crate::model::{NoData, Reading};

/// One alarm as DescribeAlarms gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmState {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: String,
}

pub fn body(names: &[&String]) -> Value {
    json!({
        "AlarmNames": names,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "MaxRecords": 100,
    })
}

/// The metric and composite alarms of an answer.
pub fn parse(answer: &Value) -> Vec<AlarmState> {
    let field = |a: &Value, k: &str| a[k].as_str().map(crate::aws::clean).unwrap_or_default();
    ["MetricAlarms", "CompositeAlarms"]
        .iter()
        .flat_map(|k| answer[*k].as_array().cloned().unwrap_or_default())
        .map(|a| AlarmState {
            name: field(&a, "AlarmName"),
            state: field(&a, "StateValue"),
            reason: field(&a, "StateReason"),
        })
        .collect()
}

/// A colour's reading from its alarm `names`, and a line per alarm in
/// `ALARM` with its reason.
pub fn reading(names: &[String], found: &[AlarmState]) -> (Reading, Vec<String>) {
    if names.is_empty() {
        return (Reading::NoData(NoData::NotConfigured), Vec::new());
    }
    let (mut alarming, mut missing, mut unsure, mut lines) = (0, vec![], vec![], vec![]);
    for name in names {
        match found.iter().find(|a| &a.name == name) {
            None => missing.push(name.as_str()),
            Some(a) if a.state == "ALARM" => {
                alarming += 1;
                lines.push(format!("alarm {name} in ALARM: {}", a.reason));
            }
            Some(a) if a.state == "OK" => {}
            Some(a) => unsure.push(format!("{name} {}: {}", a.state, a.reason)),
        }
    }
    let reading = if alarming > 0 {
        // One alarm in ALARM is a breach whatever the others say.
        Reading::Value(f64::from(alarming))
    } else if !missing.is_empty() {
        Reading::NoData(NoData::Missing(format!(
            "a CloudWatch alarm named {}",
            missing.join(", ")
        )))
    } else if !unsure.is_empty() {
        Reading::NoData(NoData::Other(format!("alarm {}", unsure.join("; "))))
    } else {
        Reading::Value(0.0)
    };
    (reading, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(name: &str, state: &str) -> AlarmState {
        AlarmState {
            name: name.into(),
            state: state.into(),
            reason: format!("{name} says so"),
        }
    }

    #[test]
    fn one_alarm_in_alarm_counts_and_says_its_reason() {
        let names = vec!["a".to_string(), "b".to_string()];
        let found = [alarm("a", "ALARM"), alarm("b", "OK")];
        let (r, w) = reading(&names, &found);
        assert_eq!(r, Reading::Value(1.0));
        assert_eq!(w, ["alarm a in ALARM: a says so"]);
        let (r, _) = reading(&names, &[alarm("a", "OK"), alarm("b", "OK")]);
        assert_eq!(r, Reading::Value(0.0));
    }

    #[test]
    fn missing_or_unsure_alarms_are_no_data() {
        let names = vec!["a".to_string(), "b".to_string()];
        let (r, _) = reading(&names, &[alarm("a", "OK")]);
        assert!(matches!(r, Reading::NoData(NoData::Missing(m)) if m.contains('b')));
        let (r, _) = reading(&names, &[alarm("a", "OK"), alarm("b", "INSUFFICIENT_DATA")]);
        assert!(matches!(r, Reading::NoData(NoData::Other(_))));
        assert_eq!(reading(&[], &[]).0, Reading::NoData(NoData::NotConfigured));
        let parsed = parse(&json!({"MetricAlarms": [
            {"AlarmName": "a", "StateValue": "ALARM", "StateReason": "Threshold\nCrossed"}
        ], "CompositeAlarms": []}));
        assert_eq!(parsed[0].reason, "Threshold Crossed");
    }
}
