//! Time to rollback as `cutover drill` measures it, twenty runs each: on
//! the embedded demo fleet (its 150 ms simulated apply delay, its scrape
//! source with a 5 s window) and on a real nginx on loopback (private
//! prefix, weighted mode, the router's write, `nginx -t`, reload and its
//! probe of 200 requests). Prints every run, then the median and maximum
//! of decision → router confirmed and, where the source shows request
//! rates, decision → traffic at 0 %.
//!
//!     cargo run --release --example bench_drill [-- --times N]

use std::time::Duration;

use cutover::cli::drill::{DrillOptions, drill};
use cutover::engine::EngineOptions;

use cutover_testkit::nginx::{self, Mode, TestNginx};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let times = std::env::args()
        .skip_while(|a| a != "--times")
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20);
    let opts = DrillOptions {
        times,
        split: None,
        force: false,
    };

    println!("== demo ==");
    let dir = tempfile::tempdir()?;
    let mut config = cutover::app::demo_config(
        cutover::demo::Scenario::Healthy,
        Duration::from_secs(10),
        Some(dir.path().join("demo-drill.jsonl")),
    );
    config.auto_rollback.enabled = false;
    let running = cutover::app::start(&config, EngineOptions::default()).await?;
    drill(running, &config, opts).await?;

    println!("== nginx ==");
    if nginx::nginx_bin().is_none() {
        println!("SKIPPED: nginx not installed");
        return Ok(());
    }
    let n = TestNginx::start(Mode::Weighted, |blue, green| {
        format!(
            "upstream chat_model {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    server 127.0.0.1:{green} down;\n}}\n",
            blue[0], blue[1]
        )
    });
    let mut config = cutover::config::load(&n.cutover_config(""))?;
    config.auto_rollback.enabled = false;
    let running = cutover::app::start(&config, EngineOptions::default()).await?;
    drill(running, &config, opts).await?;
    Ok(())
}
