//! The AWS SDK side of [`crate::ports::policy_store`]: `DeployedRules`, `PolicyStore`, `CallerIdentity` for `AwsClients`.

use crate::ports::policy_store::*;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::ports::AwsError;

impl DeployedRules for AwsClients {
    async fn rule_parameters(&self, rule_name: &str) -> Result<Option<String>, AwsError> {
        self.calls.count("config:DescribeConfigRules");
        match self
            .config_service()
            .describe_config_rules()
            .config_rule_names(rule_name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .config_rules()
                .first()
                .map(|r| r.input_parameters().unwrap_or("{}").to_string())),
            Err(e) => {
                let e = map_sdk_error("config:DescribeConfigRules", &e);
                if e.code.as_deref() == Some("NoSuchConfigRuleException") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl PolicyStore for AwsClients {
    async fn get_policy(&self, bucket: &str, region: &str) -> Result<Option<String>, AwsError> {
        self.calls.count("s3:GetBucketPolicy");
        match self
            .s3(region)
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out.policy().map(str::to_string)),
            Err(e) => {
                let e = map_sdk_error("s3:GetBucketPolicy", &e);
                if e.code.as_deref() == Some("NoSuchBucketPolicy") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn put_policy(&self, bucket: &str, region: &str, policy: &str) -> Result<(), AwsError> {
        self.calls.count("s3:PutBucketPolicy");
        self.s3(region)
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error("s3:PutBucketPolicy", &e))
    }

    async fn delete_policy(&self, bucket: &str, region: &str) -> Result<(), AwsError> {
        self.calls.count("s3:DeleteBucketPolicy");
        self.s3(region)
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error("s3:DeleteBucketPolicy", &e))
    }

    async fn bucket_tags(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<Vec<(String, String)>, AwsError> {
        self.calls.count("s3:GetBucketTagging");
        match self
            .s3(region)
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) => {
                let e = map_sdk_error("s3:GetBucketTagging", &e);
                if e.code.as_deref() == Some("NoSuchTagSet") {
                    Ok(Vec::new())
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl CallerIdentity for AwsClients {
    async fn caller_arn(&self) -> Result<String, AwsError> {
        self.calls.count("sts:GetCallerIdentity");
        let out = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| map_sdk_error("sts:GetCallerIdentity", &e))?;
        out.arn().map(str::to_string).ok_or_else(|| AwsError {
            call: "sts:GetCallerIdentity",
            kind: super::ErrorKind::Other,
            code: None,
            message: "GetCallerIdentity returned no ARN".into(),
        })
    }
}
