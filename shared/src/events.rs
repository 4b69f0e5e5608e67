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
//! | [`RouteUsageDetail`] | [`ROUTE_USAGE_DETAIL_TYPE`] | route-usage function | notifier |
//!
//! The samples in `events/` are read back and written again through these types in the tests
//! (`shared/tests/event_samples.rs`), so a renamed field fails a test instead of turning every
//! event into "not for me".

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::mute::MuteList;
use crate::rules::{Compliance, Finding, RuleId, Severity, Status};

/// The `source` of every event vpce-guard publishes.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const SOURCE: &str = "vpce-guard";
/// A finding of the change watcher.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const FINDING_DETAIL_TYPE: &str = "vpce-guard Finding";
/// What the remediator did (or planned, or refused).
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const REMEDIATION_DETAIL_TYPE: &str = "vpce-guard Remediation";
/// AWS Config's compliance change of a rule's evaluation (source `aws.config`).
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const CONFIG_COMPLIANCE_DETAIL_TYPE: &str = "Config Rules Compliance Change";
/// CloudWatch's alarm state change (source [`ALARM_SOURCE`]).
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
/// Requests that did not take an approved route, or that an endpoint policy refused.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const ROUTE_USAGE_DETAIL_TYPE: &str = "vpce-guard Route Usage";
/// The source of CloudWatch's events.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const ALARM_SOURCE: &str = "aws.cloudwatch";
/// The Config resource types (defined with the rules, which judge them).
pub(crate) use crate::rules::S3_BUCKET;
use crate::usage::{hour, EndpointDenial, RouteFinding};

/// The call that caused a finding.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Trigger {
    pub(crate) event_name: String,
    pub(crate) event_id: Option<String>,
    pub(crate) event_time: Option<String>,
    pub(crate) actor_arn: Option<String>,
    pub(crate) source_ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

/// The version of the `vpce-guard Finding` detail's shape (docs/NOTIFICATIONS.md): a field
/// added keeps it, a field changed or removed raises it.
pub(crate) const FINDING_SCHEMA_VERSION: &str = "1.1";

/// The stable id of a resource's finding (`rule`: of one rule's, as Security Hub keeps them):
/// `vpce-guard/<account>/<region>/<s3-bucket|ec2-vpc>/<resource>[/<RULE>]`.
pub(crate) fn finding_id(
    account: &str,
    region: &str,
    resource_type: &str,
    resource: &str,
    rule: Option<RuleId>,
) -> String {
    let kind = match resource_type {
        S3_BUCKET => "s3-bucket".to_string(),
        "AWS::EC2::VPC" => "ec2-vpc".to_string(),
        other => other.to_ascii_lowercase().replace("::", "-"),
    };
    let mut id = format!("{SOURCE}/{account}/{region}/{kind}/{resource}");
    if let Some(r) = rule {
        id.push('/');
        id.push_str(r.as_str());
    }
    id
}

/// The detail of a `vpce-guard Finding` event.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FindingDetail {
    /// [`FINDING_SCHEMA_VERSION`] (absent in events of vpce-guard before 1.1).
    #[serde(default)]
    pub(crate) schema_version: String,
    /// [`finding_id`] of the resource: the same for every event about it.
    #[serde(default)]
    pub(crate) finding_id: String,
    /// The most severe of its findings (docs/RULES.md, "Severity").
    #[serde(default)]
    pub(crate) severity: Severity,
    pub(crate) resource: String,
    pub(crate) resource_type: String,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) compliance: Compliance,
    pub(crate) annotation: String,
    pub(crate) findings: Vec<Finding>,
    pub(crate) trigger: Trigger,
    /// The statements a bucket policy lacks (`S3-VPCE-DENY`, `S3-TLS`), as the remediator
    /// would add them; absent when none is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<Vec<Value>>,
    /// The resource is on the mute list: "muted: <reason> (until <date>)"; its compliance is
    /// then `NOT_APPLICABLE` (no alert, no remediation) and there is no `fix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) muted: Option<String>,
    /// Its mute list entries have all expired: "mute expired on <date>: <reason>".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mute_expired: Option<String>,
}

impl FindingDetail {
    /// Apply the mute list (`rules::mute`), as the Config rules do.
    pub(crate) fn apply_mutes(&mut self, list: &MuteList, now: f64) {
        if let Some(m) = list.verdict(&self.resource, &self.annotation, now) {
            if m.muted.is_some() {
                self.compliance = Compliance::NotApplicable;
                self.fix = None;
            }
            self.annotation = m.annotation;
            self.muted = m.muted;
            self.mute_expired = m.expired;
        }
    }

    /// The rules that FAIL, in catalog order.
    pub(crate) fn failing_rules(&self) -> Vec<RuleId> {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| f.rule)
            .collect()
    }

    /// A non-compliant bucket: what the remediator acts on.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn is_noncompliant_bucket(&self) -> bool {
        self.resource_type == S3_BUCKET && self.compliance == Compliance::NonCompliant
    }
}

