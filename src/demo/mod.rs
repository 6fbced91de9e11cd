//! Embedded demo fleet (placeholder until written).
