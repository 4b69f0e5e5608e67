//! The event AWS Config sends a custom rule's function, typed: the envelope, and inside it the
//! invoking event and the rule parameters (JSON strings), parsed once when the event is
//! deserialized.

use serde::{Deserialize, Deserializer};

use crate::rules::BucketParams;

use super::item::{parse_time, ConfigItem, RawItem};
use super::types::{ResourceType, Timestamp};
use super::{parse_rule_parameters, EventError};

/// What a function receives: `LambdaEvent<ConfigRuleEvent>`. An envelope that deserializes but
/// whose content is unusable (no invoking event, an unknown message type, a date that is not a
/// date, an invalid rule parameter) is kept as the error, so that the invocation fails with a
/// message that names the field (and `errorType` `VpceGuard.InvalidEvent` or
/// `VpceGuard.InvalidParameter`) instead of the runtime's generic deserialization error.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRuleEvent(Result<RuleEvent, EventError>);

impl ConfigRuleEvent {
    /// The parsed event, or why it is unusable.
    pub(crate) fn rule_event(&self) -> Result<&RuleEvent, EventError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

impl<'de> Deserialize<'de> for ConfigRuleEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let envelope = Envelope::deserialize(d)?;
        Ok(ConfigRuleEvent(RuleEvent::from_envelope(envelope)))
    }
}

/// The envelope: every field optional (a missing one is reported by name, not by serde).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Envelope {
    invoking_event: Option<String>,
    rule_parameters: Option<String>,
    result_token: Option<String>,
    event_left_scope: Option<bool>,
    config_rule_name: Option<String>,
    account_id: Option<String>,
}

/// The invoking event (a JSON string in the envelope): the fields of every message type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawInvoking {
    message_type: Option<String>,
    configuration_item: Option<RawItem>,
    configuration_item_summary: Option<RawItem>,
    notification_creation_time: Option<String>,
}

/// Config's notification types (`messageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationType {
    Change,
    Oversized,
    Scheduled,
}

impl NotificationType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NotificationType::Change => "ConfigurationItemChangeNotification",
            NotificationType::Oversized => "OversizedConfigurationItemChangeNotification",
            NotificationType::Scheduled => "ScheduledNotification",
        }
    }
}

/// What invoked the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Change {
        item: Box<ConfigItem>,
    },
    /// The item was too large for the notification: its summary.
    Oversized {
        resource_type: ResourceType,
        resource_id: String,
        region: Option<String>,
        capture_time: Option<Timestamp>,
    },
    Scheduled {
        notification_time: Option<Timestamp>,
    },
}

impl Invocation {
    pub(crate) fn notification_type(&self) -> NotificationType {
        match self {
            Invocation::Change { .. } => NotificationType::Change,
            Invocation::Oversized { .. } => NotificationType::Oversized,
            Invocation::Scheduled { .. } => NotificationType::Scheduled,
        }
    }
}

/// A parsed rule event.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    pub(crate) invocation: Invocation,
    pub(crate) event_left_scope: bool,
    pub(crate) result_token: String,
    pub(crate) rule_name: Option<String>,
    /// The envelope's `accountId`.
    pub(crate) account_id: Option<String>,
    pub(crate) params: BucketParams,
}

impl RuleEvent {
    /// `TestMode` when the token is `TESTMODE` (Config's console and test invocations).
    pub(crate) fn test_mode(&self) -> bool {
        self.result_token == "TESTMODE"
    }

