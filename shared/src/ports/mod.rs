//! The ports: what the handlers ask of the outside world, as traits that return the
//! project's own types, and the one error those answers fail with ([`AwsError`]). Handlers
//! (the Config rules, the watcher, the notifier, the remediator, the scan) name these and no
//! adapter; the adapters (`crate::aws`: the AWS SDK, the in-memory account) implement them.
//! Ports that belong to one handler's own vocabulary stay beside it (`config::port::ConfigPort`,
//! `notify::StateStore`, `remedy::history::HistoryStore`); adapters may name those.

pub(crate) mod events;
pub(crate) mod org;
pub(crate) mod policy_store;
pub(crate) mod roles;
pub(crate) mod secrets;
pub(crate) mod ssm;

pub use events::{EventPublisher, OutEvent};
pub use org::{OrgLayer, OrgPolicySource};
pub use policy_store::{CallerIdentity, DeployedRules, PolicyStore};
pub use roles::{expand_for_judging, expand_for_writing, RoleExpansionError, RoleLister};
pub use secrets::SecretReader;
pub(crate) use ssm::mutes_in_force;
pub use ssm::{load_long_settings, LongSettingsError, MuteSource, ParameterReader};

use std::collections::BTreeMap;
use std::sync::Mutex;

use thiserror::Error;

use crate::facts::{
    BucketObservation, Endpoint, Fact, NetworkFacts, ObjectOwnership, PublicAccessBlock,
};

/// What kind of failure an AWS call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No credentials could be found or they were rejected.
    Credentials,
    /// The endpoint could not be reached (connection refused, DNS, timeout).
    Unreachable,
    AccessDenied,
    /// Throttled even after the SDK's retries.
    Throttled,
    /// A server error (5xx) or an answer that could not be read (cut short), even after the
    /// SDK's retries.
    Unavailable,
    NotFound,
    /// The service took the call but refused part of it (Config's `FailedEvaluations`), even
    /// after retries.
    Rejected,
    Other,
}

/// A failed AWS call, mapped: the call, the kind, and AWS's code and message.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{call} failed: {message}")]
pub struct AwsError {
    pub(crate) call: &'static str,
    pub kind: ErrorKind,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl AwsError {
    /// True when nothing can work: no credentials or no endpoint.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(self.kind, ErrorKind::Credentials | ErrorKind::Unreachable)
    }

    /// Lambda's `errorType` for this failure: what failed, and (`VpceGuard.Transient.*`)
    /// whether a retry can help. One mapping for every function.
    pub(crate) fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::Throttled => "VpceGuard.Transient.Throttled",
            ErrorKind::Unreachable => "VpceGuard.Transient.Unreachable",
            ErrorKind::Unavailable => "VpceGuard.Transient.Unavailable",
            ErrorKind::Rejected => "VpceGuard.Transient.Rejected",
            ErrorKind::AccessDenied => "VpceGuard.AccessDenied",
            ErrorKind::Credentials => "VpceGuard.Credentials",
            ErrorKind::NotFound => "VpceGuard.NotFound",
            ErrorKind::Other => "VpceGuard.AwsError",
        }
    }

    /// Transient: worth a retry by the caller (Lambda, Config).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled
                | ErrorKind::Unreachable
                | ErrorKind::Unavailable
                | ErrorKind::Rejected
        )
    }
}

/// Counts API calls by `service:Operation`, so every sweep reports what it cost.
#[derive(Debug, Default)]
pub struct ApiCalls(Mutex<BTreeMap<String, u64>>);

