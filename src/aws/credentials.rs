//! The credential chain, in the AWS CLI's order: a profile named in `[aws]`
//! first (named there, it is meant), else the environment's keys, the
//! profile of `AWS_PROFILE` (or `default`) in the shared files, a web
//! identity token (EKS), the container's credentials (ECS), the instance
//! role (IMDSv2). A profile may hold keys, a `credential_process`, a role
//! to assume through STS from a `source_profile` or `credential_source`,
//! or an IAM Identity Center (SSO) session whose token `aws sso login`
//! cached. Temporary credentials are kept until five minutes before they
//! expire. Every secret is a [`Secret`]: nothing prints it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use super::env;
use super::error::AwsError;
use super::profile::{Files, Plan, WebIdentity};
use super::sources::{self, Sts};
use crate::http::Secret;

/// Signing credentials and where they came from.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub expires: Option<SystemTime>,
    /// `environment`, `profile ml-prod (assumed role)`, `instance role`.
    pub from: String,
}

/// Fetched again this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

pub struct Chain {
    /// Credentials given by the caller, used instead of any source.
    fixed: Option<Credentials>,
    /// `[aws] profile`.
    explicit: Option<String>,
    files: Files,
    /// The files' paths, for messages.
    paths: String,
    /// For AWS's endpoints (STS, IAM Identity Center): proxied as `[aws]`
    /// says.
    http: reqwest::Client,
    /// For the instance and container endpoints: never proxied.
    local: reqwest::Client,
    sts: Sts,
    cache: Mutex<Option<Credentials>>,
}

/// `~/.aws`, where the shared files and the SSO cache live.
pub(super) fn aws_dir() -> PathBuf {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().join(".aws"))
        .unwrap_or_else(|| PathBuf::from(".aws"))
}

/// The shared files' paths: `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
/// `~/.aws/credentials`.
fn file_paths() -> (PathBuf, PathBuf) {
    let home = aws_dir();
    (
        env("AWS_CONFIG_FILE").map_or_else(|| home.join("config"), PathBuf::from),
        env("AWS_SHARED_CREDENTIALS_FILE").map_or_else(|| home.join("credentials"), PathBuf::from),
    )
}

/// The shared files as they are now (missing files read as empty).
pub fn read_files() -> (Files, String) {
    let (config, creds) = file_paths();
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let paths = format!("{} or {}", config.display(), creds.display());
    (Files::parse(&read(&config), &read(&creds)), paths)
}

