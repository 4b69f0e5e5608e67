//! The AWS SDK side of [`crate::ports::secrets`]: `SecretReader` for `AwsClients`.

pub use crate::ports::secrets::*;

#[cfg(feature = "aws")]
use super::clients::AwsClients;
#[cfg(feature = "aws")]
use super::map_sdk_error;
#[cfg(feature = "aws")]
use crate::ports::AwsError;
#[cfg(feature = "aws")]
use crate::ports::ErrorKind;

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
