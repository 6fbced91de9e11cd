//! Reading one pod's `/metrics` text into the cumulative totals we watch.
//!
//! prometheus-parse 0.2.5 misreads some valid text without saying so: it
//! splits labels on `,` and `=` without honouring quotes (the label is
//! mangled or lost), drops a line whose label value holds `}`, and matches
//! names with `\w+`, which drops every name with `:` (all of vLLM's
//! `vllm:*` and SGLang's `sglang:*`). So before parsing we feed each `:` of
//! a name as a stand-in letter (see [`COLON_STAND_IN`]) and turn it back
//! after; we find label values holding `,` `=` `}` and replace those
//! characters with `_` (the sample keeps its value and its other labels);
//! and we count the samples that came back against the sample lines we fed.
//! The rewrites and the losses become warnings.

use std::borrow::Cow;

use prometheus_parse::Scrape;
pub use prometheus_parse::{Sample, Value};

/// What `:` in a metric name is fed to the parser as. prometheus-parse's
/// `\w` is Unicode-aware and `ː` (U+02D0 MODIFIER LETTER TRIANGULAR COLON)
/// is a letter, so a name holding it matches. The round trip is exact: a
/// legal name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) is ASCII, so after parsing a `ː`
/// in a name can only be one we put there; a line whose name already holds
/// one is not a legal line and is not fed (it counts as dropped). Only the
/// name is rewritten, never label values or what follows.
const COLON_STAND_IN: char = 'ː';

/// One body parsed, with names as written (colons included).
#[derive(Debug, Clone)]
pub struct Parsed {
    /// A typed histogram's `_bucket` lines come back as one sample per
    /// label set (its `_sum` and `_count` as plain samples of their own).
    pub samples: Vec<Sample>,
    /// Sample lines in the body (neither blank nor comments).
    pub lines: usize,
    /// Sample lines the parser returned (each histogram bucket counts one).
    pub returned: usize,
    /// Lines rewritten or dropped, one warning each kind.
    pub warnings: Vec<String>,
}

/// Parses one body. Fails only when the parser itself fails.
pub fn parse(url: &str, body: &str) -> Result<Parsed, String> {
    parse_where(url, body, |_| true)
}

/// Parses the lines of one body whose metric name `keep` accepts (sample
/// lines and `# HELP` / `# TYPE`); the others are not fed, so they cost no
/// parse and, when malformed, no warning. prometheus-parse costs ~2 us a
/// line, so a vLLM page of 651 lines read whole takes ~1.6 ms.
pub fn parse_where(url: &str, body: &str, keep: impl Fn(&str) -> bool) -> Result<Parsed, String> {
    let mut fed = 0usize;
    let mut rewritten = 0usize;
    let mut lines: Vec<std::io::Result<String>> = Vec::new();
    for raw in body.lines() {
        let line = raw.trim();
        // Blank lines and plain comments: the parser skips them anyway.
        let Some((start, len)) = name_at(line) else {
            continue;
        };
        if !keep(&line[start..start + len]) {
            continue;
        }
        let is_sample = !line.starts_with('#');
        fed += usize::from(is_sample);
        let line = feed_name(line, start, len);
        let line = if is_sample {
            match rewrite_label_values(&line) {
                Cow::Borrowed(_) => line.into_owned(),
                Cow::Owned(l) => {
                    rewritten += 1;
                    l
                }
            }
        } else {
            line.into_owned()
        };
        lines.push(Ok(line));
    }
    let mut scrape = Scrape::parse(lines.into_iter()).map_err(|e| format!("{url}: {e}"))?;
    for s in &mut scrape.samples {
        if s.metric.contains(COLON_STAND_IN) {
            s.metric = s.metric.replace(COLON_STAND_IN, ":");
        }
    }

    let mut warnings = Vec::new();
    // A typed histogram or summary comes back as one sample per label set
    // holding all its bucket lines, so count the entries, not the samples.
    let returned: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(h) => h.len(),
            Value::Summary(q) => q.len(),
            _ => 1,
        })
        .sum();
    if rewritten > 0 {
        warnings.push(format!(
            "{url}: {rewritten} sample {} label values with , = or }} that the parser cannot read; \
             those characters were read as _",
            lines_have(rewritten)
        ));
    }
    if returned < fed {
        let dropped = fed - returned;
        warnings.push(format!(
            "{url}: {dropped} sample {} dropped by the parser",
            if dropped == 1 { "line" } else { "lines" }
        ));
    }
    Ok(Parsed {
        samples: scrape.samples,
        lines: fed,
        returned,
        warnings,
    })
}

