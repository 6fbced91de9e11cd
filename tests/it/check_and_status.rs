//! `cutover check` and `cutover status` through the real binary against
//! `/metrics` targets that answer but lack a configured series (issue 15,
//! point 7): `check` scrapes each target once and names what it did not
//! find; `status` exits non-zero when a judged metric has no series. And
//! `status` shows green at 0 % as no data, as the cockpit does.

use std::path::Path;

use crate::support::served::{cutover, serve_pages};

/// Counters and a histogram, but no `model_quality_score`.
const BODY: &str = "requests_total{code=\"200\"} 1000\n\
request_duration_seconds_bucket{le=\"0.1\"} 990\n\
request_duration_seconds_bucket{le=\"+Inf\"} 1000\n";

/// A `/metrics` server on loopback that answers every request with `BODY`.
fn serve() -> String {
    serve_pages(|_| BODY.to_string())
}

fn scrape_config(dir: &Path, blue: &str, green: &str) -> std::path::PathBuf {
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[service]\nname = \"x\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"scrape\"\n\
             interval = \"1s\"\ntimeout = \"500ms\"\nwindow = \"5s\"\n[source.scrape]\n\
             blue = [\"{blue}\"]\ngreen = [\"{green}\"]\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_scrapes_each_target_and_names_the_missing_series() {
    let dir = tempfile::tempdir().unwrap();
    let (blue, green) = (serve(), serve());
    let config = scrape_config(dir.path(), &blue, &green);
    let out = cutover(dir.path(), &config, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for url in [&blue, &green] {
        assert!(
            text.contains("FAIL: series not found: model_quality_score")
                && text.contains(url.as_str()),
            "{text}"
        );
    }
}

#[test]
fn status_exits_non_zero_when_a_judged_metric_has_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let config = scrape_config(dir.path(), &serve(), &serve());
    let out = cutover(dir.path(), &config, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(err.contains("missing series: model_quality_score"), "{err}");
}

#[test]
fn status_shows_green_at_zero_as_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[service]\nname = \"x\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n\
         interval = \"1s\"\ntimeout = \"500ms\"\nwindow = \"5s\"\n",
    )
    .unwrap();
    let out = cutover(dir.path(), &config, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("split 0% green"), "{text}");
    let green = text
        .lines()
        .find(|l| l.starts_with("GREEN"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        green.contains("quality: no data (no traffic at 0 %)"),
        "{green}"
    );
    assert!(!green.contains("OK"), "{green}");
    let out = cutover(dir.path(), &config, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["metrics"]["green"]["quality"]["value"],
        serde_json::Value::Null
    );
    assert_eq!(
        v["metrics"]["green"]["quality"]["no_data"],
        "no traffic at 0 %"
    );
}

#[test]
fn status_polls_again_when_the_first_poll_is_only_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let config = scrape_config(dir.path(), &serve(), &serve());
    let started = std::time::Instant::now();
    let out = cutover(dir.path(), &config, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let blue = text
        .lines()
        .find(|l| l.starts_with("BLUE"))
        .unwrap_or_else(|| panic!("{text}"));
    // The counters stand still: a second poll finds no requests, which the
    // first, a baseline, could not know.
    assert!(!blue.contains("baseline"), "{blue}");
    assert!(blue.contains("no requests in window"), "{blue}");
    // Within the interval (1 s) plus the timeout and the slack.
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
}
