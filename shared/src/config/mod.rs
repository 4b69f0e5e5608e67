//! AWS Config custom rules: parse rule events (the invoking event and rule parameters are JSON
//! strings), turn configuration items into facts, build and report evaluations.

pub mod handler;
pub mod port;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::facts::{Fact, PublicAccessBlock};
use crate::rules::params::split_list;
use crate::rules::{BucketParams, Compliance, ParamError};

/// Config's resource types.
pub const S3_BUCKET: &str = "AWS::S3::Bucket";
pub const EC2_VPC: &str = "AWS::EC2::VPC";
pub const EC2_VPC_ENDPOINT: &str = "AWS::EC2::VPCEndpoint";
pub const EC2_ROUTE_TABLE: &str = "AWS::EC2::RouteTable";
pub const EC2_SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";

/// A malformed or unusable rule event.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("the event is not a Config rule event: {0}")]
    NotAConfigEvent(String),
    #[error("`invokingEvent` is missing")]
    NoInvokingEvent,
    #[error("`invokingEvent` is not valid JSON: {0}")]
    InvokingEventJson(String),
    #[error("`ruleParameters` is not a JSON object of strings: {0}")]
    RuleParametersJson(String),
    #[error("unsupported messageType `{0}`")]
    UnsupportedMessageType(String),
    #[error("the configuration item lacks `{0}`")]
    MissingField(&'static str),
    #[error(transparent)]
    Param(#[from] ParamError),
}

/// A configuration item, whichever shape it came in (change notification: objects;
/// `GetResourceConfigHistory` / `BatchGetResourceConfig`: JSON strings).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigItem {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    /// ISO 8601.
    pub capture_time: Option<String>,
    /// `OK`, `ResourceDiscovered`, `ResourceDeleted`, `ResourceDeletedNotRecorded`,
    /// `ResourceNotRecorded`.
    pub status: Option<String>,
    pub configuration: Value,
    pub supplementary: Map<String, Value>,
}

/// A value that may be a JSON string holding JSON: decoded when it is.
fn decode(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl ConfigItem {
    /// From a change notification's `configurationItem` (camelCase, nested objects).
    pub fn from_change(v: &Value) -> Result<ConfigItem, EventError> {
        let get = |k: &str| v.get(k);
        let supplementary = match get("supplementaryConfiguration").map(decode) {
            Some(Value::Object(m)) => m.into_iter().map(|(k, v)| (k, decode(&v))).collect(),
            _ => Map::new(),
        };
        Ok(ConfigItem {
            resource_type: text(get("resourceType"))
                .ok_or(EventError::MissingField("resourceType"))?,
            resource_id: text(get("resourceId")).ok_or(EventError::MissingField("resourceId"))?,
            resource_name: text(get("resourceName")),
            region: text(get("awsRegion")),
            account_id: text(get("awsAccountId")).or_else(|| text(get("accountId"))),
            capture_time: text(get("configurationItemCaptureTime")),
            status: text(get("configurationItemStatus")),
            configuration: get("configuration").map(decode).unwrap_or(Value::Null),
            supplementary,
        })
    }

    /// An item known only by its type, id and what the notification said.
    pub fn bare(
        resource_type: &str,
        resource_id: &str,
        region: Option<String>,
        capture_time: Option<String>,
    ) -> ConfigItem {
        ConfigItem {
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
            resource_name: Some(resource_id.to_string()),
            region,
            account_id: None,
            capture_time,
            status: Some("OK".into()),
            configuration: Value::Null,
            supplementary: Map::new(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("ResourceDeleted" | "ResourceDeletedNotRecorded" | "ResourceNotRecorded")
        )
    }

    /// The bucket's facts from the item; `None` for what the item lacks (read from AWS).
    pub fn bucket_facts(&self) -> PartialBucket {
        let name = self
            .resource_name
            .clone()
            .or_else(|| text(self.configuration.get("name")))
            .unwrap_or_else(|| self.resource_id.clone());
        let region = self.region.clone().unwrap_or_default();
        let policy =
            self.supplementary
                .get("BucketPolicy")
                .map(|p| match decode(p).get("policyText") {
                    Some(Value::String(t)) if !t.trim().is_empty() => Fact::Known(t.clone()),
                    _ => Fact::NotConfigured,
                });
        let public_access_block = self
            .supplementary
            .get("PublicAccessBlockConfiguration")
            .map(|p| {
                let p = decode(p);
                let b = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
                Fact::Known(PublicAccessBlock {
                    block_public_acls: b("blockPublicAcls"),
                    ignore_public_acls: b("ignorePublicAcls"),
                    block_public_policy: b("blockPublicPolicy"),
                    restrict_public_buckets: b("restrictPublicBuckets"),
                })
            });
        let ownership = self.supplementary.get("BucketOwnershipControls").map(|o| {
            let o = decode(o);
            let rule = o
                .get("bucketOwnershipControls")
                .unwrap_or(&o)
                .get("rules")
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("objectOwnership"))
                .and_then(Value::as_str)
                .map(str::to_string);
            match rule {
                Some(r) => Fact::Known(r),
                None => Fact::NotConfigured,
            }
        });
        PartialBucket {
            name,
            region,
            policy,
            public_access_block,
            ownership,
        }
    }

    /// The VPC an EC2 item belongs to (the VPC itself for `AWS::EC2::VPC`).
    pub fn vpc_id(&self) -> Option<String> {
        if self.resource_type == EC2_VPC {
            return Some(self.resource_id.clone());
        }
        text(self.configuration.get("vpcId"))
    }
}

/// Bucket facts as far as a configuration item has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialBucket {
    pub name: String,
    pub region: String,
    pub policy: Option<Fact<String>>,
    pub public_access_block: Option<Fact<PublicAccessBlock>>,
    pub ownership: Option<Fact<String>>,
}

