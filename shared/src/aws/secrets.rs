//! The AWS SDK side of [`crate::ports::secrets`]: `SecretReader` for `AwsClients`.

use crate::ports::secrets::*;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::ports::AwsError;
use crate::ports::ErrorKind;

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