fn lines_have(n: usize) -> &'static str {
    if n == 1 { "line has" } else { "lines have" }
}

/// Where the metric name of a line is, as `(start, len)`: a sample
/// line's first word, or the word after `# HELP` / `# TYPE`. `None` for
/// blank lines and other comments.
fn name_at(line: &str) -> Option<(usize, usize)> {
    let start = match line.strip_prefix('#') {
        Some(rest) => {
            // The parser's `^#\s+(HELP|TYPE)\s+name`: find where name starts.
            let after_hash = rest.trim_start();
            let word = after_hash
                .strip_prefix("HELP")
                .or_else(|| after_hash.strip_prefix("TYPE"))?;
            line.len() - word.trim_start().len()
        }
        None if line.is_empty() => return None,
        None => 0,
    };
    let len = line[start..]
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len() - start);
    Some((start, len))
}

/// The line with each `:` of its metric name (at `start`, `len` bytes)
/// fed as [`COLON_STAND_IN`]. Borrowed when the name has no `:`; empty
/// (not fed) when the name holds the stand-in itself.
fn feed_name(line: &str, start: usize, len: usize) -> Cow<'_, str> {
    let name = &line[start..start + len];
    if name.contains(COLON_STAND_IN) {
        return Cow::Borrowed("");
    }
    if !name.contains(':') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    out.push_str(&line[..start]);
    out.extend(
        name.chars()
            .map(|c| if c == ':' { COLON_STAND_IN } else { c }),
    );
    out.push_str(&line[start + len..]);
    Cow::Owned(out)
}

/// Rewrites `,` `=` `}` inside quoted label values to `_`. Returns the line
/// untouched (borrowed) when there is nothing to rewrite or when the label
/// block cannot be read, in which case the parser decides.
pub fn rewrite_label_values(line: &str) -> Cow<'_, str> {
    let Some(open) = line.find('{') else {
        return Cow::Borrowed(line);
    };
    // A `{` after the name ended (e.g. in a value) is not a label block.
    if line[..open].contains(char::is_whitespace) {
        return Cow::Borrowed(line);
    }
    let bytes = line.as_bytes();
    let mut out: Option<String> = None;
    let mut i = open + 1;
    let mut in_value = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_value {
            match c {
                // An escape: keep both bytes as they are (the parser does
                // not decode escapes; an escaped quote must not end the value).
                b'\\' => i += 1,
                b'"' => in_value = false,
                b',' | b'=' | b'}' => {
                    let s = out.get_or_insert_with(|| line.to_owned());
                    // Same length, ASCII for ASCII: byte offsets stay valid.
                    s.replace_range(i..i + 1, "_");
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => in_value = true,
                b'}' => {
                    return out.map_or(Cow::Borrowed(line), Cow::Owned);
                }
                _ => {}
            }
        }
        i += 1;
    }
    // No closing brace: malformed, leave it to the parser (it drops it, and
    // the count of returned samples says so).
    Cow::Borrowed(line)
}

#[cfg(test)]
mod tests {
    use super::super::histogram::Bucket;
    use super::super::watch::testing::{Names, read};
    use super::*;

    fn series() -> Names {
        Names::new("lat_seconds", "requests_total", "quality")
    }

    /// The buckets read from `body`, which reads without a warning.
    fn clean_buckets(body: &str, names: &Names) -> Option<Vec<Bucket>> {
        let p = read("u", body, names).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        p.totals.buckets
    }

