//! The compact view for a terminal below the smallest useful size: what
//! must never be hidden (the split, the worst verdict, how to roll back)
//! in as few rows as possible. Keys work as ever; `r` still rolls back.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::State;
use crate::format::split_unknown;
use crate::model::Verdict;

use super::super::app::{App, StatusLevel};

pub fn render(frame: &mut Frame, area: Rect, state: &State, app: &App) {
    let t = app.theme();
    let mut lines = vec![Line::from(Span::styled(
        format!("terminal too small ({}x{})", area.width, area.height),
        t.warn,
    ))];
    lines.push(match state.traffic.split {
        Some(s) => Line::from(vec![
            Span::styled(format!("green {}%", s.green()), t.green),
            Span::styled(format!(" · blue {}%", s.blue()), t.blue),
        ]),
        None => Line::from(Span::styled(
            split_unknown(state.traffic.router_error.as_deref()),
            t.breach,
        )),
    });
    let worst = state
        .guard
        .judgements
        .iter()
        .max_by_key(|j| j.verdict.severity());
    lines.push(match worst {
        Some(j) => Line::from(vec![
            Span::raw("worst "),
            Span::styled(
                format!("{} {}", j.verdict.symbol(), j.verdict.word()),
                t.verdict(j.verdict),
            ),
            Span::raw(format!(" {} {}", j.color.name(), j.metric.label)),
        ]),
        None => Line::from(vec![
            Span::raw("worst "),
            Span::styled(
                format!("{} {}", Verdict::NoData.symbol(), Verdict::NoData.word()),
                t.no_data,
            ),
        ]),
    });
    lines.push(Line::from(vec![
        Span::styled("r", t.highlight),
        Span::raw(" = ROLLBACK now · q quits"),
    ]));
    if let Some((level, msg)) = app.status() {
        let style = match level {
            StatusLevel::Error => t.warn,
            StatusLevel::Info => t.dim,
        };
        lines.push(Line::from(Span::styled(msg.to_string(), style)));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}
