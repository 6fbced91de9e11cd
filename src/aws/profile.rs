//! The shared config files (`~/.aws/config`, `~/.aws/credentials`), read
//! as the AWS CLI reads them, and what a profile says to do to get
//! credentials. Pure: the files' text in, a [`Plan`] out.

use std::collections::BTreeMap;

type Section = BTreeMap<String, String>;

/// Both files, parsed: sections by their name as the CLI names them
/// (`[profile ml-prod]` in config and `[ml-prod]` in credentials are both
/// `ml-prod`; `[sso-session corp]` is kept as `sso-session corp`).
#[derive(Debug, Default, Clone)]
pub struct Files {
    config: BTreeMap<String, Section>,
    credentials: BTreeMap<String, Section>,
}

/// How a profile gets its credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// `credential_process`: a command printing JSON credentials.
    Process(String),
    /// `role_arn` with `source_profile` or `credential_source`: STS
    /// `AssumeRole` signed with the source's credentials.
    AssumeRole(AssumeRole),
    /// `role_arn` with `web_identity_token_file`.
    WebIdentity(WebIdentity),
    /// IAM Identity Center: a token cached by `aws sso login`, exchanged
    /// for the role's credentials.
    Sso(SsoRole),
    /// `credential_source`: `Environment`, `Ec2InstanceMetadata`,
    /// `EcsContainer`.
    Named(String),
}

/// A role assumed with the credentials of `source`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration_seconds: Option<u32>,
    pub source: Box<Plan>,
}

/// A role assumed with a token from a file (EKS's projected token).
#[derive(Debug, Clone, PartialEq)]
pub struct WebIdentity {
    pub role_arn: String,
    pub token_file: String,
    pub session_name: String,
}

/// An IAM Identity Center role, reached through `aws sso login`'s cache.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoRole {
    /// The cache file's key: the session name, or the start URL of a
    /// legacy profile.
    pub cache_key: String,
    pub region: String,
    pub account_id: String,
    pub role_name: String,
}

/// How deep `source_profile` may chain before it is called a loop.
const MAX_CHAIN: usize = 8;

