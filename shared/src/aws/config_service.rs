//! AWS Config adapter: the Config port over `aws-sdk-config` (evaluations out, inventory in,
//! the configuration recorder's role).

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{
    ComplianceType, Evaluation as SdkEvaluation, ResourceKey, ResourceType as SdkResourceType,
};

use crate::config::port::{AggregateResource, AggregatorReader, ConfigPort, Discovered};
use crate::config::{ConfigEvaluation, ConfigItem, ItemStatus, ResourceType, Timestamp};
use crate::rules::Compliance;

use super::clients::AwsClients;
use super::{map_sdk_error, AwsError, ErrorKind};

/// A `ConfigItem` from the SDK's `ConfigurationItem` or `BaseConfigurationItem` (same fields,
/// different types): `configuration` and supplementary values are JSON strings there.
macro_rules! item_from {
    ($ci:expr, $resource_type:expr) => {{
        let ci = $ci;
        ConfigItem {
            resource_type: ci
                .resource_type()
                .map(|t| ResourceType::parse(t.as_str()))
                .unwrap_or_else(|| $resource_type.clone()),
            resource_id: ci.resource_id().unwrap_or_default().to_string(),
            resource_name: ci.resource_name().map(str::to_string),
            region: ci.aws_region().map(str::to_string),
            account_id: ci.account_id().map(str::to_string),
            capture_time: timestamp(ci.configuration_item_capture_time()),
            status: ci
                .configuration_item_status()
                .map(|s| ItemStatus::parse(s.as_str())),
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

fn timestamp(dt: Option<&DateTime>) -> Option<Timestamp> {
    dt.and_then(|d| d.to_millis().ok())
        .map(Timestamp::from_millis)
}

fn sdk_type(t: &ResourceType) -> SdkResourceType {
    SdkResourceType::from(t.as_str())
}

/// The items of a batch read (`BatchGetResourceConfig`, `BatchGetAggregateResourceConfig`).
fn base_items(
    items: &[aws_sdk_config::types::BaseConfigurationItem],
    resource_type: &ResourceType,
) -> Vec<ConfigItem> {
    items
        .iter()
        .map(|ci| item_from!(ci, resource_type))
        .collect()
}

fn build_error(call: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError {
        call,
        kind: ErrorKind::Other,
        code: None,
        message: e.to_string(),
    }
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
                .compliance_resource_type(e.resource_type.as_str())
                .compliance_resource_id(&e.resource_id)
                .compliance_type(compliance_type(e.compliance))
                .ordering_timestamp(DateTime::from_millis(e.ordering_timestamp.millis()));
            if let Some(a) = &e.annotation {
                b = b.annotation(a);
            }
            evals.push(
                b.build()
                    .map_err(|err| build_error("config:PutEvaluations", err))?,
            );
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
                        e.resource_id == f.compliance_resource_id()
                            && e.resource_type.as_str() == f.compliance_resource_type()
                    })
                    .cloned()
            })
            .collect())
    }

    async fn latest_item(
        &self,
        resource_type: &ResourceType,
        resource_id: &str,
    ) -> Result<Option<ConfigItem>, AwsError> {
        self.calls.count("config:GetResourceConfigHistory");
        let out = self
            .config_service()
            .get_resource_config_history()
            .resource_type(sdk_type(resource_type))
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

    async fn list_discovered(
        &self,
        region: Option<&str>,
        resource_type: &ResourceType,
    ) -> Result<Vec<Discovered>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .config_service_in(region)
            .list_discovered_resources()
            .resource_type(sdk_type(resource_type))
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
        region: Option<&str>,
        resource_type: &ResourceType,
        ids: &[String],
    ) -> Result<(Vec<ConfigItem>, Vec<String>), AwsError> {
        self.calls.count("config:BatchGetResourceConfig");
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            keys.push(
                ResourceKey::builder()
                    .resource_type(sdk_type(resource_type))
                    .resource_id(id)
                    .build()
                    .map_err(|e| build_error("config:BatchGetResourceConfig", e))?,
            );
        }
        let out = self
            .config_service_in(region)
            .batch_get_resource_config()
            .set_resource_keys(Some(keys))
            .send()
            .await
            .map_err(|e| map_sdk_error("config:BatchGetResourceConfig", &e))?;
        let items = base_items(out.base_configuration_items(), resource_type);
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
    ) -> Result<Vec<(ResourceType, String)>, AwsError> {
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
                        out.push((ResourceType::parse(t), id.to_string()));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn records(&self, region: &str, resource_type: &ResourceType) -> Result<bool, AwsError> {
        let client = self.config_service_in(Some(region));
        self.calls.count("config:DescribeConfigurationRecorders");
        let out = client
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| map_sdk_error("config:DescribeConfigurationRecorders", &e))?;
        let wanted = sdk_type(resource_type);
        let recording_type: Vec<String> = out
            .configuration_recorders()
            .iter()
            .filter(|r| r.service_principal().is_none())
            .filter(|r| {
                r.recording_group().is_some_and(|g| {
                    let excluded = g
                        .exclusion_by_resource_types()
                        .is_some_and(|e| e.resource_types().contains(&wanted));
                    !excluded && (g.all_supported() || g.resource_types().contains(&wanted))
                })
            })
            .filter_map(|r| r.name().map(str::to_string))
            .collect();
        if recording_type.is_empty() {
            return Ok(false);
        }
        self.calls
            .count("config:DescribeConfigurationRecorderStatus");
        let status = client
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|e| map_sdk_error("config:DescribeConfigurationRecorderStatus", &e))?;
        Ok(status.configuration_recorders_status().iter().any(|s| {
            s.recording()
                && s.name()
                    .is_some_and(|n| recording_type.iter().any(|r| r == n))
        }))
    }

    async fn recorder_role(&self) -> Result<Option<String>, AwsError> {
        self.calls.count("config:DescribeConfigurationRecorders");
        let out = self
            .config_service()
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| map_sdk_error("config:DescribeConfigurationRecorders", &e))?;
        // The account's own recorder first; a service-linked recorder (recording for another
        // AWS service) only when it is the only one.
        let recorders = out.configuration_recorders();
        let role = |own: bool| {
            recorders
                .iter()
                .filter(|r| r.service_principal().is_none() == own)
                .find_map(|r| r.role_arn().filter(|a| !a.trim().is_empty()))
        };
        Ok(role(true).or_else(|| role(false)).map(str::to_string))
    }
}

