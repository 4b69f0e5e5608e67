//! Security Hub in memory: findings imported by id (the latest kept, its workflow kept as
//! Security Hub keeps it), `GetFindings` of the `ACTIVE` ones, `BatchUpdateFindings` of the
//! workflow, and failures on demand.

use super::*;
use crate::export::asff::AsffFinding;
use crate::export::securityhub::{OpenFinding, SecurityHubPort};

/// One finding as Security Hub holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldFinding {
    pub finding: AsffFinding,
    /// `NEW` when first imported; `BatchUpdateFindings` changes it.
    pub workflow: String,
    /// The last note `BatchUpdateFindings` set.
    pub note: Option<String>,
}

impl MemoryAws {
    /// Every finding Security Hub holds, by id.
    pub fn hub_findings(&self) -> BTreeMap<String, HeldFinding> {
        self.hub.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Fail the next `n` findings imported, across imports (Security Hub's `FailedFindings`;
    /// `usize::MAX`: every one).
    pub fn fail_hub_imports(&self, n: usize) {
        if let Ok(mut f) = self.faults.lock() {
            f.failed_hub_findings = n;
        }
    }
}

impl SecurityHubPort for MemoryAws {
    fn security_hub_region(&self) -> Option<String> {
        self.security_hub.then(|| self.default_region.clone())
    }

    async fn import_findings(
        &self,
        batch: &[AsffFinding],
    ) -> Result<Vec<(String, String)>, AwsError> {
        self.call("securityhub:BatchImportFindings")?;
        assert!(
            batch.len() <= 100,
            "BatchImportFindings takes at most 100 findings"
        );
        let mut failed = Vec::new();
        let mut faults = self.faults.lock().ok();
        if let Ok(mut hub) = self.hub.lock() {
            for a in batch {
                if let Some(f) = faults.as_mut().filter(|f| f.failed_hub_findings > 0) {
                    f.failed_hub_findings -= 1;
                    failed.push((a.id.clone(), "InternalException".to_string()));
                    continue;
                }
                let workflow = hub
                    .get(&a.id)
                    .map(|h| h.workflow.clone())
                    .unwrap_or_else(|| "NEW".into());
                let note = hub.get(&a.id).and_then(|h| h.note.clone());
                hub.insert(
                    a.id.clone(),
                    HeldFinding {
                        finding: a.clone(),
                        workflow,
                        note,
                    },
                );
            }
        }
        Ok(failed)
    }

    async fn open_findings(
        &self,
        product_arn: &str,
        resource_arns: Option<&[String]>,
    ) -> Result<Vec<OpenFinding>, AwsError> {
        let hub = self.hub_findings();
        let open: Vec<OpenFinding> = hub
            .values()
            .filter(|h| h.finding.product_arn == product_arn && h.finding.record_state == "ACTIVE")
            .filter(|h| {
                resource_arns
                    .is_none_or(|arns| h.finding.resources.iter().any(|r| arns.contains(&r.id)))
            })
            .map(|h| OpenFinding {
                id: h.finding.id.clone(),
                product_arn: h.finding.product_arn.clone(),
                generator_id: h.finding.generator_id.clone(),
                resource_arn: h
                    .finding
                    .resources
                    .first()
                    .map(|r| r.id.clone())
                    .unwrap_or_default(),
                region: h.finding.region.clone(),
                workflow: Some(h.workflow.clone()),
                created_at: Some(h.finding.created_at.clone()),
            })
            .collect();
        self.pages("securityhub:GetFindings", open.len())?;
        Ok(open)
    }

    async fn set_workflow(
        &self,
        findings: &[(String, String)],
        status: &str,
        note: &str,
    ) -> Result<Vec<String>, AwsError> {
        self.call("securityhub:BatchUpdateFindings")?;
        let mut unprocessed = Vec::new();
        if let Ok(mut hub) = self.hub.lock() {
            for (id, _) in findings {
                match hub.get_mut(id) {
                    Some(h) => {
                        h.workflow = status.to_string();
                        h.note = Some(note.to_string());
                    }
                    None => unprocessed.push(id.clone()),
                }
            }
        }
        Ok(unprocessed)
    }
}
