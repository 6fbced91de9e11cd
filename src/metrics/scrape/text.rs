//! Prometheus text as Python's prometheus_client writes it (HELP and TYPE
//! before each family, floats as `1.0`, a `_created` gauge family after
//! each counter, summary and histogram), for pages that must look like a
//! Python model server's; [`Text::plain`] leaves the `_created` families
//! out, as servers written in Rust or C++ (TGI, Triton) do. Pure: builds a
//! string.

use std::fmt::Write as _;

/// A page being written.
pub struct Text {
    out: String,
    /// What the `_created` gauges say (seconds since the epoch); `None`:
    /// none are written.
    created_at: Option<f64>,
}

impl Text {
    pub fn new(created_at: f64) -> Self {
        Text {
            out: String::with_capacity(96 * 1024),
            created_at: Some(created_at),
        }
    }

    /// A page without `_created` families.
    pub fn plain() -> Self {
        Text {
            created_at: None,
            ..Text::new(0.0)
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn line(&mut self, name: &str, labels: &str, v: f64) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {}", go_float(v));
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {}", go_float(v));
        }
    }

    pub fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
        self.head(name, kind, help);
        for (labels, v) in samples {
            self.line(name, labels, *v);
        }
    }

    /// prometheus_client's `_created` gauge family, after the family it dates.
    fn created<'a>(&mut self, base: &str, help: &str, labels: impl Iterator<Item = &'a String>) {
        let Some(at) = self.created_at else {
            return;
        };
        let name = format!("{base}_created");
        self.head(&name, "gauge", help);
        for l in labels {
            self.line(&name, l, at);
        }
    }

    /// A counter family `base_total`, then its `_created` gauges.
    pub fn counter(&mut self, base: &str, help: &str, samples: &[(String, f64)]) {
        let base = base.strip_suffix("_total").unwrap_or(base);
        self.family(&format!("{base}_total"), "counter", help, samples);
        self.created(base, help, samples.iter().map(|(l, _)| l));
    }

    /// A summary without quantiles: `(labels, count, sum)` per label set.
    pub fn summary(&mut self, name: &str, help: &str, sets: &[(String, f64, f64)]) {
        self.head(name, "summary", help);
        for (l, count, sum) in sets {
            self.line(&format!("{name}_count"), l, *count);
            self.line(&format!("{name}_sum"), l, *sum);
        }
        self.created(name, help, sets.iter().map(|(l, _, _)| l));
    }

    /// A histogram family: per label set its cumulative buckets (each bound,
    /// then `+Inf`), `_count` and `_sum`; then its `_created` gauges.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        bounds: &[f64],
        labels: &[String],
        obs: &[Vec<(f64, u64)>],
    ) {
        self.head(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (l, obs) in labels.iter().zip(obs) {
            let sep = if l.is_empty() { "" } else { "," };
            for le in bounds.iter().copied().chain([f64::INFINITY]) {
                let n: u64 = obs.iter().filter(|(v, _)| *v <= le).map(|(_, n)| n).sum();
                self.line(
                    &bucket,
                    &format!("{l}{sep}le=\"{}\"", go_float(le)),
                    n as f64,
                );
            }
            let count: u64 = obs.iter().map(|(_, n)| n).sum();
            let sum: f64 = obs.iter().map(|(v, n)| v * *n as f64).sum();
            self.line(&format!("{name}_count"), l, count as f64);
            self.line(&format!("{name}_sum"), l, sum);
        }
        self.created(name, help, labels.iter());
    }
}

/// A float as prometheus_client writes it: Python's repr (`1.0`), Go's
/// exponent for large values (`1.7647632e+09`), `+Inf`, `NaN`.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:?}");
    match s.find('.') {
        Some(dot) if v > 0.0 && dot > 6 && !s.contains('e') => {
            let mantissa = format!("{}.{}{}", &s[..1], &s[1..dot], &s[dot + 1..]);
            format!("{}e+{:02}", mantissa.trim_end_matches(['0', '.']), dot - 1)
        }
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_prometheus_client_does() {
        assert_eq!(go_float(1.0), "1.0");
        assert_eq!(go_float(0.001), "0.001");
        assert_eq!(go_float(7680.0), "7680.0");
        assert_eq!(go_float(1_764_763_200.0), "1.7647632e+09");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn a_plain_page_has_no_created_family() {
        let mut t = Text::plain();
        t.histogram("h", "Help.", &[1.0], &[String::new()], &[vec![(0.5, 2)]]);
        assert_eq!(
            t.finish(),
            "# HELP h Help.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 2.0\n\
             h_bucket{le=\"+Inf\"} 2.0\nh_count 2.0\nh_sum 1.0\n"
        );
    }

    #[test]
    fn a_histogram_is_cumulative_with_count_sum_and_created() {
        let mut t = Text::new(5.0);
        t.histogram(
            "h",
            "Help.",
            &[0.1, 1.0],
            &["a=\"b\"".into()],
            &[vec![(0.05, 2), (0.5, 1)]],
        );
        assert_eq!(
            t.finish(),
            "# HELP h Help.\n# TYPE h histogram\n\
             h_bucket{a=\"b\",le=\"0.1\"} 2.0\nh_bucket{a=\"b\",le=\"1.0\"} 3.0\n\
             h_bucket{a=\"b\",le=\"+Inf\"} 3.0\nh_count{a=\"b\"} 3.0\nh_sum{a=\"b\"} 0.6\n\
             # HELP h_created Help.\n# TYPE h_created gauge\nh_created{a=\"b\"} 5.0\n"
        );
    }
}
