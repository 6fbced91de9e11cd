//! What a metric source is, as the engine, the header and `status` need to
//! know it: its kind, whether it checks the server's certificate, and
//! whether it is a query service whose silence is its own.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// A short name for the header: `scrape`, `prometheus`.
    pub kind: &'static str,
    /// Set when the source does not check the server's certificate: the
    /// setting that turned the check off (`insecure_skip_verify`).
    pub tls_not_verified: Option<&'static str>,
    /// A query service (Prometheus): when none of its queries answer, the
    /// service is silent, not the pods (a scrape target that does not
    /// answer is a pod that is down).
    pub queries: bool,
}

impl SourceInfo {
    /// A source that checks certificates (or uses none) and reads the pods
    /// themselves.
    pub fn new(kind: &'static str) -> SourceInfo {
        SourceInfo {
            kind,
            tls_not_verified: None,
            queries: false,
        }
    }

    /// `TLS NOT VERIFIED: insecure_skip_verify`, said in the warn style.
    pub fn tls_warning(&self) -> Option<String> {
        self.tls_not_verified
            .map(|why| format!("TLS NOT VERIFIED: {why}"))
    }
}

impl From<&'static str> for SourceInfo {
    fn from(kind: &'static str) -> SourceInfo {
        SourceInfo::new(kind)
    }
}

/// `prometheus`, or `prometheus (TLS NOT VERIFIED: insecure_skip_verify)`:
/// as `status`, the journal's start record and the events name the source.
impl fmt::Display for SourceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tls_warning() {
            Some(w) => write!(f, "{} ({w})", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_is_a_field_and_the_name_reads_as_before() {
        let plain = SourceInfo::new("prometheus");
        assert_eq!(plain.to_string(), "prometheus");
        assert_eq!(plain.tls_warning(), None);
        let insecure = SourceInfo {
            tls_not_verified: Some("insecure_skip_verify"),
            ..plain
        };
        assert_eq!(
            insecure.to_string(),
            "prometheus (TLS NOT VERIFIED: insecure_skip_verify)"
        );
        assert_eq!(
            insecure.tls_warning().as_deref(),
            Some("TLS NOT VERIFIED: insecure_skip_verify")
        );
    }
}
