//! S3, S3 Control and STS adapters: bucket facts and account facts.

use crate::facts::{BucketObservation, Fact, ObjectOwnership, PublicAccessBlock};

use super::clients::AwsClients;
use super::{map_sdk_error, AccountReader, AwsError, BucketReader, ErrorKind, ListedBucket};

/// Why a private bucket may refuse the scanner: said wherever a bucket read is denied.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const DENIED_HINT: &str = "a private bucket denies callers outside its VPC unless they are exempt; run the scan inside the VPC or exempt the scanner's role (--exempt-principal)";

/// `GetBucketLocation`'s answer as a region name.
pub(crate) fn location_to_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    }
}

fn unreadable(e: &AwsError) -> String {
    if e.kind == ErrorKind::AccessDenied {
        format!("{} was denied (AccessDenied): {DENIED_HINT}", e.call)
    } else {
        e.to_string()
    }
}

/// A failed bucket read as a fact: `missing_code` means "not configured", `NoSuchBucket` means
/// the bucket is gone (`None`), anything else is unreadable with the reason.
fn fact_from_error<T>(e: &AwsError, missing_code: &str) -> Option<Fact<T>> {
    match e.code.as_deref() {
        Some(c) if c == missing_code => Some(Fact::NotConfigured),
        Some("NoSuchBucket") => None,
        _ => Some(Fact::Unreadable(unreadable(e))),
    }
}

fn pab_from(c: Option<&aws_sdk_s3::types::PublicAccessBlockConfiguration>) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
        ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
        block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
        restrict_public_buckets: c.and_then(|c| c.restrict_public_buckets()).unwrap_or(false),
    }
}

/// One S3 client's reads, mapped to facts. Shared by the real adapter and the tests that use
/// a mocked client.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug)]
pub(crate) struct BucketCalls<'a> {
    pub client: &'a aws_sdk_s3::Client,
    pub calls: &'a super::ApiCalls,
}

impl BucketCalls<'_> {
    /// The policy; `None` only when the bucket is gone.
    pub(crate) async fn policy(&self, bucket: &str) -> Option<Fact<String>> {
        self.calls.count("s3:GetBucketPolicy");
        match self.client.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => Some(match out.policy() {
                Some(p) if !p.trim().is_empty() => Fact::Known(p.to_string()),
                _ => Fact::NotConfigured,
            }),
            Err(e) => fact_from_error(
                &map_sdk_error("s3:GetBucketPolicy", &e),
                "NoSuchBucketPolicy",
            ),
        }
    }

    pub(crate) async fn public_access_block(&self, bucket: &str) -> Option<Fact<PublicAccessBlock>> {
        self.calls.count("s3:GetPublicAccessBlock");
        match self
            .client
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Some(Fact::Known(pab_from(
                out.public_access_block_configuration(),
            ))),
            Err(e) => fact_from_error(
                &map_sdk_error("s3:GetPublicAccessBlock", &e),
                "NoSuchPublicAccessBlockConfiguration",
            ),
        }
    }

    pub(crate) async fn ownership(&self, bucket: &str) -> Option<Fact<ObjectOwnership>> {
        self.calls.count("s3:GetBucketOwnershipControls");
        match self
            .client
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Some(
                out.ownership_controls()
                    .and_then(|c| c.rules().first())
                    .map(|r| Fact::Known(ObjectOwnership::parse(r.object_ownership().as_str())))
                    .unwrap_or(Fact::NotConfigured),
            ),
            Err(e) => fact_from_error(
                &map_sdk_error("s3:GetBucketOwnershipControls", &e),
                "OwnershipControlsNotFoundError",
            ),
        }
    }

    /// The three reads, concurrently.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) async fn facts(&self, bucket: &str, region: &str) -> BucketObservation {
        let (policy, pab, own) = tokio::join!(
            self.policy(bucket),
            self.public_access_block(bucket),
            self.ownership(bucket)
        );
        BucketObservation::from_reads(bucket, region, policy, pab, own)
    }
}

