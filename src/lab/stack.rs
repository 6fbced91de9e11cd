//! The stack's processes and files: binaries checked first, a private
//! temporary prefix, free loopback ports, the rendered configs, nginx and
//! Prometheus as children, the serving fleet and the load generator.
//! Fields drop in order: traffic stops first, the prefix goes last.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::child::ChildGuard;
use super::template;
use crate::config::{Config, NginxConfig, RouterConfig};
use crate::demo::loadgen::{Loadgen, LoadgenConfig};
use crate::demo::serve::ServingFleet;
use crate::demo::{DemoPreset, Scenario};
use crate::model::{Color, Split};

/// The upstream the include defines and nginx proxies to.
pub const UPSTREAM: &str = "stack_model";
/// Pods per colour.
pub const PODS: usize = 2;
/// Prometheus' scrape interval.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
/// The cockpit's poll interval and rate window.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
pub const WINDOW: Duration = Duration::from_secs(5);
/// Requests one verification sends through nginx, one after another.
pub const PROBE_REQUESTS: u32 = 20;
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The two programs the stack runs, found before anything starts.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub nginx: PathBuf,
    pub prometheus: PathBuf,
}

fn find(name: &str, usual: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    usual
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file())
}

/// Finds nginx (Debian puts it in /usr/sbin, often not on a user's PATH)
/// and prometheus, naming the Debian package of any that is missing.
pub fn find_binaries() -> anyhow::Result<Binaries> {
    let nginx = find("nginx", &["/usr/sbin/nginx"]);
    let prometheus = find("prometheus", &["/usr/bin/prometheus"]);
    let mut missing = Vec::new();
    if nginx.is_none() {
        missing.push("nginx (Debian package `nginx`: sudo apt-get install nginx)");
    }
    if prometheus.is_none() {
        missing.push("prometheus (Debian package `prometheus`: sudo apt-get install prometheus)");
    }
    match (nginx, prometheus) {
        (Some(nginx), Some(prometheus)) => Ok(Binaries { nginx, prometheus }),
        _ => anyhow::bail!(
            "demo --stack needs {}; `cutover demo` runs without any server",
            missing.join(" and ")
        ),
    }
}

/// A private directory, removed with everything in it on drop.
pub struct Prefix(PathBuf);

impl Prefix {
    fn create() -> anyhow::Result<Prefix> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("cutover-stack-{}-{nanos:x}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let prefix = Prefix(dir);
        for sub in ["tmp", "cutover", "prometheus"] {
            std::fs::create_dir(prefix.0.join(sub))?;
        }
        Ok(prefix)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!("cannot remove {}: {e}", self.0.display());
        }
    }
}

/// A free port on 127.0.0.1 (bound, then released for the child to take).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Where everything of one stack listens and lives.
#[derive(Debug, Clone)]
pub struct StackPorts {
    pub prefix: PathBuf,
    pub front: u16,
    pub prometheus: u16,
    pub blue: Vec<SocketAddr>,
    pub green: Vec<SocketAddr>,
}

impl StackPorts {
    pub fn include(&self) -> PathBuf {
        self.prefix.join("cutover").join(format!("{UPSTREAM}.conf"))
    }

    pub fn nginx_conf(&self) -> PathBuf {
        self.prefix.join("nginx.conf")
    }

    pub fn front_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/completions", self.front)
    }

    /// The flags that make `nginx` address this stack's instance.
    pub fn nginx_flags(&self, bin: &Path) -> Vec<String> {
        vec![
            bin.display().to_string(),
            "-p".into(),
            self.prefix.display().to_string(),
            "-c".into(),
            self.nginx_conf().display().to_string(),
        ]
    }
}

fn quoted<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the cockpit's config says, besides the ports.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    /// The model server the pods play (`None`: the HTTP names).
    pub preset: Option<DemoPreset>,
    pub dwell: Duration,
    /// Where the journal goes; by default inside the prefix (and gone with it).
    pub journal: Option<PathBuf>,
    /// Green's error rate (and, with the HTTP names, its p99 latency)
    /// judged with evidence as well as thresholds (without: thresholds
    /// only, as before evidence, for comparison).
    pub evidence: bool,
}

