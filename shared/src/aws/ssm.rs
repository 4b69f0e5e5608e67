//! The AWS SDK side of [`crate::ports::ssm`]: `ParameterReader` for `AwsClients`.

use crate::ports::ssm::*;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::ports::AwsError;

impl ParameterReader for AwsClients {
    async fn parameter(&self, name: &str) -> Result<String, AwsError> {
        self.calls.count("ssm:GetParameter");
        let out = self
            .ssm()
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| map_sdk_error("ssm:GetParameter", &e))?;
        Ok(out
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string())
    }
}
