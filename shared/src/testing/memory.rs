//! In-memory ports: an account held in memory behind the same traits as the AWS adapters
//! (buckets, account settings, each region's network, AWS Config's inventory and the
//! evaluations it receives). Calls are counted under the adapters' names, and any call can be
//! made to fail (throttling, access denied, `FailedEvaluations`). The handlers' unit tests run
//! on it in milliseconds; the adapters themselves are tested against moto.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::config::port::{ConfigPort, Discovered};
use crate::config::{ConfigEvaluation, ConfigItem, ItemStatus, ResourceType, Timestamp};
use crate::facts::{
    BucketObservation, EgressRule, Endpoint, Fact, NetworkFacts, ObjectOwnership,
    PublicAccessBlock, RouteTable, SecurityGroup, Subnet, Vpc,
};

use crate::ports::events::{EventPublisher, OutEvent};
use crate::ports::s3_service_name;
use crate::ports::{
    AccountReader, ApiCalls, AwsError, BucketReader, ErrorKind, ListedBucket, NetworkLocator,
    NetworkReader,
};

mod config_network;
pub use config_network::network_items;
mod config_port;
mod security_hub;
pub use security_hub::HeldFinding;
mod state_table;

pub use state_table::MemoryStateTable;

/// Config's page size for the listings the rules read.
const CONFIG_PAGE: usize = 100;

/// A bucket as S3 would answer for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBucket {
    pub region: String,
    pub policy: Fact<String>,
    pub public_access_block: Fact<PublicAccessBlock>,
    pub ownership: Fact<ObjectOwnership>,
}

impl MemoryBucket {
    /// A bucket with `policy`, Block Public Access all on and ACLs disabled.
    pub fn private(region: &str, policy: &str) -> MemoryBucket {
        MemoryBucket {
            region: region.to_string(),
            policy: Fact::Known(policy.to_string()),
            public_access_block: Fact::Known(ALL_ON),
            ownership: Fact::Known(ObjectOwnership::BucketOwnerEnforced),
        }
    }
}

/// Block Public Access with all four settings on.
pub const ALL_ON: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: true,
    ignore_public_acls: true,
    block_public_policy: true,
    restrict_public_buckets: true,
};

/// One `PutEvaluations` call as Config received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEvaluations {
    pub evaluations: Vec<ConfigEvaluation>,
    pub token: String,
    pub test_mode: bool,
}

/// Failures to inject.
#[derive(Debug, Default)]
struct Faults {
    /// Calls (`service:Operation`) that fail, with the kind, for the next `n` calls.
    failing: BTreeMap<String, (ErrorKind, usize)>,
    /// The next `n` `PutEvaluations` report every evaluation as failed.
    reject_evaluations: usize,
    /// The next import fails this many findings.
    failed_hub_findings: usize,
}

/// An account in memory. Fields are public: tests build the account they need.
#[derive(Debug)]
pub struct MemoryAws {
    pub account_id: String,
    /// The region of the configuration (`ListBuckets`, `GetBucketLocation` go there).
    pub default_region: String,
    pub account_public_access_block: Fact<PublicAccessBlock>,
    pub buckets: BTreeMap<String, MemoryBucket>,
    /// Each region's network.
    pub networks: BTreeMap<String, NetworkFacts>,
    /// Config's inventory: the items it recorded.
    pub items: BTreeMap<(ResourceType, String), ConfigItem>,
    /// Regions whose configuration recorder records (and is recording) every type.
    pub recording_regions: BTreeSet<String>,
    /// Security Hub export on (`SecurityHubFindings` `Enabled`), in the default region.
    pub security_hub: bool,
    /// The findings Security Hub holds, by id.
    hub: Mutex<BTreeMap<String, security_hub::HeldFinding>>,
    /// The mute list's SSM parameter value (`None`: no list configured); read at each
    /// invocation (`ssm:GetParameter`).
    pub mute_list: Option<String>,
    /// The name of the Config aggregator this account owns (it sees every item of `items`,
    /// each in its `account_id` and `region`).
    pub aggregator: Option<String>,
    /// Resources Config lists as deleted.
    pub deleted: BTreeSet<(ResourceType, String)>,
    /// Ids `BatchGetResourceConfig` leaves unprocessed.
    pub unprocessed: BTreeSet<String>,
    /// What `GetComplianceDetailsByConfigRule` says this rule evaluated before.
    pub evaluated_before: Vec<(ResourceType, String)>,
    /// The configuration recorder's role; `None`: no recorder.
    pub recorder_role: Option<String>,
    /// The organization layer the organization-policy source gives (`None`: no source).
    pub org_layer: Option<crate::ports::OrgLayer>,
    /// What `DescribeOrganization` answers the account itself: (organization, management
    /// account); `None`: in no organization.
    pub organization: Option<(String, String)>,
    pub calls: ApiCalls,
    faults: Mutex<Faults>,
    sent: Mutex<Vec<SentEvaluations>>,
    /// Events put on a bus: (bus, event).
    published: Mutex<Vec<(Option<String>, OutEvent)>>,
}

