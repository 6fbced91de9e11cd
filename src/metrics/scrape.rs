//! Scrape source (placeholder until written).
