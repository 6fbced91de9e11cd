//! Demo router (placeholder until written).