impl AggregatorReader for AwsClients {
    async fn aggregate_discovered(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        within: Option<(&str, &str)>,
    ) -> Result<Vec<AggregateResource>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .config_service()
            .list_aggregate_discovered_resources()
            .configuration_aggregator_name(aggregator)
            .resource_type(sdk_type(resource_type))
            .set_filters(within.map(|(account, region)| {
                aws_sdk_config::types::ResourceFilters::builder()
                    .account_id(account)
                    .region(region)
                    .build()
            }))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.count("config:ListAggregateDiscoveredResources");
            let page =
                page.map_err(|e| map_sdk_error("config:ListAggregateDiscoveredResources", &e))?;
            for r in page.resource_identifiers() {
                out.push(AggregateResource {
                    account: r.source_account_id().to_string(),
                    region: r.source_region().to_string(),
                    resource_id: r.resource_id().to_string(),
                    resource_name: r.resource_name().map(str::to_string),
                });
            }
        }
        Ok(out)
    }

    async fn aggregate_items(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        keys: &[AggregateResource],
    ) -> Result<(Vec<ConfigItem>, Vec<AggregateResource>), AwsError> {
        self.calls.count("config:BatchGetAggregateResourceConfig");
        let mut ids = Vec::with_capacity(keys.len());
        for k in keys {
            ids.push(
                aws_sdk_config::types::AggregateResourceIdentifier::builder()
                    .source_account_id(&k.account)
                    .source_region(&k.region)
                    .resource_id(&k.resource_id)
                    .resource_type(sdk_type(resource_type))
                    .set_resource_name(k.resource_name.clone())
                    .build()
                    .map_err(|e| build_error("config:BatchGetAggregateResourceConfig", e))?,
            );
        }
        let out = self
            .config_service()
            .batch_get_aggregate_resource_config()
            .configuration_aggregator_name(aggregator)
            .set_resource_identifiers(Some(ids))
            .send()
            .await
            .map_err(|e| map_sdk_error("config:BatchGetAggregateResourceConfig", &e))?;
        let items = base_items(out.base_configuration_items(), resource_type);
        let unprocessed = out
            .unprocessed_resource_identifiers()
            .iter()
            .map(|k| AggregateResource {
                account: k.source_account_id().to_string(),
                region: k.source_region().to_string(),
                resource_id: k.resource_id().to_string(),
                resource_name: k.resource_name().map(str::to_string),
            })
            .collect();
        Ok((items, unprocessed))
    }
}
