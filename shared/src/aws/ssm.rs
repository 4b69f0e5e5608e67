//! The AWS SDK side of [`crate::ports::ssm`]: `ParameterReader` and `MuteSource` for
//! `AwsClients`.

use crate::ports::ssm::*;
use crate::rules::mute::MuteList;

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

impl MuteSource for AwsClients {
    async fn mute_list(&self) -> Result<Option<MuteList>, String> {
        let Some(name) = &self.mute_parameter else {
            return Ok(None);
        };
        let text = self
            .parameter(name)
            .await
            .map_err(|e| format!("cannot read the mute list `{name}`: {e}"))?;
        MuteList::parse(&text)
            .map(Some)
            .map_err(|e| format!("the mute list `{name}` is refused: {e}"))
    }
}
