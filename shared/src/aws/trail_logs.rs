//! CloudTrail log files in S3 (`vpce-guard route-usage s3://bucket/prefix`): the keys under a
//! prefix, then each object's bytes, one at a time.

use super::clients::AwsClients;
use super::{map_sdk_error, AwsError, BucketReader};

/// One log file's key and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogObject {
    pub key: String,
    pub size: u64,
}

impl AwsClients {
    /// The bucket's region (asked from S3), then every object under `prefix` but CloudTrail's
    /// digest files, in key order.
    pub async fn list_log_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(String, Vec<LogObject>), AwsError> {
        let region = match self.bucket_region(bucket).await? {
            Some(r) => r,
            None => {
                return Err(AwsError {
                    call: "s3:GetBucketLocation",
                    kind: super::ErrorKind::NotFound,
                    code: Some("NoSuchBucket".into()),
                    message: format!("no bucket `{bucket}`"),
                })
            }
        };
        let client = self.s3(&region);
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.count("s3:ListObjectsV2");
            let page = page.map_err(|e| map_sdk_error("s3:ListObjectsV2", &e))?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    if key.ends_with('/') || key.contains("/CloudTrail-Digest/") {
                        continue;
                    }
                    out.push(LogObject {
                        key: key.to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((region, out))
    }

    /// One object's bytes.
    pub async fn read_log_object(
        &self,
        bucket: &str,
        region: &str,
        key: &str,
    ) -> Result<Vec<u8>, AwsError> {
        self.calls.count("s3:GetObject");
        let out = self
            .s3(region)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_sdk_error("s3:GetObject", &e))?;
        let body = out.body.collect().await.map_err(|e| AwsError {
            call: "s3:GetObject",
            kind: super::ErrorKind::Unavailable,
            code: None,
            message: format!("reading s3://{bucket}/{key}: {e}"),
        })?;
        Ok(body.into_bytes().to_vec())
    }

    /// The organization the caller's account is in, and every account of it
    /// (`DescribeOrganization`, `ListAccounts`: the management account or a delegated
    /// administrator can list them), for `ApprovedEndpointScope` `organization`.
    pub async fn organization_accounts(&self) -> Result<(String, Vec<String>), AwsError> {
        use super::OrgPolicySource;
        let Some((org_id, _)) = self.organization().await? else {
            return Err(AwsError {
                call: "organizations:DescribeOrganization",
                kind: super::ErrorKind::NotFound,
                code: Some("AWSOrganizationsNotInUseException".into()),
                message: "the account is in no organization".into(),
            });
        };
        let c = aws_sdk_organizations::Client::new(&self.sdk);
        let mut pages = c.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.count("organizations:ListAccounts");
            let page = page.map_err(|e| map_sdk_error("organizations:ListAccounts", &e))?;
            out.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_string)),
            );
        }
        out.sort();
        Ok((org_id, out))
    }
}
