//! How AWS calls reach AWS from a corporate network: a CA bundle for a
//! TLS-inspecting proxy (`[aws] ca_file`, else `AWS_CA_BUNDLE`) and a proxy
//! (`[aws] proxy`, else `HTTPS_PROXY` for AWS's own endpoints). The CA is
//! the TLS tests' own, served by a loopback HTTPS stand-in; the proxy is a
//! loopback listener that records the request line it was sent and answers
//! it itself. The environment's variables are tried on the binary, whose
//! environment is its own.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};

use cutover::aws::{AwsClient, CLOUDWATCH, Credentials};
use cutover::config::AwsConfig;
use cutover::http::Secret;
use serde_json::json;

use crate::prometheus_tls::{certificates, tls_server};
use crate::support::moto;

const TARGET: &str = "GraniteServiceVersion20100801.GetMetricData";

fn creds() -> Credentials {
    Credentials {
        access_key_id: Secret::new("AKIDEXAMPLE"),
        secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        session_token: None,
        expires: None,
        from: "test".into(),
    }
}

fn aws(endpoint: &str, ca_file: Option<&Path>, proxy: Option<String>) -> AwsConfig {
    AwsConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        ca_file: ca_file.map(Path::to_path_buf),
        proxy,
        ..Default::default()
    }
}

/// CloudWatch's answer to a GetMetricData with nothing in it.
fn empty(_: &hyper::HeaderMap) -> (u16, &'static str, &'static str) {
    (
        200,
        "application/x-amz-json-1.0",
        r#"{"MetricDataResults": []}"#,
    )
}

/// A loopback proxy that records the first line of each request and
/// answers it with `reply` (a whole HTTP response).
fn proxy(reply: &'static str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            log.lock().unwrap().push(line.trim().to_string());
            // The rest of the head, then the answer; the body (if any) is
            // not read, and the connection closes.
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_lets_aws_calls_reach_a_server_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let addr = tls_server(dir.path(), false, empty).await;
    let url = format!("https://127.0.0.1:{}", addr.port());
    let call = |cfg: AwsConfig| async move {
        let c = AwsClient::with_credentials(&cfg, creds()).unwrap();
        c.json_rpc(CLOUDWATCH, TARGET, "1.0", &json!({})).await
    };
    let ca = dir.path().join("ca.pem");
    let answer = call(aws(&url, Some(&ca), None)).await.unwrap();
    assert_eq!(answer, json!({"MetricDataResults": []}));
    // Without it, the system's CAs do not know the server.
    let refused = call(aws(&url, None, None)).await.unwrap_err();
    eprintln!("without the CA: {refused}");
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );
    // A file that holds no certificate is said when the client is built.
    let bad = dir.path().join("server.ext");
    let e = AwsClient::new(&aws(&url, Some(&bad), None)).err().unwrap();
    assert!(format!("{e:#}").contains("holds no certificate"), "{e:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_proxy_carries_every_call_even_to_an_endpoint_url() {
    let (addr, seen) = proxy(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    // Nothing listens at the endpoint: only the proxy can answer.
    let cfg = aws("http://127.0.0.1:9", None, Some(format!("http://{addr}")));
    let c = AwsClient::with_credentials(&cfg, creds()).unwrap();
    let answer = c.json_rpc(CLOUDWATCH, TARGET, "1.0", &json!({})).await;
    assert_eq!(answer.unwrap(), json!({}));
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("POST http://127.0.0.1:9/ HTTP/1.1")
    );
    assert!(
        AwsConfig {
            proxy: Some("proxy.corp:3128".into()),
            ..Default::default()
        }
        .validate()
        .is_err_and(|(key, _)| key == "aws.proxy")
    );
}

/// The lambda preset's config on `endpoint` (AWS itself without one),
/// written into `dir`.
fn config(dir: &Path, endpoint: Option<&str>) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    let text = crate::cloudwatch_source::config(endpoint, Some("lambda"), "");
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover check` with test keys, no proxy but what `env` sets.
fn check(dir: &Path, config: &Path, env: &[(&str, String)]) -> String {
    let mut cmd = crate::support::served::command(dir, config, &["check"]);
    cmd.envs(moto::env());
    for k in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "AWS_CA_BUNDLE",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn https_proxy_from_the_environment_carries_calls_to_aws() {
    let (addr, seen) = proxy("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let said = check(
        dir.path(),
        &cfg,
        &[("HTTPS_PROXY", format!("http://{addr}"))],
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT monitoring.us-east-1.amazonaws.com:443")),
        "{seen:?}\n{said}"
    );
}

#[test]
fn aws_ca_bundle_from_the_environment_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(tls_server(dir.path(), false, empty));
    let endpoint = format!("https://127.0.0.1:{}", addr.port());
    let cfg = config(dir.path(), Some(&endpoint));
    let bundle = [(
        "AWS_CA_BUNDLE",
        dir.path().join("ca.pem").display().to_string(),
    )];
    let trusted = check(dir.path(), &cfg, &bundle);
    assert!(trusted.contains("GetMetricData: "), "{trusted}");
    assert!(!trusted.contains("certificate"), "{trusted}");
    let unknown = check(dir.path(), &cfg, &[]);
    assert!(unknown.contains("certificate"), "{unknown}");
}
