//! Reading one pod's `/metrics` text into the cumulative totals we watch.
//!
//! prometheus-parse 0.2.5 misreads some valid text without saying so: it
//! splits labels on `,` and `=` without honouring quotes (the label is
//! mangled or lost), drops a line whose label value holds `}`, and drops
//! names with `:`. So before parsing we find label values holding those
//! characters and replace the characters with `_` (the sample keeps its
//! value and its other labels), and after parsing we count the samples that
//! came back against the sample lines we fed. Both become warnings.

use std::borrow::Cow;

use prometheus_parse::{Scrape, Value};

use super::histogram::{Bucket, merge};

/// The names of the series the scrape source reads.
#[derive(Debug, Clone)]
pub struct Series {
    /// Histogram base name, without `_bucket`.
    pub histogram: String,
    pub requests: String,
    pub status_label: String,
    pub error_prefixes: Vec<String>,
    pub quality: Option<String>,
}

#[cfg(test)]
impl Series {
    /// Series with these names, a `code` status label and 5xx as errors:
    /// what the tests of the scrape source read.
    pub fn named(histogram: &str, requests: &str, quality: &str) -> Series {
        Series {
            histogram: histogram.into(),
            requests: requests.into(),
            status_label: "code".into(),
            error_prefixes: vec!["5".into()],
            quality: Some(quality.into()),
        }
    }
}

/// What one pod reported, cumulative since the pod started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodTotals {
    /// Latency buckets summed over label sets, sorted by `le`; `None` when
    /// the pod does not export the histogram.
    pub buckets: Option<Vec<Bucket>>,
    /// Requests summed over label sets; `None` when the counter is absent.
    pub requests: Option<f64>,
    /// Requests whose status label starts with an error prefix.
    pub errors: f64,
    /// Every value of the quality gauge (one per label set); `None` when
    /// absent or not configured.
    pub quality: Option<Vec<f64>>,
}

/// One pod's totals and what went wrong reading them.
#[derive(Debug, Clone, Default)]
pub struct PodScrape {
    pub totals: PodTotals,
    pub warnings: Vec<String>,
}

/// Parses one body. Fails only when the parser itself fails.
pub fn read(url: &str, body: &str, series: &Series) -> Result<PodScrape, String> {
    let (lines, fed, rewritten) = readable_lines(body);
    let scrape = Scrape::parse(lines.into_iter()).map_err(|e| format!("{url}: {e}"))?;
    let mut warnings = parser_warnings(url, &scrape, fed, rewritten);
    let totals = totals(url, &scrape, series, &mut warnings);
    Ok(PodScrape { totals, warnings })
}

/// The body's lines with label values the parser cannot read rewritten;
/// how many sample lines there were, and how many were rewritten.
fn readable_lines(body: &str) -> (Vec<std::io::Result<String>>, usize, usize) {
    let mut fed = 0usize;
    let mut rewritten = 0usize;
    let mut lines: Vec<std::io::Result<String>> = Vec::new();
    for raw in body.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            lines.push(Ok(line.to_owned()));
            continue;
        }
        fed += 1;
        match rewrite_label_values(line) {
            Cow::Borrowed(l) => lines.push(Ok(l.to_owned())),
            Cow::Owned(l) => {
                rewritten += 1;
                lines.push(Ok(l));
            }
        }
    }
    (lines, fed, rewritten)
}

/// What the parser rewrote or dropped, said per target.
fn parser_warnings(url: &str, scrape: &Scrape, fed: usize, rewritten: usize) -> Vec<String> {
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
    warnings
}

/// The histogram, request and error counts and quality of one pod.
fn totals(url: &str, scrape: &Scrape, series: &Series, warnings: &mut Vec<String>) -> PodTotals {
    let bucket_name = format!("{}_bucket", series.histogram);
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut has_histogram = false;
    let mut no_le = 0usize;
    let mut requests: Option<f64> = None;
    let mut errors = 0.0;
    let mut quality: Option<Vec<f64>> = None;
    for s in &scrape.samples {
        let scalar = match &s.value {
            // With `# TYPE x histogram` the parser groups the buckets and
            // names the sample after the base name.
            Value::Histogram(h) if s.metric == series.histogram => {
                has_histogram = true;
                buckets.extend(h.iter().map(|c| Bucket::new(c.less_than, c.count)));
                continue;
            }
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => continue,
        };
        if s.metric == bucket_name {
            // Without a TYPE line the buckets are plain samples with `le`.
            match s.labels.get("le").and_then(parse_float) {
                Some(le) => {
                    has_histogram = true;
                    buckets.push(Bucket::new(le, scalar));
                }
                None => no_le += 1,
            }
        } else if s.metric == series.requests {
            *requests.get_or_insert(0.0) += scalar;
            let is_error = s.labels.get(&series.status_label).is_some_and(|status| {
                series
                    .error_prefixes
                    .iter()
                    .any(|p| status.starts_with(p.as_str()))
            });
            if is_error {
                errors += scalar;
            }
        } else if series.quality.as_deref() == Some(s.metric.as_str()) {
            quality.get_or_insert_with(Vec::new).push(scalar);
        }
    }
    if no_le > 0 {
        warnings.push(format!(
            "{url}: {no_le} {bucket_name} sample(s) without a readable le label ignored"
        ));
    }
    PodTotals {
        buckets: has_histogram.then(|| merge(buckets)),
        requests,
        errors,
        quality,
    }
}

fn lines_have(n: usize) -> &'static str {
    if n == 1 { "line has" } else { "lines have" }
}

/// Parses a float as Go writes them (`+Inf`, `NaN`), which Rust's parser
/// accepts only in some spellings.
fn parse_float(s: &str) -> Option<f64> {
    s.trim().to_ascii_lowercase().parse().ok()
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
    use super::*;

    fn series() -> Series {
        Series::named("lat_seconds", "requests_total", "quality")
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
            let p = read("u", &body, &series()).unwrap();
            assert!(p.warnings.is_empty(), "{:?}", p.warnings);
            assert_eq!(
                p.totals.buckets,
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
            requests_total{code=\"200\"} notanumber\n";
        let p = read("http://pod", body, &series()).unwrap();
        // The rewritten line still counts, with its status intact.
        assert_eq!(p.totals.requests, Some(4.0));
        assert_eq!(p.totals.errors, 4.0);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("1 sample line has label values"));
        assert_eq!(
            p.warnings[1],
            "http://pod: 2 sample lines dropped by the parser"
        );
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
