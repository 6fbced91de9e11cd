//! The pieces of the screen, one file each.

pub mod checks;
pub mod confirm;
pub mod events;
pub mod evidence_line;
pub mod footer;
pub mod header;
pub mod help;
pub mod history_chart;
pub mod panel;
pub mod panel_rows;
pub mod split_bar;
pub mod too_small;
pub mod truth;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// A bordered box of `lines`, at most `width` wide, centred over `area`
/// (what is under it is cleared first).
pub fn popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    lines: Vec<Line<'_>>,
    title: Span<'_>,
    border: Style,
) {
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    )
}

/// Greedy word wrap of `text` into lines of at most `width` characters; a
/// word longer than a line is cut across lines, so nothing is lost.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0usize;
    for word in text.split_whitespace() {
        let mut chars: Vec<char> = word.chars().collect();
        let wlen = chars.len();
        if len > 0 && len + 1 + wlen <= width {
            line.push(' ');
            line.extend(&chars);
            len += 1 + wlen;
            continue;
        }
        if len > 0 {
            lines.push(std::mem::take(&mut line));
        }
        while chars.len() > width {
            let rest = chars.split_off(width);
            lines.push(chars.into_iter().collect());
            chars = rest;
        }
        len = chars.len();
        line = chars.into_iter().collect();
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap_words;

    #[test]
    fn wraps_at_words_and_cuts_only_overlong_words() {
        assert_eq!(
            wrap_words("green error rate 7.90 % BREACH", 12),
            vec!["green error", "rate 7.90 %", "BREACH"]
        );
        assert_eq!(
            wrap_words("abcdefghij kl", 4),
            vec!["abcd", "efgh", "ij", "kl"]
        );
        assert_eq!(wrap_words("", 5), vec![""]);
    }
}
