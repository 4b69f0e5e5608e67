//! The rule catalog: stable rule ids, findings, and the compliance and annotation derived from
//! them (RULES.md).

pub mod bucket;
pub mod guard;
pub mod network;
pub mod params;

pub use params::{split_list, BucketParams, ParamError};

use serde::{Deserialize, Serialize};

/// Every rule id, in catalog order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleId {
    #[serde(rename = "S3-VPCE-DENY")]
    S3VpceDeny,
    #[serde(rename = "S3-VPCE-KNOWN")]
    S3VpceKnown,
    #[serde(rename = "S3-VPCE-REACHABLE")]
    S3VpceReachable,
    #[serde(rename = "S3-TLS")]
    S3Tls,
    #[serde(rename = "S3-SIGV4")]
    S3SigV4,
    #[serde(rename = "S3-TLS-VERSION")]
    S3TlsVersion,
    #[serde(rename = "S3-NO-PUBLIC-GRANT")]
    S3NoPublicGrant,
    #[serde(rename = "S3-PUBLIC-ACCESS-BLOCK")]
    S3PublicAccessBlock,
    #[serde(rename = "S3-ACLS-DISABLED")]
    S3AclsDisabled,
    #[serde(rename = "S3-GUARD-ACCESS")]
    S3GuardAccess,
    #[serde(rename = "NET-S3-GATEWAY")]
    NetS3Gateway,
    #[serde(rename = "NET-ENDPOINT-POLICY")]
    NetEndpointPolicy,
    #[serde(rename = "NET-ROUTES")]
    NetRoutes,
    #[serde(rename = "NET-DNS")]
    NetDns,
    #[serde(rename = "NET-SG-EGRESS")]
    NetSgEgress,
}

impl RuleId {
    /// The bucket rules, in the order findings are listed.
    pub const BUCKET: [RuleId; 10] = [
        RuleId::S3VpceDeny,
        RuleId::S3VpceKnown,
        RuleId::S3VpceReachable,
        RuleId::S3Tls,
        RuleId::S3SigV4,
        RuleId::S3TlsVersion,
        RuleId::S3NoPublicGrant,
        RuleId::S3PublicAccessBlock,
        RuleId::S3AclsDisabled,
        RuleId::S3GuardAccess,
    ];

    /// The network rules (`AWS::EC2::VPC`), in the order findings are listed.
    pub const NETWORK: [RuleId; 5] = [
        RuleId::NetS3Gateway,
        RuleId::NetEndpointPolicy,
        RuleId::NetRoutes,
        RuleId::NetDns,
        RuleId::NetSgEgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::S3VpceDeny => "S3-VPCE-DENY",
            RuleId::S3VpceKnown => "S3-VPCE-KNOWN",
            RuleId::S3VpceReachable => "S3-VPCE-REACHABLE",
            RuleId::S3Tls => "S3-TLS",
            RuleId::S3SigV4 => "S3-SIGV4",
            RuleId::S3TlsVersion => "S3-TLS-VERSION",
            RuleId::S3NoPublicGrant => "S3-NO-PUBLIC-GRANT",
            RuleId::S3PublicAccessBlock => "S3-PUBLIC-ACCESS-BLOCK",
            RuleId::S3AclsDisabled => "S3-ACLS-DISABLED",
            RuleId::S3GuardAccess => "S3-GUARD-ACCESS",
            RuleId::NetS3Gateway => "NET-S3-GATEWAY",
            RuleId::NetEndpointPolicy => "NET-ENDPOINT-POLICY",
            RuleId::NetRoutes => "NET-ROUTES",
            RuleId::NetDns => "NET-DNS",
            RuleId::NetSgEgress => "NET-SG-EGRESS",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::BUCKET
            .into_iter()
            .chain(RuleId::NETWORK)
            .find(|r| r.as_str() == s)
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
    pub fn new(rule: RuleId, status: Status, reason: impl Into<String>) -> Self {
        Finding {
            rule,
            status,
            reason: reason.into(),
            exemptions: Vec::new(),
        }
    }

    /// A rule switched off with `DisabledRules` / `--skip-rule`.
    pub fn disabled(rule: RuleId) -> Self {
        Finding::new(rule, Status::NotApplicable, DISABLED_REASON)
    }
}

/// The reason of a rule switched off by configuration.
pub const DISABLED_REASON: &str = "disabled by configuration";

/// Replace the findings of disabled rules by `NOT_APPLICABLE` "disabled by configuration".
pub fn apply_disabled(findings: Vec<Finding>, disabled: &[RuleId]) -> Vec<Finding> {
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
}

impl Evaluation {
    /// Derive compliance and annotation from findings.
    pub fn new(resource: impl Into<String>, findings: Vec<Finding>) -> Self {
        let compliance = compliance_of(&findings);
        let annotation = annotation_of(&findings);
        Evaluation {
            resource: resource.into(),
            compliance,
            annotation,
            findings,
        }
    }

    /// A resource that no longer exists or left the rule's scope.
    pub fn not_applicable(resource: impl Into<String>, rules: &[RuleId], reason: &str) -> Self {
        Evaluation {
            resource: resource.into(),
            compliance: Compliance::NotApplicable,
            annotation: truncate(reason, MAX_ANNOTATION_CHARS),
            findings: rules
                .iter()
                .map(|&r| Finding::new(r, Status::NotApplicable, reason))
                .collect(),
        }
    }
}

/// `NON_COMPLIANT` when any rule FAILs, else `COMPLIANT`; WARNs never change compliance.
pub fn compliance_of(findings: &[Finding]) -> Compliance {
    if findings.iter().any(|f| f.status == Status::Fail) {
        Compliance::NonCompliant
    } else {
        Compliance::Compliant
    }
}

/// Failures first, then warnings, as `RULE: reason`, cut to 256 characters.
pub fn annotation_of(findings: &[Finding]) -> String {
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
pub fn truncate(s: &str, max: usize) -> String {
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
