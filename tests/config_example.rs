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
fn the_commented_kubernetes_block_is_valid() {
    let mut in_block = false;
    let text = EXAMPLE
        .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
        .replacen("[router]\n", "[router]\nkind = \"kubernetes\"\n", 1)
        .lines()
        .filter(|l| !(l.starts_with("kind = \"demo\"")))
        .map(|l| {
            if l == "# [router.kubernetes]" {
                in_block = true;
            } else if !l.starts_with('#') {
                in_block = false;
            }
            match l.strip_prefix("# ") {
                Some(r) if in_block && !r.starts_with('#') => r,
                Some(r) if is_scrape_line(r) => r,
                _ => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = load_str(&text, "kubernetes").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let k = c.router.kubernetes.expect("the block loads");
    assert_eq!(k.mode, cutover::config::KubernetesMode::GatewayApi);
    assert_eq!(k.httproute.as_deref(), Some("chat-model"));
    assert!(!k.scale_down_green_on_rollback);
}
