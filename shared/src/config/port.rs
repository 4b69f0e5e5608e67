//! The AWS Config port: evaluations out, inventory in. The adapter over `aws-sdk-config` and
//! the reporting logic (batches of 100, failed evaluations retried, never silently lost).

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{
    ComplianceType, Evaluation as SdkEvaluation, ResourceKey, ResourceType,
};

use crate::aws::clients::AwsClients;
use crate::aws::{map_sdk_error, AwsError, ErrorKind};
use crate::rules::Compliance;

use super::{ConfigEvaluation, ConfigItem};

/// `PutEvaluations` takes at most this many evaluations a call.
pub const MAX_BATCH: usize = 100;
/// `BatchGetResourceConfig` takes at most this many keys a call.
pub const MAX_KEYS: usize = 100;
/// Attempts for evaluations Config reports as failed.
pub const FAILED_ATTEMPTS: usize = 3;

/// A resource Config's inventory knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub deleted: bool,
}

/// Port: what the Config rules need from AWS Config.
#[allow(async_fn_in_trait)]
pub trait ConfigPort {
    /// Returns the evaluations Config reports as failed.
    async fn put_evaluations(
        &self,
        batch: &[ConfigEvaluation],
        token: &str,
        test_mode: bool,
    ) -> Result<Vec<ConfigEvaluation>, AwsError>;
    /// The latest item of a resource (`limit 1`); `None` when Config has none.
    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<ConfigItem>, AwsError>;
    async fn list_discovered(&self, resource_type: &str) -> Result<Vec<Discovered>, AwsError>;
    /// Items for up to 100 ids; ids Config could not return come back unprocessed.
    async fn batch_items(
        &self,
        resource_type: &str,
        ids: &[String],
    ) -> Result<(Vec<ConfigItem>, Vec<String>), AwsError>;
    /// Resources this rule evaluated before (to mark vanished ones NOT_APPLICABLE).
    async fn evaluated_resources(&self, rule_name: &str)
        -> Result<Vec<(String, String)>, AwsError>;
}

/// Send evaluations in batches of 100; evaluations Config fails are retried, and if they still
/// fail the whole report fails (the invocation errors, Config retries it).
pub async fn report<P: ConfigPort>(
    port: &P,
    evals: &[ConfigEvaluation],
    token: &str,
    test_mode: bool,
) -> Result<usize, AwsError> {
    let mut calls = 0;
    for batch in evals.chunks(MAX_BATCH) {
        let mut pending: Vec<ConfigEvaluation> = batch.to_vec();
        for attempt in 1..=FAILED_ATTEMPTS {
            calls += 1;
            let failed = port.put_evaluations(&pending, token, test_mode).await?;
            if failed.is_empty() {
                pending.clear();
                break;
            }
            pending = failed;
            if attempt < FAILED_ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt as u64)).await;
            }
        }
        if !pending.is_empty() {
            let ids: Vec<&str> = pending.iter().map(|e| e.resource_id.as_str()).collect();
            return Err(AwsError {
                call: "config:PutEvaluations",
                kind: ErrorKind::Other,
                code: Some("FailedEvaluations".into()),
                message: format!(
                    "AWS Config rejected {} evaluation(s) after {FAILED_ATTEMPTS} attempts: {}",
                    pending.len(),
                    ids.join(", ")
                ),
            });
        }
    }
    Ok(calls)
}

/// A `ConfigItem` from the SDK's `ConfigurationItem` or `BaseConfigurationItem` (same fields,
/// different types): `configuration` and supplementary values are JSON strings there.
macro_rules! item_from {
    ($ci:expr, $resource_type:expr) => {{
        let ci = $ci;
        ConfigItem {
            resource_type: ci
                .resource_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| $resource_type.to_string()),
            resource_id: ci.resource_id().unwrap_or_default().to_string(),
            resource_name: ci.resource_name().map(str::to_string),
            region: ci.aws_region().map(str::to_string),
            account_id: ci.account_id().map(str::to_string),
            capture_time: iso(ci.configuration_item_capture_time()),
            status: ci
                .configuration_item_status()
                .map(|s| s.as_str().to_string()),
            configuration: ci
                .configuration()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or(serde_json::Value::Null),
            supplementary: ci
                .supplementary_configuration()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let parsed = serde_json::from_str(v)
                                .unwrap_or_else(|_| serde_json::Value::String(v.clone()));
                            (k.clone(), parsed)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }};
}

fn compliance_type(c: Compliance) -> ComplianceType {
    match c {
        Compliance::Compliant => ComplianceType::Compliant,
        Compliance::NonCompliant => ComplianceType::NonCompliant,
        Compliance::NotApplicable => ComplianceType::NotApplicable,
    }
}

fn iso(dt: Option<&DateTime>) -> Option<String> {
    dt.and_then(|d| {
        d.fmt(aws_sdk_config::primitives::DateTimeFormat::DateTime)
            .ok()
    })
}