impl BucketReader for AwsClients {
    async fn list_buckets(&self, only: Option<&str>) -> Result<Vec<ListedBucket>, AwsError> {
        let region = self.default_region().unwrap_or_else(|| "us-east-1".into());
        let client = self.s3(&region);
        let mut out = Vec::new();
        let mut req = client.list_buckets();
        if let Some(r) = only {
            req = req.bucket_region(r);
        }
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            self.calls.count("s3:ListBuckets");
            match page {
                Ok(page) => {
                    for b in page.buckets() {
                        if let Some(name) = b.name() {
                            out.push(ListedBucket {
                                name: name.to_string(),
                                region: b.bucket_region().or(only).map(str::to_string),
                            });
                        }
                    }
                }
                Err(e) => return Err(map_sdk_error("s3:ListBuckets", &e)),
            }
        }
        Ok(out)
    }

    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let region = self.default_region().unwrap_or_else(|| "us-east-1".into());
        self.calls.count("s3:GetBucketLocation");
        match self
            .s3(&region)
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(Some(location_to_region(
                out.location_constraint().map(|c| c.as_str()),
            ))),
            Err(e) => {
                let e = map_sdk_error("s3:GetBucketLocation", &e);
                if e.code.as_deref() == Some("NoSuchBucket") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn bucket_facts(&self, bucket: &str, region: &str) -> BucketObservation {
        let client = self.s3(region);
        BucketCalls {
            client: &client,
            calls: &self.calls,
        }
        .facts(bucket, region)
        .await
    }

    async fn read_policy(&self, bucket: &str, region: &str) -> Option<Fact<String>> {
        let client = self.s3(region);
        BucketCalls {
            client: &client,
            calls: &self.calls,
        }
        .policy(bucket)
        .await
    }

    async fn read_public_access_block(
        &self,
        bucket: &str,
        region: &str,
    ) -> Option<Fact<PublicAccessBlock>> {
        let client = self.s3(region);
        BucketCalls {
            client: &client,
            calls: &self.calls,
        }
        .public_access_block(bucket)
        .await
    }

    async fn read_ownership(&self, bucket: &str, region: &str) -> Option<Fact<ObjectOwnership>> {
        let client = self.s3(region);
        BucketCalls {
            client: &client,
            calls: &self.calls,
        }
        .ownership(bucket)
        .await
    }
}

impl AccountReader for AwsClients {
    async fn account_id(&self) -> Result<String, AwsError> {
        self.calls.count("sts:GetCallerIdentity");
        match self.sts().get_caller_identity().send().await {
            Ok(out) => out.account().map(str::to_string).ok_or(AwsError {
                call: "sts:GetCallerIdentity",
                kind: ErrorKind::Other,
                code: None,
                message: "no account in the answer".into(),
            }),
            Err(e) => Err(map_sdk_error("sts:GetCallerIdentity", &e)),
        }
    }

    async fn account_public_access_block(&self, account_id: &str) -> Fact<PublicAccessBlock> {
        self.calls.count("s3control:GetPublicAccessBlock");
        match self
            .s3control()
            .get_public_access_block()
            .account_id(account_id)
            .send()
            .await
        {
            Ok(out) => {
                let c = out.public_access_block_configuration();
                Fact::Known(PublicAccessBlock {
                    block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
                    ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
                    block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
                    restrict_public_buckets: c
                        .and_then(|c| c.restrict_public_buckets())
                        .unwrap_or(false),
                })
            }
            Err(e) => {
                let e = map_sdk_error("s3control:GetPublicAccessBlock", &e);
                match e.code.as_deref() {
                    Some("NoSuchPublicAccessBlockConfiguration") => Fact::NotConfigured,
                    _ => Fact::Unreadable(unreadable(&e)),
                }
            }
        }
    }
}

impl crate::ports::AccountAccess for AwsClients {
    type Reader = AwsClients;

    async fn enter(&self, account: &str, role_name: &str) -> Result<AwsClients, AwsError> {
        let partition = crate::policy::values::Partition::of_region(
            self.default_region().as_deref().unwrap_or("us-east-1"),
        );
        let arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
        let c = self.assumed(&arn, "vpce-guard-scan").await;
        // The first call assumes the role: a role that cannot be assumed fails here, named.
        match crate::ports::AccountReader::account_id(&c).await {
            Ok(a) if a == account => Ok(c),
            Ok(other) => Err(AwsError {
                call: "sts:AssumeRole",
                kind: ErrorKind::Other,
                code: None,
                message: format!("{arn} answered as account {other}, not {account}"),
            }),
            Err(e) => Err(AwsError {
                message: format!("cannot assume {arn}: {}", e.message),
                ..e
            }),
        }
    }
}