    fn from_envelope(ev: Envelope) -> Result<RuleEvent, EventError> {
        let invoking = ev
            .invoking_event
            .as_deref()
            .ok_or(EventError::NoInvokingEvent)?;
        let inv: RawInvoking = serde_json::from_str(invoking)
            .map_err(|e| EventError::InvokingEventJson(e.to_string()))?;
        let message_type = inv.message_type.unwrap_or_default();
        let invocation = match message_type.as_str() {
            "ConfigurationItemChangeNotification" => Invocation::Change {
                item: Box::new(
                    inv.configuration_item
                        .ok_or(EventError::MissingField("configurationItem"))?
                        .into_item()?,
                ),
            },
            "OversizedConfigurationItemChangeNotification" => {
                let s = inv
                    .configuration_item_summary
                    .ok_or(EventError::MissingField("configurationItemSummary"))?;
                Invocation::Oversized {
                    resource_type: s.resource_type()?,
                    resource_id: s.resource_id()?,
                    region: s.region(),
                    capture_time: s.capture_time()?,
                }
            }
            "ScheduledNotification" => Invocation::Scheduled {
                notification_time: parse_time(
                    "notificationCreationTime",
                    inv.notification_creation_time.as_deref(),
                )?,
            },
            other => return Err(EventError::UnsupportedMessageType(other.to_string())),
        };
        Ok(RuleEvent {
            invocation,
            event_left_scope: ev.event_left_scope.unwrap_or(false),
            result_token: ev.result_token.unwrap_or_default(),
            rule_name: ev.config_rule_name,
            account_id: ev.account_id.filter(|a| !a.is_empty()),
            params: parse_rule_parameters(ev.rule_parameters.as_deref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(invoking: serde_json::Value, params: &str) -> serde_json::Value {
        serde_json::json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": params,
            "resultToken": "token",
            "eventLeftScope": false,
            "configRuleName": "rule",
            "accountId": "123456789012"
        })
    }

    fn parse(v: serde_json::Value) -> Result<RuleEvent, EventError> {
        let ev: ConfigRuleEvent = serde_json::from_value(v).unwrap();
        ev.rule_event().cloned()
    }

    #[test]
    fn each_message_type_parses_once_into_types() {
        let change = parse(event(
            serde_json::json!({"messageType": "ConfigurationItemChangeNotification",
                "configurationItem": {"resourceType": "AWS::EC2::RouteTable", "resourceId": "rtb-1",
                    "configuration": {"vpcId": "vpc-1"}, "configurationItemStatus": "ResourceDeleted",
                    "configurationItemCaptureTime": "2026-11-27T10:30:00.000Z"}}),
            "{}",
        ))
        .unwrap();
        let Invocation::Change { item } = &change.invocation else {
            panic!("{change:?}")
        };
        assert_eq!(item.resource_type, ResourceType::Ec2RouteTable);
        assert_eq!(item.vpc_id().as_deref(), Some("vpc-1"));
        assert!(item.is_deleted());
        assert_eq!(change.account_id.as_deref(), Some("123456789012"));
        let oversized = parse(event(
            serde_json::json!({"messageType": "OversizedConfigurationItemChangeNotification",
                "configurationItemSummary": {"resourceType": "AWS::S3::Bucket", "resourceId": "b",
                    "awsRegion": "eu-west-1", "configurationItemCaptureTime": "2026-11-27T10:20:00.000Z"}}),
            "",
        ))
        .unwrap();
        assert_eq!(
            oversized.invocation.notification_type(),
            NotificationType::Oversized
        );
        let scheduled = parse(event(
            serde_json::json!({"messageType": "ScheduledNotification",
                "notificationCreationTime": "2026-11-27T12:00:00.000Z"}),
            "{\"RequireSigV4\":\"true\"}",
        ))
        .unwrap();
        assert!(scheduled.params.require_sigv4);
        assert_eq!(
            scheduled.invocation,
            Invocation::Scheduled {
                notification_time: Timestamp::parse("2026-11-27T12:00:00Z")
            }
        );
    }

    #[test]
    fn unusable_events_are_errors_that_name_the_field() {
        let not_config = parse(serde_json::json!({"hello": "world"})).unwrap_err();
        assert_eq!(not_config, EventError::NoInvokingEvent);
        let bad_time = parse(event(
            serde_json::json!({"messageType": "ScheduledNotification",
                "notificationCreationTime": "soon"}),
            "{}",
        ))
        .unwrap_err();
        assert!(
            bad_time.to_string().contains("`notificationCreationTime`"),
            "{bad_time}"
        );
        let unknown = parse(event(serde_json::json!({"messageType": "Nope"}), "{}")).unwrap_err();
        assert_eq!(unknown.to_string(), "unsupported messageType `Nope`");
        let param = parse(event(
            serde_json::json!({"messageType": "ScheduledNotification"}),
            "{\"ApprovedVpceIds\":\"vpc-1\"}",
        ))
        .unwrap_err();
        assert!(matches!(param, EventError::Param(_)), "{param}");
        let no_id = parse(event(
            serde_json::json!({"messageType": "ConfigurationItemChangeNotification",
                "configurationItem": {"resourceType": "AWS::S3::Bucket"}}),
            "{}",
        ))
        .unwrap_err();
        assert_eq!(no_id, EventError::MissingField("resourceId"));
        // Not even an object: the runtime's deserialization error.
        assert!(serde_json::from_str::<ConfigRuleEvent>("[1]").is_err());
    }
}
