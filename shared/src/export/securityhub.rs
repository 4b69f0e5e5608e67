//! Keeping Security Hub in step with the verdicts (docs/SECURITY-HUB.md): every failing or
//! warning rule of a judged resource imported as an ASFF finding (batches of 100, findings
//! Security Hub fails retried, then the invocation fails, as with `PutEvaluations`); every open
//! finding of those resources whose rule passes again re-imported `PASSED` and `ARCHIVED`;
//! muted resources' findings `SUPPRESSED` (and back to `NEW` when the mute ends) with
//! `BatchUpdateFindings`.

use std::collections::{BTreeMap, BTreeSet};

use super::asff::{self, product_arn, AsffFinding, GENERATOR_PREFIX};
use super::Located;
use crate::ports::{AwsError, ErrorKind};
use crate::rules::{Evaluation, Status, EC2_VPC, S3_BUCKET};

/// `BatchImportFindings` and `BatchUpdateFindings` take at most this many findings.
pub(crate) const MAX_BATCH: usize = 100;
/// Attempts for findings Security Hub reports as failed.
const ATTEMPTS: usize = 3;

/// An `ACTIVE` finding of the account's product, as `GetFindings` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFinding {
    pub(crate) id: String,
    pub(crate) product_arn: String,
    pub(crate) generator_id: String,
    pub(crate) resource_arn: String,
    pub(crate) region: String,
    /// `NEW`, `NOTIFIED`, `SUPPRESSED`, `RESOLVED`.
    pub(crate) workflow: Option<String>,
    /// When the finding was first imported (kept on every update).
    pub(crate) created_at: Option<String>,
}

/// Port: Security Hub.
#[allow(async_fn_in_trait)]
pub trait SecurityHubPort {
    /// The region whose Security Hub receives the findings; `None`: the export is off
    /// (`SecurityHubFindings` `Disabled`).
    fn security_hub_region(&self) -> Option<String>;
    /// `BatchImportFindings` (at most 100): the ids Security Hub failed, with why.
    async fn import_findings(
        &self,
        batch: &[AsffFinding],
    ) -> Result<Vec<(String, String)>, AwsError>;
    /// The `ACTIVE` findings of `product_arn` (`GetFindings`, 100 a page), only of these
    /// resources when given.
    async fn open_findings(
        &self,
        product_arn: &str,
        resource_arns: Option<&[String]>,
    ) -> Result<Vec<OpenFinding>, AwsError>;
    /// `BatchUpdateFindings` (at most 100, by id and product ARN): the workflow status, with a
    /// note; the ids it failed.
    async fn set_workflow(
        &self,
        findings: &[(String, String)],
        status: &str,
        note: &str,
    ) -> Result<Vec<String>, AwsError>;
}

/// Where the judged resources live, and how much of Security Hub they stand for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubScope<'a> {
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    /// `AWS::S3::Bucket` or `AWS::EC2::VPC`: the rule's resources.
    pub(crate) resource_type: &'static str,
    /// A periodic sweep: every open finding of the type in the region stands for a resource
    /// that was judged (or is gone); otherwise only the judged resources' findings.
    pub(crate) whole: bool,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HubSummary {
    pub(crate) imported: usize,
    pub(crate) resolved: usize,
    pub(crate) suppressed: usize,
    pub(crate) unsuppressed: usize,
    pub(crate) import_calls: usize,
}

fn arn_prefix(resource_type: &str, partition: &str, region: &str, account: &str) -> String {
    if resource_type == S3_BUCKET {
        format!("arn:{partition}:s3:::")
    } else {
        format!("arn:{partition}:ec2:{region}:{account}:vpc/")
    }
}