fn parse_time(s: &str) -> DateTime {
    DateTime::from_str(s, aws_sdk_config::primitives::DateTimeFormat::DateTime)
        .or_else(|_| {
            crate::policy::condition::parse_date(s)
                .map(|secs| DateTime::from_secs(secs as i64))
                .ok_or(())
        })
        .unwrap_or_else(|_| DateTime::from_secs(0))
}

impl ConfigPort for AwsClients {
    async fn put_evaluations(
        &self,
        batch: &[ConfigEvaluation],
        token: &str,
        test_mode: bool,
    ) -> Result<Vec<ConfigEvaluation>, AwsError> {
        self.calls.count("config:PutEvaluations");
        let mut evals = Vec::with_capacity(batch.len());
        for e in batch {
            let mut b = SdkEvaluation::builder()
                .compliance_resource_type(&e.resource_type)
                .compliance_resource_id(&e.resource_id)
                .compliance_type(compliance_type(e.compliance))
                .ordering_timestamp(parse_time(&e.ordering_timestamp));
            if let Some(a) = &e.annotation {
                b = b.annotation(a);
            }
            let built = b.build().map_err(|err| AwsError {
                call: "config:PutEvaluations",
                kind: ErrorKind::Other,
                code: None,
                message: err.to_string(),
            })?;
            evals.push(built);
        }
        let out = self
            .config_service()
            .put_evaluations()
            .set_evaluations(Some(evals))
            .result_token(token)
            .test_mode(test_mode)
            .send()
            .await
            .map_err(|e| map_sdk_error("config:PutEvaluations", &e))?;
        Ok(out
            .failed_evaluations()
            .iter()
            .filter_map(|f| {
                batch
                    .iter()
                    .find(|e| {
                        Some(e.resource_id.as_str()) == Some(f.compliance_resource_id())
                            && e.resource_type == f.compliance_resource_type()
                    })
                    .cloned()
            })
            .collect())
    }

    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<ConfigItem>, AwsError> {
        self.calls.count("config:GetResourceConfigHistory");
        let out = self
            .config_service()
            .get_resource_config_history()
            .resource_type(ResourceType::from(resource_type))
            .resource_id(resource_id)
            .limit(1)
            .send()
            .await
            .map_err(|e| map_sdk_error("config:GetResourceConfigHistory", &e))?;
        Ok(out
            .configuration_items()
            .first()
            .map(|ci| item_from!(ci, resource_type)))
    }

    async fn list_discovered(&self, resource_type: &str) -> Result<Vec<Discovered>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .config_service()
            .list_discovered_resources()
            .resource_type(ResourceType::from(resource_type))
            .include_deleted_resources(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.count("config:ListDiscoveredResources");
            let page = page.map_err(|e| map_sdk_error("config:ListDiscoveredResources", &e))?;
            for r in page.resource_identifiers() {
                if let Some(id) = r.resource_id() {
                    out.push(Discovered {
                        resource_id: id.to_string(),
                        resource_name: r.resource_name().map(str::to_string),
                        deleted: r.resource_deletion_time().is_some(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn batch_items(
        &self,
        resource_type: &str,
        ids: &[String],
    ) -> Result<(Vec<ConfigItem>, Vec<String>), AwsError> {
        self.calls.count("config:BatchGetResourceConfig");
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            keys.push(
                ResourceKey::builder()
                    .resource_type(ResourceType::from(resource_type))
                    .resource_id(id)
                    .build()
                    .map_err(|e| AwsError {
                        call: "config:BatchGetResourceConfig",
                        kind: ErrorKind::Other,
                        code: None,
                        message: e.to_string(),
                    })?,
            );
        }
        let out = self
            .config_service()
            .batch_get_resource_config()
            .set_resource_keys(Some(keys))
            .send()
            .await
            .map_err(|e| map_sdk_error("config:BatchGetResourceConfig", &e))?;
        let items = out
            .base_configuration_items()
            .iter()
            .map(|ci| item_from!(ci, resource_type))
            .collect();
        let unprocessed = out
            .unprocessed_resource_keys()
            .iter()
            .map(|k| k.resource_id().to_string())
            .collect();
        Ok((items, unprocessed))
    }

    async fn evaluated_resources(
        &self,
        rule_name: &str,
    ) -> Result<Vec<(String, String)>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .config_service()
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule_name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.count("config:GetComplianceDetailsByConfigRule");
            let page =
                page.map_err(|e| map_sdk_error("config:GetComplianceDetailsByConfigRule", &e))?;
            for r in page.evaluation_results() {
                if let Some(q) = r
                    .evaluation_result_identifier()
                    .and_then(|i| i.evaluation_result_qualifier())
                {
                    if let (Some(t), Some(id)) = (q.resource_type(), q.resource_id()) {
                        out.push((t.to_string(), id.to_string()));
                    }
                }
            }
        }
        Ok(out)
    }
}
