//! config.example.toml documents every option; it must load as written, and
//! with its commented scrape block switched on.

use cutover::config::{Config, SourceKind, load_str};

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn the_example_loads_and_matches_the_defaults() {
    let c = load_str(EXAMPLE, "config.example.toml").unwrap();
    let defaults: Config = load_str(
        "[service]\nname = \"chat-model\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n",
        "defaults",
    )
    .unwrap();
    assert_eq!(c.plan, defaults.plan);
    assert_eq!(c.guardrails, defaults.guardrails);
    assert_eq!(c.auto_rollback, defaults.auto_rollback);
    assert_eq!(c.router, defaults.router);
    assert_eq!(c.source, defaults.source);
}

#[test]
fn the_commented_scrape_block_is_valid() {
    let text = uncomment(
        &EXAMPLE.replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1),
        "[source.scrape]",
    );
    let c = load_str(&text, "scrape").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let SourceKind::Scrape(s) = c.source.kind else {
        panic!("not scrape: {:?}", c.source.kind)
    };
    assert_eq!(s.blue.len(), 2);
    assert_eq!(s.quality_gauge.as_deref(), Some("model_quality_score"));
}

#[test]
fn the_commented_cloudwatch_block_is_valid_with_the_lambda_preset() {
    let text = EXAMPLE
        .replacen("\nkind = \"demo\"\n", "\nkind = \"cloudwatch\"\n", 1)
        .replacen("interval = \"5s\"", "interval = \"1m\"", 1)
        .replacen("window = \"30s\"", "window = \"5m\"", 1)
        .replacen("# preset = \"vllm\"", "preset = \"lambda\"", 1);
    let text = uncomment(&text, "[source.cloudwatch]");
    let c = load_str(&text, "cloudwatch").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let SourceKind::CloudWatch(cw) = &c.source.kind else {
        panic!("not cloudwatch: {:?}", c.source.kind)
    };
    assert_eq!(cw.alarms.green, ["chat-model-green-errors"]);
    assert_eq!(cw.green["ExecutedVersion"], "2");
    let specs = c.metric_specs().unwrap();
    assert!(specs.iter().any(|s| s.id == "duration_p99_ms"));
}

#[test]
fn the_commented_metrics_and_cost_are_valid_over_the_vllm_preset() {
    let text = EXAMPLE.replacen("# preset = \"vllm\"", "preset = \"vllm\"", 1);
    let text = uncomment(&uncomment(&text, "[[metrics]]"), "[cost]");
    let c = load_str(&text, "metrics").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.source.preset.as_deref(), Some("vllm"));
    let specs = c.metric_specs().unwrap();
    for id in [
        "ttft_p95_ms",
        "schema_failures",
        "requests_waiting",
        "e2e_p99_ms",
    ] {
        assert!(cutover::metricspec::find(&specs, id).is_some(), "no {id}");
    }
    assert!(c.cost.is_some());
}

