//! A Prometheus that answers far too much (issue 16, point 7): 55 MB to
//! every query. The source reads at most 16 MB of an answer, as the scrape
//! source does, and says so as *no data*; before, the cockpit read each
//! answer whole and grew to 811 MB. The server is a stand-in speaking the
//! HTTP API's JSON (a real Prometheus would need millions of series to
//! answer that much), once with a Content-Length and once chunked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cutover::config::{PrometheusConfig, SourceConfig};
use cutover::metrics::MetricSource;
use cutover::metrics::prometheus::PrometheusSource;
use cutover::model::{Color, Metric, NoData, Reading};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A valid instant-query answer: a vector of `series` samples, about 55 MB.
fn huge_answer() -> Vec<u8> {
    let mut body = br#"{"status":"success","data":{"resultType":"vector","result":["#.to_vec();
    let mut i = 0usize;
    while body.len() < 55 * 1024 * 1024 {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(
            format!(
                r#"{{"metric":{{"__name__":"requests_total","pod":"pod-{i:09}","track":"green"}},"value":[1700000000.000,"{i}"]}}"#
            )
            .as_bytes(),
        );
        i += 1;
    }
    body.extend_from_slice(b"]}}");
    body
}

/// Serves `body` to every request, with a Content-Length or chunked.
async fn serve(body: Arc<Vec<u8>>, chunked: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = conn.read(&mut buf).await;
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_string()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                };
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for part in body.chunks(64 * 1024) {
                    let sent = if chunked {
                        let mut c = format!("{:x}\r\n", part.len()).into_bytes();
                        c.extend_from_slice(part);
                        c.extend_from_slice(b"\r\n");
                        conn.write_all(&c).await
                    } else {
                        conn.write_all(part).await
                    };
                    // The client stopped reading: it has had enough.
                    if sent.is_err() {
                        return;
                    }
                }
                if chunked {
                    let _ = conn.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    port
}

/// Peak resident memory of this process so far, in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_16_mb_is_no_data_and_never_read_whole() {
    let body = Arc::new(huge_answer());
    let before = peak_rss_mb();
    for chunked in [false, true] {
        let port = serve(body.clone(), chunked).await;
        let source = SourceConfig {
            timeout: Duration::from_secs(10),
            ..SourceConfig::default()
        };
        let prom = PrometheusConfig::new(format!("http://127.0.0.1:{port}"));
        let mut src = PrometheusSource::new(
            &prom,
            &source,
            &cutover_testkit::prometheus::legacy_specs(&prom),
        )
        .unwrap();
        let started = Instant::now();
        let snap = src.poll().await;
        eprintln!(
            "chunked={chunked}: poll took {:?}; peak RSS {} MB (before the polls: {before} MB)",
            started.elapsed(),
            peak_rss_mb()
        );
        for color in Color::BOTH {
            for metric in Metric::ALL {
                match snap.color(color).get(metric) {
                    Reading::NoData(NoData::Other(why)) => {
                        assert!(why.contains("more than 16 MB"), "{color} {metric:?}: {why}")
                    }
                    other => {
                        panic!("{color} {metric:?}: expected no data (too big), got {other:?}")
                    }
                }
            }
        }
    }
    // The answers were 55 MB each, a dozen queries a poll: read whole,
    // the process would pass a gigabyte.
    assert!(peak_rss_mb() < 400, "peak RSS {} MB", peak_rss_mb());
}
