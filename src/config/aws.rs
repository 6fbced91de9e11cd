//! `[aws]` and the AWS routers' tables (`[router.aws-lambda]`,
//! `[router.aws-sagemaker]`, `[router.aws-apigateway]`). The key names are
//! the interface issue 20 fixed.
//!
//! `[aws]` is shared by every AWS router and source. The factories receive
//! their own section only (`router::build(&config.router)`), so the loader
//! copies `[aws]` into the AWS variants ([`super::Config::share_aws`]); the
//! copy is never written back out, `[aws]` is.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validate::Invalid;

/// `[aws]`: region, profile, and an endpoint for emulators.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Unset: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's
    /// `region`, as the AWS CLI reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A profile of the shared config files; unset: `AWS_PROFILE`, else
    /// `default`. Named here, it is read before the environment's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Every AWS call goes here instead of AWS (moto, LocalStack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// PEM bundle of the CAs to trust for AWS calls instead of the
    /// system's (a TLS-inspecting proxy's); unset: `AWS_CA_BUNDLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The proxy every AWS call goes through; unset: `HTTPS_PROXY` and
    /// `NO_PROXY` for AWS's own endpoints, none for an `endpoint_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

impl AwsConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(region) = &self.region {
            let ok = !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err((
                    "aws.region".into(),
                    format!("`{region}` is not a region name (like `us-east-1`)"),
                ));
            }
        }
        for (key, url, like) in [
            ("endpoint_url", &self.endpoint_url, "http://127.0.0.1:5000"),
            ("proxy", &self.proxy, "http://proxy.corp:3128"),
        ] {
            if let Some(why) = url.as_deref().and_then(super::validate::not_http_url) {
                return Err((
                    format!("aws.{key}"),
                    format!("{why}: it must be an http:// or https:// URL (like `{like}`)"),
                ));
            }
        }
        if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(("aws.profile".into(), "must not be empty".into()));
        }
        Ok(())
    }
}

/// `[router.aws-lambda]`: an alias whose routing config sends a share of
/// its invocations to green's version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsLambdaConfig {
    pub function: String,
    pub alias: String,
    /// The alias's main version (all traffic before the cutover).
    pub blue_version: String,
    /// The version weighted in through `AdditionalVersionWeights`.
    pub green_version: String,
    /// `[aws]`, copied in on load.
    #[serde(skip)]
    pub aws: AwsConfig,
}

/// `[router.aws-sagemaker]`: the weights of two production variants of one
/// endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSageMakerConfig {
    pub endpoint: String,
    pub blue_variant: String,
    pub green_variant: String,
    /// After a rollback, set green's desired instance count to 0.
    #[serde(default)]
    pub scale_down_green_on_rollback: bool,
    /// How long a change may keep the endpoint `Updating` before the
    /// verification fails (the weights stay written).
    #[serde(default = "default_update_timeout", with = "super::duration")]
    pub update_timeout: Duration,
    /// How often `DescribeEndpoint` is asked while it is `Updating`.
    #[serde(default = "default_poll_interval", with = "super::duration")]
    pub poll_interval: Duration,
    #[serde(skip)]
    pub aws: AwsConfig,
}

fn default_update_timeout() -> Duration {
    Duration::from_secs(15 * 60)
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(5)
}

/// `[router.aws-apigateway]`: a REST API stage. Its variable switches all
/// traffic; its canary settings weight a share to green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsApiGatewayConfig {
    pub rest_api_id: String,
    pub stage: String,
    /// The stage variable the integration reads (e.g. a Lambda version).
    pub variable: String,
    pub blue_value: String,
    pub green_value: String,
    #[serde(skip)]
    pub aws: AwsConfig,
}

/// Checks a router table's names: each `(key, value)` must be non-empty,
/// and blue and green must differ.
fn names(section: &str, keys: &[(&str, &str)], pair: (&str, &str)) -> Result<(), Invalid> {
    for (key, value) in keys {
        if value.trim().is_empty() {
            return Err((format!("{section}.{key}"), "must not be empty".into()));
        }
    }
    let value = |k: &str| keys.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    if value(pair.0) == value(pair.1) {
        return Err((
            format!("{section}.{}", pair.1),
            format!(
                "is the same as `{}`: the cutover would move nothing",
                pair.0
            ),
        ));
    }
    Ok(())
}

