//! The AWS SDK side of [`crate::export::securityhub`]: `SecurityHubPort` for `AwsClients`.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Compliance,
    ComplianceStatus, FindingProviderFields, FindingProviderSeverity, NoteUpdate, Recommendation,
    RecordState, Remediation, Resource, Severity, SeverityLabel, StringFilter,
    StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::export::asff::AsffFinding;
use crate::export::securityhub::{OpenFinding, SecurityHubPort};
use crate::ports::AwsError;

fn sdk_finding(a: &AsffFinding) -> AwsSecurityFinding {
    let resources = a
        .resources
        .iter()
        .map(|r| {
            Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(r.partition.as_str().into())
                .region(&r.region)
                .build()
        })
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(&a.schema_version)
        .id(&a.id)
        .product_arn(&a.product_arn)
        .generator_id(&a.generator_id)
        .aws_account_id(&a.aws_account_id)
        .region(&a.region)
        .set_types(Some(a.types.clone()))
        .created_at(&a.created_at)
        .updated_at(&a.updated_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(a.severity.label.as_str()))
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(SeverityLabel::from(
                            a.finding_provider_fields.severity.label.as_str(),
                        ))
                        .build(),
                )
                .set_types(Some(a.finding_provider_fields.types.clone()))
                .build(),
        )
        .title(&a.title)
        .description(&a.description)
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(&a.remediation.recommendation.text)
                        .build(),
                )
                .build(),
        )
        .set_product_fields(Some(
            a.product_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .set_resources(Some(resources))
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(a.compliance.status.as_str()))
                .build(),
        )
        .record_state(RecordState::from(a.record_state.as_str()))
        .build()
}

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

impl SecurityHubPort for AwsClients {
    fn security_hub_region(&self) -> Option<String> {
        if self.security_hub {
            self.default_region()
        } else {
            None
        }
    }

    async fn import_findings(
        &self,
        batch: &[AsffFinding],
    ) -> Result<Vec<(String, String)>, AwsError> {
        self.calls.count("securityhub:BatchImportFindings");
        let out = self
            .securityhub()
            .batch_import_findings()
            .set_findings(Some(batch.iter().map(sdk_finding).collect()))
            .send()
            .await
            .map_err(|e| map_sdk_error("securityhub:BatchImportFindings", &e))?;
        Ok(out
            .failed_findings()
            .iter()
            .map(|f| {
                (
                    f.id().unwrap_or_default().to_string(),
                    format!(
                        "{}: {}",
                        f.error_code().unwrap_or_default(),
                        f.error_message().unwrap_or_default()
                    ),
                )
            })
            .collect())
    }

    async fn open_findings(
        &self,
        product_arn: &str,
        resource_arns: Option<&[String]>,
    ) -> Result<Vec<OpenFinding>, AwsError> {
        // Up to 20 resource ids a query (Security Hub's limit of values per filter field).
        let groups: Vec<&[String]> = match resource_arns {
            None => vec![&[]],
            Some(arns) => arns.chunks(20).collect(),
        };
        let mut out = Vec::new();
        for group in groups {
            let mut filters = AwsSecurityFindingFilters::builder()
                .product_arn(equals(product_arn))
                .record_state(equals("ACTIVE"));
            for arn in group {
                filters = filters.resource_id(equals(arn));
            }
            let mut pages = self
                .securityhub()
                .get_findings()
                .filters(filters.build())
                .max_results(100)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                self.calls.count("securityhub:GetFindings");
                let page = page.map_err(|e| map_sdk_error("securityhub:GetFindings", &e))?;
                for f in page.findings() {
                    // Filters an endpoint may ignore are applied here too.
                    if f.record_state().map(|s| s.as_str()) != Some("ACTIVE") {
                        continue;
                    }
                    out.push(OpenFinding {
                        id: f.id().unwrap_or_default().to_string(),
                        product_arn: f.product_arn().unwrap_or_default().to_string(),
                        generator_id: f.generator_id().unwrap_or_default().to_string(),
                        resource_arn: f
                            .resources()
                            .first()
                            .and_then(|r| r.id())
                            .unwrap_or_default()
                            .to_string(),
                        region: f.region().unwrap_or_default().to_string(),
                        workflow: f
                            .workflow()
                            .and_then(|w| w.status())
                            .map(|s| s.as_str().to_string()),
                        created_at: f.created_at().map(str::to_string),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn set_workflow(
        &self,
        findings: &[(String, String)],
        status: &str,
        note: &str,
    ) -> Result<Vec<String>, AwsError> {
        self.calls.count("securityhub:BatchUpdateFindings");
        let ids = findings
            .iter()
            .map(|(id, product)| {
                AwsSecurityFindingIdentifier::builder()
                    .id(id)
                    .product_arn(product)
                    .build()
            })
            .collect();
        let out = self
            .securityhub()
            .batch_update_findings()
            .set_finding_identifiers(Some(ids))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::from(status))
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text(note)
                    .updated_by("vpce-guard")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map_sdk_error("securityhub:BatchUpdateFindings", &e))?;
        Ok(out
            .unprocessed_findings()
            .iter()
            .filter_map(|u| {
                u.finding_identifier()
                    .and_then(|f| f.id())
                    .map(str::to_string)
            })
            .collect())
    }
}
