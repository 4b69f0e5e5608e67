//! AWS Config's side of the in-memory account: evaluations received (with `FailedEvaluations`
//! and throttling on demand) and the inventory listings the rules read.

use super::*;

/// An item of `region` (`None`: any; an item without a region is in every one).
fn in_region(item: &ConfigItem, region: Option<&str>) -> bool {
    match (region, item.region.as_deref()) {
        (Some(want), Some(has)) => want == has,
        _ => true,
    }
}

impl ConfigPort for MemoryAws {
    async fn put_evaluations(
        &self,
        batch: &[ConfigEvaluation],
        token: &str,
        test_mode: bool,
    ) -> Result<Vec<ConfigEvaluation>, AwsError> {
        self.call("config:PutEvaluations")?;
        let rejected = match self.faults.lock() {
            Ok(mut f) if f.reject_evaluations > 0 => {
                f.reject_evaluations -= 1;
                true
            }
            _ => false,
        };
        if let Ok(mut s) = self.sent.lock() {
            s.push(SentEvaluations {
                evaluations: batch.to_vec(),
                token: token.to_string(),
                test_mode,
            });
        }
        Ok(if rejected { batch.to_vec() } else { Vec::new() })
    }

    async fn latest_item(
        &self,
        resource_type: &ResourceType,
        resource_id: &str,
    ) -> Result<Option<ConfigItem>, AwsError> {
        self.call("config:GetResourceConfigHistory")?;
        Ok(self
            .items
            .get(&(resource_type.clone(), resource_id.to_string()))
            .cloned())
    }

    async fn list_discovered(
        &self,
        region: Option<&str>,
        resource_type: &ResourceType,
    ) -> Result<Vec<Discovered>, AwsError> {
        let mut out: Vec<Discovered> = self
            .items
            .iter()
            .filter(|((t, _), item)| t == resource_type && in_region(item, region))
            .map(|((_, id), _)| Discovered {
                resource_id: id.clone(),
                resource_name: Some(id.clone()),
                deleted: false,
            })
            .collect();
        out.extend(
            self.deleted
                .iter()
                .filter(|(t, _)| t == resource_type)
                .map(|(_, id)| Discovered {
                    resource_id: id.clone(),
                    resource_name: Some(id.clone()),
                    deleted: true,
                }),
        );
        self.pages("config:ListDiscoveredResources", out.len())?;
        Ok(out)
    }

    async fn batch_items(
        &self,
        region: Option<&str>,
        resource_type: &ResourceType,
        ids: &[String],
    ) -> Result<(Vec<ConfigItem>, Vec<String>), AwsError> {
        self.call("config:BatchGetResourceConfig")?;
        let mut items = Vec::new();
        let mut unprocessed = Vec::new();
        for id in ids {
            if self.unprocessed.contains(id) {
                unprocessed.push(id.clone());
            } else if let Some(i) = self
                .items
                .get(&(resource_type.clone(), id.clone()))
                .filter(|i| in_region(i, region))
            {
                items.push(i.clone());
            }
        }
        Ok((items, unprocessed))
    }

    async fn records(&self, region: &str, _resource_type: &ResourceType) -> Result<bool, AwsError> {
        self.call("config:DescribeConfigurationRecorders")?;
        Ok(self.recording_regions.contains(region))
    }

    async fn evaluated_resources(
        &self,
        _rule_name: &str,
    ) -> Result<Vec<(ResourceType, String)>, AwsError> {
        self.pages(
            "config:GetComplianceDetailsByConfigRule",
            self.evaluated_before.len(),
        )?;
        Ok(self.evaluated_before.clone())
    }

    async fn recorder_role(&self) -> Result<Option<String>, AwsError> {
        self.call("config:DescribeConfigurationRecorders")?;
        Ok(self.recorder_role.clone())
    }
}

impl crate::config::port::AggregatorReader for MemoryAws {
    async fn aggregate_discovered(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        within: Option<(&str, &str)>,
    ) -> Result<Vec<crate::config::port::AggregateResource>, AwsError> {
        self.known_aggregator("config:ListAggregateDiscoveredResources", aggregator)?;
        let out: Vec<crate::config::port::AggregateResource> = self
            .items
            .iter()
            .filter(|((t, _), _)| t == resource_type)
            .map(|((_, id), item)| crate::config::port::AggregateResource {
                account: item
                    .account_id
                    .clone()
                    .unwrap_or_else(|| self.account_id.clone()),
                region: item.region.clone().unwrap_or_default(),
                resource_id: id.clone(),
                resource_name: Some(id.clone()),
            })
            .filter(|k| within.is_none_or(|(a, r)| k.account == a && k.region == r))
            .collect();
        self.pages("config:ListAggregateDiscoveredResources", out.len())?;
        Ok(out)
    }

    async fn aggregate_items(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        keys: &[crate::config::port::AggregateResource],
    ) -> Result<(Vec<ConfigItem>, Vec<crate::config::port::AggregateResource>), AwsError> {
        self.known_aggregator("config:BatchGetAggregateResourceConfig", aggregator)?;
        self.call("config:BatchGetAggregateResourceConfig")?;
        let mut items = Vec::new();
        let mut unprocessed = Vec::new();
        for k in keys {
            match self
                .items
                .get(&(resource_type.clone(), k.resource_id.clone()))
            {
                Some(i) if !self.unprocessed.contains(&k.resource_id) => items.push(i.clone()),
                _ => unprocessed.push(k.clone()),
            }
        }
        Ok((items, unprocessed))
    }
}

impl MemoryAws {
    fn known_aggregator(&self, call: &'static str, name: &str) -> Result<(), AwsError> {
        if self.aggregator.as_deref() == Some(name) {
            return Ok(());
        }
        Err(AwsError {
            call,
            kind: ErrorKind::NotFound,
            code: Some("NoSuchConfigurationAggregatorException".into()),
            message: format!("no aggregator named {name}"),
        })
    }
}

impl crate::ports::AccountAccess for MemoryAws {
    type Reader = MemoryAws;

    /// The in-memory account reaches no other: every role is refused.
    async fn enter(&self, account: &str, role_name: &str) -> Result<MemoryAws, AwsError> {
        self.call("sts:AssumeRole")?;
        Err(AwsError {
            call: "sts:AssumeRole",
            kind: ErrorKind::AccessDenied,
            code: Some("AccessDenied".into()),
            message: format!("cannot assume arn:aws:iam::{account}:role/{role_name}"),
        })
    }
}