/// Bring Security Hub in line with `evaluated` (the resources just judged in `scope`).
pub(crate) async fn sync<P: SecurityHubPort>(
    p: &P,
    evaluated: &[Located<'_>],
    scope: HubScope<'_>,
    now_rfc3339: &str,
) -> Result<HubSummary, AwsError> {
    let mut summary = HubSummary::default();
    let partition = crate::policy::values::Partition::of_region(scope.region);
    let product = product_arn(partition.as_str(), scope.region, scope.account);
    // 1. What should be open: every failing or warning rule.
    let mut desired: Vec<AsffFinding> = Vec::new();
    let mut muted_ids: Vec<(String, String)> = Vec::new();
    for r in evaluated {
        for f in &r.evaluation.findings {
            if !matches!(f.status, Status::Fail | Status::Warn) {
                continue;
            }
            if let Some(a) = asff::finding(r, f, false, now_rfc3339) {
                if let Some(m) = &r.evaluation.muted {
                    muted_ids.push((a.id.clone(), m.clone()));
                }
                desired.push(a);
            }
        }
    }
    let wanted: BTreeSet<String> = desired.iter().map(|a| a.id.clone()).collect();
    // 2. What is open now, of these resources (or of the whole type in a sweep).
    let arns: Vec<String> = evaluated.iter().map(Located::arn).collect();
    // Each judged resource by its ARN (a sweep has thousands: no linear search per finding).
    let by_arn: BTreeMap<&str, &Located<'_>> =
        arns.iter().map(String::as_str).zip(evaluated).collect();
    let prefix = arn_prefix(
        scope.resource_type,
        partition.as_str(),
        scope.region,
        scope.account,
    );
    let open: Vec<OpenFinding> = if evaluated.is_empty() && !scope.whole {
        Vec::new()
    } else {
        p.open_findings(&product, (!scope.whole).then_some(arns.as_slice()))
            .await?
            .into_iter()
            .filter(|o| {
                o.product_arn == product
                    && o.generator_id.starts_with(GENERATOR_PREFIX)
                    && o.region == scope.region
                    && o.resource_arn.starts_with(&prefix)
                    && (scope.whole || by_arn.contains_key(o.resource_arn.as_str()))
            })
            .collect()
    };
    // 3. Open findings no longer wanted: re-imported PASSED and ARCHIVED.
    let mut resolved: Vec<AsffFinding> = Vec::new();
    for o in open.iter().filter(|o| !wanted.contains(&o.id)) {
        let Some(rule) = asff::rule_of(&o.generator_id) else {
            continue;
        };
        let judged = by_arn.get(o.resource_arn.as_str());
        let gone;
        let r = match judged {
            Some(r) => (*r).clone(),
            None => {
                let name = o
                    .resource_arn
                    .rsplit([':', '/'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                gone = Evaluation::not_applicable(
                    name,
                    &[rule],
                    "the resource no longer exists or left the rule's scope",
                );
                Located {
                    evaluation: &gone,
                    resource_type: if scope.resource_type == S3_BUCKET {
                        S3_BUCKET
                    } else {
                        EC2_VPC
                    },
                    account: Some(scope.account),
                    region: Some(scope.region),
                    partition: None,
                }
            }
        };
        let f = r
            .evaluation
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .cloned()
            .unwrap_or_else(|| {
                crate::rules::Finding::new(
                    rule,
                    Status::NotApplicable,
                    "the rule no longer applies",
                )
            });
        if let Some(mut a) = asff::finding(&r, &f, true, now_rfc3339) {
            a.id = o.id.clone();
            resolved.push(a);
        }
    }
    summary.imported = desired.len();
    summary.resolved = resolved.len();
    let mut all: Vec<AsffFinding> = desired.into_iter().chain(resolved).collect();
    // An update keeps the time the finding was first created.
    for a in &mut all {
        if let Some(created) = open
            .iter()
            .find(|o| o.id == a.id)
            .and_then(|o| o.created_at.clone())
        {
            a.created_at = created;
        }
    }
    summary.import_calls = import(p, &all).await?;
    // 4. Workflow: muted resources' findings SUPPRESSED; those no longer muted back to NEW.
    let open_workflow = |id: &str| {
        open.iter()
            .find(|o| o.id == id)
            .and_then(|o| o.workflow.clone())
    };
    let to_suppress: Vec<&(String, String)> = muted_ids
        .iter()
        .filter(|(id, _)| open_workflow(id).as_deref() != Some("SUPPRESSED"))
        .collect();
    for (note, group) in group_by_note(&to_suppress) {
        let ids: Vec<(String, String)> =
            group.into_iter().map(|id| (id, product.clone())).collect();
        update_workflow(p, &ids, "SUPPRESSED", &note).await?;
        summary.suppressed += ids.len();
    }
    let muted: BTreeSet<&str> = muted_ids.iter().map(|(id, _)| id.as_str()).collect();
    let unsuppress: Vec<(String, String)> = open
        .iter()
        .filter(|o| o.workflow.as_deref() == Some("SUPPRESSED"))
        .filter(|o| wanted.contains(&o.id) && !muted.contains(o.id.as_str()))
        .map(|o| (o.id.clone(), product.clone()))
        .collect();
    if !unsuppress.is_empty() {
        update_workflow(
            p,
            &unsuppress,
            "NEW",
            "vpce-guard: the resource is no longer muted",
        )
        .await?;
        summary.unsuppressed = unsuppress.len();
    }
    Ok(summary)
}

fn group_by_note(items: &[&(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (id, note) in items {
        match out.iter_mut().find(|(n, _)| n == note) {
            Some((_, ids)) => ids.push(id.clone()),
            None => out.push((note.clone(), vec![id.clone()])),
        }
    }
    out
}

/// Import in batches of 100; findings Security Hub fails are retried, and if they still fail
/// the sync fails. Returns the number of `BatchImportFindings` calls.
async fn import<P: SecurityHubPort>(p: &P, all: &[AsffFinding]) -> Result<usize, AwsError> {
    let mut calls = 0;
    for batch in all.chunks(MAX_BATCH) {
        let mut pending: Vec<AsffFinding> = batch.to_vec();
        for attempt in 1..=ATTEMPTS {
            calls += 1;
            let failed = p.import_findings(&pending).await?;
            if failed.is_empty() {
                pending.clear();
                break;
            }
            if attempt == ATTEMPTS {
                let ids: Vec<String> = failed
                    .iter()
                    .map(|(id, why)| format!("{id} ({why})"))
                    .collect();
                return Err(AwsError {
                    call: "securityhub:BatchImportFindings",
                    kind: ErrorKind::Rejected,
                    code: Some("FailedFindings".into()),
                    message: format!(
                        "Security Hub rejected {} finding(s) after {ATTEMPTS} attempts: {}",
                        failed.len(),
                        ids.join(", ")
                    ),
                });
            }
            pending.retain(|a| failed.iter().any(|(id, _)| id == &a.id));
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt as u64)).await;
        }
    }
    Ok(calls)
}

async fn update_workflow<P: SecurityHubPort>(
    p: &P,
    ids: &[(String, String)],
    status: &str,
    note: &str,
) -> Result<(), AwsError> {
    for batch in ids.chunks(MAX_BATCH) {
        let failed = p.set_workflow(batch, status, note).await?;
        if !failed.is_empty() {
            return Err(AwsError {
                call: "securityhub:BatchUpdateFindings",
                kind: ErrorKind::Rejected,
                code: Some("UnprocessedFindings".into()),
                message: format!(
                    "Security Hub did not set {} finding(s) to {status}: {}",
                    failed.len(),
                    failed.join(", ")
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
