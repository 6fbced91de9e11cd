//! Cluster access as kubectl has it: the kubeconfig (KUBECONFIG, else
//! ~/.kube/config) with a chosen context, its namespace and its auth (tokens,
//! client certificates, exec plugins such as `aws eks get-token`), else the
//! in-cluster service account. This is `kube::Config::infer` plus the
//! `context` setting, which `infer` cannot take.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::config::KubernetesConfig;

/// A cluster call that takes longer than this is *unavailable*: the cockpit
/// must never hang on a dead API server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client and the namespace every object is read from.
pub struct Connection {
    pub client: kube::Client,
    pub namespace: String,
    /// For `check` and the journal: `context prod, namespace ml, https://...`.
    pub describe: String,
}

/// Connects as the settings say. `kubeconfig` overrides the search for the
/// file (tests; tools that name a file).
pub async fn connect(
    cfg: &KubernetesConfig,
    kubeconfig: Option<&Path>,
) -> anyhow::Result<Connection> {
    let options = KubeConfigOptions {
        context: cfg.context.clone(),
        ..Default::default()
    };
    let (mut config, source) = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            (from_file(file, &options).await?, path.display().to_string())
        }
        None => match Kubeconfig::read() {
            Ok(file) => (from_file(file, &options).await?, "kubeconfig".to_string()),
            // A named context can only come from a kubeconfig: falling back
            // to the in-cluster account would talk to another cluster.
            Err(e) if cfg.context.is_some() => {
                return Err(anyhow!(e)).context(format!(
                    "router.kubernetes.context = {:?} needs a kubeconfig (KUBECONFIG or ~/.kube/config)",
                    cfg.context.as_deref().unwrap_or_default()
                ));
            }
            Err(file_err) => {
                let c = Config::incluster().map_err(|in_err| {
                    anyhow!(
                        "no cluster access: no kubeconfig ({file_err}) and not in a cluster ({in_err})"
                    )
                })?;
                (c, "in-cluster service account".to_string())
            }
        },
    };
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    let namespace = cfg
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let describe = format!(
        "{} ({}), namespace {namespace}",
        config.cluster_url,
        match &cfg.context {
            Some(c) => format!("context {c} from {source}"),
            None => format!("current context from {source}"),
        }
    );
    let client = kube::Client::try_from(config).context("cannot build the Kubernetes client")?;
    Ok(Connection {
        client,
        namespace,
        describe,
    })
}

async fn from_file(file: Kubeconfig, options: &KubeConfigOptions) -> anyhow::Result<Config> {
    Config::from_custom_kubeconfig(file, options)
        .await
        .map_err(|e| match &options.context {
            Some(c) => anyhow!("kubeconfig context `{c}`: {e}"),
            None => anyhow!("kubeconfig current context: {e}"),
        })
}