/// What invoked the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Change {
        item: Box<ConfigItem>,
    },
    Oversized {
        resource_type: String,
        resource_id: String,
        capture_time: Option<String>,
    },
    Scheduled {
        notification_time: Option<String>,
    },
}

/// A parsed rule event.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    pub invocation: Invocation,
    pub event_left_scope: bool,
    pub result_token: String,
    pub rule_name: Option<String>,
    pub params: BucketParams,
}

impl RuleEvent {
    /// `TestMode` when the token is `TESTMODE` (Config's console and test invocations).
    pub fn test_mode(&self) -> bool {
        self.result_token == "TESTMODE"
    }
}

/// Parse a rule event from its JSON (as the Lambda receives it).
pub fn parse_event(event: &Value) -> Result<RuleEvent, EventError> {
    let ev: aws_lambda_events::event::config::ConfigEvent =
        serde_json::from_value(event.clone())
            .map_err(|e| EventError::NotAConfigEvent(e.to_string()))?;
    let invoking = ev
        .invoking_event
        .as_deref()
        .ok_or(EventError::NoInvokingEvent)?;
    let inv: Value =
        serde_json::from_str(invoking).map_err(|e| EventError::InvokingEventJson(e.to_string()))?;
    let message_type = text(inv.get("messageType")).unwrap_or_default();
    let invocation = match message_type.as_str() {
        "ConfigurationItemChangeNotification" => {
            let item = inv
                .get("configurationItem")
                .ok_or(EventError::MissingField("configurationItem"))?;
            Invocation::Change {
                item: Box::new(ConfigItem::from_change(item)?),
            }
        }
        "OversizedConfigurationItemChangeNotification" => {
            let s = inv
                .get("configurationItemSummary")
                .ok_or(EventError::MissingField("configurationItemSummary"))?;
            Invocation::Oversized {
                resource_type: text(s.get("resourceType"))
                    .ok_or(EventError::MissingField("resourceType"))?,
                resource_id: text(s.get("resourceId"))
                    .ok_or(EventError::MissingField("resourceId"))?,
                capture_time: text(s.get("configurationItemCaptureTime")),
            }
        }
        "ScheduledNotification" => Invocation::Scheduled {
            notification_time: text(inv.get("notificationCreationTime")),
        },
        other => return Err(EventError::UnsupportedMessageType(other.to_string())),
    };
    Ok(RuleEvent {
        invocation,
        event_left_scope: ev.event_left_scope,
        result_token: ev.result_token.unwrap_or_default(),
        rule_name: ev.config_rule_name,
        params: parse_rule_parameters(ev.rule_parameters.as_deref())?,
    })
}

/// `ruleParameters`: a JSON object of comma-separated strings (RULES.md).
pub fn parse_rule_parameters(raw: Option<&str>) -> Result<BucketParams, EventError> {
    let mut p = BucketParams::default();
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(p);
    };
    let v: Value =
        serde_json::from_str(raw).map_err(|e| EventError::RuleParametersJson(e.to_string()))?;
    let Value::Object(map) = v else {
        return Err(EventError::RuleParametersJson("not an object".into()));
    };
    for (k, v) in &map {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(EventError::RuleParametersJson(format!(
                    "`{k}` is not a string"
                )))
            }
        };
        match k.as_str() {
            "ApprovedVpceIds" => p.approved_vpce = split_list(&s),
            "ApprovedVpcIds" => p.approved_vpc = split_list(&s),
            "ExemptPrincipalArns" => p.exempt_principals = split_list(&s),
            "GuardPrincipalArns" => p.guard_principals = split_list(&s),
            "DisabledRules" => {
                p.disabled_rules = BucketParams::parse_disabled_rules(&split_list(&s))?
            }
            "RequireSigV4" => p.require_sigv4 = BucketParams::parse_bool("RequireSigV4", "--require-sigv4", &s)?,
            "RequireTlsVersion" => {
                p.require_tls_version = if s.trim().is_empty() {
                    None
                } else {
                    Some(BucketParams::parse_tls_version(&s)?)
                }
            }
            other => {
                return Err(EventError::Param(ParamError {
                    param: "ruleParameters",
                    flag: "-",
                    value: other.to_string(),
                    why: "unknown parameter (expected ApprovedVpceIds, ApprovedVpcIds, ExemptPrincipalArns, GuardPrincipalArns, RequireSigV4, RequireTlsVersion, DisabledRules)".into(),
                }))
            }
        }
    }
    p.validate()?;
    Ok(p)
}