/// The profile the chain reads: `[aws] profile`, `AWS_PROFILE`, `default`.
pub fn profile_name(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

pub fn env_keys() -> Option<Credentials> {
    Some(Credentials {
        access_key_id: Secret::new(env("AWS_ACCESS_KEY_ID")?),
        secret_access_key: Secret::new(env("AWS_SECRET_ACCESS_KEY")?),
        session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
        expires: None,
        from: "environment".into(),
    })
}

impl Chain {
    /// Over the shared files as [`read_files`] gave them.
    pub fn new(
        explicit: Option<String>,
        (files, paths): (Files, String),
        http: reqwest::Client,
        local: reqwest::Client,
        sts: Sts,
    ) -> Chain {
        Chain {
            fixed: None,
            explicit,
            files,
            paths,
            http,
            local,
            sts,
            cache: Mutex::new(None),
        }
    }

    /// Signs with `creds` alone (tools, tests against an emulator).
    pub fn fixed(mut self, creds: Credentials) -> Chain {
        self.fixed = Some(creds);
        self
    }

    /// Credentials to sign with: the cached ones while fresh.
    pub async fn get(&self) -> Result<Credentials, AwsError> {
        if let Some(c) = &self.fixed {
            return Ok(c.clone());
        }
        let mut cache = self.cache.lock().await;
        let fresh = |c: &Credentials| {
            c.expires
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Some(c) = cache.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self.fetch().await?;
        tracing::debug!("AWS credentials from {}", c.from);
        *cache = Some(c.clone());
        Ok(c)
    }

    /// Forgets the cached credentials (after the service refused them).
    pub async fn forget(&self) {
        *self.cache.lock().await = None;
    }

    async fn fetch(&self) -> Result<Credentials, AwsError> {
        if let Some(p) = &self.explicit {
            return self.profile(p).await;
        }
        let mut tried = vec!["environment (AWS_ACCESS_KEY_ID unset)".to_string()];
        if let Some(c) = env_keys() {
            return Ok(c);
        }
        let name = profile_name(None);
        if self.files.has(&name) {
            return self.profile(&name).await;
        }
        if env("AWS_PROFILE").is_some() {
            return Err(sources::fail(format!(
                "AWS_PROFILE names `{name}`, which is not in {}",
                self.paths
            )));
        }
        tried.push(format!("profile `{name}` (not in {})", self.paths));
        if let (Some(role_arn), Some(token_file)) =
            (env("AWS_ROLE_ARN"), env("AWS_WEB_IDENTITY_TOKEN_FILE"))
        {
            let session_name = env("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "cutover".into());
            let plan = Plan::WebIdentity(WebIdentity {
                role_arn,
                token_file,
                session_name,
            });
            return self.run(&plan, "web identity").await;
        }
        tried.push("web identity (AWS_WEB_IDENTITY_TOKEN_FILE unset)".into());
        if sources::container_configured() {
            return sources::container(&self.local).await;
        }
        tried.push("container (AWS_CONTAINER_CREDENTIALS_*_URI unset)".into());
        match sources::imds(&self.local).await {
            Ok(c) => Ok(c),
            Err(e) => {
                tried.push(format!("instance metadata ({})", e.message));
                Err(sources::fail(format!(
                    "no AWS credentials found; tried {}",
                    tried.join(", ")
                )))
            }
        }
    }

    async fn profile(&self, name: &str) -> Result<Credentials, AwsError> {
        let plan = self
            .files
            .plan(name)
            .map_err(|e| sources::fail(format!("{e} ({})", self.paths)))?;
        let mut c = self.run(&plan, &format!("profile {name}")).await?;
        c.from = format!("profile {name} ({})", c.from);
        Ok(c)
    }

    /// Carries out a profile's plan; `what` names it in errors.
    async fn run(&self, plan: &Plan, what: &str) -> Result<Credentials, AwsError> {
        let context = |e: AwsError| AwsError {
            message: format!("{what}: {}", e.message),
            ..e
        };
        match plan {
            Plan::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => Ok(Credentials {
                access_key_id: Secret::new(access_key_id),
                secret_access_key: Secret::new(secret_access_key),
                session_token: session_token.as_ref().map(Secret::new),
                expires: None,
                from: "keys".into(),
            }),
            Plan::Process(cmd) => sources::process(cmd).await.map_err(context),
            Plan::AssumeRole(role) => {
                let base = Box::pin(self.run(&role.source, what)).await?;
                sources::assume_role(&self.http, &self.sts, &base, role)
                    .await
                    .map_err(context)
            }
            Plan::WebIdentity(role) => sources::web_identity(&self.http, &self.sts, role)
                .await
                .map_err(context),
            Plan::Sso(role) => super::sso::credentials(&self.http, role)
                .await
                .map_err(context),
            Plan::Named(source) => match source.as_str() {
                "Environment" => env_keys().ok_or_else(|| {
                    sources::fail(format!(
                        "{what}: credential_source = Environment, but AWS_ACCESS_KEY_ID is unset"
                    ))
                }),
                "Ec2InstanceMetadata" => sources::imds(&self.local).await.map_err(context),
                "EcsContainer" => sources::container(&self.local).await.map_err(context),
                other => Err(sources::fail(format!(
                    "{what}: credential_source `{other}` is not one of Environment, \
                     Ec2InstanceMetadata, EcsContainer"
                ))),
            },
        }
    }
}