impl ApiCalls {
    pub(crate) fn count(&self, call: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(call.to_string()).or_insert(0) += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    #[cfg(any(test, feature = "testing"))]
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn total_with_prefix(&self, prefix: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// A bucket as `ListBuckets` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBucket {
    pub(crate) name: String,
    /// `BucketRegion`, when the listing carries it.
    pub(crate) region: Option<String>,
}

/// Port: what the rules need to know about buckets.
#[allow(async_fn_in_trait)]
pub trait BucketReader {
    /// Every bucket, or with `region` only that region's (`ListBuckets` `bucket-region`: the
    /// region is then known without one `GetBucketLocation` per bucket).
    async fn list_buckets(&self, region: Option<&str>) -> Result<Vec<ListedBucket>, AwsError>;
    /// `None` when the bucket does not exist.
    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError>;
    /// Policy, Block Public Access and Object Ownership (three calls).
    async fn bucket_facts(&self, bucket: &str, region: &str) -> BucketObservation;
    /// Each read alone (`None`: the bucket is gone), for completing a configuration item.
    async fn read_policy(&self, bucket: &str, region: &str) -> Option<Fact<String>>;
    async fn read_public_access_block(
        &self,
        bucket: &str,
        region: &str,
    ) -> Option<Fact<PublicAccessBlock>>;
    async fn read_ownership(&self, bucket: &str, region: &str) -> Option<Fact<ObjectOwnership>>;
}

/// Port: account-wide facts.
#[allow(async_fn_in_trait)]
pub trait AccountReader {
    async fn account_id(&self) -> Result<String, AwsError>;
    async fn account_public_access_block(&self, account_id: &str) -> Fact<PublicAccessBlock>;
}

/// Port: network facts, as much as a notification needs and no more (docs/COST.md).
#[allow(async_fn_in_trait)]
pub trait NetworkReader {
    /// Every network fact of a region (a sweep: read once, shared by every resource).
    async fn network(&self, region: &str) -> Result<NetworkFacts, AwsError>;
    /// One VPC's facts, read with `vpc-id` filters: the VPC (none when it does not exist), its
    /// endpoints, route tables, subnets and security groups, and the region's S3 prefix list.
    async fn vpc_network(&self, region: &str, vpc_id: &str) -> Result<NetworkFacts, AwsError>;
    /// The region's S3 endpoints (`com.amazonaws.<region>.s3`, gateway and interface), whatever
    /// the number of VPCs.
    async fn s3_endpoints(&self, region: &str) -> Result<Vec<Endpoint>, AwsError>;
}

/// Port: another account of the organization, through a role of the same name in each (as
/// organization tooling usually deploys one); the reader it returns reads that account.
#[allow(async_fn_in_trait)]
pub trait AccountAccess {
    type Reader: BucketReader + AccountReader + NetworkReader;
    /// Assume `role_name` in `account`; an error names the role and why it cannot be used.
    async fn enter(&self, account: &str, role_name: &str) -> Result<Self::Reader, AwsError>;
}

/// Port: which VPC a network resource named in a CloudTrail event belongs to (the change
/// watcher's one lookup per event, before it reads that VPC). `Ok(None)`: no such resource.
#[allow(async_fn_in_trait)]
pub trait NetworkLocator {
    /// The endpoints with these ids, in any state (a just-deleted endpoint is still described
    /// for a while, in state `deleted`); ids EC2 does not know are left out.
    async fn endpoints_by_id(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Vec<Endpoint>, AwsError>;
    async fn vpc_of_route_table(&self, region: &str, id: &str) -> Result<Option<String>, AwsError>;
    /// The VPC of the route table that holds this association (`rtbassoc-…`).
    async fn vpc_of_route_table_association(
        &self,
        region: &str,
        association_id: &str,
    ) -> Result<Option<String>, AwsError>;
    async fn vpc_of_security_group(
        &self,
        region: &str,
        id: &str,
    ) -> Result<Option<String>, AwsError>;
}

/// The service name of S3's endpoints in a region.
pub(crate) fn s3_service_name(region: &str) -> String {
    format!("com.amazonaws.{region}.s3")
}

/// Port: the AWS calls an adapter has made, by `service:Operation` (cumulative over a warm
/// function's invocations); an adapter that does not count reports none.
pub trait CallCounter {
    fn api_calls(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
}
