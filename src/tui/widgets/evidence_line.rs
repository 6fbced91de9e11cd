//! Green's evidence on a tested metric, one line under its checks in the
//! user's words (`stats::text`): loud once green is found worse, quiet
//! while it says nothing yet. Pure.

use ratatui::text::{Line, Span};

use super::super::theme::Theme;
use crate::engine::state::EvidenceView;
use crate::stats::Finding;

/// The words: while nothing is decided, the evidence so far leads, since
/// it is what rises as green turns worse before the verdict says so.
pub fn text(e: &EvidenceView) -> String {
    match e.finding {
        Finding::Inconclusive {
            needed: Some(_), ..
        } => format!(
            "evidence: {} so far; {}",
            crate::stats::text::times(e.e_value),
            e.text
        ),
        _ => format!("evidence: {}", e.text),
    }
}

/// The line, indented by `pad`.
pub fn line<'a>(e: &EvidenceView, t: &Theme, pad: &str) -> Line<'a> {
    let style = match e.finding {
        Finding::Worse { .. } => t.breach,
        _ => t.dim,
    };
    Line::from(vec![
        Span::raw(pad.to_string()),
        Span::styled(text(e), style),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Needed;

    fn view(finding: Finding, e_value: f64) -> EvidenceView {
        EvidenceView {
            id: "error_rate".into(),
            finding,
            text: "the finding".into(),
            e_value,
        }
    }

    #[test]
    fn the_evidence_so_far_leads_while_undecided() {
        let needed = Some(Needed {
            green_requests: 1900.0,
        });
        let open = view(
            Finding::Inconclusive {
                e_value: 2.7,
                needed,
            },
            2.7,
        );
        assert_eq!(text(&open), "evidence: 2.7× so far; the finding");
        let worse = view(Finding::Worse { e_value: 40.0 }, 40.0);
        assert_eq!(text(&worse), "evidence: the finding");
    }
}
