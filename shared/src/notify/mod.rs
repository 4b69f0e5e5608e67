//! The Slack notifier: findings, Config compliance changes and the stack's CloudWatch alarms in
//! (through SQS), one message per real change of state out. Pure parts: reading the notices
//! ([`Notice`]), deciding what is worth a message ([`decide`]), rendering Block Kit
//! ([`render`]); the I/O is behind ports: the last state sent per resource ([`StateStore`],
//! DynamoDB) and the webhook ([`webhook`]).

pub mod notifier;
pub(crate) mod render;
#[cfg(test)]
mod tests;
pub mod webhook;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{
    read_detail, AlarmStateChangeDetail, ComplianceChangeDetail, Envelope, FindingDetail,
    RouteUsageDetail, ALARM_DETAIL_TYPE, ALARM_SOURCE, CONFIG_COMPLIANCE_DETAIL_TYPE,
    FINDING_DETAIL_TYPE, ROUTE_USAGE_DETAIL_TYPE, S3_BUCKET,
};
use crate::ports::AwsError;
use crate::rules::{Compliance, RuleId};

/// The resource type of an alarm notice: the first half of its state key
/// (`AWS::CloudWatch::Alarm#<alarm name>`), as CloudFormation and Config name the type.
pub(crate) const ALARM_RESOURCE_TYPE: &str = "AWS::CloudWatch::Alarm";
/// The resource type of an endpoint-denial notice (as CloudFormation names it).
pub(crate) const ENDPOINT_RESOURCE_TYPE: &str = "AWS::EC2::VPCEndpoint";

/// An alarm's state, as CloudWatch reports it (`INSUFFICIENT_DATA` is not reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum AlarmState {
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "OK")]
    Ok,
}

impl AlarmState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
        }
    }
}

/// A CloudWatch alarm's change of state (EventBridge's `CloudWatch Alarm State Change`): the
/// stack's alarms on its dead-letter queues and on its functions' errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AlarmChange {
    pub(crate) alarm_name: String,
    /// The alarm's ARN (the event's `resources`), when given.
    pub(crate) alarm_arn: Option<String>,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) state: AlarmState,
    /// The previous state as CloudWatch wrote it (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
    pub(crate) previous: Option<String>,
    /// CloudWatch's reason for the new state ("Threshold Crossed: …").
    pub(crate) reason: Option<String>,
    /// When the alarm entered the new state.
    pub(crate) time: Option<String>,
    pub(crate) description: Option<String>,
    /// The metric's namespace and name (`AWS/SQS`, `ApproximateNumberOfMessagesVisible`).
    pub(crate) namespace: Option<String>,
    pub(crate) metric: Option<String>,
    /// The `QueueName` dimension: the queue the alarm watches.
    pub(crate) queue: Option<String>,
    /// The `FunctionName` dimension: the function the alarm watches.
    pub(crate) function: Option<String>,
}

impl AlarmChange {
    /// An alarm on an SQS queue's visible messages: the stack's dead-letter queue alarms.
    pub(crate) fn is_queue_alarm(&self) -> bool {
        self.queue.is_some() && self.namespace.as_deref().is_none_or(|n| n == "AWS/SQS")
    }

    /// The alarm as the notice's compliance: `ALARM` is an alert, `OK` a resolution.
    pub(crate) fn compliance(&self) -> Compliance {
        match self.state {
            AlarmState::Alarm => Compliance::NonCompliant,
            AlarmState::Ok => Compliance::Compliant,
        }
    }
}

/// A compliance change as AWS Config reports it (no rule ids: Config knows only the rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ComplianceChange {
    pub(crate) rule_name: String,
    pub(crate) resource_type: String,
    pub(crate) resource_id: String,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) compliance: Compliance,
    pub(crate) previous: Option<Compliance>,
    pub(crate) annotation: Option<String>,
    pub(crate) time: Option<String>,
}

/// What the notifier is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The change watcher's finding (failing rules known, the actor when CloudTrail said).
    Finding(Box<FindingDetail>),
    /// AWS Config's compliance change for one of the guard's rules.
    Compliance(ComplianceChange),
    /// A CloudWatch alarm of the stack changed state (`ALARM` or back to `OK`).
    Alarm(Box<AlarmChange>),
    /// Requests off the approved route, or refused by an endpoint policy, in one hour.
    RouteUsage(Box<RouteUsageDetail>),
}

impl Notice {
    /// The state key: resource type and resource id (an alarm's: `AWS::CloudWatch::Alarm#`
    /// and its name, unique in the account and region the stack's state table serves).
    /// A route-usage notice's key is its aggregate's (bucket, principal, source and hour):
    /// one message per aggregate and hour.
    pub(crate) fn key(&self) -> String {
        if let Notice::RouteUsage(r) = self {
            return r.key();
        }
        let (t, id) = self.resource();
        format!("{t}#{id}")
    }