/// The cockpit's config for this stack, as TOML text (written to the
/// prefix as `cutover.toml`). The one place that decides which source and
/// router the stack's cockpit uses.
pub fn stack_config(ports: &StackPorts, bins: &Binaries, plan: &Plan) -> anyhow::Result<String> {
    let journal = plan
        .journal
        .clone()
        .unwrap_or_else(|| ports.prefix.join("journal.jsonl"));
    let span = |d: Duration| humantime::format_duration(d).to_string();
    let (preset, queries) = super::source::lines(plan.preset);
    template::render(
        "cutover.toml.tmpl",
        template::CUTOVER_TOML,
        &[
            ("scenario", plan.scenario.name().to_string()),
            ("scrape_interval", span(SCRAPE_INTERVAL)),
            ("prometheus_port", ports.prometheus.to_string()),
            ("poll_interval", span(POLL_INTERVAL)),
            ("poll_timeout", "500ms".into()),
            ("window", span(WINDOW)),
            ("preset", preset),
            ("queries", queries),
            (
                "window_scrapes",
                (WINDOW.as_millis() / SCRAPE_INTERVAL.as_millis()).to_string(),
            ),
            ("include", ports.include().display().to_string()),
            ("upstream", UPSTREAM.into()),
            ("blue_servers", quoted(&ports.blue)),
            ("green_servers", quoted(&ports.green)),
            ("nginx", bins.nginx.display().to_string()),
            ("prefix", ports.prefix.display().to_string()),
            ("nginx_conf", ports.nginx_conf().display().to_string()),
            ("front_port", ports.front.to_string()),
            ("probe_requests", PROBE_REQUESTS.to_string()),
            ("dwell", span(plan.dwell)),
            ("bake", span(plan.dwell * 3)),
            ("judged", super::source::judged(plan.preset, plan.evidence)),
            ("journal", journal.display().to_string()),
        ],
    )
}

fn nginx_section(config: &Config) -> anyhow::Result<&NginxConfig> {
    match &config.router {
        RouterConfig::Nginx(n) => Ok(n),
        other => anyhow::bail!("cutover.toml.tmpl: [router] kind must be \"nginx\", not {other:?}"),
    }
}

/// The include before the first change: every request to blue.
fn initial_include(config: &Config) -> anyhow::Result<String> {
    Ok(crate::router::nginx::include::render(
        nginx_section(config)?,
        Split::ZERO,
    ))
}

fn nginx_conf(ports: &StackPorts) -> anyhow::Result<String> {
    // Started by root, workers would run as `nobody` and could not read the
    // 0700 prefix.
    let root = rustix::process::geteuid().is_root();
    template::render(
        "nginx.conf.tmpl",
        template::NGINX_CONF,
        &[
            (
                "user",
                if root {
                    "user root;".into()
                } else {
                    String::new()
                },
            ),
            ("prefix", ports.prefix.display().to_string()),
            ("include", ports.include().display().to_string()),
            ("upstream", UPSTREAM.into()),
            ("front_port", ports.front.to_string()),
        ],
    )
}

fn prometheus_yml(ports: &StackPorts) -> anyhow::Result<String> {
    template::render(
        "prometheus.yml.tmpl",
        template::PROMETHEUS_YML,
        &[
            (
                "scrape_interval",
                humantime::format_duration(SCRAPE_INTERVAL).to_string(),
            ),
            ("scrape_timeout", "900ms".into()),
            ("blue_targets", quoted(&ports.blue)),
            ("green_targets", quoted(&ports.green)),
        ],
    )
}

