//! Configuration items, whichever shape they come in, and the bucket facts they carry.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::facts::{Fact, ObjectOwnership, PublicAccessBlock};

use super::types::{ItemStatus, ResourceType, Timestamp};
use super::EventError;

/// A configuration item: from a change notification (nested objects) or from Config's API
/// (`GetResourceConfigHistory`, `BatchGetResourceConfig`: JSON strings), decoded alike.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigItem {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub capture_time: Option<Timestamp>,
    pub status: Option<ItemStatus>,
    pub configuration: Value,
    pub supplementary: Map<String, Value>,
}

/// A value that may be a JSON string holding JSON: decoded when it is.
pub(crate) fn decode(v: &Value) -> Value {
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

/// A configuration item (or an oversized notification's summary) as a notification carries
/// it; only the fields the rules read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawItem {
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    aws_region: Option<String>,
    aws_account_id: Option<String>,
    account_id: Option<String>,
    configuration_item_capture_time: Option<String>,
    configuration_item_status: Option<String>,
    configuration: Value,
    supplementary_configuration: Value,
}

impl RawItem {
    pub(crate) fn resource_type(&self) -> Result<ResourceType, EventError> {
        self.resource_type
            .as_deref()
            .map(ResourceType::parse)
            .ok_or(EventError::MissingField("resourceType"))
    }

    pub(crate) fn resource_id(&self) -> Result<String, EventError> {
        self.resource_id
            .clone()
            .ok_or(EventError::MissingField("resourceId"))
    }

    pub(crate) fn region(&self) -> Option<String> {
        self.aws_region.clone()
    }

    pub(crate) fn account_id(&self) -> Option<String> {
        self.aws_account_id
            .clone()
            .or_else(|| self.account_id.clone())
    }

    /// `configurationItemCaptureTime`; a value that is not a date fails the event.
    pub(crate) fn capture_time(&self) -> Result<Option<Timestamp>, EventError> {
        parse_time(
            "configurationItemCaptureTime",
            self.configuration_item_capture_time.as_deref(),
        )
    }

    pub(crate) fn into_item(self) -> Result<ConfigItem, EventError> {
        let supplementary = match decode(&self.supplementary_configuration) {
            Value::Object(m) => m.into_iter().map(|(k, v)| (k, decode(&v))).collect(),
            _ => Map::new(),
        };
        Ok(ConfigItem {
            resource_type: self.resource_type()?,
            resource_id: self.resource_id()?,
            capture_time: self.capture_time()?,
            region: self.region(),
            account_id: self.account_id(),
            resource_name: self.resource_name,
            status: self
                .configuration_item_status
                .as_deref()
                .map(ItemStatus::parse),
            configuration: decode(&self.configuration),
            supplementary,
        })
    }
}

/// A date field of the event: absent is `None`, present but not a date is an error naming it.
pub(crate) fn parse_time(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<Timestamp>, EventError> {
    match value {
        None => Ok(None),
        Some(s) => Timestamp::parse(s)
            .map(Some)
            .ok_or_else(|| EventError::BadTimestamp {
                field,
                value: s.to_string(),
            }),
    }
}

impl ConfigItem {
    /// An item known only by its type, id and what the notification said.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn bare(
        resource_type: ResourceType,
        resource_id: &str,
        region: Option<String>,
        capture_time: Option<Timestamp>,
    ) -> ConfigItem {
        ConfigItem {
            resource_type,
            resource_id: resource_id.to_string(),
            resource_name: Some(resource_id.to_string()),
            region,
            account_id: None,
            capture_time,
            status: Some(ItemStatus::Ok),
            configuration: Value::Null,
            supplementary: Map::new(),
        }
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.status.as_ref().is_some_and(ItemStatus::is_deleted)
    }

    /// The bucket's name: the item's resource name, else its configuration's, else its id.
    pub(crate) fn bucket_name(&self) -> String {
        self.resource_name
            .clone()
            .or_else(|| text(self.configuration.get("name")))
            .unwrap_or_else(|| self.resource_id.clone())
    }

    /// The bucket's facts from the item; `None` for what the item lacks (read from AWS).
    pub(crate) fn bucket_facts(&self) -> PartialBucket {
        let name = self.bucket_name();
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
                Some(r) => Fact::Known(ObjectOwnership::parse(&r)),
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
    pub(crate) fn vpc_id(&self) -> Option<String> {
        if self.resource_type == ResourceType::Ec2Vpc {
            return Some(self.resource_id.clone());
        }
        text(self.configuration.get("vpcId"))
    }
}

/// Bucket facts as far as a configuration item has them.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartialBucket {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) policy: Option<Fact<String>>,
    pub(crate) public_access_block: Option<Fact<PublicAccessBlock>>,
    pub(crate) ownership: Option<Fact<ObjectOwnership>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: Value) -> ConfigItem {
        serde_json::from_value::<RawItem>(v)
            .unwrap()
            .into_item()
            .unwrap()
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
        let i = item(change);
        assert_eq!(i.resource_type, ResourceType::S3Bucket);
        assert_eq!(i.status, Some(ItemStatus::Ok));
        let pb = i.bucket_facts();
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
        assert_eq!(
            item(strings).bucket_facts().policy,
            Some(Fact::NotConfigured)
        );
    }

    #[test]
    fn a_capture_time_that_is_not_a_date_is_an_error_naming_it() {
        let raw: RawItem = serde_json::from_value(serde_json::json!({
            "resourceType": "AWS::EC2::VPC", "resourceId": "vpc-1",
            "configurationItemCaptureTime": "last tuesday"
        }))
        .unwrap();
        let e = raw.into_item().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`configurationItemCaptureTime` is not a date (RFC 3339): `last tuesday`"
        );
    }
}