impl MemoryAws {
    /// An empty account.
    pub fn new(account_id: &str, region: &str) -> MemoryAws {
        MemoryAws {
            account_id: account_id.to_string(),
            default_region: region.to_string(),
            account_public_access_block: Fact::NotConfigured,
            buckets: BTreeMap::new(),
            networks: BTreeMap::new(),
            items: BTreeMap::new(),
            recording_regions: BTreeSet::new(),
            aggregator: None,
            mute_list: None,
            security_hub: false,
            hub: Mutex::default(),
            deleted: BTreeSet::new(),
            unprocessed: BTreeSet::new(),
            evaluated_before: Vec::new(),
            recorder_role: None,
            org_layer: None,
            organization: None,
            calls: ApiCalls::default(),
            faults: Mutex::default(),
            sent: Mutex::default(),
            published: Mutex::default(),
        }
    }

    /// Add `n` VPCs to `region`, each the reference setup of RULES.md: DNS on, a subnet whose
    /// route table carries an available S3 gateway endpoint with the locked policy, egress
    /// open. Returns their (VPC id, endpoint id), in order.
    pub fn add_reference_vpcs(&mut self, region: &str, n: usize) -> Vec<(String, String)> {
        let account = self.account_id.clone();
        let net = self
            .networks
            .entry(region.to_string())
            .or_insert_with(|| NetworkFacts {
                region: region.to_string(),
                s3_prefix_list: Some("pl-63a5400a".into()),
                ..NetworkFacts::default()
            });
        reference_vpcs(net, &account, "", n)
    }

    /// Add a bucket to S3.
    pub fn add_bucket(&mut self, name: &str, bucket: MemoryBucket) {
        self.buckets.insert(name.to_string(), bucket);
    }

    /// Record a bucket in Config's inventory as Config records it: policy and Block Public
    /// Access in the supplementary configuration (ownership too when `with_ownership`).
    pub fn record_bucket(&mut self, name: &str, with_ownership: bool) {
        let Some(b) = self.buckets.get(name) else {
            return;
        };
        let item = bucket_item(name, b, &self.account_id, with_ownership);
        self.items
            .insert((ResourceType::S3Bucket, name.to_string()), item);
    }

    /// Record a bucket of another account in Config (as an aggregator sees it); this account
    /// cannot read it.
    pub fn record_foreign_bucket(
        &mut self,
        name: &str,
        account: &str,
        bucket: &MemoryBucket,
        with_ownership: bool,
    ) {
        let item = bucket_item(name, bucket, account, with_ownership);
        self.items
            .insert((ResourceType::S3Bucket, name.to_string()), item);
    }

    /// Record another account's Block Public Access in Config
    /// (`AWS::S3::AccountPublicAccessBlock`, as an aggregator sees it).
    pub fn record_foreign_account_block(&mut self, account: &str, block: PublicAccessBlock) {
        let item = ConfigItem {
            resource_type: ResourceType::Other("AWS::S3::AccountPublicAccessBlock".into()),
            resource_id: account.to_string(),
            resource_name: None,
            region: Some(self.default_region.clone()),
            account_id: Some(account.to_string()),
            capture_time: None,
            status: None,
            configuration: json!({
                "blockPublicAcls": block.block_public_acls,
                "ignorePublicAcls": block.ignore_public_acls,
                "blockPublicPolicy": block.block_public_policy,
                "restrictPublicBuckets": block.restrict_public_buckets,
            }),
            supplementary: Map::new(),
        };
        self.items
            .insert((item.resource_type.clone(), account.to_string()), item);
    }

    /// Make the next `times` calls of `call` (`service:Operation`) fail with `kind`.
    pub fn fail(&self, call: &str, kind: ErrorKind, times: usize) {
        if let Ok(mut f) = self.faults.lock() {
            f.failing.insert(call.to_string(), (kind, times));
        }
    }

