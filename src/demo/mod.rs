//! The embedded demo, an adapter below the router and the sources:
//! simulated blue and green fleets whose pods serve Prometheus `/metrics`,
//! driven by the split of the demo router; and, for the lab (`demo
//! --stack`, `crate::lab`), pods that serve real requests and the load
//! generator that sends them.

pub mod fleet;
pub mod llm;
pub mod loadgen;
pub mod preset;
pub mod serve;
pub mod server;
pub mod shared_split;
pub mod sim;
pub mod stats;

/// The scenarios are words of the config (`[router.demo] scenario`).
pub use crate::config::Scenario;
pub use fleet::Fleet;
pub use preset::DemoPreset;
pub use shared_split::SharedSplit;
