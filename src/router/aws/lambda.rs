//! `aws-lambda`: a Lambda alias's routing config. Blue is the alias's main
//! version; green gets its share as the one `AdditionalVersionWeights`
//! entry (weight 0..1). At 100 % the alias points at green alone and at
//! 0 % (a rollback) at blue alone with an empty routing config, as AWS's
//! own blue/green guide moves an alias.
//!
//! Every `UpdateAlias` carries the `RevisionId` of the read it is based
//! on, so Lambda refuses it (`PreconditionFailedException`) when someone
//! changed the alias since; the router then re-reads, names what it found,
//! and for a rollback tries again on the fresh read. An advance on the
//! revision the engine just read is one call; its verification a second
//! (`GetAlias`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::{AwsRouter, percent, router_error};
use crate::aws::{AwsClient, ErrorKind, LAMBDA, seg};
use crate::config::AwsLambdaConfig;
use crate::model::Split;
use crate::router::{
    Applied, ROLLBACK_TRIES, Revision, RouterError, RouterRead, TrafficRouter, Workload,
    WriteRequest, after_conflict, rollback_goes_on,
};

/// One read of the alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub split: Split,
    pub revision: String,
    pub main_version: String,
    pub weights: BTreeMap<String, f64>,
}

/// Reads GetAlias's (or UpdateAlias's) answer as a split of `blue` and
/// `green`. An alias on any other version is unreadable: the cockpit does
/// not guess what a third version's traffic means.
pub fn read_alias(v: &Value, blue: &str, green: &str) -> Result<Alias, String> {
    let main = v["FunctionVersion"]
        .as_str()
        .ok_or("the alias has no FunctionVersion")?
        .to_string();
    let revision = v["RevisionId"]
        .as_str()
        .ok_or("the alias has no RevisionId")?
        .to_string();
    let mut weights = BTreeMap::new();
    if let Some(w) = v["RoutingConfig"]["AdditionalVersionWeights"].as_object() {
        for (version, weight) in w {
            let weight = weight
                .as_f64()
                .ok_or_else(|| format!("the weight of version {version} is not a number"))?;
            weights.insert(version.clone(), weight);
        }
    }
    let bad = |w: f64| format!("weight {w} is outside 0..1");
    let split = match (main.as_str(), weights.len()) {
        (m, 0) if m == blue => Split::ZERO,
        (m, 0) if m == green => Split::FULL,
        (m, 1) if m == blue && weights.contains_key(green) => {
            percent(weights[green]).ok_or_else(|| bad(weights[green]))?
        }
        (m, 1) if m == green && weights.contains_key(blue) => percent(weights[blue])
            .ok_or_else(|| bad(weights[blue]))?
            .flipped(),
        _ => {
            return Err(format!(
                "the alias routes to version {main} with {weights:?}, not to blue ({blue}) and \
                 green ({green}) alone"
            ));
        }
    };
    Ok(Alias {
        split,
        revision,
        main_version: main,
        weights,
    })
}

/// The UpdateAlias body that sets `split`, conditional on `revision`.
pub fn update_body(split: Split, blue: &str, green: &str, revision: &str) -> Value {
    let (main, weights) = match split.green() {
        0 => (blue, json!({})),
        100 => (green, json!({})),
        g => (blue, json!({ green: f64::from(g) / 100.0 })),
    };
    json!({
        "FunctionVersion": main,
        "RoutingConfig": { "AdditionalVersionWeights": weights },
        "RevisionId": revision,
    })
}

pub struct LambdaRouter {
    client: Arc<AwsClient>,
    cfg: AwsLambdaConfig,
    path: String,
    what: String,
    /// The last read or write: an advance on this revision needs no read.
    last: Mutex<Option<Alias>>,
}

impl LambdaRouter {
    pub fn new(cfg: &AwsLambdaConfig) -> anyhow::Result<Self> {
        Ok(Self::with_client(cfg, Arc::new(AwsClient::new(&cfg.aws)?)))
    }

    pub fn with_client(cfg: &AwsLambdaConfig, client: Arc<AwsClient>) -> Self {
        LambdaRouter {
            client,
            path: format!(
                "/2015-03-31/functions/{}/aliases/{}",
                seg(&cfg.function),
                seg(&cfg.alias)
            ),
            what: format!("alias {} of function {}", cfg.alias, cfg.function),
            cfg: cfg.clone(),
            last: Mutex::new(None),
        }
    }