    /// Make the next `times` `PutEvaluations` calls report every evaluation as failed.
    pub fn reject_evaluations(&self, times: usize) {
        if let Ok(mut f) = self.faults.lock() {
            f.reject_evaluations = times;
        }
    }

    /// Every `PutEvaluations` Config accepted or rejected, in order.
    pub fn sent(&self) -> Vec<SentEvaluations> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Every event put on a bus, in order: (bus, event).
    pub fn published(&self) -> Vec<(Option<String>, OutEvent)> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Calls so far, by `service:Operation`.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.calls.snapshot()
    }

    /// Count a call, then fail it if a failure was injected.
    fn call(&self, name: &'static str) -> Result<(), AwsError> {
        self.calls.count(name);
        let mut f = match self.faults.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        match f.failing.get_mut(name) {
            Some((kind, left)) if *left > 0 => {
                *left -= 1;
                let (code, message) = match kind {
                    ErrorKind::Throttled => ("ThrottlingException", "Rate exceeded"),
                    ErrorKind::AccessDenied => ("AccessDenied", "Access Denied"),
                    ErrorKind::NotFound => ("NotFound", "not found"),
                    ErrorKind::Credentials => ("InvalidClientTokenId", "bad credentials"),
                    ErrorKind::Unreachable => ("Unreachable", "connection refused"),
                    ErrorKind::Unavailable => ("ServiceUnavailable", "try again"),
                    ErrorKind::Rejected | ErrorKind::Other => ("InternalError", "failed"),
                };
                Err(AwsError {
                    call: name,
                    kind: *kind,
                    code: Some(code.into()),
                    message: format!("{code} ({message})"),
                })
            }
            _ => Ok(()),
        }
    }

    fn pages(&self, name: &'static str, n: usize) -> Result<(), AwsError> {
        for _ in 0..n.div_ceil(CONFIG_PAGE).max(1) {
            self.call(name)?;
        }
        Ok(())
    }

    fn read<T: Clone>(
        &self,
        name: &'static str,
        bucket: &str,
        get: impl Fn(&MemoryBucket) -> Fact<T>,
    ) -> Option<Fact<T>> {
        match self.call(name) {
            Err(e) => Some(Fact::Unreadable(e.to_string())),
            Ok(()) => self.buckets.get(bucket).map(get),
        }
    }
}

pub use super::policies::locked_endpoint_policy;

/// A bucket's configuration item as Config records it (supplementary values as JSON strings).
pub(crate) fn bucket_item(
    name: &str,
    b: &MemoryBucket,
    account_id: &str,
    with_ownership: bool,
) -> ConfigItem {
    let mut supplementary = Map::new();
    let policy = match &b.policy {
        Fact::Known(p) => json!(p),
        _ => Value::Null,
    };
    supplementary.insert("BucketPolicy".into(), json!({ "policyText": policy }));
    if let Fact::Known(p) = &b.public_access_block {
        supplementary.insert(
            "PublicAccessBlockConfiguration".into(),
            json!({"blockPublicAcls": p.block_public_acls, "ignorePublicAcls": p.ignore_public_acls,
                   "blockPublicPolicy": p.block_public_policy, "restrictPublicBuckets": p.restrict_public_buckets}),
        );
    }
    if with_ownership {
        if let Fact::Known(o) = &b.ownership {
            supplementary.insert(
                "BucketOwnershipControls".into(),
                json!({"bucketOwnershipControls": {"rules": [{"objectOwnership": o}]}}),
            );
        }
    }
    ConfigItem {
        resource_type: ResourceType::S3Bucket,
        resource_id: name.to_string(),
        resource_name: Some(name.to_string()),
        region: Some(b.region.clone()),
        account_id: Some(account_id.to_string()),
        capture_time: Timestamp::parse("2026-11-27T09:00:00Z"),
        status: Some(ItemStatus::Ok),
        configuration: json!({ "name": name }),
        supplementary,
    }
}

impl crate::ports::CallCounter for MemoryAws {
    fn api_calls(&self) -> BTreeMap<String, u64> {
        self.calls.snapshot()
    }
}