/// One evaluation as `PutEvaluations` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEvaluation {
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: Compliance,
    /// 1–256 characters, or omitted.
    pub annotation: Option<String>,
    /// ISO 8601.
    pub ordering_timestamp: String,
}

impl ConfigEvaluation {
    pub fn new(
        resource_type: &str,
        resource_id: &str,
        e: &crate::rules::Evaluation,
        ordering_timestamp: &str,
    ) -> Self {
        ConfigEvaluation {
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
            compliance: e.compliance,
            annotation: (!e.annotation.is_empty())
                .then(|| crate::rules::truncate(&e.annotation, 256)),
            ordering_timestamp: ordering_timestamp.to_string(),
        }
    }

    pub fn not_applicable(
        resource_type: &str,
        resource_id: &str,
        why: &str,
        ordering_timestamp: &str,
    ) -> Self {
        ConfigEvaluation {
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
            compliance: Compliance::NotApplicable,
            annotation: Some(crate::rules::truncate(why, 256)),
            ordering_timestamp: ordering_timestamp.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_parameters_are_validated_and_named() {
        let p = parse_rule_parameters(Some(r#"{"ApprovedVpceIds":"vpce-1a2b3c4d, vpce-0a1b2c3d","RequireSigV4":"true","RequireTlsVersion":"1.3"}"#)).unwrap();
        assert_eq!(p.approved_vpce, vec!["vpce-1a2b3c4d", "vpce-0a1b2c3d"]);
        assert!(p.require_sigv4);
        assert_eq!(
            p.require_tls_version,
            Some(crate::rules::params::TlsVersion::V1_3)
        );
        let param_error = |raw: &str| match parse_rule_parameters(Some(raw)) {
            Err(EventError::Param(e)) => e,
            other => panic!("{raw}: expected a parameter error, got {other:?}"),
        };
        let e = param_error(r#"{"ApprovedVpceIds":"vpc-1"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("ApprovedVpceIds", "--approved-vpce", "vpc-1")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `ApprovedVpceIds` (--approved-vpce) value `vpc-1`: expected a VPC \
             endpoint id such as `vpce-1a2b3c4d`"
        );
        let e = param_error(r#"{"RequireTlsVersion":"2"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("RequireTlsVersion", "--require-tls-version", "2")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `RequireTlsVersion` (--require-tls-version) value `2`: expected \
             one of 1.0, 1.1, 1.2, 1.3"
        );
        let e = parse_rule_parameters(Some("{")).unwrap_err();
        assert_eq!(
            e,
            EventError::RuleParametersJson("EOF while parsing an object at line 1 column 1".into())
        );
        assert_eq!(
            e.to_string(),
            "`ruleParameters` is not a JSON object of strings: EOF while parsing an object at line 1 column 1"
        );
        let e = param_error(r#"{"Nope":"x"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("ruleParameters", "-", "Nope")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `ruleParameters` (-) value `Nope`: unknown parameter (expected \
             ApprovedVpceIds, ApprovedVpcIds, ExemptPrincipalArns, GuardPrincipalArns, \
             RequireSigV4, RequireTlsVersion, DisabledRules)"
        );
    }

    #[test]
    fn items_in_both_shapes() {
        let change = serde_json::json!({
            "resourceType": "AWS::S3::Bucket", "resourceId": "b", "resourceName": "b", "awsRegion": "us-east-1",
            "configurationItemCaptureTime": "2026-11-27T10:00:00.000Z", "configurationItemStatus": "OK",
            "configuration": {"name": "b"},
            "supplementaryConfiguration": {
                "BucketPolicy": {"policyText": "{\"Statement\":[]}"},
                "PublicAccessBlockConfiguration": {"blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true}
            }
        });
        let item = ConfigItem::from_change(&change).unwrap();
        let pb = item.bucket_facts();
        assert_eq!(pb.policy, Some(Fact::Known("{\"Statement\":[]}".into())));
        assert!(
            pb.ownership.is_none(),
            "the item lacks ownership: read from S3"
        );
        let strings = serde_json::json!({
            "resourceType": "AWS::S3::Bucket", "resourceId": "b", "awsRegion": "us-east-1",
            "configuration": "{\"name\":\"b\"}",
            "supplementaryConfiguration": {"BucketPolicy": "{\"policyText\":null}"}
        });
        let item = ConfigItem::from_change(&strings).unwrap();
        assert_eq!(item.bucket_facts().policy, Some(Fact::NotConfigured));
    }
}