/// Parses one INI file: `[section]` headers, `key = value` lines, `#` and
/// `;` comments; indented lines continue a sub-section and are skipped.
fn parse(text: &str, is_config: bool) -> BTreeMap<String, Section> {
    let mut out: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            let h = h.trim();
            let name = match h.strip_prefix("profile ") {
                Some(p) if is_config => p.trim().to_string(),
                _ => h.to_string(),
            };
            out.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            let v = v.trim();
            let v = v
                .split(" #")
                .next()
                .unwrap_or(v)
                .split(" ;")
                .next()
                .unwrap_or(v);
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

impl Files {
    pub fn parse(config: &str, credentials: &str) -> Files {
        Files {
            config: parse(config, true),
            credentials: parse(credentials, false),
        }
    }

    pub fn has(&self, profile: &str) -> bool {
        self.config.contains_key(profile) || self.credentials.contains_key(profile)
    }

    /// A profile's keys: the credentials file's over the config file's.
    fn profile(&self, name: &str) -> Option<Section> {
        if !self.has(name) {
            return None;
        }
        let mut keys = self.config.get(name).cloned().unwrap_or_default();
        keys.extend(self.credentials.get(name).cloned().unwrap_or_default());
        Some(keys)
    }

    /// The profile's `region`.
    pub fn region(&self, profile: &str) -> Option<String> {
        self.profile(profile)?.get("region").cloned()
    }

    /// What `profile` says to do, following `source_profile`.
    pub fn plan(&self, profile: &str) -> Result<Plan, String> {
        self.plan_at(profile, 0)
    }

    fn plan_at(&self, name: &str, depth: usize) -> Result<Plan, String> {
        if depth > MAX_CHAIN {
            return Err(format!(
                "profile `{name}`: source_profile chains more than {MAX_CHAIN} deep (a loop?)"
            ));
        }
        let p = self
            .profile(name)
            .ok_or_else(|| format!("profile `{name}` is not in the AWS config files"))?;
        let get = |k: &str| p.get(k).cloned();
        if let Some(role_arn) = get("role_arn") {
            let session_name = get("role_session_name").unwrap_or_else(|| "cutover".into());
            if let Some(token_file) = get("web_identity_token_file") {
                return Ok(Plan::WebIdentity(WebIdentity {
                    role_arn,
                    token_file,
                    session_name,
                }));
            }
            let source = match (get("source_profile"), get("credential_source")) {
                // A profile that names itself uses its own static keys.
                (Some(s), _) if s == name => static_keys(name, &p)?,
                (Some(s), _) => self.plan_at(&s, depth + 1)?,
                (None, Some(c)) => Plan::Named(c),
                (None, None) => {
                    return Err(format!(
                        "profile `{name}`: role_arn needs source_profile or credential_source"
                    ));
                }
            };
            return Ok(Plan::AssumeRole(AssumeRole {
                role_arn,
                session_name,
                external_id: get("external_id"),
                duration_seconds: get("duration_seconds").and_then(|d| d.parse().ok()),
                source: Box::new(source),
            }));
        }
        if get("sso_session").is_some() || get("sso_start_url").is_some() {
            return self.sso(name, &p);
        }
        if let Some(cmd) = get("credential_process") {
            return Ok(Plan::Process(cmd));
        }
        static_keys(name, &p)
    }

    fn sso(&self, name: &str, p: &Section) -> Result<Plan, String> {
        let need = |s: &Section, k: &str, what: &str| {
            s.get(k)
                .cloned()
                .ok_or_else(|| format!("{what} has no `{k}`"))
        };
        let what = format!("profile `{name}`");
        let (cache_key, region) = match p.get("sso_session") {
            Some(session) => {
                let s = self
                    .config
                    .get(&format!("sso-session {session}"))
                    .ok_or_else(|| format!("{what}: [sso-session {session}] is missing"))?;
                let region = need(s, "sso_region", &format!("[sso-session {session}]"))?;
                (session.clone(), region)
            }
            None => (
                need(p, "sso_start_url", &what)?,
                need(p, "sso_region", &what)?,
            ),
        };
        Ok(Plan::Sso(SsoRole {
            cache_key,
            region,
            account_id: need(p, "sso_account_id", &what)?,
            role_name: need(p, "sso_role_name", &what)?,
        }))
    }
}

fn static_keys(name: &str, p: &Section) -> Result<Plan, String> {
    match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Plan::Static {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            session_token: p.get("aws_session_token").cloned(),
        }),
        _ => Err(format!(
            "profile `{name}` has no credentials (keys, role_arn, credential_process or sso)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[default]
region = eu-west-1

[profile ml-prod]
role_arn = arn:aws:iam::123456789012:role/cutover
source_profile = base
region = us-east-1 # a comment
s3 =
  max_concurrent_requests = 4

[profile base]
credential_process = /usr/bin/get-creds --json

[profile corp]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Deployer

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-central-1

[profile loop]
role_arn = arn:aws:iam::1:role/x
source_profile = loop2
[profile loop2]
role_arn = arn:aws:iam::1:role/y
source_profile = loop
";
    const CREDS: &str = "[default]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n";

    #[test]
    fn profiles_resolve_as_the_cli_resolves_them() {
        let f = Files::parse(CONFIG, CREDS);
        assert_eq!(f.region("default").as_deref(), Some("eu-west-1"));
        assert_eq!(f.region("ml-prod").as_deref(), Some("us-east-1"));
        assert!(matches!(
            f.plan("default").unwrap(),
            Plan::Static { ref access_key_id, .. } if access_key_id == "AKID"
        ));
        let Plan::AssumeRole(AssumeRole {
            role_arn, source, ..
        }) = f.plan("ml-prod").unwrap()
        else {
            panic!("assume role expected")
        };
        assert!(role_arn.ends_with("role/cutover"));
        assert_eq!(*source, Plan::Process("/usr/bin/get-creds --json".into()));
        assert_eq!(
            f.plan("corp").unwrap(),
            Plan::Sso(SsoRole {
                cache_key: "corp".into(),
                region: "eu-central-1".into(),
                account_id: "123456789012".into(),
                role_name: "Deployer".into(),
            })
        );
        assert!(f.plan("loop").unwrap_err().contains("loop"));
        assert!(
            f.plan("nope")
                .unwrap_err()
                .contains("not in the AWS config")
        );
    }
}
