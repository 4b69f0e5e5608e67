//! Secrets Manager: the Slack webhook URL, read once per container. The value is never logged.

#[cfg(feature = "aws")]
use super::clients::AwsClients;
use super::AwsError;
#[cfg(feature = "aws")]
use super::{map_sdk_error, ErrorKind};

/// Port: a secret's string value.
#[allow(async_fn_in_trait)]
pub trait SecretReader {
    async fn secret_string(&self, arn: &str) -> Result<String, AwsError>;
}

#[cfg(feature = "aws")]
impl SecretReader for AwsClients {
    async fn secret_string(&self, arn: &str) -> Result<String, AwsError> {
        self.calls.count("secretsmanager:GetSecretValue");
        let out = self
            .secrets_manager()
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error("secretsmanager:GetSecretValue", &e))?;
        out.secret_string()
            .map(str::to_string)
            .ok_or_else(|| AwsError {
                call: "secretsmanager:GetSecretValue",
                kind: ErrorKind::Other,
                code: None,
                message: "the secret has no string value".into(),
            })
    }
}
