//! The whole report from a small journal written by hand.

use super::*;

const JOURNAL: &str = r#"{"time":"2026-03-01T10:00:00.000Z","kind":"outcome","service":"chat","user":"ops","origin":"drill","action":"drill","outcome":"ok","decision_to_router_ms":41,"detail":"median 41 ms, max 55 ms of 3"}
{"time":"2026-03-01T10:00:00.000Z","kind":"start","service":"chat","user":"ana","origin":"cli","action":"start","detail":"router nginx, source prometheus","green_version":"v2"}
{"time":"2026-03-01T10:00:01.000Z","kind":"smoke_gate","service":"chat","origin":"gate","action":"pass","name":"completion answers","latency_ms":12}
{"time":"2026-03-01T10:00:02.000Z","kind":"intent","service":"chat","user":"ana","origin":"tui","action":"advance","from":0,"to":5,"forced":true,"reason":"smoke skipped","readings":[{"color":"blue","metric":"error_rate","value":0.5,"verdict":"OK","bounds":["≤ 5.00 %"]},{"color":"green","metric":"error_rate","value":null,"verdict":"NO DATA","bounds":[],"no_data":"no traffic"}],"green_version":"v2"}
{"time":"2026-03-01T10:00:02.050Z","kind":"outcome","service":"chat","user":"ana","origin":"tui","action":"advance","from":0,"to":5,"outcome":"ok","duration_ms":50,"green_version":"v2"}
{"time":"2026-03-01T10:00:10.000Z","kind":"sample","s":{"pct":5,"b":[400,0.5,0.93],"g":[410,0.6,0.92],"rps":[95,5]}}
{"time":"2026-03-01T10:00:20.000Z","kind":"sample","s":{"pct":5,"b":[401,0.5,0.93],"g":[900,7.2,0.91]}}
{"time":"2026-03-01T10:00:20.000Z","kind":"breach","service":"chat","user":"ana","origin":"guardrail","action":"breach","to":5,"reason":"green error rate 7.20 % BREACH (≤ 5.00 %)","readings":[{"color":"green","metric":"error_rate","value":7.2,"verdict":"BREACH","bounds":["≤ 5.00 %"]}]}
{"time":"2026-03-01T10:00:30.000Z","kind":"intent","service":"chat","user":"ana","origin":"auto-rollback","action":"rollback","from":5,"to":0,"reason":"auto-rollback after 3 consecutive polls with green in breach: green error rate 7.20 %","readings":[{"color":"green","metric":"error_rate","value":7.2,"verdict":"BREACH","bounds":["≤ 5.00 %"]},{"color":"green","metric":"p99_ms","value":900,"verdict":"OK","bounds":[]}]}
{"time":"2026-03-01T10:00:30.080Z","kind":"outcome","service":"chat","user":"ana","origin":"auto-rollback","action":"rollback","from":5,"to":0,"outcome":"ok","duration_ms":80,"decision_to_router_ms":80}
{"time":"2026-03-01T10:00:33.000Z","kind":"outcome","service":"chat","user":"ana","origin":"auto-rollback","action":"rollback_traffic_zero","decision_to_zero_ms":3000}
{"time":"2026-03-01T10:00:34.000Z","kind":"sample","s":{"pct":0,"b":[400,0.5,0.93],"g":[null,null,null]}}
"#;

fn with<T>(f: impl FnOnce(&Cutover) -> T) -> T {
    let (entries, bad) = parse(JOURNAL);
    assert_eq!(bad, 0);
    let c = Cutover::select(&entries, None, "j.jsonl").unwrap();
    f(&c)
}

