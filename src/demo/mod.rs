//! The embedded demo: simulated blue and green fleets whose pods serve
//! Prometheus `/metrics`, driven by the split of the demo router.

pub mod fleet;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod stats;

pub use fleet::Fleet;
pub use scenario::Scenario;
