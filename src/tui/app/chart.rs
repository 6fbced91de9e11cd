//! Which metric the panels chart: by default every metric on screen
//! shares the rows left under the text; `m` or `:chart ID` picks one,
//! which then gets them all (with many metrics, a shared chart is too
//! short to draw).

use crate::engine::State;

use super::{Action, App};

impl App {
    /// The id of the metric picked for the chart; `None`: every metric.
    pub fn chart(&self) -> Option<&str> {
        self.chart.as_deref()
    }

    /// `m`: the next metric in the config's order, then every metric
    /// again.
    pub(super) fn next_chart(&mut self, state: &State) -> Action {
        let ids: Vec<&str> = state.metrics.iter().map(|m| m.id.as_str()).collect();
        let next = match self.chart.as_deref() {
            None => ids.first().copied(),
            Some(now) => ids
                .iter()
                .position(|id| *id == now)
                .and_then(|i| ids.get(i + 1))
                .copied(),
        };
        self.show_chart(state, next)
    }

    /// `:chart ID` (`:chart` alone: every metric).
    pub(super) fn pick_chart(&mut self, state: &State, id: Option<&str>) -> Action {
        match id {
            Some(id) if state.metric_index(id).is_none() => {
                let ids: Vec<&str> = state.metrics.iter().map(|m| m.id.as_str()).collect();
                self.set_error(format!(
                    "chart: no metric \"{id}\" (the metrics are {})",
                    ids.join(", ")
                ));
                Action::None
            }
            _ => self.show_chart(state, id),
        }
    }

    fn show_chart(&mut self, state: &State, id: Option<&str>) -> Action {
        self.chart = id.map(str::to_string);
        let label = id
            .and_then(|id| state.metric_index(id))
            .map(|i| state.metrics[i].label.clone());
        self.set_status(match label {
            Some(l) => format!("chart: {l} (m for the next)"),
            None => "chart: every metric".to_string(),
        });
        Action::None
    }
}
