//! moto's server (`moto_server`), the AWS API emulator the AWS routers are
//! tested against: started on a free port of 127.0.0.1, waited for, killed
//! on drop. Its log has one line per request, which the tests count (the
//! API calls of an advance and of a rollback). Where moto is not faithful
//! (FACTS.md: Lambda's RevisionId, SageMaker's Updating state, API
//! Gateway's canary settings) the tests use `aws_fake` instead, and say so.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cutover::aws::{AwsClient, Credentials};
use cutover::config::AwsConfig;
use cutover::http::Secret;

pub const BINARY: &str = "moto_server";
pub const REGION: &str = "us-east-1";

/// True when `moto_server` is on the PATH.
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(BINARY).is_file()))
}

/// The keys moto accepts (any will do); tests look for them in logs.
pub const KEY_ID: &str = "AKIAMOTOTESTKEY12345";
pub const SECRET: &str = "moto-test-secret-key-never-shown";
pub const TOKEN: &str = "moto-test-session-token-never-shown";

pub fn credentials() -> Credentials {
    Credentials {
        access_key_id: Secret::new(KEY_ID),
        secret_access_key: Secret::new(SECRET),
        session_token: Some(Secret::new(TOKEN)),
        expires: None,
        from: "test".into(),
    }
}

/// The environment a `cutover` child process needs to reach moto with
/// the test keys, and no shared files of the machine's.
pub fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
        ("AWS_SESSION_TOKEN", TOKEN.into()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".into(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Moto {
    /// Starts `moto_server` on a free port and waits until it answers.
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).unwrap();
        let port = super::nginx::free_port();
        let child = Command::new("timeout")
            // Never outlives a stuck test by more than this.
            .args(["--kill-after=5", "900", BINARY, "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start moto_server");
        let mut m = Moto {
            child: Some(child),
            port,
            _dir: dir,
            log,
        };
        m.wait_ready();
        m
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `[aws]` pointing at this moto.
    pub fn aws_config(&self) -> AwsConfig {
        AwsConfig {
            region: Some(REGION.into()),
            endpoint_url: Some(self.url()),
            ..Default::default()
        }
    }

    /// A client signing with the test keys.
    pub fn client(&self) -> AwsClient {
        AwsClient::with_credentials(&self.aws_config(), credentials()).unwrap()
    }

    fn wait_ready(&mut self) {
        let path = self.log.clone();
        let log = move || std::fs::read_to_string(&path).unwrap_or_default();
        let child = self.child.as_mut().expect("started");
        super::child::wait_ready(
            child,
            self.port,
            "/moto-api/",
            Duration::from_secs(60),
            "moto_server",
            log,
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every API request moto logged, as `METHOD /path` (its own
    /// `/moto-api` calls left out).
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| {
                let quoted = l.split('"').nth(1)?;
                let mut parts = quoted.split(' ');
                let (method, path) = (parts.next()?, parts.next()?);
                (!path.starts_with("/moto-api")).then(|| format!("{method} {path}"))
            })
            .collect()
    }

    /// How many requests are logged so far: `since(mark)` gives the rest.
    pub fn mark(&self) -> usize {
        self.requests().len()
    }

    /// The requests logged after `mark`; the log is written as each
    /// request ends, so this waits a moment for the last line.
    pub fn since(&self, mark: usize) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(100));
        self.requests().split_off(mark)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            super::child::stop(child, Duration::from_secs(5));
        }
    }
}
