//! Which of its region's S3 endpoints a bucket's policy admits: for the network section of a
//! sweep and the report's diagram (an endpoint → bucket edge is drawn where the bucket admits
//! requests through the endpoint).

use serde::{Deserialize, Serialize};

use crate::facts::{AccountFacts, BucketObservation, Fact};
use crate::policy::layers::effective;
use crate::policy::model::PolicyDocument;
use crate::policy::space::Space;

use super::bucket::{account_params, rule_scope};
use super::questions::Questions;
use super::region::RegionView;
use super::BucketParams;

/// What a bucket's policy (with the RCPs) says of requests through one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Admission {
    /// A same-account role session can get objects through the endpoint.
    Admits,
    /// Every such request through the endpoint is denied.
    Denies,
    /// The policy cannot be read or evaluated, or a deny might apply: neither is claimed.
    Unknown,
}

/// One endpoint's admission by one bucket, with why it is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndpointAdmission {
    pub endpoint: String,
    pub admission: Admission,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The admission of every S3 endpoint of the bucket's region (account mode), in the view's
/// order. A deleted bucket admits nothing (empty); without a policy (and RCPs) nothing is
/// denied; an unreadable or invalid policy, or one the engine cannot evaluate, is `Unknown`.
pub(crate) fn endpoint_admission(
    obs: &BucketObservation,
    account: &AccountFacts,
    view: &RegionView,
    params: &BucketParams,
    now: f64,
) -> Vec<EndpointAdmission> {
    let BucketObservation::Exists(facts) = obs else {
        return Vec::new();
    };
    let (params, view) = account_params(params, account, &facts.region, Ok(view));
    let every = |admission: Admission, reason: Option<String>| {
        view.endpoints
            .iter()
            .map(|(e, _)| EndpointAdmission {
                endpoint: e.clone(),
                admission,
                reason: reason.clone(),
            })
            .collect::<Vec<_>>()
    };
    let parsed;
    let doc: Option<&PolicyDocument> = match &facts.policy {
        Fact::NotConfigured => None,
        Fact::Unreadable(why) => return every(Admission::Unknown, Some(why.clone())),
        Fact::Known(text) => match PolicyDocument::parse(text) {
            Ok(d) => {
                parsed = d;
                Some(&parsed)
            }
            Err(e) => {
                return every(
                    Admission::Unknown,
                    Some(format!("the bucket policy cannot be parsed: {e}")),
                )
            }
        },
    };
    let layered;
    let doc = match doc {
        Some(d) if params.rcps.is_empty() => d,
        None if params.rcps.is_empty() => return every(Admission::Admits, None),
        d => {
            layered = effective(d, &params.rcps);
            &layered
        }
    };
    let (scope, guards, exempt) = rule_scope(&facts.name, doc, &params, Some(&view), now);
    let space = match Space::new(doc, &scope) {
        Ok(s) => s,
        Err(e) => {
            return every(
                Admission::Unknown,
                Some(format!("cannot evaluate the policy: {}", e.0)),
            )
        }
    };
    let q = Questions {
        space: &space,
        params: &params,
        view: Some(&view),
        exempt: &exempt,
        guards: &guards,
    };
    view.endpoints
        .iter()
        .map(|(e, _)| {
            let (admission, reason) = match q.admits(e) {
                Ok(true) => (Admission::Admits, None),
                Ok(false) => (Admission::Denies, None),
                Err(why) => (Admission::Unknown, Some(why)),
            };
            EndpointAdmission {
                endpoint: e.clone(),
                admission,
                reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
