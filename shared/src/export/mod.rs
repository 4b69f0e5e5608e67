//! Findings in the formats other tools ingest: OCSF Compliance Findings (`scan --format ocsf`,
//! `check-policy --format ocsf`) and ASFF findings kept in step in Security Hub (the Config
//! rules, `securityhub`). The formats are pure: an evaluation and where its resource lives in,
//! findings out.

pub mod asff;
pub mod ocsf;
pub mod securityhub;

use crate::events::{finding_id, S3_BUCKET};
use crate::policy::values::Partition;
use crate::rules::{Evaluation, RuleId};

/// The resource an evaluation judged, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<'a> {
    pub(crate) evaluation: &'a Evaluation,
    /// `AWS::S3::Bucket` or `AWS::EC2::VPC`.
    pub(crate) resource_type: &'static str,
    /// Unknown for `check-policy` without `--account-id`.
    pub(crate) account: Option<&'a str>,
    /// Unknown for `check-policy`.
    pub(crate) region: Option<&'a str>,
    /// The partition when there is no region to tell it (`check-policy --partition`).
    pub(crate) partition: Option<Partition>,
}

impl Located<'_> {
    fn partition(&self) -> Partition {
        self.partition
            .or_else(|| self.region.map(Partition::of_region))
            .unwrap_or_default()
    }

    /// The resource's ARN (a VPC's needs its account and region; without them, its id).
    pub(crate) fn arn(&self) -> String {
        let name = &self.evaluation.resource;
        if self.resource_type == S3_BUCKET {
            return format!("arn:{}:s3:::{name}", self.partition());
        }
        match (self.account, self.region) {
            (Some(a), Some(r)) => format!("arn:{}:ec2:{r}:{a}:vpc/{name}", self.partition()),
            _ => name.clone(),
        }
    }

    /// The stable id of one rule's finding on this resource (unknown account and region
    /// spelled `unknown`).
    pub(crate) fn finding_uid(&self, rule: RuleId) -> String {
        finding_id(
            self.account.unwrap_or("unknown"),
            self.region.unwrap_or("unknown"),
            self.resource_type,
            &self.evaluation.resource,
            Some(rule),
        )
    }
}

/// What to do about a failing or warning rule, in a sentence (the reason says what is wrong;
/// docs/RULES.md has the rule in full).
pub(crate) fn remediation(rule: RuleId) -> &'static str {
    match rule {
        RuleId::S3VpceDeny => "Add a Deny statement for every request whose aws:SourceVpce is not one of the account's S3 endpoints (vpce-guard remediate writes it, merged into the policy).",
        RuleId::S3VpceKnown => "Name only the account's own available S3 endpoints in the aws:SourceVpce deny; remove unknown or foreign endpoint ids.",
        RuleId::S3VpceReachable => "Make sure a same-account role can still reach the bucket through an approved endpoint: narrow the Deny so that it spares the approved endpoints.",
        RuleId::S3Tls => "Deny every request with aws:SecureTransport false.",
        RuleId::S3SigV4 => "Deny requests whose s3:signatureversion is not AWS4-HMAC-SHA256.",
        RuleId::S3TlsVersion => "Deny requests with s3:TlsVersion below the required version.",
        RuleId::S3NoPublicGrant => "Remove or condition the Allow statement that grants everyone access from outside the approved network.",
        RuleId::S3PublicAccessBlock => "Turn on all four Block Public Access settings, on the bucket or the account.",
        RuleId::S3AclsDisabled => "Set Object Ownership to BucketOwnerEnforced (ACLs disabled).",
        RuleId::S3GuardAccess => "Exempt the guard's roles and AWS Config's recorder from the network deny for the read-only configuration calls.",
        RuleId::NetS3Gateway => "Create an S3 gateway endpoint in the VPC and associate it with every route table its subnets use.",
        RuleId::NetEndpointPolicy => "Replace the endpoint's default allow-all policy with one that admits only the organization's principals and buckets.",
        RuleId::NetRoutes => "Associate the S3 gateway endpoint with every route table the VPC's subnets use.",
        RuleId::NetDns => "Turn on enableDnsSupport and enableDnsHostnames on the VPC.",
        RuleId::NetSgEgress => "Allow HTTPS egress to the S3 prefix list in every security group of the VPC.",
    }
}

/// Where the rule is documented, from the repository's root.
pub(crate) fn rule_doc(rule: RuleId) -> String {
    format!("docs/RULES.md#{}", rule.as_str().to_ascii_lowercase())
}