#[test]
fn the_markdown_names_the_breach_the_rollback_and_its_times() {
    let md = with(markdown);
    assert!(
        md.starts_with("# Cutover report: chat, rolled back\n"),
        "{md}"
    );
    for want in [
        "green v2",
        "## Timeline",
        "advance 0 % → 5 % asked (FORCED)",
        "smoke\\_gate: pass",
        "latency\\_ms: 12",
        "## Readings at each decision",
        "| error rate | 0.50 % OK (≤ 5.00 %) | no data (no traffic) NO DATA |",
        "## Breaches",
        "into breach at 5 % green: green error rate 7.20 % BREACH",
        "| Reason | auto-rollback after 3 consecutive polls",
        "| Decision to router confirmed | 80 ms |",
        "| Decision to green's traffic at zero | 3000 ms |",
        "median 41 ms, max 55 ms of 3",
        "### What testing would have caught it",
        "| Samples | 3 |",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert!(!md.contains("<svg"));
}

#[test]
fn a_breach_says_what_its_source_said_of_it() {
    let breach = r#""reason":"green error rate 7.20 % BREACH (≤ 5.00 %)","#;
    let journal = JOURNAL.replace(
        breach,
        &format!(r#"{breach}"detail":"alarm chat-green in ALARM: 1 datapoint [5.0] > 1.0","#),
    );
    let (entries, _) = parse(&journal);
    let md = markdown(&Cutover::select(&entries, None, "j.jsonl").unwrap());
    assert!(
        md.contains(r"BREACH (≤ 5.00 %); alarm chat-green in ALARM: 1 datapoint \[5.0\] \> 1.0"),
        "{md}"
    );
}

#[test]
fn the_page_holds_one_chart_per_metric_and_the_split() {
    let page = with(|c| html(c).unwrap());
    assert_eq!(
        page.matches("<svg").count(),
        1 + 3,
        "the split and today's three"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "a URL in the page"
    );
    assert!(!page.contains("<script"));
    assert!(page.contains("<td class=\"breach\">"), "breaches stand out");
    assert!(page.len() < 200_000, "{} bytes", page.len());
}

/// The same cutover from a cockpit with a test on the error rate: its
/// samples and decisions carry the evidence.
fn with_evidence() -> String {
    let mut e = 1.0;
    JOURNAL
        .lines()
        .map(|l| {
            let l = if l.contains(r#""kind":"sample""#) && !l.contains(r#""pct":0"#) {
                e *= 20.0;
                l.replace(
                    r#""g":"#,
                    &format!(r#""e":{{"error_rate":{e}}},"a":{{"error_rate":0.01}},"g":"#),
                )
            } else if l.contains(r#""kind":"intent""#) {
                l.replace(
                    r#""readings""#,
                    &format!(r#""evidence":{{"error_rate":{e}}},"readings""#),
                )
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .collect()
}

#[test]
fn a_tested_metric_gets_its_evidence_charted_after_it() {
    let text = with_evidence();
    let (entries, bad) = parse(&text);
    assert_eq!(bad, 0);
    let c = Cutover::select(&entries, None, "j.jsonl").unwrap();
    let page = html(&c).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        1 + 3 + 1,
        "the split, today's three, the evidence on the error rate"
    );
    let metric = page.find("error rate (error_rate)").unwrap();
    let evidence = page
        .find("evidence on error rate (error_rate), log scale")
        .unwrap();
    let next = page.find("quality (quality)").unwrap();
    assert!(metric < evidence && evidence < next, "beside its metric");
    let missing: Vec<&str> = [
        "rejects at 1/α = 100",
        "green against blue",
        "rollback decided",
        "step",
    ]
    .into_iter()
    .filter(|w| !page.contains(w))
    .collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    let md = markdown(&c);
    assert!(md.contains("evidence: error rate 400 |"), "{md}");
    assert!(
        page.contains("dashed line, 1/α"),
        "the charts say what it is"
    );
    assert!(!page.contains("http://"));
    // Without a test, none of it.
    let old = with(|c| html(c).unwrap());
    assert!(!old.contains("log scale") && !old.contains("1/α"));
}

/// A vLLM cutover: samples name their seven metrics; green's time to
/// first token rolls it back.
const VLLM: &str = r#"{"time":"2026-03-01T10:00:02.000Z","kind":"intent","service":"llm","origin":"tui","action":"advance","from":0,"to":5}
{"time":"2026-03-01T10:00:02.050Z","kind":"outcome","service":"llm","origin":"tui","action":"advance","from":0,"to":5,"outcome":"ok","duration_ms":50}
{"time":"2026-03-01T10:00:10.000Z","kind":"sample","s":{"pct":5,"m":["ttft_p95_ms","itl_p95_ms","e2e_p99_ms","error_rate","generation_tokens_per_s","requests_waiting","kv_cache_usage"],"b":[180,31,4200,0,2710,2,41],"g":[6400,31,4200,0,905,2,41]}}
{"time":"2026-03-01T10:00:30.000Z","kind":"intent","service":"llm","origin":"auto-rollback","action":"rollback","from":5,"to":0,"reason":"auto-rollback: green time to first token p95 6400 ms BREACH (≤ 5000 ms)","readings":[{"color":"green","metric":"ttft_p95_ms","value":6400,"verdict":"BREACH","bounds":["≤ 5000 ms","≤ blue +50%"]}]}
{"time":"2026-03-01T10:00:30.080Z","kind":"outcome","service":"llm","origin":"auto-rollback","action":"rollback","from":5,"to":0,"outcome":"ok","duration_ms":80}
"#;

#[test]
fn every_judged_metric_of_a_vllm_cutover_is_charted_by_its_label() {
    let (entries, bad) = parse(VLLM);
    assert_eq!(bad, 0);
    let c = Cutover::select(&entries, None, "j.jsonl").unwrap();
    let page = html(&c).unwrap();
    // The split and the five judged: tokens/s and the KV cache are shown
    // in the cockpit, not judged, and not charted.
    assert_eq!(page.matches("<svg").count(), 1 + 5);
    assert!(page.contains("time to first token p95 (ttft_p95_ms)"));
    assert!(!page.contains("kv_cache_usage"));
    let md = markdown(&c);
    assert!(
        md.contains("| time to first token p95 | — | 6400 ms BREACH (≤ 5000 ms, ≤ blue +50%) |"),
        "{md}"
    );
}

#[test]
fn no_cutover_and_a_wrong_index_are_errors() {
    let (entries, _) = parse(JOURNAL.lines().next().unwrap());
    let e = Cutover::select(&entries, None, "j").unwrap_err();
    assert!(e.contains("no cutover"), "{e}");
    let (entries, _) = parse(JOURNAL);
    let e = Cutover::select(&entries, Some(2), "j").unwrap_err();
    assert!(e.contains("holds 1 cutover"), "{e}");
}

#[test]
fn a_long_run_of_breaches_lists_the_first_and_last_with_a_count() {
    let mut text = String::from(
        "{\"time\":\"2026-03-01T10:00:00.000Z\",\"kind\":\"intent\",\"service\":\"chat\",\"origin\":\"tui\",\"action\":\"advance\",\"from\":0,\"to\":5}\n",
    );
    for i in 0..200 {
        text.push_str(&format!(
            "{{\"time\":\"2026-03-01T10:{:02}:{:02}.000Z\",\"kind\":\"breach\",\"service\":\"chat\",\"origin\":\"guardrail\",\"action\":\"breach\",\"to\":5,\"reason\":\"breach number {i}\"}}\n",
            i / 60,
            i % 60
        ));
    }
    let (entries, _) = parse(&text);
    let c = Cutover::select(&entries, None, "j.jsonl").unwrap();
    let md = markdown(&c);
    let breaches = md.split("## Breaches").nth(1).unwrap();
    let breaches = breaches.split("## Rollback").next().unwrap();
    assert!(
        breaches.contains("200 breach lines; the first and the last 25 are listed."),
        "{breaches}"
    );
    assert!(breaches.contains("… 150 more not listed …"), "{breaches}");
    for shown in [
        "breach number 0",
        "breach number 24",
        "breach number 175",
        "breach number 199",
    ] {
        assert!(
            breaches.contains(&format!("{shown}\n")),
            "{shown}: {breaches}"
        );
    }
    assert!(!breaches.contains("breach number 100\n"), "{breaches}");
}