    /// The compliance the notice stands for (an alarm: `ALARM` non-compliant, `OK` compliant).
    pub(crate) fn compliance(&self) -> Compliance {
        match self {
            Notice::Finding(f) => f.compliance,
            Notice::Compliance(c) => c.compliance,
            Notice::Alarm(a) => a.compliance(),
            Notice::RouteUsage(_) => Compliance::NonCompliant,
        }
    }

    /// The failing rules when the notice knows them (a finding), else `None`.
    pub(crate) fn failing(&self) -> Option<Vec<RuleId>> {
        match self {
            Notice::Finding(f) => Some(f.failing_rules()),
            Notice::Compliance(_) | Notice::Alarm(_) | Notice::RouteUsage(_) => None,
        }
    }

    pub(crate) fn resource(&self) -> (&str, &str) {
        match self {
            Notice::Finding(f) => (&f.resource_type, &f.resource),
            Notice::Compliance(c) => (&c.resource_type, &c.resource_id),
            Notice::Alarm(a) => (ALARM_RESOURCE_TYPE, &a.alarm_name),
            Notice::RouteUsage(r) => match r.as_ref() {
                RouteUsageDetail::UnapprovedRoute { bucket, .. } => (S3_BUCKET, bucket),
                RouteUsageDetail::EndpointPolicyDenied { denial, .. } => {
                    (ENDPOINT_RESOURCE_TYPE, &denial.vpc_endpoint_id)
                }
            },
        }
    }

    pub(crate) fn account(&self) -> &str {
        match self {
            Notice::Finding(f) => &f.account,
            Notice::Compliance(c) => &c.account,
            Notice::Alarm(a) => &a.account,
            Notice::RouteUsage(r) => r.account(),
        }
    }

    pub(crate) fn region(&self) -> &str {
        match self {
            Notice::Finding(f) => &f.region,
            Notice::Compliance(c) => &c.region,
            Notice::Alarm(a) => &a.region,
            Notice::RouteUsage(r) => r.region(),
        }
    }
}

/// Read an SQS message body: an EventBridge event. `Ok(None)`: an event the notifier does not
/// report (another rule's compliance change, `INSUFFICIENT_DATA`, an alarm's too); `Err`: not an
/// event of a known shape (the record fails, and the dead-letter queue keeps it after SQS's
/// retries).
pub(crate) fn parse_notice(body: &str, rule_names: &[String]) -> Result<Option<Notice>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let envelope: Envelope<Value> = Envelope::deserialize(&v)
        .map_err(|e| format!("the body is not an EventBridge event: {e}"))?;
    match envelope.detail_type.as_str() {
        FINDING_DETAIL_TYPE => {
            let f: FindingDetail = read_detail(FINDING_DETAIL_TYPE, &envelope.detail)?;
            Ok(Some(Notice::Finding(Box::new(f))))
        }
        CONFIG_COMPLIANCE_DETAIL_TYPE => compliance_change(envelope, rule_names),
        ALARM_DETAIL_TYPE => alarm_change(envelope),
        ROUTE_USAGE_DETAIL_TYPE => {
            let r: RouteUsageDetail = read_detail(ROUTE_USAGE_DETAIL_TYPE, &envelope.detail)?;
            Ok(Some(Notice::RouteUsage(Box::new(r))))
        }
        other => Err(format!(
            "detail-type `{other}` is not one the notifier takes"
        )),
    }
}

fn compliance_change(
    envelope: Envelope<Value>,
    rule_names: &[String],
) -> Result<Option<Notice>, String> {
    let d: ComplianceChangeDetail = read_detail(CONFIG_COMPLIANCE_DETAIL_TYPE, &envelope.detail)?;
    if !rule_names.is_empty() && !rule_names.contains(&d.config_rule_name) {
        return Ok(None);
    }
    let Some(compliance) = d.compliance() else {
        // INSUFFICIENT_DATA and the like: nothing to tell a human.
        return Ok(None);
    };
    let previous = d.previous();
    let new = d.new_evaluation_result.unwrap_or_default();
    Ok(Some(Notice::Compliance(ComplianceChange {
        rule_name: d.config_rule_name,
        resource_type: d.resource_type,
        resource_id: d.resource_id,
        account: d.aws_account_id.or(envelope.account).unwrap_or_default(),
        region: d.aws_region.or(envelope.region).unwrap_or_default(),
        compliance,
        previous,
        annotation: new.annotation,
        time: new.result_recorded_time.or(envelope.time),
    })))
}