impl BucketReader for MemoryAws {
    async fn list_buckets(&self, region: Option<&str>) -> Result<Vec<ListedBucket>, AwsError> {
        self.call("s3:ListBuckets")?;
        Ok(self
            .buckets
            .iter()
            .filter(|(_, b)| region.is_none_or(|r| r == b.region))
            .map(|(name, b)| ListedBucket {
                name: name.clone(),
                region: Some(b.region.clone()),
            })
            .collect())
    }

    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        self.call("s3:GetBucketLocation")?;
        Ok(self.buckets.get(bucket).map(|b| b.region.clone()))
    }

    async fn bucket_facts(&self, bucket: &str, region: &str) -> BucketObservation {
        let (policy, pab, own) = (
            self.read_policy(bucket, region).await,
            self.read_public_access_block(bucket, region).await,
            self.read_ownership(bucket, region).await,
        );
        BucketObservation::from_reads(bucket, region, policy, pab, own)
    }

    async fn read_policy(&self, bucket: &str, _region: &str) -> Option<Fact<String>> {
        self.read("s3:GetBucketPolicy", bucket, |b| b.policy.clone())
    }

    async fn read_public_access_block(
        &self,
        bucket: &str,
        _region: &str,
    ) -> Option<Fact<PublicAccessBlock>> {
        self.read("s3:GetPublicAccessBlock", bucket, |b| {
            b.public_access_block.clone()
        })
    }

    async fn read_ownership(&self, bucket: &str, _region: &str) -> Option<Fact<ObjectOwnership>> {
        self.read("s3:GetBucketOwnershipControls", bucket, |b| {
            b.ownership.clone()
        })
    }
}

impl AccountReader for MemoryAws {
    async fn account_id(&self) -> Result<String, AwsError> {
        self.call("sts:GetCallerIdentity")?;
        Ok(self.account_id.clone())
    }

    async fn account_public_access_block(&self, _account_id: &str) -> Fact<PublicAccessBlock> {
        match self.call("s3control:GetPublicAccessBlock") {
            Ok(()) => self.account_public_access_block.clone(),
            Err(e) => Fact::Unreadable(e.to_string()),
        }
    }
}

/// Add `n` reference VPCs (see `MemoryAws::add_reference_vpcs`) to `net`, their ids after
/// `prefix` (hex digits, to keep several accounts' ids apart). Returns their (VPC id, endpoint
/// id), in order.
pub fn reference_vpcs(
    net: &mut NetworkFacts,
    account: &str,
    prefix: &str,
    n: usize,
) -> Vec<(String, String)> {
    let region = net.region.clone();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let i = net.vpcs.len();
        let width = 17usize.saturating_sub(prefix.len());
        let id = |kind: &str| format!("{kind}-{prefix}{i:0width$x}");
        let (vpc, subnet, rt, vpce, sg) =
            (id("vpc"), id("subnet"), id("rtb"), id("vpce"), id("sg"));
        net.vpcs.push(Vpc {
            id: vpc.clone(),
            dns_support: Some(true),
            dns_hostnames: Some(true),
        });
        net.subnets.push(Subnet {
            id: subnet.clone(),
            vpc_id: vpc.clone(),
            ipv6_cidrs: Vec::new(),
        });
        net.route_tables.push(RouteTable {
            id: rt.clone(),
            vpc_id: vpc.clone(),
            main: false,
            subnet_ids: vec![subnet],
            routes: Vec::new(),
        });
        net.endpoints.push(Endpoint {
            id: vpce.clone(),
            vpc_id: vpc.clone(),
            service_name: s3_service_name(&region),
            endpoint_type: "Gateway".into(),
            state: "available".into(),
            policy: Some(locked_endpoint_policy(account)),
            route_table_ids: vec![rt],
            ip_address_type: Some("ipv4".into()),
            owner_id: Some(account.to_string()),
        });
        net.security_groups.push(SecurityGroup {
            id: sg,
            name: "default".into(),
            vpc_id: vpc.clone(),
            egress: vec![EgressRule {
                protocol: "-1".into(),
                cidrs: vec!["0.0.0.0/0".into()],
                ..EgressRule::default()
            }],
        });
        out.push((vpc, vpce));
    }
    out
}

impl MemoryAws {
    fn region_net(&self, region: &str) -> NetworkFacts {
        self.networks
            .get(region)
            .cloned()
            .unwrap_or_else(|| NetworkFacts {
                region: region.to_string(),
                ..NetworkFacts::default()
            })
    }
}

impl NetworkReader for MemoryAws {
    async fn network(&self, region: &str) -> Result<NetworkFacts, AwsError> {
        let net = self.region_net(region);
        for call in [
            "ec2:DescribeVpcs",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribePrefixLists",
        ] {
            self.call(call)?;
        }
        for _ in 0..net.vpcs.len() * 2 {
            self.call("ec2:DescribeVpcAttribute")?;
        }
        Ok(net)
    }

