//! Plain data: what was observed about buckets, the account and the network around them.
//! Adapters (`aws`) produce it, Config events carry it, rules read it. No I/O.

use serde::{Deserialize, Serialize};

/// A fact that may be missing or unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fact<T> {
    Known(T),
    /// The resource has no such configuration (`NoSuchBucketPolicy`, …).
    NotConfigured,
    /// It could not be read; the text names the call and the likely cause.
    Unreadable(String),
}

/// The four Block Public Access settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub(crate) block_public_acls: bool,
    pub(crate) ignore_public_acls: bool,
    pub(crate) block_public_policy: bool,
    pub(crate) restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// The settings on at either level.
    pub(crate) fn or(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

    /// Names of the settings that are off.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if !self.block_public_acls {
            m.push("BlockPublicAcls");
        }
        if !self.ignore_public_acls {
            m.push("IgnorePublicAcls");
        }
        if !self.block_public_policy {
            m.push("BlockPublicPolicy");
        }
        if !self.restrict_public_buckets {
            m.push("RestrictPublicBuckets");
        }
        m
    }
}

/// What was observed about one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketFacts {
    pub(crate) name: String,
    pub(crate) region: String,
    /// The bucket policy text.
    pub policy: Fact<String>,
    pub(crate) public_access_block: Fact<PublicAccessBlock>,
    /// Object Ownership.
    pub ownership: Fact<ObjectOwnership>,
}

impl BucketObservation {
    /// The three reads of a bucket; any `None` (the read found no such bucket) means it is gone.
    pub(crate) fn from_reads(
        name: &str,
        region: &str,
        policy: Option<Fact<String>>,
        public_access_block: Option<Fact<PublicAccessBlock>>,
        ownership: Option<Fact<ObjectOwnership>>,
    ) -> BucketObservation {
        match (policy, public_access_block, ownership) {
            (Some(policy), Some(public_access_block), Some(ownership)) => {
                BucketObservation::Exists(BucketFacts {
                    name: name.to_string(),
                    region: region.to_string(),
                    policy,
                    public_access_block,
                    ownership,
                })
            }
            _ => BucketObservation::Deleted {
                name: name.to_string(),
                region: region.to_string(),
            },
        }
    }
}

/// S3 Object Ownership: whether ACLs still grant access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ObjectOwnership {
    /// ACLs are disabled: the bucket owner owns every object.
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
    /// A value S3 may add later, kept by name (judged as ACLs enabled: fail closed).
    Other(String),
}

impl ObjectOwnership {
    pub(crate) fn parse(s: &str) -> ObjectOwnership {
        match s {
            "BucketOwnerEnforced" => ObjectOwnership::BucketOwnerEnforced,
            "BucketOwnerPreferred" => ObjectOwnership::BucketOwnerPreferred,
            "ObjectWriter" => ObjectOwnership::ObjectWriter,
            other => ObjectOwnership::Other(other.to_string()),
        }
    }

    /// As S3 spells it.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
            ObjectOwnership::Other(s) => s,
        }
    }
}

impl std::fmt::Display for ObjectOwnership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for ObjectOwnership {
    fn from(s: String) -> Self {
        ObjectOwnership::parse(&s)
    }
}

impl From<ObjectOwnership> for String {
    fn from(o: ObjectOwnership) -> Self {
        o.as_str().to_string()
    }
}

/// A bucket as a sweep found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketObservation {
    Exists(BucketFacts),
    /// Deleted while the sweep ran (or never existed).
    Deleted {
        name: String,
        region: String,
    },
}

/// Account-wide facts.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountFacts {
    pub account_id: Option<String>,
    pub public_access_block: Fact<PublicAccessBlock>,
}

/// A VPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub vpc_id: String,
    pub(crate) service_name: String,
    /// `Gateway`, `Interface`, …
    pub(crate) endpoint_type: String,
    /// `available`, `pending`, …
    pub(crate) state: String,
    pub(crate) policy: Option<String>,
    pub(crate) route_table_ids: Vec<String>,
    /// `IpAddressType`: `ipv4`, `dualstack` or `ipv6`; `None` when the API does not report it.
    #[serde(default)]
    pub(crate) ip_address_type: Option<String>,
    /// `OwnerId`: the account that owns the endpoint (a shared VPC's network account may own
    /// the endpoints a bucket's account uses).
    #[serde(default)]
    pub(crate) owner_id: Option<String>,
}

