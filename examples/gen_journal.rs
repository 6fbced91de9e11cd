//! Writes a long journal for measuring `cutover report` and `cutover
//! status` (issue 16, point 7): SAMPLES sample lines in cutovers of PER
//! each (default a million in cutovers of 2,000, about what the sampler
//! writes in ten days), then a short last cutover. Prints what it wrote.
//!
//! cargo run --release --example gen_journal -- OUT [SAMPLES] [PER]
//! /usr/bin/time -v target/release/cutover report --journal OUT

use cutover_testkit::journal_gen;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: gen_journal OUT [SAMPLES] [PER]");
        std::process::exit(2);
    };
    let samples = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let per = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let w = journal_gen::write(std::path::Path::new(&out), samples, per);
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{out}: {} lines ({} samples) in {} cutovers, {:.1} MB; the last cutover has {} lines",
        w.lines,
        w.samples,
        w.cutovers,
        bytes as f64 / 1e6,
        w.last_lines
    );
}
