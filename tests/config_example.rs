//! config.example.toml documents every option; it must load as written, and
//! with its commented scrape block switched on.

use cutover::config::{Config, SourceKind, load_str};

const EXAMPLE: &str = include_str!("../config.example.toml");

#[test]
fn the_example_loads_and_matches_the_defaults() {
    let c = load_str(EXAMPLE, "config.example.toml").unwrap();
    let defaults: Config = load_str("[service]\nname = \"chat-model\"\n", "defaults").unwrap();
    assert_eq!(c.plan, defaults.plan);
    assert_eq!(c.guardrails, defaults.guardrails);
    assert_eq!(c.auto_rollback, defaults.auto_rollback);
    assert_eq!(c.router, defaults.router);
    assert_eq!(c.source, defaults.source);
}

#[test]
fn the_commented_scrape_block_is_valid() {
    let text = EXAMPLE
        .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| is_scrape_line(r))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = load_str(&text, "scrape").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.source.kind, SourceKind::Scrape);
    let s = c.source.scrape.unwrap();
    assert_eq!(s.blue.len(), 2);
    assert_eq!(s.quality_gauge.as_deref(), Some("model_quality_score"));
}

fn is_scrape_line(l: &str) -> bool {
    l.starts_with("[source.scrape]")
        || [
            "blue =",
            "green =",
            "latency_histogram",
            "latency_unit",
            "requests_counter",
            "status_label",
            "error_status_prefixes",
            "quality_gauge",
        ]
        .iter()
        .any(|k| l.starts_with(k))
}

#[test]
fn every_option_is_in_the_example() {
    let c = load_str(EXAMPLE, "x").unwrap();
    let resolved = toml::to_string(&c).unwrap();
    let table: toml::Table = resolved.parse().unwrap();
    let mut missing = Vec::new();
    walk(&table, "", &mut missing);
    for key in ["journal.path", "source.scrape"] {
        missing.retain(|m: &String| !m.starts_with(key));
    }
    assert!(missing.is_empty(), "options not documented: {missing:?}");

    fn walk(t: &toml::Table, prefix: &str, missing: &mut Vec<String>) {
        for (k, v) in t {
            let key = format!("{prefix}{k}");
            let documented = EXAMPLE.contains(&format!("{k} ="))
                || EXAMPLE.contains(&format!("[{key}]"))
                || EXAMPLE.contains(&format!("[{key}."));
            if !documented {
                missing.push(key.clone());
            }
            if let toml::Value::Table(inner) = v {
                walk(inner, &format!("{key}."), missing);
            }
        }
    }
}

#[test]
fn the_commented_prometheus_block_is_valid_and_is_the_default() {
    let mut on = false;
    let text = EXAMPLE
        .replacen("\nkind = \"demo\"\n", "\nkind = \"prometheus\"\n", 1)
        .lines()
        .map(|l| {
            if l.starts_with("# [source.prometheus]") {
                on = true;
            } else if l.starts_with("[router]") {
                on = false;
            }
            match l.strip_prefix("# ") {
                Some(r) if on && !r.starts_with('#') => r.to_string(),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = load_str(&text, "prometheus").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.source.kind, SourceKind::Prometheus);
    let p = c.source.prometheus.unwrap();
    assert_eq!(p.colors.green, "canary");
    assert_eq!(p.headers["X-Scope-OrgID"], "team-ml");
    assert_eq!(p.queries, cutover::config::PromQueries::default());
}
