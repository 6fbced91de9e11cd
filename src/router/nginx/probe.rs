//! Verification through the data plane: send requests through nginx, count
//! which colour answered (the `X-Served-By` header, else the body), and
//! judge the share against the split within a binomial tolerance.

use std::time::Duration;

use crate::model::Split;

/// The header the example location adds, naming the colour.
pub const SERVED_BY: &str = "x-served-by";

/// How one probe request varies the sticky key, so that the requests
/// spread over the buckets as users do.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyVariation {
    /// The key varies by itself (`$request_id`) or the mode is weighted.
    None,
    Cookie(String),
    Header(String),
    Query(String),
}

impl KeyVariation {
    /// For a `split_clients` key; `Err` names a key no probe can vary.
    pub fn for_key(key: Option<&str>) -> Result<Self, String> {
        let Some(k) = key else {
            return Ok(KeyVariation::None);
        };
        let v = k.trim_start_matches('$').trim_matches(['{', '}']);
        if let Some(c) = v.strip_prefix("cookie_") {
            Ok(KeyVariation::Cookie(c.to_string()))
        } else if let Some(h) = v.strip_prefix("http_") {
            Ok(KeyVariation::Header(h.replace('_', "-")))
        } else if let Some(a) = v.strip_prefix("arg_") {
            Ok(KeyVariation::Query(a.to_string()))
        } else if v == "request_id" {
            Ok(KeyVariation::None)
        } else {
            Err(format!(
                "the sticky key `{k}` is the same for every probe request, so a probe cannot measure the share"
            ))
        }
    }
}

/// What the probe counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    pub blue: u32,
    pub green: u32,
    /// Answers naming neither colour.
    pub other: u32,
    /// Requests that failed (connection, timeout, 5xx).
    pub failed: u32,
}

impl Count {
    pub fn answered(&self) -> u32 {
        self.blue + self.green
    }

    /// Green's share of the answers, in whole percent.
    pub fn green_pct(&self) -> Option<u8> {
        let n = self.answered();
        (n > 0).then(|| ((u64::from(self.green) * 100 + u64::from(n) / 2) / u64::from(n)) as u8)
    }
}

/// Whether `count` is what `split` gives, allowing for chance: within four
/// standard deviations of a binomial (plus one for rounding). At 0 % and
/// 100 % any request on the wrong colour is a disagreement.
pub fn agrees(split: Split, count: &Count) -> bool {
    let n = f64::from(count.answered());
    if n == 0.0 {
        return false;
    }
    let p = f64::from(split.green()) / 100.0;
    match split.green() {
        0 => count.green == 0,
        100 => count.blue == 0,
        _ => {
            let sd = (n * p * (1.0 - p)).sqrt();
            (f64::from(count.green) - n * p).abs() <= 4.0 * sd + 1.0
        }
    }
}

/// Which colour an answer names.
pub fn colour_of(header: Option<&str>, body: &str) -> Option<bool> {
    let pick = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        match (s.contains("green"), s.contains("blue")) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    };
    header.and_then(pick).or_else(|| pick(body))
}

/// Sends `n` requests to `url`, each on a new connection (as new users
/// arrive), and counts the colours.
pub async fn count(url: &str, n: u32, vary: &KeyVariation) -> Result<Count, String> {
    // reqwest is built without a default TLS provider; the scrape source
    // installs the same one, whichever runs first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build the probe client: {e}"))?;
    let mut c = Count::default();
    for i in 0..n {
        let key = format!("cutover-probe-{i}");
        let mut req = client.get(url);
        match vary {
            KeyVariation::None => {}
            KeyVariation::Cookie(name) => req = req.header("cookie", format!("{name}={key}")),
            KeyVariation::Header(name) => req = req.header(name.as_str(), key),
            KeyVariation::Query(name) => req = req.query(&[(name.as_str(), key)]),
        }
        match req.send().await {
            Ok(r) if !r.status().is_server_error() => {
                let header = r
                    .headers()
                    .get(SERVED_BY)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = r.text().await.unwrap_or_default();
                match colour_of(header.as_deref(), &body) {
                    Some(true) => c.green += 1,
                    Some(false) => c.blue += 1,
                    None => c.other += 1,
                }
            }
            _ => c.failed += 1,
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(g: u8) -> Split {
        Split::new(g).unwrap()
    }

    #[test]
    fn tolerance_is_binomial_and_exact_at_the_ends() {
        let c = |blue, green| Count {
            blue,
            green,
            ..Default::default()
        };
        assert!(agrees(s(25), &c(150, 50)));
        assert!(agrees(s(25), &c(160, 40)));
        assert!(!agrees(s(25), &c(200, 0)));
        assert!(!agrees(s(50), &c(150, 50)));
        assert!(agrees(Split::ZERO, &c(200, 0)));
        assert!(!agrees(Split::ZERO, &c(199, 1)));
        assert!(!agrees(s(100), &c(1, 199)));
        assert!(!agrees(s(50), &c(0, 0)));
        assert_eq!(c(150, 50).green_pct(), Some(25));
    }

    #[test]
    fn keys_and_colours() {
        assert_eq!(
            KeyVariation::for_key(Some("$cookie_user")).unwrap(),
            KeyVariation::Cookie("user".into())
        );
        assert_eq!(
            KeyVariation::for_key(Some("${http_x_user}")).unwrap(),
            KeyVariation::Header("x-user".into())
        );
        assert!(KeyVariation::for_key(Some("$remote_addr")).is_err());
        assert_eq!(colour_of(Some("green"), ""), Some(true));
        assert_eq!(colour_of(None, "blue\n"), Some(false));
        assert_eq!(colour_of(None, "hello"), None);
    }
}
