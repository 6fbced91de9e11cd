//! The embedded demo: simulated blue and green fleets whose pods serve
//! Prometheus `/metrics`, driven by the split of the demo router; and the
//! whole stack (`demo --stack`): pods that serve real requests through nginx.

pub mod fleet;
pub mod journal;
pub mod loadgen;
pub mod scenario;
pub mod serve;
pub mod server;
pub mod sim;
pub mod stack;
pub mod stats;

pub use fleet::Fleet;
pub use scenario::Scenario;
