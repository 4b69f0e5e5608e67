//! The rule catalog: stable rule ids, findings, and the compliance and annotation derived from
//! them (RULES.md).

pub(crate) mod admission;
pub mod bucket;
pub mod guard;
pub mod mute;
testing_pub_mod!(network);
pub mod params;
pub(crate) mod questions;
pub(crate) mod region;
pub(crate) mod settings;

pub use params::{split_list, BucketParams, ParamError};

use serde::{Deserialize, Serialize};

/// The Config resource type of a bucket.
pub(crate) const S3_BUCKET: &str = "AWS::S3::Bucket";
/// The Config resource type of a VPC.
pub(crate) const EC2_VPC: &str = "AWS::EC2::VPC";

/// Which resource a rule judges, and so which Config rule reports it.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RuleResource {
    /// `AWS::S3::Bucket`, the bucket rule (`<RuleNamePrefix>-bucket`).
    Bucket,
    /// `AWS::EC2::VPC`, the network rule (`<RuleNamePrefix>-network`).
    Network,
}

/// A rule's entry in the registry.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuleSpec {
    /// The stable id (JSON, annotations, `DisabledRules`, SARIF and OCSF ids).
    pub(crate) id: &'static str,
    pub resource: RuleResource,
    /// How severe its FAIL is (docs/RULES.md, "Severity").
    pub(crate) severity: Severity,
    /// What it judges, in a line.
    pub(crate) judges: &'static str,
    /// When it is `NOT_APPLICABLE` (a disabled rule always is).
    pub(crate) not_applicable_when: &'static str,
}

/// The registry: each rule is one entry here — its variant, id, resource, the severity of its
/// FAIL, what it judges and when it does not apply — in catalog order. The enum, the lists `RuleId::ALL`, `BUCKET` and
/// `NETWORK`, `as_str`, `parse` and the serde form all come from it; the evaluations match on
/// `RuleId` exhaustively, so a new entry does not compile until it is evaluated
/// (docs/ARCHITECTURE.md, "Adding a rule").
macro_rules! rule_registry {
    ($($variant:ident => $id:literal, $resource:ident, $severity:ident, $judges:literal, $na:literal;)*) => {
        /// Every rule id, in catalog order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId {
            $(#[doc = $judges] $variant,)*
        }

        impl RuleId {
            /// Every rule, in catalog order.
            pub(crate) const ALL: [RuleId; [$(RuleId::$variant),*].len()] = [$(RuleId::$variant),*];

            /// The rule's registry entry.
            #[cfg_attr(feature = "testing", visibility::make(pub))]
            pub(crate) const fn spec(self) -> RuleSpec {
                match self {
                    $(RuleId::$variant => RuleSpec {
                        id: $id,
                        resource: RuleResource::$resource,
                        severity: Severity::$severity,
                        judges: $judges,
                        not_applicable_when: $na,
                    },)*
                }
            }
        }
    };
}