    fn parse(&self, v: &Value) -> Result<Alias, RouterError> {
        read_alias(v, &self.cfg.blue_version, &self.cfg.green_version)
            .map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.what)))
    }

    fn remember(&self, a: Option<&Alias>) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = a.cloned();
    }

    fn remembered(&self, revision: &str) -> Option<Alias> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|a| a.revision == revision).cloned()
    }

    /// GetAlias, parsed and remembered.
    async fn look(&self) -> Result<Alias, RouterError> {
        let v = self
            .client
            .rest_json(LAMBDA, Method::GET, &self.path, None)
            .await
            .map_err(|e| router_error(&self.what, e, false))?;
        let a = self.parse(&v);
        self.remember(a.as_ref().ok());
        a
    }

    fn conflict_text(&self, expected: &str, now: &Alias) -> String {
        format!(
            "{} was changed: RevisionId {expected} -> {}; the split is now {} (version {} with {:?})",
            self.what, now.revision, now.split, now.main_version, now.weights
        )
    }

    /// UpdateAlias on `base`'s RevisionId; a rollback that loses re-reads
    /// and tries again, up to [`ROLLBACK_TRIES`] in all.
    async fn write_on(
        &self,
        req: &WriteRequest,
        mut base: Alias,
        mut retried: Option<String>,
    ) -> Result<Applied, RouterError> {
        let split = req.split;
        let mut lost = 0;
        while !req.cancel.is_cancelled() {
            let body = update_body(
                split,
                &self.cfg.blue_version,
                &self.cfg.green_version,
                &base.revision,
            );
            match self
                .client
                .rest_json(LAMBDA, Method::PUT, &self.path, Some(&body))
                .await
            {
                Ok(v) => {
                    let now = self.parse(&v)?;
                    self.remember(Some(&now));
                    return Ok(self.applied(&base, now, lost, retried.as_deref()));
                }
                Err(e) if e.kind == ErrorKind::Conflict => {
                    let now = self.look().await?;
                    let text =
                        format!("{} (Lambda: {e})", self.conflict_text(&base.revision, &now));
                    lost += 1;
                    retried = Some(after_conflict(
                        text,
                        split,
                        lost,
                        ROLLBACK_TRIES,
                        "something keeps changing the alias",
                    )?);
                    base = now;
                }
                Err(e) => return Err(router_error(&self.what, e, true)),
            }
        }
        Err(RouterError::Cancelled)
    }

    fn applied(&self, base: &Alias, now: Alias, lost: u32, retried: Option<&str>) -> Applied {
        let mut detail = format!(
            "UpdateAlias {} (RevisionId {} -> {})",
            self.what, base.revision, now.revision
        );
        match (retried, lost) {
            (None, _) => {}
            (Some(r), 0) => detail.push_str(&format!(
                "; the rollback's revision was stale, so it was written on a fresh read: {r}"
            )),
            (Some(r), n) => detail.push_str(&format!(
                "; the rollback lost {n} conditional write(s), re-read and retried: {r}"
            )),
        }
        Applied {
            split: now.split,
            revision: Some(Revision(now.revision)),
            detail,
        }
    }
}

#[async_trait]
impl TrafficRouter for LambdaRouter {
    fn kind(&self) -> &'static str {
        "aws-lambda"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let a = self.look().await?;
        Ok(RouterRead {
            split: a.split,
            revision: Some(Revision(a.revision)),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        let mut retried = None;
        let base = match &req.expected {
            Some(exp) => match self.remembered(&exp.0) {
                Some(a) => a,
                None => {
                    let now = self.look().await?;
                    if now.revision != exp.0 {
                        let text = self.conflict_text(&exp.0, &now);
                        retried = Some(rollback_goes_on(text, req.split)?);
                    }
                    now
                }
            },
            None => self.look().await?,
        };
        self.write_on(&req, base, retried).await
    }
}

/// A Lambda function has no replicas to read or scale.
impl Workload for LambdaRouter {}

impl AwsRouter for LambdaRouter {
    fn client(&self) -> &AwsClient {
        &self.client
    }

    fn what(&self) -> &str {
        &self.what
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(main: &str, weights: Value) -> Value {
        json!({"FunctionVersion": main, "RevisionId": "r1",
               "RoutingConfig": {"AdditionalVersionWeights": weights}})
    }

    #[test]
    fn reads_each_shape_of_the_alias() {
        let s = |v: Value| read_alias(&v, "1", "2").map(|a| a.split.green());
        assert_eq!(s(alias("1", json!({}))), Ok(0));
        assert_eq!(s(json!({"FunctionVersion": "1", "RevisionId": "r"})), Ok(0));
        assert_eq!(s(alias("1", json!({"2": 0.25}))), Ok(25));
        assert_eq!(s(alias("2", json!({}))), Ok(100));
        assert_eq!(s(alias("2", json!({"1": 0.1}))), Ok(90));
        assert!(s(alias("3", json!({}))).unwrap_err().contains("version 3"));
        assert!(s(alias("1", json!({"2": 1.5}))).is_err());
    }

    #[test]
    fn writes_blue_as_main_and_green_as_the_weight() {
        let b = update_body(Split::new(25).unwrap(), "1", "2", "r1");
        assert_eq!(b["FunctionVersion"], "1");
        assert_eq!(
            b["RoutingConfig"]["AdditionalVersionWeights"],
            json!({"2": 0.25})
        );
        assert_eq!(b["RevisionId"], "r1");
        let full = update_body(Split::FULL, "1", "2", "r1");
        assert_eq!(full["FunctionVersion"], "2");
        let back = update_body(Split::ZERO, "1", "2", "r2");
        assert_eq!(back["FunctionVersion"], "1");
        assert_eq!(back["RoutingConfig"]["AdditionalVersionWeights"], json!({}));
    }
}