impl Endpoint {
    /// A Gateway or an Interface endpoint for S3 (both set `aws:SourceVpce`; an interface
    /// endpoint also carries on-premises and Direct Connect traffic).
    pub(crate) fn is_s3_endpoint_of(&self, region: &str) -> bool {
        (self.endpoint_type.eq_ignore_ascii_case("Gateway")
            || self.endpoint_type.eq_ignore_ascii_case("Interface"))
            && self.service_name == format!("com.amazonaws.{region}.s3")
    }

    /// An available S3 endpoint of `region`, gateway or interface: an approved network origin
    /// (RULES.md, "Approved network origins").
    pub(crate) fn is_available_s3_endpoint(&self, region: &str) -> bool {
        self.is_s3_endpoint_of(region) && self.state.eq_ignore_ascii_case("available")
    }

    /// Does the endpoint carry IPv6 (`dualstack` or `ipv6`)? Unknown counts as IPv4 only.
    pub(crate) fn carries_ipv6(&self) -> bool {
        self.ip_address_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dualstack") || t.eq_ignore_ascii_case("ipv6"))
    }

    /// An available S3 gateway endpoint of `region`.
    pub(crate) fn is_available_s3_gateway(&self, region: &str) -> bool {
        self.endpoint_type.eq_ignore_ascii_case("Gateway")
            && self.state.eq_ignore_ascii_case("available")
            && self.service_name == format!("com.amazonaws.{region}.s3")
    }
}

/// One route of a route table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Route {
    pub(crate) destination_cidr: Option<String>,
    pub(crate) destination_ipv6_cidr: Option<String>,
    pub(crate) destination_prefix_list: Option<String>,
    /// `igw-…`, `vpce-…`, `local`, …
    pub(crate) gateway_id: Option<String>,
    pub(crate) nat_gateway_id: Option<String>,
    /// `eigw-…`: an egress-only internet gateway (IPv6).
    #[serde(default)]
    pub(crate) egress_only_gateway_id: Option<String>,
}

/// A route table with its associations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub(crate) vpc_id: String,
    pub(crate) main: bool,
    pub(crate) subnet_ids: Vec<String>,
    pub(crate) routes: Vec<Route>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    /// The subnet's associated IPv6 CIDR blocks (none: an IPv4-only subnet).
    #[serde(default)]
    pub(crate) ipv6_cidrs: Vec<String>,
}

/// One egress rule of a security group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EgressRule {
    /// `-1` for all, `tcp`, `udp`, `6`, …
    pub(crate) protocol: String,
    pub(crate) from_port: Option<i32>,
    pub(crate) to_port: Option<i32>,
    pub(crate) cidrs: Vec<String>,
    pub(crate) ipv6_cidrs: Vec<String>,
    pub(crate) prefix_lists: Vec<String>,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub(crate) name: String,
    pub(crate) vpc_id: String,
    pub(crate) egress: Vec<EgressRule>,
}

/// A VPC and its DNS attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub(crate) dns_support: Option<bool>,
    pub dns_hostnames: Option<bool>,
}

/// Everything about the network of one region, read once per sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFacts {
    pub region: String,
    pub vpcs: Vec<Vpc>,
    pub endpoints: Vec<Endpoint>,
    pub route_tables: Vec<RouteTable>,
    pub subnets: Vec<Subnet>,
    pub security_groups: Vec<SecurityGroup>,
    /// The AWS-managed prefix list of `com.amazonaws.<region>.s3`.
    pub s3_prefix_list: Option<String>,
    /// Why the VPCs' DNS attributes are unknown, when the source cannot tell them (AWS
    /// Config's VPC items): `NET-DNS` is then not evaluated, and says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_unknown: Option<String>,
}

impl NetworkFacts {
    /// The available S3 gateway endpoints of this region.
    pub(crate) fn s3_gateways(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints
            .iter()
            .filter(|e| e.is_available_s3_gateway(&self.region))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::rules::bucket::acls_disabled_finding;
    use crate::rules::Status;

    #[test]
    fn object_ownership_reads_s3_spelling_and_only_enforced_disables_acls() {
        for (s, status) in [
            ("BucketOwnerEnforced", Status::Pass),
            ("BucketOwnerPreferred", Status::Fail),
            ("ObjectWriter", Status::Fail),
            // A value S3 might add: kept by name, judged as ACLs enabled (fail closed).
            ("SomethingNew", Status::Fail),
        ] {
            let o = ObjectOwnership::parse(s);
            assert_eq!(o.as_str(), s);
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<ObjectOwnership>(&json).unwrap(), o);
            assert_eq!(acls_disabled_finding(&Fact::Known(o)).status, status, "{s}");
        }
        assert_eq!(
            acls_disabled_finding(&Fact::NotConfigured).status,
            Status::Fail
        );
    }
}