    async fn vpc_network(&self, region: &str, vpc_id: &str) -> Result<NetworkFacts, AwsError> {
        let net = self.region_net(region);
        for call in [
            "ec2:DescribeVpcs",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribePrefixLists",
        ] {
            self.call(call)?;
        }
        Ok(NetworkFacts {
            region: net.region,
            vpcs: net.vpcs.into_iter().filter(|v| v.id == vpc_id).collect(),
            endpoints: net
                .endpoints
                .into_iter()
                .filter(|e| e.vpc_id == vpc_id)
                .collect(),
            route_tables: net
                .route_tables
                .into_iter()
                .filter(|t| t.vpc_id == vpc_id)
                .collect(),
            subnets: net
                .subnets
                .into_iter()
                .filter(|s| s.vpc_id == vpc_id)
                .collect(),
            security_groups: net
                .security_groups
                .into_iter()
                .filter(|g| g.vpc_id == vpc_id)
                .collect(),
            s3_prefix_list: net.s3_prefix_list,
            dns_unknown: net.dns_unknown,
        })
    }

    async fn s3_endpoints(&self, region: &str) -> Result<Vec<Endpoint>, AwsError> {
        self.call("ec2:DescribeVpcEndpoints")?;
        let service = s3_service_name(region);
        Ok(self
            .region_net(region)
            .endpoints
            .into_iter()
            .filter(|e| e.service_name == service)
            .collect())
    }
}

impl EventPublisher for MemoryAws {
    async fn put_events(
        &self,
        bus: Option<&str>,
        batch: &[OutEvent],
    ) -> Result<Vec<usize>, AwsError> {
        self.call("events:PutEvents")?;
        let mut published = match self.published.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        published.extend(batch.iter().map(|e| (bus.map(str::to_string), e.clone())));
        Ok(Vec::new())
    }
}

impl NetworkLocator for MemoryAws {
    async fn endpoints_by_id(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Vec<Endpoint>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.call("ec2:DescribeVpcEndpoints")?;
        Ok(self
            .region_net(region)
            .endpoints
            .into_iter()
            .filter(|e| ids.contains(&e.id))
            .collect())
    }

    async fn vpc_of_route_table(&self, region: &str, id: &str) -> Result<Option<String>, AwsError> {
        self.call("ec2:DescribeRouteTables")?;
        Ok(self
            .region_net(region)
            .route_tables
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.vpc_id))
    }

    async fn vpc_of_route_table_association(
        &self,
        region: &str,
        association_id: &str,
    ) -> Result<Option<String>, AwsError> {
        self.call("ec2:DescribeRouteTables")?;
        // In memory, an association id is `rtbassoc-` and the subnet id it associates.
        let subnet = association_id.strip_prefix("rtbassoc-").unwrap_or_default();
        Ok(self
            .region_net(region)
            .route_tables
            .into_iter()
            .find(|t| t.subnet_ids.iter().any(|s| s == subnet))
            .map(|t| t.vpc_id))
    }

    async fn vpc_of_security_group(
        &self,
        region: &str,
        id: &str,
    ) -> Result<Option<String>, AwsError> {
        self.call("ec2:DescribeSecurityGroups")?;
        Ok(self
            .region_net(region)
            .security_groups
            .into_iter()
            .find(|g| g.id == id)
            .map(|g| g.vpc_id))
    }
}

impl crate::ports::OrgPolicySource for MemoryAws {
    async fn org_layer(&self, _account: &str) -> Result<Option<crate::ports::OrgLayer>, AwsError> {
        if self.org_layer.is_none() {
            return Ok(None);
        }
        // The source's reads, counted under the adapter's names.
        self.call("organizations:DescribeOrganization")?;
        self.call("organizations:ListParents")?;
        self.call("organizations:ListPoliciesForTarget")?;
        Ok(self.org_layer.clone())
    }

    async fn organization(&self) -> Result<Option<(String, String)>, AwsError> {
        match &self.organization {
            None => Ok(None),
            Some(org) => {
                self.call("organizations:DescribeOrganization")?;
                Ok(Some(org.clone()))
            }
        }
    }
}

impl crate::ports::MuteSource for MemoryAws {
    async fn mute_list(&self) -> Result<Option<crate::rules::mute::MuteList>, String> {
        let Some(text) = &self.mute_list else {
            return Ok(None);
        };
        self.call("ssm:GetParameter").map_err(|e| e.to_string())?;
        crate::rules::mute::MuteList::parse(text)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}
