//! AWS Config's vocabulary as types: resource types, configuration item statuses, timestamps.

use std::fmt;

use crate::rules::{EC2_VPC, S3_BUCKET};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// A Config resource type. The rules know five; any other is kept by name (a notification for
/// it is ignored).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    S3Bucket,
    Ec2Vpc,
    Ec2VpcEndpoint,
    Ec2RouteTable,
    Ec2SecurityGroup,
    Other(String),
}

impl ResourceType {
    /// The types whose changes trigger the network rule (it reports the VPC).
    pub(crate) const NETWORK_TRIGGERS: [ResourceType; 4] = [
        ResourceType::Ec2Vpc,
        ResourceType::Ec2VpcEndpoint,
        ResourceType::Ec2RouteTable,
        ResourceType::Ec2SecurityGroup,
    ];

    /// As Config spells it: `AWS::S3::Bucket`.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ResourceType::S3Bucket => S3_BUCKET,
            ResourceType::Ec2Vpc => EC2_VPC,
            ResourceType::Ec2VpcEndpoint => "AWS::EC2::VPCEndpoint",
            ResourceType::Ec2RouteTable => "AWS::EC2::RouteTable",
            ResourceType::Ec2SecurityGroup => "AWS::EC2::SecurityGroup",
            ResourceType::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> ResourceType {
        match s {
            S3_BUCKET => ResourceType::S3Bucket,
            EC2_VPC => ResourceType::Ec2Vpc,
            "AWS::EC2::VPCEndpoint" => ResourceType::Ec2VpcEndpoint,
            "AWS::EC2::RouteTable" => ResourceType::Ec2RouteTable,
            "AWS::EC2::SecurityGroup" => ResourceType::Ec2SecurityGroup,
            other => ResourceType::Other(other.to_string()),
        }
    }

    /// A change to this type is evaluated by the network rule.
    pub(crate) fn triggers_network_rule(&self) -> bool {
        Self::NETWORK_TRIGGERS.contains(self)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `configurationItemStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    Ok,
    ResourceDiscovered,
    ResourceNotRecorded,
    ResourceDeleted,
    ResourceDeletedNotRecorded,
    Other(String),
}

impl ItemStatus {
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ItemStatus::Ok => "OK",
            ItemStatus::ResourceDiscovered => "ResourceDiscovered",
            ItemStatus::ResourceNotRecorded => "ResourceNotRecorded",
            ItemStatus::ResourceDeleted => "ResourceDeleted",
            ItemStatus::ResourceDeletedNotRecorded => "ResourceDeletedNotRecorded",
            ItemStatus::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> ItemStatus {
        match s {
            "OK" => ItemStatus::Ok,
            "ResourceDiscovered" => ItemStatus::ResourceDiscovered,
            "ResourceNotRecorded" => ItemStatus::ResourceNotRecorded,
            "ResourceDeleted" => ItemStatus::ResourceDeleted,
            "ResourceDeletedNotRecorded" => ItemStatus::ResourceDeletedNotRecorded,
            other => ItemStatus::Other(other.to_string()),
        }
    }

    /// The item says the resource is gone (or no longer recorded): `NOT_APPLICABLE`.
    pub(crate) fn is_deleted(&self) -> bool {
        matches!(
            self,
            ItemStatus::ResourceDeleted
                | ItemStatus::ResourceDeletedNotRecorded
                | ItemStatus::ResourceNotRecorded
        )
    }
}

/// An instant to the millisecond: a capture or notification time, an `OrderingTimestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    pub(crate) fn from_millis(millis: i64) -> Timestamp {
        Timestamp { millis }
    }

    pub(crate) fn from_epoch_seconds(secs: f64) -> Timestamp {
        Timestamp {
            millis: (secs * 1000.0).floor() as i64,
        }
    }

    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub(crate) fn millis(self) -> i64 {
        self.millis
    }

    /// RFC 3339 / ISO 8601 date-time as Config writes it (`2026-11-27T10:15:00.000Z`);
    /// `None` for anything else.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn parse(s: &str) -> Option<Timestamp> {
        let dt = DateTime::from_str(s.trim(), Format::DateTime).ok()?;
        dt.to_millis().ok().map(Timestamp::from_millis)
    }

    /// RFC 3339 in UTC.
    pub(crate) fn to_rfc3339(self) -> String {
        DateTime::from_millis(self.millis)
            .fmt(Format::DateTime)
            .unwrap_or_else(|_| format!("{}ms", self.millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_kept() {
        for t in ResourceType::NETWORK_TRIGGERS
            .into_iter()
            .chain([ResourceType::S3Bucket])
        {
            assert_eq!(ResourceType::parse(t.as_str()), t);
        }
        assert_eq!(
            ResourceType::parse("AWS::S3::AccountPublicAccessBlock").as_str(),
            "AWS::S3::AccountPublicAccessBlock"
        );
        assert!(ItemStatus::parse("ResourceDeletedNotRecorded").is_deleted());
        assert!(!ItemStatus::parse("OK").is_deleted());
        assert_eq!(ItemStatus::parse("Weird").as_str(), "Weird");
    }

    #[test]
    fn timestamps_parse_rfc3339_only() {
        let t = Timestamp::parse("2026-11-27T10:15:00.000Z").unwrap();
        assert_eq!(t.millis(), 1_795_774_500_000);
        assert_eq!(t.to_rfc3339(), "2026-11-27T10:15:00Z");
        assert_eq!(
            Timestamp::parse("2026-11-27T10:15:00.250Z")
                .unwrap()
                .millis()
                % 1000,
            250
        );
        for bad in ["", "yesterday", "2026-13-01T00:00:00Z", "1795774500"] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert_eq!(Timestamp::from_epoch_seconds(1.5).millis(), 1500);
    }
}
