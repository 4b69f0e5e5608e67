//! AWS Security Finding Format (ASFF) findings for Security Hub: one per resource and failing
//! or warning rule, imported with `BatchImportFindings` into the account's own product
//! (`product/<account>/default`), and re-imported `PASSED` and `ARCHIVED` when the rule passes
//! again (docs/SECURITY-HUB.md).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{remediation, rule_doc, Located};
use crate::rules::{Finding, RuleId, Status};

/// The ASFF version.
pub(crate) const SCHEMA_VERSION: &str = "2018-10-08";
/// Every vpce-guard finding's `GeneratorId` starts so; the rule id follows.
pub(crate) const GENERATOR_PREFIX: &str = "vpce-guard/";
/// ASFF's type of every finding (namespace/category/classifier).
pub(crate) const FINDING_TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/S3 network perimeter";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Severity {
    pub(crate) label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Recommendation {
    pub(crate) text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Remediation {
    pub(crate) recommendation: Recommendation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Resource {
    /// `AwsS3Bucket` or `AwsEc2Vpc`.
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    /// The ARN.
    pub(crate) id: String,
    pub(crate) partition: String,
    pub(crate) region: String,
}

/// What the provider says of severity and types: Security Hub takes updates of these from
/// here, not from the top-level fields (which it keeps from the first import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProviderFields {
    pub(crate) severity: Severity,
    pub(crate) types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ComplianceState {
    /// `PASSED`, `WARNING` or `FAILED`.
    pub(crate) status: String,
}

/// One ASFF finding, with the fields vpce-guard sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub(crate) schema_version: String,
    pub(crate) id: String,
    pub(crate) product_arn: String,
    pub(crate) generator_id: String,
    pub(crate) aws_account_id: String,
    pub(crate) region: String,
    pub(crate) types: Vec<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) severity: Severity,
    pub(crate) finding_provider_fields: ProviderFields,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) remediation: Remediation,
    pub(crate) product_fields: BTreeMap<String, String>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) compliance: ComplianceState,
    /// `ACTIVE`, or `ARCHIVED` once the rule passes again.
    pub(crate) record_state: String,
}

/// The account's own product ARN, where custom findings go.
pub(crate) fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// ASFF's resource type for a Config resource type.
fn resource_kind(resource_type: &str) -> &'static str {
    if resource_type == crate::rules::S3_BUCKET {
        "AwsS3Bucket"
    } else {
        "AwsEc2Vpc"
    }
}

fn cut(s: &str, max: usize) -> String {
    crate::rules::truncate(s, max)
}

/// The finding for one rule of one located resource; `resolved`: the rule passes again (or no
/// longer applies), re-imported `PASSED` and `ARCHIVED`. `None` without an account or region
/// (Security Hub needs both).
pub(crate) fn finding(
    r: &Located<'_>,
    f: &Finding,
    resolved: bool,
    now_rfc3339: &str,
) -> Option<AsffFinding> {
    let (account, region) = (r.account?, r.region?);
    let partition = r.partition().as_str();
    let status = match (resolved, f.status) {
        (true, _) | (false, Status::Pass | Status::NotApplicable) => "PASSED",
        (false, Status::Warn) => "WARNING",
        (false, Status::Fail) => "FAILED",
    };
    let severity = if resolved {
        crate::rules::Severity::Informational
    } else {
        f.severity()
    };
    let mut fields = BTreeMap::new();
    fields.insert("vpce-guard/RuleId".to_string(), f.rule.as_str().to_string());
    fields.insert(
        "vpce-guard/ResourceCompliance".to_string(),
        r.evaluation.compliance.as_str().to_string(),
    );
    if let Some(m) = &r.evaluation.muted {
        fields.insert("vpce-guard/Muted".to_string(), cut(m, 1024));
    }
    Some(AsffFinding {
        schema_version: SCHEMA_VERSION.into(),
        id: r.finding_uid(f.rule),
        product_arn: product_arn(partition, region, account),
        generator_id: format!("{GENERATOR_PREFIX}{}", f.rule.as_str()),
        aws_account_id: account.to_string(),
        region: region.to_string(),
        types: vec![FINDING_TYPE.to_string()],
        created_at: now_rfc3339.to_string(),
        updated_at: now_rfc3339.to_string(),
        severity: Severity {
            label: severity.as_str().to_string(),
        },
        finding_provider_fields: ProviderFields {
            severity: Severity {
                label: severity.as_str().to_string(),
            },
            types: vec![FINDING_TYPE.to_string()],
        },
        title: cut(
            &format!("{}: {}", f.rule.as_str(), f.rule.spec().judges),
            256,
        ),
        description: cut(&f.reason, 1024),
        remediation: Remediation {
            recommendation: Recommendation {
                text: cut(
                    &format!(
                        "{} See {} in vpce-guard.",
                        remediation(f.rule),
                        rule_doc(f.rule)
                    ),
                    512,
                ),
            },
        },
        product_fields: fields,
        resources: vec![Resource {
            kind: resource_kind(r.resource_type).to_string(),
            id: r.arn(),
            partition: partition.to_string(),
            region: region.to_string(),
        }],
        compliance: ComplianceState {
            status: status.into(),
        },
        record_state: if resolved { "ARCHIVED" } else { "ACTIVE" }.into(),
    })
}

/// The rule of one of vpce-guard's findings, from its `GeneratorId`.
pub(crate) fn rule_of(generator_id: &str) -> Option<RuleId> {
    RuleId::parse(generator_id.strip_prefix(GENERATOR_PREFIX)?)
}
