//! Colours and modifiers. Every colour is paired with a word or symbol on
//! screen; under `NO_COLOR` only modifiers carry emphasis.

use ratatui::style::{Color as Tc, Modifier, Style};

use crate::engine::EventLevel;
use crate::model::{Color, Verdict};

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub ok: Style,
    pub warn: Style,
    pub breach: Style,
    pub no_data: Style,
    pub blue: Style,
    pub green: Style,
    /// Secondary text: bounds, ages, hints.
    pub dim: Style,
    /// Labels and titles.
    pub label: Style,
    /// The current step, focused buttons, the lock.
    pub highlight: Style,
    /// Traffic changes in the event log.
    pub traffic: Style,
    /// Bar cells on blue's side and green's side.
    pub bar_blue: Style,
    pub bar_green: Style,
    pub colored: bool,
}

impl Theme {
    pub fn color() -> Theme {
        Theme {
            ok: Style::new().fg(Tc::Green),
            warn: Style::new().fg(Tc::Yellow),
            breach: Style::new().fg(Tc::Red).add_modifier(Modifier::BOLD),
            no_data: Style::new().fg(Tc::DarkGray),
            blue: Style::new().fg(Tc::LightBlue).add_modifier(Modifier::BOLD),
            green: Style::new().fg(Tc::LightGreen).add_modifier(Modifier::BOLD),
            dim: Style::new().fg(Tc::Gray),
            label: Style::new().add_modifier(Modifier::BOLD),
            highlight: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            traffic: Style::new().fg(Tc::Cyan),
            bar_blue: Style::new().fg(Tc::Blue),
            bar_green: Style::new().fg(Tc::Green),
            colored: true,
        }
    }

    /// For `NO_COLOR`: no foreground or background colours at all.
    pub fn no_color() -> Theme {
        Theme {
            ok: Style::new(),
            warn: Style::new().add_modifier(Modifier::UNDERLINED),
            breach: Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            no_data: Style::new().add_modifier(Modifier::DIM),
            blue: Style::new().add_modifier(Modifier::BOLD),
            green: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new().add_modifier(Modifier::DIM),
            label: Style::new().add_modifier(Modifier::BOLD),
            highlight: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            traffic: Style::new().add_modifier(Modifier::BOLD),
            bar_blue: Style::new(),
            bar_green: Style::new(),
            colored: false,
        }
    }

    pub fn verdict(&self, v: Verdict) -> Style {
        match v {
            Verdict::Ok => self.ok,
            Verdict::Warn => self.warn,
            Verdict::Breach => self.breach,
            Verdict::NoData => self.no_data,
        }
    }

    pub fn accent(&self, c: Color) -> Style {
        match c {
            Color::Blue => self.blue,
            Color::Green => self.green,
        }
    }

    pub fn event(&self, l: EventLevel) -> Style {
        match l {
            EventLevel::Info => Style::new(),
            EventLevel::Traffic => self.traffic,
            EventLevel::Warn => self.warn,
            EventLevel::Error => self.breach,
        }
    }
}