rule_registry! {
    S3VpceDeny => "S3-VPCE-DENY", Bucket, High,
        "every request from outside the approved network origins is explicitly denied",
        "disabled";
    S3VpceKnown => "S3-VPCE-KNOWN", Bucket, High,
        "no request through a non-approved endpoint is left undenied",
        "disabled";
    S3VpceReachable => "S3-VPCE-REACHABLE", Bucket, Medium,
        "a same-account role can still get and put objects through an approved endpoint",
        "disabled; check-policy without --approved-vpce";
    S3Tls => "S3-TLS", Bucket, Medium,
        "requests without TLS are denied",
        "disabled";
    S3SigV4 => "S3-SIGV4", Bucket, Low,
        "SigV2 and unsigned requests are denied",
        "disabled";
    S3TlsVersion => "S3-TLS-VERSION", Bucket, Low,
        "requests over TLS below RequireTlsVersion are denied",
        "disabled; RequireTlsVersion not set";
    S3NoPublicGrant => "S3-NO-PUBLIC-GRANT", Bucket, Critical,
        "no Allow statement grants everyone access from outside the approved origins",
        "disabled";
    S3PublicAccessBlock => "S3-PUBLIC-ACCESS-BLOCK", Bucket, High,
        "all four Block Public Access settings are on, at bucket or account level",
        "disabled; check-policy (no account facts)";
    S3AclsDisabled => "S3-ACLS-DISABLED", Bucket, Medium,
        "Object Ownership is BucketOwnerEnforced",
        "disabled; check-policy (no account facts)";
    S3GuardAccess => "S3-GUARD-ACCESS", Bucket, Medium,
        "the guard's roles and Config's recorder can read the bucket from outside the VPC",
        "disabled";
    NetS3Gateway => "NET-S3-GATEWAY", Network, Medium,
        "the VPC has an available S3 gateway endpoint",
        "disabled";
    NetEndpointPolicy => "NET-ENDPOINT-POLICY", Network, Medium,
        "the S3 endpoint's policy is not the default allow-all",
        "disabled; no gateway endpoint";
    NetRoutes => "NET-ROUTES", Network, Medium,
        "every subnet's route table sends S3 traffic through the gateway endpoint",
        "disabled; no gateway endpoint";
    NetDns => "NET-DNS", Network, Low,
        "the VPC's DNS support and DNS hostnames are on",
        "disabled";
    NetSgEgress => "NET-SG-EGRESS", Network, Low,
        "security groups let instances reach S3 through the endpoint's prefix list",
        "disabled; no gateway endpoint";
}