/// The detail of a `vpce-guard Route Usage` event: one aggregate of the route-usage analysis
/// (per bucket, principal, source and hour; or per endpoint, principal account and hour), with
/// the fields of `route-usage --format json` (docs/ROUTE-USAGE.md).
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum RouteUsageDetail {
    /// Requests to a guarded bucket that did not come through an approved endpoint.
    UnapprovedRoute {
        account: String,
        region: String,
        bucket: String,
        #[serde(flatten)]
        finding: RouteFinding,
    },
    /// Requests through one of the account's endpoints that its policy refused.
    EndpointPolicyDenied {
        account: String,
        region: String,
        #[serde(flatten)]
        denial: EndpointDenial,
    },
}

impl RouteUsageDetail {
    /// The aggregate's identity, hour included: the notifier sends one message per key.
    pub(crate) fn key(&self) -> String {
        match self {
            RouteUsageDetail::UnapprovedRoute {
                account,
                bucket,
                finding,
                ..
            } => format!(
                "route-usage#{account}#{bucket}#{}#{}#{}",
                finding.principal,
                finding.source_ip,
                hour(&finding.first_seen)
            ),
            RouteUsageDetail::EndpointPolicyDenied {
                account, denial, ..
            } => format!(
                "endpoint-denial#{account}#{}#{}#{}#{}",
                denial.vpc_endpoint_id,
                denial.principal_account,
                denial.bucket.as_deref().unwrap_or("-"),
                hour(&denial.first_seen)
            ),
        }
    }

    pub(crate) fn account(&self) -> &str {
        match self {
            RouteUsageDetail::UnapprovedRoute { account, .. }
            | RouteUsageDetail::EndpointPolicyDenied { account, .. } => account,
        }
    }

    pub(crate) fn region(&self) -> &str {
        match self {
            RouteUsageDetail::UnapprovedRoute { region, .. }
            | RouteUsageDetail::EndpointPolicyDenied { region, .. } => region,
        }
    }
}

/// One side of a Config compliance change (`newEvaluationResult`, `oldEvaluationResult`):
/// the fields vpce-guard reads, and the rest kept as it came.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvaluationResultDetail {
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) compliance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) annotation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result_recorded_time: Option<String>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl EvaluationResultDetail {
    /// The compliance vpce-guard reports (`INSUFFICIENT_DATA` and unknown values: `None`).
    pub(crate) fn compliance(&self) -> Option<Compliance> {
        match self.compliance_type.as_deref()? {
            "COMPLIANT" => Some(Compliance::Compliant),
            "NON_COMPLIANT" => Some(Compliance::NonCompliant),
            "NOT_APPLICABLE" => Some(Compliance::NotApplicable),
            _ => None,
        }
    }
}

/// The detail of AWS Config's `Config Rules Compliance Change` event.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ComplianceChangeDetail {
    pub config_rule_name: String,
    pub(crate) resource_type: String,
    pub(crate) resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) aws_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) aws_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) new_evaluation_result: Option<EvaluationResultDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) old_evaluation_result: Option<EvaluationResultDetail>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl ComplianceChangeDetail {
    /// The new compliance (`None`: `INSUFFICIENT_DATA` or absent).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn compliance(&self) -> Option<Compliance> {
        self.new_evaluation_result
            .as_ref()
            .and_then(EvaluationResultDetail::compliance)
    }

    /// The compliance before the change, when Config says.
    pub(crate) fn previous(&self) -> Option<Compliance> {
        self.old_evaluation_result
            .as_ref()
            .and_then(EvaluationResultDetail::compliance)
    }
}

/// One state of a CloudWatch alarm (`state`, `previousState`).
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlarmStateDetail {
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timestamp: Option<String>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// A metric an alarm watches (`configuration.metrics[].metricStat.metric`).
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlarmMetric {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// `QueueName`, `FunctionName`, … → value.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub dimensions: Map<String, Value>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// `configuration.metrics[].metricStat`.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlarmMetricStat {
    #[serde(default)]
    pub(crate) metric: AlarmMetric,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// `configuration.metrics[]` (a metric math alarm lists several; only `metricStat` ones name a
/// metric).
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlarmMetricQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metric_stat: Option<AlarmMetricStat>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// An alarm's `configuration`.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlarmConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) metrics: Vec<AlarmMetricQuery>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// The detail of CloudWatch's `CloudWatch Alarm State Change` event.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlarmStateChangeDetail {
    pub(crate) alarm_name: String,
    pub state: AlarmStateDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous_state: Option<AlarmStateDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) configuration: Option<AlarmConfiguration>,
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

impl AlarmStateChangeDetail {
    /// The metric of a metric alarm: the first `metricStat` of its configuration (a composite
    /// alarm has none).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn metric(&self) -> Option<&AlarmMetric> {
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
    pub(crate) bucket: String,
    /// `config-remediation` (Config's "Remediate" button).
    pub trigger: String,
}

/// An EventBridge event's envelope as SQS and Lambda receive it, around a typed detail.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Envelope<D> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// Empty when the event names none (the alarm's check reports it).
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
    #[serde(default)]
    pub(crate) resources: Vec<String>,
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
