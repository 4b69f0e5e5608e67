//! The bucket-policy store: what remediation reads and writes (S3), and who is writing (STS).

use super::AwsError;

/// Port: read and write one bucket's policy and tags. Reads fail loudly: an unreadable policy
/// is an error, never "no policy" (a write based on it could drop statements).
#[allow(async_fn_in_trait)]
pub trait PolicyStore {
    /// The policy text; `None` when the bucket has none.
    async fn get_policy(&self, bucket: &str, region: &str) -> Result<Option<String>, AwsError>;
    async fn put_policy(&self, bucket: &str, region: &str, policy: &str) -> Result<(), AwsError>;
    async fn delete_policy(&self, bucket: &str, region: &str) -> Result<(), AwsError>;
    /// The bucket's tags (none: empty).
    async fn bucket_tags(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<Vec<(String, String)>, AwsError>;
}

/// Port: the identity the writes are made with.
#[allow(async_fn_in_trait)]
pub trait CallerIdentity {
    /// `GetCallerIdentity`'s ARN (an assumed-role session ARN for a role).
    async fn caller_arn(&self) -> Result<String, AwsError>;
}

/// Port: the parameters of a deployed Config rule (`DescribeConfigRules`).
#[allow(async_fn_in_trait)]
pub trait DeployedRules {
    /// The rule's `InputParameters` JSON; `None` when the region has no such rule.
    async fn rule_parameters(&self, rule_name: &str) -> Result<Option<String>, AwsError>;
}