/// Everything one stack runs. Declared in drop order.
pub struct Lab {
    pub loadgen: Loadgen,
    nginx: ChildGuard,
    prometheus: ChildGuard,
    pub fleet: ServingFleet,
    pub ports: StackPorts,
    pub bins: Binaries,
    /// The cockpit's config, as loaded from `config_path`.
    pub config: Config,
    pub config_path: PathBuf,
    pub prefix: Prefix,
}

impl Lab {
    /// Starts the fleet, nginx, Prometheus and the load generator, and
    /// writes the cockpit's config. On error, whatever started is stopped.
    pub async fn start(plan: &Plan, rps: u32, bins: Binaries) -> anyhow::Result<Lab> {
        let prefix = Prefix::create()?;
        let fleet = ServingFleet::start(plan.scenario, PODS).await?;
        fleet.serve_page(crate::metrics::demo_page::for_preset(
            plan.preset.map(|p| p.name()),
        ));
        let ports = StackPorts {
            prefix: prefix.path().to_path_buf(),
            front: free_port()?,
            prometheus: free_port()?,
            blue: fleet.addrs(Color::Blue).to_vec(),
            green: fleet.addrs(Color::Green).to_vec(),
        };
        let p = prefix.path();
        let config_path = p.join("cutover.toml");
        std::fs::write(&config_path, stack_config(&ports, &bins, plan)?)?;
        let config = crate::config::load(&config_path)?;
        // All traffic to blue until the cockpit moves it, written as the
        // cockpit's nginx router writes it.
        std::fs::write(ports.include(), initial_include(&config)?)?;
        std::fs::write(ports.nginx_conf(), nginx_conf(&ports)?)?;
        std::fs::write(p.join("prometheus.yml"), prometheus_yml(&ports)?)?;

        let flags = ports.nginx_flags(&bins.nginx);
        let mut nginx = ChildGuard::spawn("nginx", &bins.nginx, &flags[1..], &p.join("nginx.out"))?;
        let mut prometheus = ChildGuard::spawn(
            "prometheus",
            &bins.prometheus,
            &[
                format!("--config.file={}", p.join("prometheus.yml").display()),
                format!("--web.listen-address=127.0.0.1:{}", ports.prometheus),
                format!("--storage.tsdb.path={}", p.join("prometheus").display()),
            ],
            &p.join("prometheus.log"),
        )?;
        let front = ports.front_url();
        let ready = format!("http://127.0.0.1:{}/-/ready", ports.prometheus);
        wait_until("nginx", &mut nginx, &p.join("nginx-error.log"), || {
            let front = front.clone();
            async move { get(&front).await.is_some() }
        })
        .await?;
        wait_until(
            "prometheus",
            &mut prometheus,
            &p.join("prometheus.log"),
            || {
                let ready = ready.clone();
                async move { get(&ready).await == Some(200) }
            },
        )
        .await?;
        let loadgen = Loadgen::start(LoadgenConfig {
            rps,
            ..LoadgenConfig::new(front)
        })?;
        Ok(Lab {
            loadgen,
            nginx,
            prometheus,
            fleet,
            ports,
            bins,
            config,
            config_path,
            prefix,
        })
    }

    /// The `[router.nginx]` section the cockpit runs on.
    pub fn nginx(&self) -> anyhow::Result<&NginxConfig> {
        nginx_section(&self.config)
    }

    /// The pids of the children, for the record.
    pub fn pids(&self) -> (Option<u32>, Option<u32>) {
        (self.nginx.pid(), self.prometheus.pid())
    }
}

/// The status of `GET url`, `None` when nothing answered.
async fn get(url: &str) -> Option<u16> {
    let http = crate::http::HttpClient::build(&crate::http::HttpOptions {
        timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .ok()?;
    http.client()
        .get(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn wait_until<F, Fut>(
    name: &str,
    child: &mut ChildGuard,
    log: &Path,
    mut ready: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let tail = || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join("\n")
        };
        child
            .check_running()
            .with_context(|| format!("{}:\n{}", log.display(), tail()))?;
        if ready().await {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{name} did not answer within {}s; {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