/// An EventBridge `CloudWatch Alarm State Change` event (EventBridge reserves `aws.*` sources
/// to AWS, so the source is checked too).
fn alarm_change(envelope: Envelope<Value>) -> Result<Option<Notice>, String> {
    if envelope.source != ALARM_SOURCE {
        return Err(format!(
            "a `{ALARM_DETAIL_TYPE}` event from source {}, not {ALARM_SOURCE}",
            if envelope.source.is_empty() {
                "(none)"
            } else {
                &envelope.source
            }
        ));
    }
    let d: AlarmStateChangeDetail = read_detail(ALARM_DETAIL_TYPE, &envelope.detail)?;
    if d.alarm_name.is_empty() {
        return Err("the alarm state change names no alarm (detail.alarmName)".into());
    }
    let state_value = match d.state.value.as_str() {
        "ALARM" => AlarmState::Alarm,
        "OK" => AlarmState::Ok,
        // Not enough data says nothing about the queue or the function: no message.
        "INSUFFICIENT_DATA" => return Ok(None),
        other => return Err(format!("alarm state `{other}` is not one CloudWatch sends")),
    };
    let metric = d.metric();
    let dimension = |k: &str| {
        metric
            .and_then(|m| m.dimensions.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let alarm_arn = envelope
        .resources
        .iter()
        .find(|a| a.contains(":alarm:"))
        .cloned();
    let namespace = metric.and_then(|m| m.namespace.clone());
    let metric_name = metric.and_then(|m| m.name.clone());
    let description = d
        .configuration
        .as_ref()
        .and_then(|c| c.description.clone())
        .filter(|d| !d.is_empty());
    Ok(Some(Notice::Alarm(Box::new(AlarmChange {
        queue: dimension("QueueName"),
        function: dimension("FunctionName"),
        alarm_name: d.alarm_name,
        alarm_arn,
        account: envelope.account.unwrap_or_default(),
        region: envelope.region.unwrap_or_default(),
        state: state_value,
        previous: d.previous_state.map(|p| p.value),
        reason: d.state.reason,
        time: d.state.timestamp.or(envelope.time),
        description,
        namespace,
        metric: metric_name,
    }))))
}

/// The last state sent for a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentState {
    pub(crate) compliance: Compliance,
    /// The failing rules of the last message, when it knew them.
    pub(crate) failing: Option<Vec<RuleId>>,
    /// When DynamoDB may delete the item (epoch seconds); an item past it counts as absent.
    pub(crate) expires_at: i64,
    /// Bumped on every write: the condition of the next one.
    pub(crate) version: u64,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// Another invocation wrote first.
    Conflict,
}

/// Port: the last state sent per resource (DynamoDB, with conditional writes).
#[allow(async_fn_in_trait)]
pub trait StateStore {
    async fn get_state(&self, key: &str) -> Result<Option<SentState>, AwsError>;
    /// Write `new` if the stored version is still `expected` (`None`: no item yet).
    async fn put_state(
        &self,
        key: &str,
        new: &SentState,
        expected: Option<u64>,
    ) -> Result<Written, AwsError>;
}

/// What a change of state deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A non-compliant resource (first seen so, or failing other rules).
    Alert,
    /// Back to compliant (or no longer applicable) after a message said non-compliant.
    Resolved,
    /// Nothing a human needs; `true`: record the state anyway (new information).
    Quiet(bool),
}

/// The rule (docs/NOTIFICATIONS.md): one message per real change of state.
/// - a finding is not re-sent when its compliance and failing rules equal the last ones sent;
/// - a Config compliance change (no rule ids) is not re-sent when its compliance equals the
///   last one sent, whichever path saw the change first;
/// - a resource back to `COMPLIANT` (or `NOT_APPLICABLE`) after a non-compliant message gets a
///   short "resolved" message; a compliant resource never messaged before gets none.
pub(crate) fn decide(
    prev: Option<&SentState>,
    compliance: Compliance,
    failing: Option<&[RuleId]>,
    now: i64,
) -> Decision {
    let prev = prev.filter(|p| p.expires_at > now);
    match (prev, compliance) {
        (None, Compliance::NonCompliant) => Decision::Alert,
        (None, _) => Decision::Quiet(true),
        (Some(p), Compliance::NonCompliant) if p.compliance == Compliance::NonCompliant => {
            match (p.failing.as_deref(), failing) {
                (Some(before), Some(now)) if before != now => Decision::Alert,
                // The same rules, or one side does not know them: no news for a human; the
                // rules are recorded when newly known.
                (None, Some(_)) => Decision::Quiet(true),
                _ => Decision::Quiet(false),
            }
        }
        (Some(_), Compliance::NonCompliant) => Decision::Alert,
        (Some(p), _) if p.compliance == Compliance::NonCompliant => Decision::Resolved,
        (Some(p), c) => Decision::Quiet(p.compliance != c),
    }
}
