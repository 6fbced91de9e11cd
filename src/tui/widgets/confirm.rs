//! Yes/no dialogs for promote, a forced advance, disarming auto-rollback
//! and decommissioning blue. No is focused first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::engine::State;

use super::super::app::{App, ConfirmKind};
use super::popup;

/// Gate reasons listed in the force dialog before "+N more".
const MAX_REASONS: usize = 6;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    app: &App,
    kind: ConfirmKind,
    yes_focused: bool,
) {
    let t = app.theme();
    let mut lines = Vec::new();
    let title = match kind {
        ConfirmKind::Promote => {
            lines.push(Line::from(Span::styled(
                "Promote: flip 100% to green now?",
                t.label,
            )));
            lines.push(Line::from(Span::styled(
                "Skips the remaining steps; blue is kept as standby.",
                t.dim,
            )));
            " promote "
        }
        ConfirmKind::ForceAdvance | ConfirmKind::ForceSet(_) => {
            let ask = match kind {
                ConfirmKind::ForceSet(s) => format!("Force green to {s} past the gate?"),
                _ => "Force advance past the gate?".to_string(),
            };
            lines.push(Line::from(Span::styled(ask, t.label)));
            if state.gate.reasons.is_empty() {
                lines.push(Line::from(Span::styled("(the gate is open)", t.dim)));
            } else {
                lines.push(Line::from(Span::styled(
                    "The gate is closed because:",
                    t.dim,
                )));
                for r in state.gate.reasons.iter().take(MAX_REASONS) {
                    lines.push(Line::from(vec![
                        Span::styled("  • ", t.warn),
                        Span::raw(r.to_string()),
                    ]));
                }
                if state.gate.reasons.len() > MAX_REASONS {
                    lines.push(Line::from(Span::styled(
                        format!("  (+{} more)", state.gate.reasons.len() - MAX_REASONS),
                        t.dim,
                    )));
                }
            }
            match kind {
                ConfirmKind::ForceSet(_) => " forced set ",
                _ => " force advance ",
            }
        }
        ConfirmKind::Decommission => {
            lines.push(Line::from(Span::styled(
                "Decommission blue: scale its Deployment to 0?",
                t.label,
            )));
            lines.push(Line::from(Span::styled(
                "Green has all traffic; after this, a rollback has no warm blue to go to.",
                t.dim,
            )));
            " decommission blue "
        }
        ConfirmKind::Disarm => {
            lines.push(Line::from(Span::styled("Disarm auto-rollback?", t.label)));
            lines.push(Line::from(Span::styled(
                "A breach will then only be shown: nothing rolls green back but r.",
                t.dim,
            )));
            " disarm "
        }
    };
    lines.push(Line::raw(""));
    let (no, yes) = if yes_focused {
        (t.dim, t.highlight)
    } else {
        (t.highlight, t.dim)
    };
    lines.push(Line::from(vec![
        Span::raw("      "),
        Span::styled("[ No ]", no),
        Span::raw("    "),
        Span::styled("[ Yes ]", yes),
    ]));
    lines.push(Line::from(Span::styled(
        "←/→ move · Enter chooses · y/n · Esc = No",
        t.dim,
    )));
    popup(frame, area, 72, lines, Span::styled(title, t.label), t.warn);
}
