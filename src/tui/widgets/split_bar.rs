//! Green's share of 100 as a bar, the plan's steps marked under it with the
//! current one highlighted, and the advance gate.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::State;

use super::super::app::App;
use crate::tui::theme::Theme;

const PREFIX: usize = 12; // " green  25% "
const SUFFIX: usize = 11; // " 75% blue  "

/// Rows the traffic block needs: a line more when checks are configured.
pub fn height(state: &State) -> u16 {
    if state.checks.is_empty() { 4 } else { 5 }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App, now: Instant) {
    let t = app.theme();
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.dim)
        .title(Span::styled(" traffic ", t.label));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = (inner.width as usize)
        .saturating_sub(PREFIX + SUFFIX)
        .max(10);
    let mut lines = vec![
        bar_line(state, t, width),
        tick_line(state, t, width),
        gate_line(state, t),
    ];
    lines.extend(super::checks::line(state, t, now));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Green's share as a bar, the plan's steps marked on it.
fn bar_line(state: &State, t: &Theme, width: usize) -> Line<'static> {
    match state.traffic.split {
        Some(split) => {
            let g = split.green() as usize;
            let filled = (g * width + 50) / 100;
            let marks: Vec<usize> = state.plan.steps.iter().map(|&p| column(p, width)).collect();
            let mut spans = vec![Span::styled(format!(" green {g:>3}% "), t.green)];
            for col in 0..width {
                let on_green = col < filled;
                let ch = if marks.contains(&col) {
                    "┃"
                } else if on_green {
                    "█"
                } else {
                    "░"
                };
                spans.push(Span::styled(
                    ch,
                    if on_green { t.bar_green } else { t.bar_blue },
                ));
            }
            spans.push(Span::styled(format!(" {:>3}% blue", split.blue()), t.blue));
            Line::from(spans)
        }
        None => Line::from(vec![
            Span::raw(" ".repeat(PREFIX)),
            Span::styled(
                crate::format::split_unknown(state.traffic.router_error.as_deref()),
                t.breach,
            ),
        ]),
    }
}

/// Step labels under the bar; the current step reversed, passed steps in
/// green's accent, later steps dim.
fn tick_line(state: &State, t: &Theme, width: usize) -> Line<'static> {
    let current = state.step_index();
    let mut ticks = vec![Span::raw(" ".repeat(PREFIX))];
    let mut cursor = 0usize;
    for (i, &p) in state.plan.steps.iter().enumerate() {
        let text = format!("{p}%");
        let mut col = column(p, width).min(width.saturating_sub(text.len()));
        if col < cursor {
            col = cursor;
        }
        ticks.push(Span::raw(" ".repeat(col - cursor)));
        let style = match current {
            Some(c) if c == i => t.highlight,
            Some(c) if i < c => t.green,
            _ => t.dim,
        };
        cursor = col + text.len();
        ticks.push(Span::styled(text, style));
        cursor += 1;
        ticks.push(Span::raw(" "));
    }
    Line::from(ticks)
}

/// The gate, open or closed with its first reason.
fn gate_line(state: &State, t: &Theme) -> Line<'static> {
    if state.guard.gate.open {
        Line::from(vec![Span::raw(" "), Span::styled("gate OPEN", t.ok)])
    } else {
        let mut s = vec![Span::raw(" "), Span::styled("gate CLOSED", t.warn)];
        if let Some(first) = state.guard.gate.reasons.first() {
            s.push(Span::raw(format!(": {first}")));
            if state.guard.gate.reasons.len() > 1 {
                s.push(Span::styled(
                    format!(" (+{} more: g)", state.guard.gate.reasons.len() - 1),
                    t.dim,
                ));
            }
        }
        Line::from(s)
    }
}

/// `g` / `:gate`: every reason the gate is closed, worst first.
pub fn render_gate(frame: &mut Frame, area: Rect, state: &State, app: &App) {
    let t = app.theme();
    let mut lines: Vec<Line> = if state.guard.gate.open {
        vec![Line::from(Span::styled(
            "gate OPEN: nothing holds the next step",
            t.ok,
        ))]
    } else {
        state
            .guard
            .gate
            .reasons
            .iter()
            .map(|r| Line::raw(format!("• {r}")))
            .collect()
    };
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Esc / g closes · r rolls back",
        t.dim,
    )));
    let width = area.width.saturating_sub(4).min(100);
    super::popup(
        frame,
        area,
        width,
        lines,
        Span::styled(" gate, worst first ", t.label),
        t.dim,
    );
}

/// The bar column of a percentage.
fn column(pct: u8, width: usize) -> usize {
    ((pct as usize) * (width - 1) + 50) / 100
}