/// Uncomments the commented `section` table: its header and the `key =`
/// lines up to the next table.
pub(crate) fn uncomment(text: &str, section: &str) -> String {
    let mut inside = false;
    text.lines()
        .map(|l| {
            let r = l.strip_prefix("# ");
            if let Some(r) = r.filter(|r| r.starts_with('[')) {
                inside = r == section;
            } else if l.starts_with('[') {
                inside = false;
            }
            match r {
                Some(r) if inside && (r.starts_with('[') || is_key_line(r)) => r,
                _ => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Comments out the written `section` table (only the chosen kind's table
/// may be written): its header and every line up to the next table.
fn comment_out(text: &str, section: &str) -> String {
    let mut inside = false;
    text.lines()
        .map(|l| {
            if l.starts_with('[') {
                inside = l == section;
            }
            if inside {
                format!("# {l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_key_line(l: &str) -> bool {
    l.split_once(" = ")
        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

#[test]
fn the_commented_nginx_block_is_valid() {
    let text = uncomment(
        &EXAMPLE
            .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
            .replacen("\nkind = \"demo\"\n", "\nkind = \"nginx\"\n", 1),
        "[source.scrape]",
    );
    let text = comment_out(&uncomment(&text, "[router.nginx]"), "[router.demo]");
    let c = load_str(&text, "nginx").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let cutover::config::RouterConfig::Nginx(n) = c.router else {
        panic!("not nginx: {:?}", c.router)
    };
    assert_eq!(n.blue.len(), 2);
    assert_eq!(n.sticky_key, None, "weighted mode takes no key");
    assert_eq!(n.probe_requests, 200);
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
    let SourceKind::Prometheus(p) = c.source.kind else {
        panic!("not prometheus: {:?}", c.source.kind)
    };
    assert_eq!(p.colors.green, "canary");
    assert_eq!(p.headers["X-Scope-OrgID"], "team-ml");
    assert_eq!(p.queries, cutover::config::PromQueries::default());
}

#[test]
fn the_commented_kubernetes_block_is_valid() {
    let text = uncomment(
        &EXAMPLE
            .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
            .replacen("\nkind = \"demo\"\n", "\nkind = \"kubernetes\"\n", 1),
        "[source.scrape]",
    );
    let text = comment_out(&uncomment(&text, "[router.kubernetes]"), "[router.demo]");
    let c = load_str(&text, "kubernetes").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let cutover::config::RouterConfig::Kubernetes(k) = c.router else {
        panic!("not kubernetes: {:?}", c.router)
    };
    assert_eq!(k.mode, cutover::config::KubernetesMode::GatewayApi);
    assert_eq!(k.httproute.as_deref(), Some("chat-model"));
    assert!(!k.scale_down_green_on_rollback);
}

#[test]
fn the_commented_aws_blocks_are_valid() {
    for (kind, table) in [
        ("aws-lambda", "[router.aws-lambda]"),
        ("aws-sagemaker", "[router.aws-sagemaker]"),
        ("aws-apigateway", "[router.aws-apigateway]"),
    ] {
        let text = uncomment(
            &EXAMPLE
                .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
                .replacen("\nkind = \"demo\"\n", &format!("\nkind = \"{kind}\"\n"), 1),
            "[source.scrape]",
        );
        let text = comment_out(
            &uncomment(&uncomment(&text, table), "[aws]"),
            "[router.demo]",
        );
        let c = load_str(&text, kind).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.router.kind(), kind);
        let aws = c.aws.clone().unwrap();
        assert_eq!(aws.region.as_deref(), Some("us-east-1"));
        // The loader copies [aws] into the router's table.
        let copied = match &c.router {
            cutover::config::RouterConfig::AwsLambda(l) => &l.aws,
            cutover::config::RouterConfig::AwsSageMaker(s) => &s.aws,
            cutover::config::RouterConfig::AwsApiGateway(g) => &g.aws,
            other => panic!("not an AWS router: {other:?}"),
        };
        assert_eq!(copied, &aws);
    }
}

#[test]
fn the_commented_gates_are_valid() {
    let text = uncomment(&uncomment(EXAMPLE, "[[gates.smoke]]"), "[[gates.command]]");
    let c = load_str(&text, "gates").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = &c.gates.smoke[0];
    assert_eq!(s.name, "completion answers");
    assert_eq!(s.method, "POST");
    assert_eq!(s.headers["Content-Type"], "application/json");
    assert_eq!(s.expect_status, Some(200));
    assert_eq!(s.expect_body.as_deref(), Some("\"choices\""));
    assert_eq!(s.timeout.as_secs(), 5);
    let g = &c.gates.command[0];
    assert_eq!(g.argv, vec!["./eval.sh", "--model", "green"]);
    assert_eq!(g.before, vec![1, 100]);
    assert_eq!(g.timeout.as_secs(), 600);
    // Every key written in the example is a key of the config.
    let resolved = toml::to_string(&c).unwrap();
    for key in [
        "method",
        "headers",
        "body",
        "expect_status",
        "expect_body",
        "argv",
        "before",
    ] {
        assert!(resolved.contains(key), "{key}: {resolved}");
    }
}

#[test]
fn the_commented_alerts_block_is_valid_and_hides_its_url() {
    let text = uncomment(EXAMPLE, "[[alerts]]");
    let c = load_str(&text, "alerts").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.alerts.len(), 1);
    let a = &c.alerts[0];
    assert_eq!(
        a.on,
        [
            cutover::config::AlertEvent::Rollback,
            cutover::config::AlertEvent::Promote
        ]
    );
    assert_eq!(a.template(), cutover::config::DEFAULT_ALERT_TEMPLATE);
    let shown = toml::to_string(&c).unwrap();
    assert!(
        shown.contains("url = \"https://hooks.slack.com/***\""),
        "{shown}"
    );
    assert!(!shown.contains("XXXXXXXX"), "{shown}");
}

/// Issue 15, point 7: every commented block loads when a user uncomments
/// it the plain way (one `# ` off every line of the block, prose and all),
/// with the kind it belongs to chosen and the table it replaces commented
/// out. A block runs from its `# [table]` line to the first blank line,
/// bare `#` line or written line.
#[test]
fn every_commented_block_loads_when_uncommented() {
    let headers: Vec<&str> = EXAMPLE
        .lines()
        .filter_map(|l| l.strip_prefix("# ["))
        .map(|rest| rest.trim_start_matches('[').trim_end_matches(']'))
        .collect();
    assert!(headers.len() >= 8, "{headers:?}");
    for table in headers {
        let mut text = EXAMPLE.to_string();
        let mut blocks = vec![table];
        if let Some(kind) = table.strip_prefix("router.") {
            // Another router's table: the demo source needs the demo
            // router, so read the numbers by scraping.
            text = text
                .replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1)
                .replacen("\nkind = \"demo\"\n", &format!("\nkind = \"{kind}\"\n"), 1);
            blocks.push("source.scrape");
        } else if let Some(kind) = table.strip_prefix("source.") {
            let kind = kind.split('.').next().unwrap();
            text = text.replacen("\nkind = \"demo\"\n", &format!("\nkind = \"{kind}\"\n"), 1);
            if kind == "cloudwatch" {
                // CloudWatch is polled once a minute at most.
                text = text
                    .replacen("interval = \"5s\"", "interval = \"1m\"", 1)
                    .replacen("window = \"30s\"", "window = \"1m\"", 1);
            }
            blocks.push(if kind == "prometheus" {
                "source.prometheus"
            } else {
                table
            });
        }
        blocks.dedup();
        for b in &blocks {
            text = uncomment_block(&text, b);
        }
        if table.starts_with("router.") {
            // After uncommenting: the demo table ends at the next header.
            text = comment_out(&text, "[router.demo]");
        }
        if let Err(e) = load_str(&text, table) {
            panic!("[{table}] uncommented does not load: {e}\n{text}");
        }
    }
}

/// One `# ` off every line of the commented block headed `[table]` (or
/// `[[table]]`), as an editor's "uncomment" does.
fn uncomment_block(text: &str, table: &str) -> String {
    let mut inside = false;
    text.lines()
        .map(|l| {
            let header = l
                .strip_prefix("# [")
                .map(|r| r.trim_start_matches('[').trim_end_matches(']'));
            if header.is_some() {
                inside = header == Some(table);
            } else if l.trim().is_empty() || l.trim() == "#" || !l.starts_with('#') {
                inside = false;
            }
            match l.strip_prefix("# ") {
                Some(r) if inside => r.to_string(),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