impl AwsLambdaConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        names(
            "router.aws-lambda",
            &[
                ("function", &self.function),
                ("alias", &self.alias),
                ("blue_version", &self.blue_version),
                ("green_version", &self.green_version),
            ],
            ("blue_version", "green_version"),
        )
    }
}

impl AwsSageMakerConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        names(
            "router.aws-sagemaker",
            &[
                ("endpoint", &self.endpoint),
                ("blue_variant", &self.blue_variant),
                ("green_variant", &self.green_variant),
            ],
            ("blue_variant", "green_variant"),
        )?;
        if self.poll_interval.is_zero() || self.poll_interval > self.update_timeout {
            return Err((
                "router.aws-sagemaker.poll_interval".into(),
                "must be above zero and at most `update_timeout`".into(),
            ));
        }
        Ok(())
    }
}

impl AwsApiGatewayConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        names(
            "router.aws-apigateway",
            &[
                ("rest_api_id", &self.rest_api_id),
                ("stage", &self.stage),
                ("variable", &self.variable),
                ("blue_value", &self.blue_value),
                ("green_value", &self.green_value),
            ],
            ("blue_value", "green_value"),
        )?;
        // A stage variable name is alphanumeric or underscore (API
        // Gateway's rule); anything else would change the patch path.
        if !self
            .variable
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err((
                "router.aws-apigateway.variable".into(),
                "a stage variable name holds only letters, digits and `_`".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::from_toml;

    #[test]
    fn names_must_differ_and_not_be_empty() {
        let l: AwsLambdaConfig = from_toml(
            "function = \"f\"\nalias = \"live\"\nblue_version = \"1\"\ngreen_version = \"1\"\n",
        );
        assert_eq!(
            l.validate().unwrap_err().0,
            "router.aws-lambda.green_version"
        );
        let s: AwsSageMakerConfig =
            from_toml("endpoint = \"\"\nblue_variant = \"b\"\ngreen_variant = \"g\"\n");
        assert_eq!(s.validate().unwrap_err().0, "router.aws-sagemaker.endpoint");
        let g: AwsApiGatewayConfig = from_toml(
            "rest_api_id = \"a\"\nstage = \"prod\"\nvariable = \"a/b\"\nblue_value = \"1\"\n\
             green_value = \"2\"\n",
        );
        assert_eq!(
            g.validate().unwrap_err().0,
            "router.aws-apigateway.variable"
        );
        let ok: AwsSageMakerConfig =
            from_toml("endpoint = \"e\"\nblue_variant = \"b\"\ngreen_variant = \"g\"\n");
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.update_timeout, Duration::from_secs(900));
    }

    #[test]
    fn unknown_keys_in_aws_are_named_with_their_line() {
        let text = "[service]\nname = \"c\"\n[router]\nkind = \"demo\"\n[source]\nkind = \"demo\"\n\
                    [aws]\nregion = \"us-east-1\"\nendpoint = \"http://x\"\n";
        let e = crate::config::load_str(text, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("aws.endpoint"));
        assert_eq!(e.line, Some(9));
        let e = crate::config::load_str(&text.replace("endpoint =", "endpoint_url ="), "t");
        assert!(e.is_ok(), "{e:?}");
    }

    #[test]
    fn the_aws_table_checks_region_and_endpoint() {
        let bad: AwsConfig = from_toml("region = \"US East\"\n");
        assert_eq!(bad.validate().unwrap_err().0, "aws.region");
        let bad: AwsConfig = from_toml("endpoint_url = \"127.0.0.1:5000\"\n");
        assert_eq!(bad.validate().unwrap_err().0, "aws.endpoint_url");
        let ok: AwsConfig = from_toml(
            "region = \"eu-west-1\"\nprofile = \"ml-prod\"\nendpoint_url = \"http://127.0.0.1:5000\"\n",
        );
        assert_eq!(ok.validate(), Ok(()));
        assert!(toml::from_str::<AwsConfig>("regoin = \"x\"").is_err());
    }
}
