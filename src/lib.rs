//! cutover: a terminal cockpit for blue-green and canary cutovers of
//! model-serving services.
//!
//! The engine owns the cutover and knows nothing of terminals; the TUI and
//! the headless CLI are two front ends over it.

pub mod alerts;
pub mod app;
pub mod aws;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod engine;
pub mod format;
pub mod gates;
pub mod guardian;
pub mod http;
pub mod lab;
pub mod lockfile;
pub mod logging;
pub mod metrics;
pub mod metricspec;
pub mod model;
pub mod report;
pub mod router;
pub mod signals;
pub mod stats;
#[cfg(test)]
pub(crate) mod testing;
pub mod tui;
