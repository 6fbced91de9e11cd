//! `[router.kubernetes]`: which cluster objects carry the split. The key
//! names are the interface the issue fixed; `validate` checks that the keys
//! a mode needs are present.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which objects move the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KubernetesMode {
    /// The Service's selector flips between blue's and green's labels:
    /// 0 or 100 % only.
    ServiceSelector,
    /// The `canary-weight` annotation of an ingress-nginx canary Ingress.
    IngressNginx,
    /// The weights of blue's and green's `backendRefs` in one HTTPRoute rule.
    GatewayApi,
}

impl KubernetesMode {
    pub fn name(self) -> &'static str {
        match self {
            KubernetesMode::ServiceSelector => "service-selector",
            KubernetesMode::IngressNginx => "ingress-nginx",
            KubernetesMode::GatewayApi => "gateway-api",
        }
    }

    /// The modes that can send part of the traffic to green, for messages
    /// that refuse an intermediate split in selector mode.
    pub const WEIGHTING: &'static str = "`ingress-nginx` or `gateway-api`";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    pub mode: KubernetesMode,
    /// kubeconfig context; default: the kubeconfig's current context.
    pub context: Option<String>,
    /// Namespace of every object below; default: the context's namespace.
    pub namespace: Option<String>,
    /// Deployments read for readiness and scaled by the scale actions.
    pub blue_deployment: String,
    pub green_deployment: String,
    /// service-selector: the Service whose selector flips.
    pub service: Option<String>,
    pub blue_selector: Option<BTreeMap<String, String>>,
    pub green_selector: Option<BTreeMap<String, String>>,
    /// ingress-nginx: the canary Ingress (`canary: "true"`) beside the main one.
    pub canary_ingress: Option<String>,
    /// gateway-api: the HTTPRoute, the index of its splitting rule, and the
    /// names of blue's and green's `backendRefs` in that rule.
    pub httproute: Option<String>,
    #[serde(default)]
    pub rule: usize,
    pub blue_backend: Option<String>,
    pub green_backend: Option<String>,
    /// After a rollback, scale green's Deployment to 0 replicas.
    #[serde(default)]
    pub scale_down_green_on_rollback: bool,
}

impl KubernetesConfig {
    /// Checks that the keys the mode needs are there; `(key, message)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let need = |present: bool, key: &str| {
            if present {
                Ok(())
            } else {
                Err((
                    format!("router.kubernetes.{key}"),
                    format!("`mode = \"{}\"` needs `{key}`", self.mode.name()),
                ))
            }
        };
        for (key, name) in [
            ("blue_deployment", &self.blue_deployment),
            ("green_deployment", &self.green_deployment),
        ] {
            need(!name.trim().is_empty(), key)?;
        }
        match self.mode {
            KubernetesMode::ServiceSelector => {
                need(self.service.is_some(), "service")?;
                need(self.blue_selector.is_some(), "blue_selector")?;
                need(self.green_selector.is_some(), "green_selector")?;
                let b = self.blue_selector.clone().unwrap_or_default();
                let g = self.green_selector.clone().unwrap_or_default();
                if b.is_empty() || g.is_empty() {
                    let key = if b.is_empty() {
                        "blue_selector"
                    } else {
                        "green_selector"
                    };
                    return Err((
                        format!("router.kubernetes.{key}"),
                        "an empty selector would match every pod".into(),
                    ));
                }
                if b == g {
                    return Err((
                        "router.kubernetes.green_selector".into(),
                        "is the same as `blue_selector`: the flip would move nothing".into(),
                    ));
                }
            }
            KubernetesMode::IngressNginx => need(self.canary_ingress.is_some(), "canary_ingress")?,
            KubernetesMode::GatewayApi => {
                need(self.httproute.is_some(), "httproute")?;
                need(self.blue_backend.is_some(), "blue_backend")?;
                need(self.green_backend.is_some(), "green_backend")?;
                if self.blue_backend == self.green_backend {
                    return Err((
                        "router.kubernetes.green_backend".into(),
                        "is the same as `blue_backend`".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::from_toml;

    #[test]
    fn each_mode_names_the_key_it_misses() {
        let base = "blue_deployment = \"b\"\ngreen_deployment = \"g\"\n";
        let gw: KubernetesConfig = from_toml(&format!(
            "mode = \"gateway-api\"\n{base}httproute = \"r\"\n"
        ));
        assert_eq!(
            gw.validate().unwrap_err().0,
            "router.kubernetes.blue_backend"
        );
        let ing: KubernetesConfig = from_toml(&format!("mode = \"ingress-nginx\"\n{base}"));
        assert_eq!(
            ing.validate().unwrap_err().0,
            "router.kubernetes.canary_ingress"
        );
        let sel: KubernetesConfig = from_toml(&format!(
            "mode = \"service-selector\"\n{base}service = \"s\"\n\
             blue_selector = {{ app = \"a\" }}\ngreen_selector = {{ app = \"a\" }}\n"
        ));
        let (key, msg) = sel.validate().unwrap_err();
        assert_eq!(key, "router.kubernetes.green_selector");
        assert!(msg.contains("same"), "{msg}");
        let ok: KubernetesConfig = from_toml(&format!(
            "mode = \"ingress-nginx\"\n{base}canary_ingress = \"c\"\n"
        ));
        assert_eq!(ok.validate(), Ok(()));
        assert!(!ok.scale_down_green_on_rollback);
        assert!(toml::from_str::<KubernetesConfig>("mode = \"istio\"").is_err());
    }
}
