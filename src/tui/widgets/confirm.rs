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
        ConfirmKind::ForceAdvance | ConfirmKind::ForceSet(_) => {
            force_lines(&mut lines, state, app, kind)
        }
        _ => {
            let (ask, note, title) = plain_words(kind);
            lines.push(Line::from(Span::styled(ask, t.label)));
            lines.push(Line::from(Span::styled(note, t.dim)));
            title
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

/// The question, the note under it and the title of a dialog that needs
/// nothing from the state.
fn plain_words(kind: ConfirmKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        ConfirmKind::Promote => (
            "Promote: flip 100% to green now?",
            "Skips the remaining steps; blue is kept as standby.",
            " promote ",
        ),
        ConfirmKind::Decommission => (
            "Decommission blue: scale it to zero?",
            "Green has all traffic; after this, a rollback has no warm blue to go to.",
            " decommission blue ",
        ),
        ConfirmKind::Disarm => (
            "Disarm auto-rollback?",
            "A breach will then only be shown: nothing rolls green back but r.",
            " disarm ",
        ),
        ConfirmKind::ForceAdvance => ("", "", " force advance "),
        ConfirmKind::ForceSet(_) => ("", "", " forced set "),
    }
}

/// A forced advance or set: the question and why the gate is closed.
fn force_lines<'a>(
    lines: &mut Vec<Line<'a>>,
    state: &'a State,
    app: &App,
    kind: ConfirmKind,
) -> &'static str {
    let t = app.theme();
    let ask = match kind {
        ConfirmKind::ForceSet(s) => format!("Force green to {s} past the gate?"),
        _ => "Force advance past the gate?".to_string(),
    };
    lines.push(Line::from(Span::styled(ask, t.label)));
    if state.guard.gate.reasons.is_empty() {
        lines.push(Line::from(Span::styled("(the gate is open)", t.dim)));
    } else {
        lines.push(Line::from(Span::styled(
            "The gate is closed because:",
            t.dim,
        )));
        for r in state.guard.gate.reasons.iter().take(MAX_REASONS) {
            lines.push(Line::from(vec![
                Span::styled("  • ", t.warn),
                Span::raw(r.to_string()),
            ]));
        }
        if state.guard.gate.reasons.len() > MAX_REASONS {
            lines.push(Line::from(Span::styled(
                format!("  (+{} more)", state.guard.gate.reasons.len() - MAX_REASONS),
                t.dim,
            )));
        }
    }
    plain_words(kind).2
}