/// The rules of one resource, in catalog order, from the registry.
const fn count_of(resource: RuleResource) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < RuleId::ALL.len() {
        if RuleId::ALL[i].spec().resource as u8 == resource as u8 {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn rules_of<const N: usize>(resource: RuleResource) -> [RuleId; N] {
    let mut out = [RuleId::S3VpceDeny; N];
    let (mut i, mut n) = (0, 0);
    while i < RuleId::ALL.len() {
        if RuleId::ALL[i].spec().resource as u8 == resource as u8 {
            out[n] = RuleId::ALL[i];
            n += 1;
        }
        i += 1;
    }
    out
}

impl RuleId {
    /// The bucket rules, in the order findings are listed.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) const BUCKET: [RuleId; count_of(RuleResource::Bucket)] =
        rules_of(RuleResource::Bucket);

    /// The network rules (`AWS::EC2::VPC`), in the order findings are listed.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) const NETWORK: [RuleId; count_of(RuleResource::Network)] =
        rules_of(RuleResource::Network);

    pub const fn as_str(self) -> &'static str {
        self.spec().id
    }

    /// The severity of the rule's FAIL (docs/RULES.md, "Severity").
    pub const fn fail_severity(self) -> Severity {
        self.spec().severity
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RuleId::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown rule id `{s}`")))
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    NotApplicable,
}

/// How much a finding matters, in the words Security Hub (ASFF `Severity.Label`) and OCSF use.
/// A FAIL takes its rule's severity (the registry), a WARN is `LOW`, the rest `INFORMATIONAL`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    #[default]
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// OCSF `severity_id`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
    pub(crate) fn ocsf_id(self) -> u8 {
        self as u8 + 1
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One rule's finding about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub status: Status,
    pub reason: String,
    /// Principal classes whose requests from outside the approved network are not denied.
    pub exemptions: Vec<String>,
}

impl Finding {
    /// The finding's severity: its rule's when it FAILs, `LOW` when it WARNs, else
    /// `INFORMATIONAL`.
    pub(crate) fn severity(&self) -> Severity {
        match self.status {
            Status::Fail => self.rule.fail_severity(),
            Status::Warn => Severity::Low,
            Status::Pass | Status::NotApplicable => Severity::Informational,
        }
    }

    pub(crate) fn new(rule: RuleId, status: Status, reason: impl Into<String>) -> Self {
        Finding {
            rule,
            status,
            reason: reason.into(),
            exemptions: Vec::new(),
        }
    }

    /// A rule switched off with `DisabledRules` / `--skip-rule`.
    pub(crate) fn disabled(rule: RuleId) -> Self {
        Finding::new(rule, Status::NotApplicable, DISABLED_REASON)
    }
}

/// The reason of a rule switched off by configuration.
pub(crate) const DISABLED_REASON: &str = "disabled by configuration";

/// Replace the findings of disabled rules by `NOT_APPLICABLE` "disabled by configuration".
pub(crate) fn apply_disabled(findings: Vec<Finding>, disabled: &[RuleId]) -> Vec<Finding> {
    findings
        .into_iter()
        .map(|f| {
            if disabled.contains(&f.rule) {
                Finding::disabled(f.rule)
            } else {
                f
            }
        })
        .collect()
}

/// A resource's compliance as AWS Config spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    NotApplicable,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// Config's limit for an annotation.
pub const MAX_ANNOTATION_CHARS: usize = 256;

/// The evaluation of one resource: what `check-policy` prints and Config receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub resource: String,
    pub compliance: Compliance,
    /// At most 256 characters, failures first, then warnings; empty when nothing to say.
    pub annotation: String,
    pub findings: Vec<Finding>,
    /// Set when the resource is on the mute list: "muted: <reason> (until <date>)". Its
    /// findings stay as judged; its compliance is `NOT_APPLICABLE` (docs/RULES.md, "Muting").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
    /// Set when the only mute list entries for the resource have expired: "mute expired on
    /// <date>: <reason>" (it is judged as any other resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute_expired: Option<String>,
}

impl Evaluation {
    /// Derive compliance and annotation from findings.
    pub(crate) fn new(resource: impl Into<String>, findings: Vec<Finding>) -> Self {
        let compliance = compliance_of(&findings);
        let annotation = annotation_of(&findings);
        Evaluation {
            resource: resource.into(),
            compliance,
            annotation,
            findings,
            muted: None,
            mute_expired: None,
        }
    }

    /// The most severe of its findings (`INFORMATIONAL` when all pass).
    pub(crate) fn severity(&self) -> Severity {
        self.findings
            .iter()
            .map(Finding::severity)
            .max()
            .unwrap_or(Severity::Informational)
    }

    /// A resource that no longer exists or left the rule's scope.
    pub(crate) fn not_applicable(
        resource: impl Into<String>,
        rules: &[RuleId],
        reason: &str,
    ) -> Self {
        Evaluation {
            resource: resource.into(),
            compliance: Compliance::NotApplicable,
            annotation: truncate(reason, MAX_ANNOTATION_CHARS),
            findings: rules
                .iter()
                .map(|&r| Finding::new(r, Status::NotApplicable, reason))
                .collect(),
            muted: None,
            mute_expired: None,
        }
    }
}

/// `NON_COMPLIANT` when any rule FAILs, else `COMPLIANT`; WARNs never change compliance.
pub(crate) fn compliance_of(findings: &[Finding]) -> Compliance {
    if findings.iter().any(|f| f.status == Status::Fail) {
        Compliance::NonCompliant
    } else {
        Compliance::Compliant
    }
}

/// Failures first, then warnings, as `RULE: reason`, cut to 256 characters.
pub(crate) fn annotation_of(findings: &[Finding]) -> String {
    let mut parts = Vec::new();
    for wanted in [Status::Fail, Status::Warn] {
        for f in findings.iter().filter(|f| f.status == wanted) {
            parts.push(format!("{}: {}", f.rule, first_clause(&f.reason)));
        }
    }
    truncate(&parts.join("; "), MAX_ANNOTATION_CHARS)
}

/// The part of a reason before the first `; ` (the detail after it does not fit Config).
fn first_clause(reason: &str) -> &str {
    reason.split("; ").next().unwrap_or(reason)
}

/// Cut a string to at most `max` characters, marking the cut with `…`.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account mode: a shared VPC's endpoints are owned by the network account (`OwnerId`), so
    /// a deny that admits only that owner's endpoints leaves the bucket reachable.
    #[test]
    fn account_mode_takes_the_approved_endpoints_owner_from_owner_id() {
        use crate::facts::{AccountFacts, BucketFacts, BucketObservation, Endpoint, Fact};
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NetworkAccountOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringNotEqualsIfExists":{"aws:VpceAccount":"444455556666"}}}]}"#;
        let obs = BucketObservation::Exists(BucketFacts {
            name: "b".into(),
            region: "us-east-1".into(),
            policy: Fact::Known(policy.into()),
            public_access_block: Fact::NotConfigured,
            ownership: Fact::NotConfigured,
        });
        let account = AccountFacts {
            account_id: Some("111122223333".into()),
            public_access_block: Fact::NotConfigured,
        };
        let reachable = |owner: Option<&str>| {
            let endpoint = Endpoint {
                id: "vpce-1a2b3c4d".into(),
                vpc_id: "vpc-0a1b2c3d".into(),
                service_name: "com.amazonaws.us-east-1.s3".into(),
                endpoint_type: "Gateway".into(),
                state: "available".into(),
                policy: None,
                route_table_ids: Vec::new(),
                ip_address_type: None,
                owner_id: owner.map(str::to_string),
            };
            let view = region::RegionView::from_endpoints("us-east-1", &[endpoint]);
            let e =
                bucket::evaluate_bucket(&obs, &account, Ok(&view), &BucketParams::default(), 0.0);
            e.findings
                .iter()
                .find(|f| f.rule == RuleId::S3VpceReachable)
                .map(|f| f.status)
        };
        assert_eq!(reachable(Some("444455556666")), Some(Status::Pass));
        assert_eq!(
            reachable(None),
            Some(Status::Fail),
            "without OwnerId the bucket owner's"
        );
    }

    #[test]
    fn annotation_lists_failures_first_and_fits() {
        let findings = vec![
            Finding::new(RuleId::S3SigV4, Status::Warn, "sigv2 allowed"),
            Finding::new(RuleId::S3Tls, Status::Fail, "http allowed; detail"),
            Finding::new(RuleId::S3VpceDeny, Status::Pass, "ok"),
        ];
        let e = Evaluation::new("b", findings);
        assert_eq!(e.compliance, Compliance::NonCompliant);
        assert_eq!(
            e.annotation,
            "S3-TLS: http allowed; S3-SIGV4: sigv2 allowed"
        );
        let long = vec![Finding::new(RuleId::S3Tls, Status::Fail, "x".repeat(400))];
        let a = Evaluation::new("b", long).annotation;
        assert_eq!(a.chars().count(), MAX_ANNOTATION_CHARS);
        assert!(a.ends_with('…'));
        let ok = Evaluation::new("b", vec![Finding::new(RuleId::S3Tls, Status::Pass, "ok")]);
        assert_eq!(ok.annotation, "");
        assert_eq!(ok.compliance, Compliance::Compliant);
    }

    #[test]
    fn the_registry_gives_every_list_and_form() {
        assert_eq!(
            RuleId::ALL.len(),
            RuleId::BUCKET.len() + RuleId::NETWORK.len()
        );
        assert_eq!(RuleId::BUCKET[0], RuleId::S3VpceDeny);
        assert_eq!(RuleId::NETWORK[0], RuleId::NetS3Gateway);
        for r in RuleId::ALL {
            assert_eq!(RuleId::parse(r.as_str()), Some(r));
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, serde_json::json!(r.as_str()));
            assert_eq!(serde_json::from_value::<RuleId>(json).unwrap(), r);
            let prefix = match r.spec().resource {
                RuleResource::Bucket => "S3-",
                RuleResource::Network => "NET-",
            };
            assert!(r.as_str().starts_with(prefix), "{r}");
        }
        let ids: std::collections::BTreeSet<_> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(ids.len(), RuleId::ALL.len(), "an id written twice");
        assert!(serde_json::from_value::<RuleId>(serde_json::json!("S3-NOPE")).is_err());
    }

    #[test]
    fn json_shape_is_the_contract() {
        let e = Evaluation::new(
            "b",
            vec![Finding::new(RuleId::S3VpceDeny, Status::NotApplicable, "r")],
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"resource":"b","compliance":"COMPLIANT","annotation":"","findings":[{"rule":"S3-VPCE-DENY","status":"NOT_APPLICABLE","reason":"r","exemptions":[]}]})
        );
    }
}
