//! The AWS SDK side of [`crate::ports::roles`]: `RoleLister` for `AwsClients`.

use crate::ports::roles::*;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::ports::AwsError;

impl RoleLister for AwsClients {
    async fn role_arns(&self, path_prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.calls.count("iam:ListRoles");
            let page = self
                .iam()
                .list_roles()
                .path_prefix(path_prefix)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("iam:ListRoles", &e))?;
            out.extend(page.roles().iter().map(|r| r.arn().to_string()));
            match page.marker() {
                Some(m) if page.is_truncated() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
