//! The one HTTP client builder over TLS: a private CA bundle and a client
//! certificate (mutual TLS) reach a server that demands both;
//! `insecure_skip_verify` works only when asked for and shows in the
//! source's kind (the header). The server is a loopback stand-in that
//! answers the query API; certificates come from the `openssl` tool.

use crate::support::skip::{Server, skip_without};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use cutover::config::{PromQueries, PrometheusConfig, SourceConfig};
use cutover::metrics::MetricSource;
use cutover::metrics::prometheus::PrometheusSource;
use cutover::model::{Metric, NoData, Reading};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("timeout")
        .arg("30")
        .arg("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
pub(crate) fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=cutover test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem, extf) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=cutover test"]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extf,
            ],
        );
    }
}

/// What a TLS stand-in answers a request with: status, content type, body.
pub(crate) type Answer = fn(&hyper::HeaderMap) -> (u16, &'static str, &'static str);

/// A loopback HTTPS server with the test CA's server certificate, that
/// answers every request with `answer`; with `client_cert`, it demands a
/// client certificate signed by the test CA.
pub(crate) async fn tls_server(dir: &Path, client_cert: bool, answer: Answer) -> SocketAddr {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<_> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let builder = ServerConfig::builder();
    let config = if client_cert {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    }
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| async move {
                        let (status, content_type, body) = answer(req.headers());
                        let mut r =
                            hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        r.headers_mut()
                            .insert("content-type", content_type.parse().unwrap());
                        Ok::<_, std::convert::Infallible>(r)
                    },
                );
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

/// Serves a one-sample vector for any query over TLS, demanding a client
/// certificate signed by the test CA.
async fn server(dir: &Path) -> SocketAddr {
    tls_server(dir, true, |_| {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}}"#;
        (200, "application/json", body)
    })
    .await
}

fn prom(addr: std::net::SocketAddr) -> PrometheusConfig {
    let mut p = PrometheusConfig::new(format!("https://{addr}/prometheus"));
    p.queries = PromQueries {
        p99_ms: Some("q".into()),
        error_rate: None,
        quality: None,
        rps: None,
        up: None,
        data_time: None,
    };
    p
}

/// A source of today's three over `p`.
fn source(p: &PrometheusConfig) -> anyhow::Result<PrometheusSource> {
    let specs = cutover_testkit::prometheus::legacy_specs(p);
    PrometheusSource::new(p, &source_cfg(), &specs)
}

fn source_cfg() -> SourceConfig {
    SourceConfig {
        timeout: Duration::from_secs(3),
        ..SourceConfig::default()
    }
}

#[tokio::test]
async fn ca_bundle_and_client_certificate() {
    if skip_without(Server::Openssl, "prometheus_tls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificates(d);
    let addr = server(d).await;

    // The private CA and the client certificate: a value.
    let mut p = prom(addr);
    p.ca_file = Some(d.join("ca.pem"));
    p.client_cert_file = Some(d.join("client.pem"));
    p.client_key_file = Some(d.join("client.key"));
    let mut src = source(&p).unwrap();
    assert_eq!(src.kind(), "prometheus");
    assert_eq!(src.info().tls_not_verified, None);
    let s = src.poll().await;
    assert_eq!(s.green.get(Metric::P99Ms), &Reading::Value(42.0));

    // No client certificate: the server refuses the handshake.
    let mut no_cert = prom(addr);
    no_cert.ca_file = Some(d.join("ca.pem"));
    let s = source(&no_cert).unwrap().poll().await;
    assert!(
        matches!(
            s.green.get(Metric::P99Ms),
            Reading::NoData(NoData::Unreachable(_))
        ),
        "{:?}",
        s.green
    );

    // The system's roots do not know the test CA: refused...
    let mut unknown_ca = prom(addr);
    unknown_ca.client_cert_file = Some(d.join("client.pem"));
    unknown_ca.client_key_file = Some(d.join("client.key"));
    let s = source(&unknown_ca).unwrap().poll().await;
    assert!(
        matches!(
            s.green.get(Metric::P99Ms),
            Reading::NoData(NoData::Unreachable(_))
        ),
        "{:?}",
        s.green
    );
    // ...unless verification is switched off by name, which the header shows.
    unknown_ca.insecure_skip_verify = true;
    let mut insecure = source(&unknown_ca).unwrap();
    assert_eq!(
        insecure.info().tls_not_verified,
        Some("insecure_skip_verify")
    );
    let s = insecure.poll().await;
    assert_eq!(s.green.get(Metric::P99Ms), &Reading::Value(42.0));

    // A CA file that is not PEM is refused at start, naming the key.
    std::fs::write(d.join("bad.pem"), "not a certificate").unwrap();
    let mut bad = prom(addr);
    bad.ca_file = Some(d.join("bad.pem"));
    let err = source(&bad).err().unwrap();
    assert!(format!("{err:#}").contains("ca_file"), "{err:#}");
}
