//! `cutover check` and `cutover status --json` through the real binary on a
//! config with `[source] preset = "vllm"` scraping the project's own
//! vLLM-format page (issue 18): every metric of the preset is listed with
//! a value for both colours, time to first token among them.
//!
//! Each colour's server answers its N-th request with the fixture's page
//! scaled to N times the requests, so counters advance between polls and
//! rates and quantiles have something to be computed from.

use std::path::{Path, PathBuf};

use cutover::metrics::scrape::vllm::VllmPage;

use crate::support::served::{cutover, serve_pages};

/// A `/metrics` server whose N-th answer is the fixture's page after N
/// times its requests.
fn serve() -> String {
    let base = VllmPage::fixture();
    serve_pages(move |n| {
        VllmPage {
            requests: base.requests * n,
            errors: base.errors * n,
            ..base.clone()
        }
        .render()
    })
}

/// The config: the vllm preset over both colours' servers, behind an
/// nginx upstream whose include sends half the traffic to green (a colour
/// at 0 % is shown as no data, whatever its page says). `status` and
/// `check` only read the include: no nginx runs.
fn vllm_config(dir: &Path) -> PathBuf {
    let include = dir.join("upstream.conf");
    std::fs::write(
        &include,
        "upstream llm {\n    server 127.0.0.1:8001 weight=1;\n    server 127.0.0.1:8002 weight=1;\n}\n",
    )
    .unwrap();
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[service]\nname = \"llm\"\n[router]\nkind = \"nginx\"\n[router.nginx]\n\
             include = \"{}\"\nupstream = \"llm\"\nblue = [\"127.0.0.1:8001\"]\n\
             green = [\"127.0.0.1:8002\"]\n[source]\nkind = \"scrape\"\n\
             preset = \"vllm\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nwindow = \"5s\"\n\
             [source.scrape]\nblue = [\"{}\"]\ngreen = [\"{}\"]\n",
            include.display(),
            serve(),
            serve()
        ),
    )
    .unwrap();
    path
}

/// The preset's metric ids, in its order.
fn preset_ids() -> Vec<String> {
    cutover::metricspec::preset::specs("vllm", 20)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn check_reads_every_vllm_metric_for_both_colours() {
    let dir = tempfile::tempdir().unwrap();
    let config = vllm_config(dir.path());
    let out = cutover(dir.path(), &config, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let ids = preset_ids();
    assert!(ids.iter().any(|id| id.contains("ttft")), "{ids:?}");
    for id in &ids {
        let block: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with(&format!("# {id} \"")))
            .take_while(|l| !l.starts_with("# metrics"))
            .collect();
        let read = block
            .iter()
            .find(|l| l.starts_with("#   read: "))
            .unwrap_or_else(|| panic!("{id} has no read line:\n{text}"));
        for colour in ["blue", "green"] {
            let value = read
                .split(", ")
                .find_map(|p| p.trim_start_matches("#   read: ").strip_prefix(colour))
                .unwrap_or_else(|| panic!("{id}: {read}"));
            let number = value.trim().split(' ').next().unwrap_or_default();
            assert!(
                number.trim_start_matches('$').parse::<f64>().is_ok(),
                "{id} {colour} has no value: {read}"
            );
        }
    }
}

#[test]
fn status_json_lists_every_vllm_metric_with_a_value_for_both_colours() {
    let dir = tempfile::tempdir().unwrap();
    let config = vllm_config(dir.path());
    let out = cutover(dir.path(), &config, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for id in preset_ids() {
        for colour in ["blue", "green"] {
            let m = &v["metrics"][colour][&id];
            assert!(m["value"].is_number(), "{colour} {id}: {m}\n{v:#}");
        }
    }
}
