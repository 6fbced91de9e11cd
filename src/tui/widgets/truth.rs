//! "Three views of the truth" for the header: beside the split the router
//! reports, the split the metrics show and the split the data plane was
//! seen to serve, each with its age. A view that differs is marked "≠" in
//! the warn style, so it is seen without reading the numbers.

use std::time::Instant;

use ratatui::text::Span;

use crate::engine::State;
use crate::format::age;

use super::super::theme::Theme;

/// What marks a view that differs from the router's split.
pub const DIFFERS: &str = "≠ ";

/// The age of the router's answer, to follow its split.
pub fn router_age<'a>(state: &State, t: &Theme, now: Instant) -> Option<Span<'a>> {
    let at = state.traffic.split_read_at?;
    Some(Span::styled(
        format!(" ({})", age(now.saturating_duration_since(at))),
        t.dim,
    ))
}

/// "metrics 24.6% (3s)": green's share of the requests, marked when it has
/// differed from the router's split beyond the margin for a whole window.
pub fn metrics_view<'a>(state: &State, t: &Theme, now: Instant) -> Option<Vec<Span<'a>>> {
    let o = state.traffic.observed?;
    let text = format!(
        "metrics {:.1}% ({})",
        o.green,
        age(now.saturating_duration_since(o.at))
    );
    Some(if state.traffic.observed_disagrees {
        vec![Span::styled(format!("{DIFFERS}{text}"), t.warn)]
    } else {
        vec![Span::raw(text)]
    })
}

/// "data plane 25% (12s)": what the router's verification saw served,
/// marked when it is not the split the router reports.
pub fn data_plane_view<'a>(state: &State, t: &Theme, now: Instant) -> Option<Vec<Span<'a>>> {
    let v = state.traffic.verified.as_ref()?;
    let text = format!(
        "data plane {}% ({})",
        v.served.green(),
        age(now.saturating_duration_since(v.at))
    );
    let differs = state.traffic.split.is_some_and(|s| s != v.served);
    Some(if differs {
        vec![Span::styled(format!("{DIFFERS}{text}"), t.warn)]
    } else {
        vec![Span::raw(text)]
    })
}
