//! Which of its region's S3 endpoints a bucket's policy admits: for the network section of a
//! sweep and the report's diagram (an endpoint → bucket edge is drawn where the bucket admits
//! requests through the endpoint). Asked of the policy space the bucket rules search
//! (`rules::bucket::evaluate_bucket_admitting`): no second search per bucket.

use serde::{Deserialize, Serialize};

use super::questions::Questions;
use super::region::RegionView;

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

/// The same admission (and reason) for every S3 endpoint of the view.
pub(crate) fn every(
    view: &RegionView,
    admission: Admission,
    reason: Option<&str>,
) -> Vec<EndpointAdmission> {
    view.endpoints
        .iter()
        .map(|(e, _)| EndpointAdmission {
            endpoint: e.clone(),
            admission,
            reason: reason.map(str::to_string),
        })
        .collect()
}

/// Each S3 endpoint of the view asked of the policy space: can a same-account role session
/// get objects through it?
pub(crate) fn asked(q: &Questions<'_>, view: &RegionView) -> Vec<EndpointAdmission> {
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