    #[test]
    fn rewrites_only_inside_quoted_values() {
        assert_eq!(rewrite_label_values("x 1"), "x 1");
        assert_eq!(
            rewrite_label_values(r#"x{a="b",c="d"} 1"#),
            r#"x{a="b",c="d"} 1"#
        );
        assert_eq!(
            rewrite_label_values(r#"x{path="/a,b=c}",code="500"} 1"#),
            r#"x{path="/a_b_c_",code="500"} 1"#
        );
        assert_eq!(
            rewrite_label_values(r#"x{p="a\",b"} 1"#),
            r#"x{p="a\"_b"} 1"#
        );
        assert!(matches!(
            rewrite_label_values(r#"x{p="a,b" 1"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn typed_and_untyped_histograms_read_the_same() {
        let typed = "# TYPE lat_seconds histogram\n\
            lat_seconds_bucket{path=\"/a\",le=\"0.1\"} 1\n\
            lat_seconds_bucket{path=\"/a\",le=\"+Inf\"} 2\n\
            lat_seconds_bucket{path=\"/b\",le=\"0.1\"} 3\n\
            lat_seconds_bucket{path=\"/b\",le=\"+Inf\"} 4\n\
            lat_seconds_sum 1.5\nlat_seconds_count 6\n";
        let untyped = typed.replace("# TYPE lat_seconds histogram\n", "");
        for body in [typed.to_string(), untyped] {
            assert_eq!(
                clean_buckets(&body, &series()),
                Some(vec![Bucket::new(0.1, 4.0), Bucket::new(f64::INFINITY, 6.0)])
            );
        }
    }

    #[test]
    fn counts_requests_errors_and_quality() {
        let body = "# TYPE requests_total counter\n\
            requests_total{code=\"200\"} 90\n\
            requests_total{code=\"503\"} 7\n\
            requests_total{code=\"500\"} 3\n\
            requests_total 0\n\
            quality{model=\"a\"} 0.9\nquality{model=\"b\"} NaN\n";
        let p = read("u", body, &series()).unwrap();
        assert_eq!(p.totals.requests, Some(100.0));
        assert_eq!(p.totals.errors, 10.0);
        assert_eq!(p.totals.buckets, None);
        let q = p.totals.quality.unwrap();
        assert_eq!(q[0], 0.9);
        assert!(q[1].is_nan());
    }

    #[test]
    fn dropped_and_rewritten_lines_are_warned_about() {
        let body = "requests_total{code=\"500\",path=\"/a,b\"} 4\n\
            job:requests:rate 1\n\
            bad-name 1\n\
            requests_total{code=\"200\"} notanumber\n";
        let p = read("http://pod", body, &series()).unwrap();
        // The rewritten line still counts, with its status intact.
        assert_eq!(p.totals.requests, Some(4.0));
        assert_eq!(p.totals.errors, 4.0);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("1 sample line has label values"));
        // Only watched series are fed: `bad-name` is not, so it is not
        // counted; the unreadable value of a watched series is.
        assert_eq!(
            p.warnings[1],
            "http://pod: 1 sample line dropped by the parser"
        );
        let all = parse("http://pod", body).unwrap();
        assert_eq!((all.lines, all.returned), (4, 2));
        assert_eq!(
            all.warnings[1],
            "http://pod: 2 sample lines dropped by the parser"
        );
    }

    /// Names with `:` in every place a name occurs, with labels holding
    /// `:` and escapes, a timestamp, NaN and +Inf.
    const COLONS: &str = "# HELP vllm:e2e_seconds Latency: end to end.\n\
        # TYPE vllm:e2e_seconds histogram\n\
        vllm:e2e_seconds_bucket{model_name=\"org/m:v2\",engine=\"0\",le=\"0.5\"} 3.0\n\
        vllm:e2e_seconds_bucket{model_name=\"org/m:v2\",engine=\"0\",le=\"+Inf\"} 4.0\n\
        vllm:e2e_seconds_count{model_name=\"org/m:v2\",engine=\"0\"} 4.0\n\
        vllm:e2e_seconds_sum{model_name=\"org/m:v2\",engine=\"0\"} 1.5\n\
        vllm:e2e_seconds_bucket{model_name=\"org/m:v2\",engine=\"1\",le=\"0.5\"} 1.0\n\
        vllm:e2e_seconds_bucket{model_name=\"org/m:v2\",engine=\"1\",le=\"+Inf\"} 2.0\n\
        # TYPE http:requests_total counter\n\
        http:requests_total{status=\"5xx\",path=\"C:\\\\tmp \\\"q\\\" x\"} 2 1764763200000\n\
        http:requests_total{status=\"2xx\"} 8\n\
        :kv:usage NaN\n\
        _x:y +Inf\n";

    fn colon_series() -> Names {
        Names {
            status_label: "status",
            ..Names::new("vllm:e2e_seconds", "http:requests_total", ":kv:usage")
        }
    }

    #[test]
    fn names_with_colons_are_read_everywhere() {
        let p = parse("u", COLONS).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!((p.lines, p.returned), (10, 10));
        let mut names: Vec<&str> = p.samples.iter().map(|s| s.metric.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names,
            [
                ":kv:usage",
                "_x:y",
                "http:requests_total",
                "vllm:e2e_seconds",
                "vllm:e2e_seconds_count",
                "vllm:e2e_seconds_sum"
            ]
        );
        // Label values are never rewritten, colons included; escapes are
        // kept as written (prometheus-parse does not decode them).
        let err = p
            .samples
            .iter()
            .find(|s| s.labels.get("status") == Some("5xx"));
        assert_eq!(err.unwrap().labels.get("path"), Some(r#"C:\\tmp \"q\" x"#));
        let r = read("u", COLONS, &colon_series()).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(
            r.totals.buckets,
            Some(vec![Bucket::new(0.5, 4.0), Bucket::new(f64::INFINITY, 6.0)])
        );
        assert_eq!((r.totals.requests, r.totals.errors), (Some(10.0), 2.0));
        assert!(r.totals.quality.unwrap()[0].is_nan());
    }

    #[test]
    fn untyped_colon_buckets_and_help_lines_read_the_same() {
        let untyped: String = COLONS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            clean_buckets(&untyped, &colon_series()),
            clean_buckets(COLONS, &colon_series())
        );
    }

    #[test]
    fn only_the_name_is_fed_with_the_stand_in() {
        let feed_name = |l| {
            let (start, len) = name_at(l).unwrap_or((0, 0));
            feed_name(l, start, len).into_owned()
        };
        assert_eq!(feed_name("a_b{x=\"c:d\"} 1"), "a_b{x=\"c:d\"} 1");
        assert_eq!(feed_name("a:b{x=\"c:d\"} 1"), "aːb{x=\"c:d\"} 1");
        assert_eq!(feed_name("a:b 1 2"), "aːb 1 2");
        assert_eq!(feed_name("# TYPE a:b counter"), "# TYPE aːb counter");
        assert_eq!(feed_name("#  HELP  a:b x:y"), "#  HELP  aːb x:y");
        assert_eq!(feed_name("# some: comment"), "# some: comment");
        // Already holding the stand-in: not a legal name, not fed.
        assert_eq!(feed_name("aːb 1"), "");
        let p = parse("u", "aːb 1\na:b 2\n").unwrap();
        assert_eq!(p.samples.len(), 1);
        assert_eq!(p.samples[0].metric, "a:b");
        assert_eq!(p.warnings, ["u: 1 sample line dropped by the parser"]);
    }

    #[test]
    fn parser_drops_colons_but_reads_the_stand_in() {
        // Guard for the reason the stand-in exists, and that it still works:
        // if a future parser reads `:`, the stand-in can go.
        let s = Scrape::parse(["a:b 1", "aːb 2"].map(|l| Ok(l.to_string())).into_iter()).unwrap();
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].metric, "aːb");
    }

    #[test]
    fn parser_really_mangles_commas_without_the_rewrite() {
        // Guard for the reason the rewrite exists: if a future parser reads
        // this correctly, the rewrite can go.
        let s =
            Scrape::parse([Ok(r#"r{path="/a,b",code="500"} 1"#.to_string())].into_iter()).unwrap();
        assert_eq!(s.samples[0].labels.get("path"), Some("/a"));
    }
}
