//! Terminal cockpit (placeholder until written).
