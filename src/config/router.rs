//! `[router]`: what moves traffic. `kind` picks the variant; its settings
//! live in `[router.<kind>]`.
//!
//! To add a router: a variant of [`RouterConfig`] holding its config struct
//! (in its own file, `src/config/<name>.rs`), a line in [`ROUTER`], and an
//! `Option` field of the same name in [`RawRouter`]. The compiler then
//! points at every match that needs an arm (the conversions below and
//! `router::build`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Scenario;

use super::tagged::{Section, TableRule};

/// The router kinds of this version and whether each needs its table.
pub const ROUTER: Section = Section {
    name: "router",
    kinds: &[
        ("demo", TableRule::Optional),
        ("nginx", TableRule::Required),
        ("kubernetes", TableRule::Required),
        ("aws-lambda", TableRule::Required),
        ("aws-sagemaker", TableRule::Required),
        ("aws-apigateway", TableRule::Required),
    ],
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRouter", into = "RawRouter")]
pub enum RouterConfig {
    /// `kind = "demo"`: the in-process router of the embedded simulated
    /// fleet; `[router.demo]` is optional.
    Demo(DemoConfig),
    /// `kind = "nginx"`: an include file of a real nginx, `[router.nginx]`.
    Nginx(super::NginxConfig),
    /// `kind = "kubernetes"`: a Service selector, an ingress-nginx canary
    /// or a Gateway API HTTPRoute, `[router.kubernetes]`.
    Kubernetes(super::KubernetesConfig),
    /// `kind = "aws-lambda"`: a Lambda alias's routing config.
    AwsLambda(super::AwsLambdaConfig),
    /// `kind = "aws-sagemaker"`: an endpoint's production variant weights.
    AwsSageMaker(super::AwsSageMakerConfig),
    /// `kind = "aws-apigateway"`: a REST API stage's variable and canary.
    AwsApiGateway(super::AwsApiGatewayConfig),
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig::Demo(DemoConfig::default())
    }
}

impl RouterConfig {
    /// The `kind` as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            RouterConfig::Demo(_) => "demo",
            RouterConfig::Nginx(_) => "nginx",
            RouterConfig::Kubernetes(_) => "kubernetes",
            RouterConfig::AwsLambda(_) => "aws-lambda",
            RouterConfig::AwsSageMaker(_) => "aws-sagemaker",
            RouterConfig::AwsApiGateway(_) => "aws-apigateway",
        }
    }

    /// True when the traffic this router moves exists only inside the
    /// process that built it. A headless `set` would move a private copy
    /// and report a change that no one else sees, so those commands refuse.
    pub fn lives_in_process(&self) -> bool {
        match self {
            RouterConfig::Demo(_) => true,
            RouterConfig::Nginx(_)
            | RouterConfig::Kubernetes(_)
            | RouterConfig::AwsLambda(_)
            | RouterConfig::AwsSageMaker(_)
            | RouterConfig::AwsApiGateway(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// `healthy`, `degrading` or `slow-quality`.
    pub scenario: Scenario,
    /// Simulated time a traffic change takes to apply, like a reload.
    #[serde(with = "super::duration")]
    pub apply_delay: Duration,
    /// Simulated requests per second across both colours.
    pub rps: u32,
    /// First port of the fleet's `/metrics` servers on 127.0.0.1 (blue's
    /// pods, then green's), so a Prometheus can scrape them; unset: any
    /// free ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<u16>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            scenario: Scenario::Healthy,
            apply_delay: Duration::from_millis(150),
            rps: 1000,
            metrics_port: None,
        }
    }
}

/// `[router]` as written: the kind and every variant's optional table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    demo: Option<DemoConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nginx: Option<super::NginxConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kubernetes: Option<super::KubernetesConfig>,
    #[serde(
        rename = "aws-lambda",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    aws_lambda: Option<super::AwsLambdaConfig>,
    #[serde(
        rename = "aws-sagemaker",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    aws_sagemaker: Option<super::AwsSageMakerConfig>,
    #[serde(
        rename = "aws-apigateway",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    aws_apigateway: Option<super::AwsApiGatewayConfig>,
}

impl TryFrom<RawRouter> for RouterConfig {
    type Error = String;

    fn try_from(raw: RawRouter) -> Result<Self, String> {
        let RawRouter {
            kind,
            demo,
            nginx,
            kubernetes,
            aws_lambda,
            aws_sagemaker,
            aws_apigateway,
        } = raw;
        ROUTER.check_written(
            &kind,
            &[
                ("demo", demo.is_some()),
                ("nginx", nginx.is_some()),
                ("kubernetes", kubernetes.is_some()),
                ("aws-lambda", aws_lambda.is_some()),
                ("aws-sagemaker", aws_sagemaker.is_some()),
                ("aws-apigateway", aws_apigateway.is_some()),
            ],
        )?;
        let needs = |k: &str| format!("`kind = \"{k}\"` needs a [router.{k}] table");
        match kind.as_str() {
            "demo" => Ok(RouterConfig::Demo(demo.unwrap_or_default())),
            "nginx" => nginx
                .map(RouterConfig::Nginx)
                .ok_or_else(|| "`kind = \"nginx\"` needs a [router.nginx] table".to_string()),
            "kubernetes" => kubernetes.map(RouterConfig::Kubernetes).ok_or_else(|| {
                "`kind = \"kubernetes\"` needs a [router.kubernetes] table with `mode`".to_string()
            }),
            "aws-lambda" => aws_lambda
                .map(RouterConfig::AwsLambda)
                .ok_or_else(|| needs("aws-lambda")),
            "aws-sagemaker" => aws_sagemaker
                .map(RouterConfig::AwsSageMaker)
                .ok_or_else(|| needs("aws-sagemaker")),
            "aws-apigateway" => aws_apigateway
                .map(RouterConfig::AwsApiGateway)
                .ok_or_else(|| needs("aws-apigateway")),
            other => Err(format!("`{other}` is not a router kind")),
        }
    }
}

impl From<RouterConfig> for RawRouter {
    fn from(c: RouterConfig) -> Self {
        let mut raw = RawRouter {
            kind: c.kind().to_string(),
            demo: None,
            nginx: None,
            kubernetes: None,
            aws_lambda: None,
            aws_sagemaker: None,
            aws_apigateway: None,
        };
        match c {
            RouterConfig::Demo(d) => raw.demo = Some(d),
            RouterConfig::Nginx(n) => raw.nginx = Some(n),
            RouterConfig::Kubernetes(k) => raw.kubernetes = Some(k),
            RouterConfig::AwsLambda(l) => raw.aws_lambda = Some(l),
            RouterConfig::AwsSageMaker(s) => raw.aws_sagemaker = Some(s),
            RouterConfig::AwsApiGateway(g) => raw.aws_apigateway = Some(g),
        }
        raw
    }
}
