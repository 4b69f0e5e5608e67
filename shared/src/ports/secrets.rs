//! Secrets Manager: the Slack webhook URL, read once per container. The value is never logged.

use super::AwsError;

/// Port: a secret's string value.
#[allow(async_fn_in_trait)]
pub trait SecretReader {
    async fn secret_string(&self, arn: &str) -> Result<String, AwsError>;
}
