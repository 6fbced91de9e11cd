//! Verification through the data plane: send requests through nginx, count
//! which colour answered (the `X-Served-By` header, else the body), and
//! judge the share against the split with a binomial (Wilson) interval.
//! The requests go out concurrently, so a round takes about as long as
//! its slowest request, bounded by [`ROUND_WITHIN`].

use std::time::Duration;

use crate::http::{HttpClient, HttpOptions};
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

/// The normal quantile of the probe's interval: 99.9 % two-sided, so a
/// round that agrees is called a disagreement about once in a thousand.
const Z: f64 = 3.2905;

/// The Wilson score interval (at 99.9 %) for green's share given `count`,
/// as fractions; `None` when nothing answered. Wilson rather than a normal
/// approximation because it stays honest for small rounds and shares near
/// 0 and 1.
pub fn interval(count: &Count) -> Option<(f64, f64)> {
    let n = f64::from(count.answered());
    if n == 0.0 {
        return None;
    }
    let p = f64::from(count.green) / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Whether `count` is what `split` gives, allowing for chance: the split
/// lies within the 99.9 % interval of what was counted. That holds for
/// hash-based splits and, being no wider than chance allows, for plain
/// round robin too. At 0 % and 100 % any request on the wrong colour is a
/// disagreement.
pub fn agrees(split: Split, count: &Count) -> bool {
    let Some((lo, hi)) = interval(count) else {
        return false;
    };
    let p = f64::from(split.green()) / 100.0;
    match split.green() {
        0 => count.green == 0,
        100 => count.blue == 0,
        _ => lo <= p && p <= hi,
    }
}

/// `17-33%`: the interval for messages, in whole percent.
pub fn describe_interval(count: &Count) -> String {
    match interval(count) {
        Some((lo, hi)) => format!("{:.0}-{:.0}%", lo * 100.0, hi * 100.0),
        None => "none".into(),
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

/// Whether `count` can no longer agree with `split` however the rest of a
/// round goes: at 0 % and 100 % one answer from the wrong colour settles it.
pub fn cannot_agree(split: Split, count: &Count) -> bool {
    match split.green() {
        0 => count.green > 0,
        100 => count.blue > 0,
        _ => false,
    }
}

/// How many probe requests are in flight at once: enough to finish a
/// round of a few hundred well within [`ROUND_WITHIN`], few enough not to
/// look like a flood to nginx or the backends.
const IN_FLIGHT: usize = 32;

/// How long one round of probe requests may take in all; requests still
/// unanswered then count as failed.
pub const ROUND_WITHIN: Duration = Duration::from_secs(1);

/// One probe request; `Some(true)` when green answered, `None` when the
/// answer named no colour, `Err` when it failed.
async fn one(
    client: &reqwest::Client,
    url: &str,
    vary: &KeyVariation,
    i: u32,
) -> Result<Option<bool>, ()> {
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
            Ok(colour_of(header.as_deref(), &body))
        }
        _ => Err(()),
    }
}

/// Sends `n` requests to `url`, each on a new connection (as new users
/// arrive), [`IN_FLIGHT`] at a time, all within `within`, and counts the
/// colours. Stops early once the count cannot agree with `split`: right
/// after a reload old workers answer for about 100 ms, and the caller asks
/// again rather than finish a lost round.
pub async fn count(
    url: &str,
    n: u32,
    vary: &KeyVariation,
    split: Split,
    within: Duration,
) -> Result<Count, String> {
    let http = HttpClient::build(&HttpOptions {
        timeout: within,
        fresh_connections: true,
        ..HttpOptions::default()
    })
    .map_err(|e| format!("cannot build the probe client: {e:#}"))?;
    let client = http.client().clone();
    let deadline = tokio::time::Instant::now() + within;
    let mut c = Count::default();
    let mut inflight = tokio::task::JoinSet::new();
    let mut next = 0;
    loop {
        while next < n && inflight.len() < IN_FLIGHT {
            let (client, url, vary) = (client.clone(), url.to_string(), vary.clone());
            let i = next;
            inflight.spawn(async move { one(&client, &url, &vary, i).await });
            next += 1;
        }
        let Ok(Some(done)) = tokio::time::timeout_at(deadline, inflight.join_next()).await else {
            // Out of time (or nothing left): the rest count as failed.
            c.failed += n - next + inflight.len() as u32;
            break;
        };
        match done {
            Ok(Ok(Some(true))) => c.green += 1,
            Ok(Ok(Some(false))) => c.blue += 1,
            Ok(Ok(None)) => c.other += 1,
            _ => c.failed += 1,
        }
        if cannot_agree(split, &c) {
            break;
        }
    }
    // Dropping the set aborts whatever is still in flight.
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::split as s;

    #[test]
    fn the_interval_is_wilson_at_999_and_exact_at_the_ends() {
        let c = |blue, green| Count {
            blue,
            green,
            ..Default::default()
        };
        assert!(agrees(s(25), &c(150, 50)));
        assert!(agrees(s(25), &c(160, 40)));
        assert!(!agrees(s(25), &c(200, 0)));
        assert!(!agrees(s(50), &c(150, 50)));
        // 7 greens of 20 at 25 % is chance, not a disagreement.
        assert!(agrees(s(25), &c(13, 7)));
        let (lo, hi) = interval(&c(13, 7)).unwrap();
        assert!(
            (lo - 0.115).abs() < 0.005 && (hi - 0.690).abs() < 0.005,
            "{lo} {hi}"
        );
        // Round robin is exact, yet nothing wider than chance is allowed:
        // 200 answers at 5 % (10 green) tolerate 0..=20 green, not 21.
        assert!(agrees(s(5), &c(190, 10)));
        assert!(agrees(s(5), &c(180, 20)));
        assert!(!agrees(s(5), &c(179, 21)));
        assert!(agrees(Split::ZERO, &c(200, 0)));
        assert!(!agrees(Split::ZERO, &c(199, 1)));
        assert!(!agrees(s(100), &c(1, 199)));
        assert!(!agrees(s(50), &c(0, 0)));
        assert_eq!(c(150, 50).green_pct(), Some(25));
        assert_eq!(describe_interval(&c(13, 7)), "12-69%");
        assert!(cannot_agree(Split::ZERO, &c(3, 1)));
        assert!(cannot_agree(s(100), &c(1, 3)));
        assert!(!cannot_agree(s(50), &c(0, 3)));
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

    /// A backend that answers `colour` after `delay`, or never.
    async fn slow_backend(delay: Option<Duration>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = sock.read(&mut buf).await;
                    let Some(d) = delay else {
                        std::future::pending::<()>().await;
                        return;
                    };
                    tokio::time::sleep(d).await;
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nX-Served-By: blue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nblue\n",
                        )
                        .await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn a_round_runs_concurrently_and_within_its_bound() {
        let v = KeyVariation::None;
        // 40 answers of 200 ms each: 8 s one after another, 0.4 s here.
        let url = slow_backend(Some(Duration::from_millis(200))).await;
        let t0 = std::time::Instant::now();
        let c = count(&url, 40, &v, Split::ZERO, ROUND_WITHIN)
            .await
            .unwrap();
        assert_eq!(c.blue, 40, "{c:?}");
        assert!(
            t0.elapsed() < Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
        // A backend that never answers: the round ends at its bound.
        let url = slow_backend(None).await;
        let t0 = std::time::Instant::now();
        let c = count(&url, 40, &v, Split::ZERO, Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!((c.answered(), c.failed), (0, 40), "{c:?}");
        assert!(
            t0.elapsed() < Duration::from_millis(800),
            "{:?}",
            t0.elapsed()
        );
    }
}
