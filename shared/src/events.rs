//! The events vpce-guard publishes and consumes, each one Rust type in one place, written and
//! read through that type (never by string keys), with every `detail-type`, source and
//! resource type constant defined once:
//!
//! | event | `detail-type` | written by | read by |
//! |---|---|---|---|
//! | [`FindingDetail`] | [`FINDING_DETAIL_TYPE`] | change watcher | notifier, remediator |
//! | [`ComplianceChangeDetail`] | [`CONFIG_COMPLIANCE_DETAIL_TYPE`] | AWS Config | notifier, remediator |
//! | `remedy::apply::RemediationEvent` | [`REMEDIATION_DETAIL_TYPE`] | remediator | `vpce-guard rollback --from` |
//! | [`ManualRequest`] | (a direct invoke) | the SSM Automation document | remediator |
//! | [`AlarmStateChangeDetail`] | [`ALARM_DETAIL_TYPE`] | CloudWatch | notifier |
//!
//! The samples in `events/` are read back and written again through these types in the tests
//! (`shared/tests/event_samples.rs`), so a renamed field fails a test instead of turning every
//! event into "not for me".

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::{Compliance, Finding, RuleId, Status};

/// The `source` of every event vpce-guard publishes.
pub const SOURCE: &str = "vpce-guard";
/// A finding of the change watcher.
pub const FINDING_DETAIL_TYPE: &str = "vpce-guard Finding";
/// What the remediator did (or planned, or refused).
pub const REMEDIATION_DETAIL_TYPE: &str = "vpce-guard Remediation";
/// AWS Config's compliance change of a rule's evaluation (source `aws.config`).
pub const CONFIG_COMPLIANCE_DETAIL_TYPE: &str = "Config Rules Compliance Change";
/// CloudWatch's alarm state change (source [`ALARM_SOURCE`]).
pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
/// The source of CloudWatch's events.
pub const ALARM_SOURCE: &str = "aws.cloudwatch";
/// The Config resource types (defined with the rules, which judge them).
pub use crate::rules::{EC2_VPC, S3_BUCKET};

/// The call that caused a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub event_name: String,
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    pub actor_arn: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The detail of a `vpce-guard Finding` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingDetail {
    pub resource: String,
    pub resource_type: String,
    pub account: String,
    pub region: String,
    pub compliance: Compliance,
    pub annotation: String,
    pub findings: Vec<Finding>,
    pub trigger: Trigger,
    /// The statements a bucket policy lacks (`S3-VPCE-DENY`, `S3-TLS`), as the remediator
    /// would add them; absent when none is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Vec<Value>>,
}

impl FindingDetail {
    /// The rules that FAIL, in catalog order.
    pub fn failing_rules(&self) -> Vec<RuleId> {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| f.rule)
            .collect()
    }

    /// A non-compliant bucket: what the remediator acts on.
    pub fn is_noncompliant_bucket(&self) -> bool {
        self.resource_type == S3_BUCKET && self.compliance == Compliance::NonCompliant
    }
}

/// One side of a Config compliance change (`newEvaluationResult`, `oldEvaluationResult`):
/// the fields vpce-guard reads, and the rest kept as it came.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResultDetail {
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_recorded_time: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl EvaluationResultDetail {
    /// The compliance vpce-guard reports (`INSUFFICIENT_DATA` and unknown values: `None`).
    pub fn compliance(&self) -> Option<Compliance> {
        match self.compliance_type.as_deref()? {
            "COMPLIANT" => Some(Compliance::Compliant),
            "NON_COMPLIANT" => Some(Compliance::NonCompliant),
            "NOT_APPLICABLE" => Some(Compliance::NotApplicable),
            _ => None,
        }
    }
}

/// The detail of AWS Config's `Config Rules Compliance Change` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceChangeDetail {
    pub config_rule_name: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_evaluation_result: Option<EvaluationResultDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_evaluation_result: Option<EvaluationResultDetail>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ComplianceChangeDetail {
    /// The new compliance (`None`: `INSUFFICIENT_DATA` or absent).
    pub fn compliance(&self) -> Option<Compliance> {
        self.new_evaluation_result
            .as_ref()
            .and_then(EvaluationResultDetail::compliance)
    }

    /// The compliance before the change, when Config says.
    pub fn previous(&self) -> Option<Compliance> {
        self.old_evaluation_result
            .as_ref()
            .and_then(EvaluationResultDetail::compliance)
    }
}

/// One state of a CloudWatch alarm (`state`, `previousState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmStateDetail {
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A metric an alarm watches (`configuration.metrics[].metricStat.metric`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmMetric {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `QueueName`, `FunctionName`, … → value.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub dimensions: Map<String, Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `configuration.metrics[].metricStat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmMetricStat {
    #[serde(default)]
    pub metric: AlarmMetric,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `configuration.metrics[]` (a metric math alarm lists several; only `metricStat` ones name a
/// metric).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmMetricQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<AlarmMetricStat>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An alarm's `configuration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<AlarmMetricQuery>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The detail of CloudWatch's `CloudWatch Alarm State Change` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStateChangeDetail {
    pub alarm_name: String,
    pub state: AlarmStateDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<AlarmStateDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<AlarmConfiguration>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AlarmStateChangeDetail {
    /// The metric of a metric alarm: the first `metricStat` of its configuration (a composite
    /// alarm has none).
    pub fn metric(&self) -> Option<&AlarmMetric> {
        self.configuration
            .as_ref()?
            .metrics
            .iter()
            .find_map(|m| m.metric_stat.as_ref().map(|s| &s.metric))
    }
}

/// A manual remediation request: the SSM Automation document's payload (Config's "Remediate"
/// button), or a person's invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    pub bucket: String,
    /// `config-remediation` (Config's "Remediate" button).
    pub trigger: String,
}

/// An EventBridge event's envelope as SQS and Lambda receive it, around a typed detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<D> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail: D,
}

/// A detail read as its type, or an error that names the event and what is wrong.
pub(crate) fn read_detail<D: serde::de::DeserializeOwned>(
    detail_type: &str,
    detail: &Value,
) -> Result<D, String> {
    D::deserialize(detail).map_err(|e| format!("a `{detail_type}` event of an unknown shape: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_renamed_field_is_an_error_not_a_silent_skip() {
        let d = json!({"resource": "b", "resourceType": "AWS::S3::Bucket", "account": "1",
            "region": "r", "compliance": "NON_COMPLIANT", "annotation": "", "findings": [],
            "trigger": {"event_name": "PutBucketPolicy"}});
        let e = read_detail::<FindingDetail>(FINDING_DETAIL_TYPE, &d).unwrap_err();
        assert!(e.contains("resource_type"), "{e}");
    }

    #[test]
    fn compliance_of_a_change() {
        let d: ComplianceChangeDetail = serde_json::from_value(json!({
            "configRuleName": "vpce-guard-bucket", "resourceType": S3_BUCKET,
            "resourceId": "b", "newEvaluationResult": {"complianceType": "INSUFFICIENT_DATA"},
            "oldEvaluationResult": {"complianceType": "COMPLIANT"}}))
        .unwrap();
        assert_eq!(d.compliance(), None);
        assert_eq!(d.previous(), Some(Compliance::Compliant));
    }
}
