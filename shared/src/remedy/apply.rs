//! Apply a plan and verify it, behind the [`PolicyStore`] port: re-read right before the write
//! and abort on any change, write, re-read, re-evaluate, and restore the previous policy when
//! the verification fails. Whatever happens, the bucket holds either its old policy or the
//! verified new one, and the [`RemediationEvent`] says which.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::policy_store::PolicyStore;
use crate::rules::bucket::check_policy_in_account;
use crate::rules::params::Partition;
use crate::rules::{Finding, RuleId, Status};

use super::{plan, Decision, RemedyInput, EXEMPT_TAG, SID_DENY_PLAIN_HTTP};

/// `REMEDIATION_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Never writes.
    Disabled,
    /// Automatic triggers plan and report; a person's request writes.
    DryRun,
    /// Automatic triggers write.
    Enforce,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim() {
            "Disabled" => Some(Mode::Disabled),
            "DryRun" | "" => Some(Mode::DryRun),
            "Enforce" => Some(Mode::Enforce),
            _ => None,
        }
    }
}

/// What asked for the remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A `vpce-guard Finding` event (automatic).
    Finding,
    /// A Config compliance change to NON_COMPLIANT (automatic).
    ConfigCompliance,
    /// Config's "Remediate" button through the SSM document (a person).
    ConfigRemediation,
    /// `vpce-guard remediate --apply` (a person).
    Cli,
}

impl Trigger {
    /// A person's decision (writes in `DryRun` too, never in `Disabled`).
    pub fn is_manual(self) -> bool {
        matches!(self, Trigger::ConfigRemediation | Trigger::Cli)
    }
}

/// Does this mode let this trigger write?
pub fn may_write(mode: Mode, trigger: Trigger) -> bool {
    match mode {
        Mode::Disabled => false,
        Mode::DryRun => trigger.is_manual(),
        Mode::Enforce => true,
    }
}

/// How a remediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Applied,
    Planned,
    NoChange,
    Refused,
    Failed,
}

/// The `vpce-guard Remediation` event detail (and the CLI's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationEvent {
    pub bucket: String,
    pub region: String,
    pub account: String,
    pub mode: Mode,
    pub trigger: Trigger,
    pub outcome: Outcome,
    pub reason: String,
    /// `null` when the bucket had no policy.
    pub previous_policy: Option<Value>,
    /// The planned or written policy (`null` when none was planned).
    pub new_policy: Option<Value>,
    pub verdicts_before: Vec<Finding>,
    pub verdicts_after: Vec<Finding>,
}

fn parse_json(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

fn passes(findings: &[Finding], rules: &[RuleId]) -> Result<(), String> {
    for rule in rules {
        match findings.iter().find(|f| f.rule == *rule) {
            Some(f) if f.status == Status::Pass || f.status == Status::NotApplicable => {}
            Some(f) => return Err(format!("{rule} is {} ({})", f.status.as_str(), f.reason)),
            None => return Err(format!("{rule} was not evaluated")),
        }
    }
    Ok(())
}

/// Plan, and with `write` (see [`may_write`]; the CLI writes only with `--apply`), apply and
/// verify. `input.current` and `input.exempt_tag` are read from the store here (whatever the
/// caller put there is replaced).
pub async fn remediate<S: PolicyStore>(
    store: &S,
    mut input: RemedyInput,
    mode: Mode,
    trigger: Trigger,
    write: bool,
) -> RemediationEvent {
    let mut ev = RemediationEvent {
        bucket: input.bucket.clone(),
        region: input.region.clone(),
        account: input.account.clone(),
        mode,
        trigger,
        outcome: Outcome::Failed,
        reason: String::new(),
        previous_policy: None,
        new_policy: None,
        verdicts_before: Vec::new(),
        verdicts_after: Vec::new(),
    };
    let (bucket, region) = (input.bucket.clone(), input.region.clone());
    input.current = match store.get_policy(&bucket, &region).await {
        Ok(p) => p,
        Err(e) => {
            ev.reason = format!("cannot read the bucket policy: {e}");
            return ev;
        }
    };
    ev.previous_policy = parse_json(input.current.as_deref());
    input.exempt_tag = match store.bucket_tags(&bucket, &region).await {
        Ok(tags) => tags
            .iter()
            .any(|(k, v)| k == EXEMPT_TAG && v.eq_ignore_ascii_case("true")),
        Err(e) => {
            ev.reason = format!("cannot read the bucket's tags ({EXEMPT_TAG}): {e}");
            return ev;
        }
    };
    let p = match plan(&input) {
        Decision::NoChange { reason } => {
            ev.outcome = Outcome::NoChange;
            ev.reason = reason;
            return ev;
        }
        Decision::Refused {
            reason,
            verdicts_before,
        } => {
            ev.outcome = Outcome::Refused;
            ev.reason = reason;
            ev.verdicts_before = verdicts_before;
            return ev;
        }
        Decision::Write(p) => p,
    };
    ev.verdicts_before = p.verdicts_before.clone();
    ev.verdicts_after = p.verdicts_after.clone();
    ev.new_policy = Some(p.policy.clone());
    if !write {
        ev.outcome = Outcome::Planned;
        ev.reason = format!("planned {}; nothing written", p.added.join(" and "));
        return ev;
    }
    // The policy must not have changed since it was planned from.
    match store.get_policy(&bucket, &region).await {
        Ok(now)
            if parse_json(now.as_deref()) == p.previous
                && now.is_some() == p.previous.is_some() => {}
        Ok(_) => {
            ev.outcome = Outcome::Refused;
            ev.reason = "the bucket policy changed between planning and writing: nothing written; run again to plan from the new policy".into();
            return ev;
        }
        Err(e) => {
            ev.reason =
                format!("cannot re-read the bucket policy before writing: {e}; nothing written");
            return ev;
        }
    }
    let text = p.policy.to_string();
    if let Err(e) = store.put_policy(&bucket, &region, &text).await {
        ev.reason = format!("the write failed: {e}; the previous policy is unchanged");
        return ev;
    }
    let mut fixed = vec![
        RuleId::S3VpceDeny,
        RuleId::S3VpceKnown,
        RuleId::S3VpceReachable,
    ];
    if p.added.contains(&SID_DENY_PLAIN_HTTP) {
        fixed.push(RuleId::S3Tls);
    }
    let verified = match store.get_policy(&bucket, &region).await {
        Ok(Some(read)) => {
            let params = crate::rules::BucketParams {
                approved_vpce: input.endpoints.clone(),
                exempt_principals: input.exempt_principals.clone(),
                guard_principals: input.guard_principals.clone(),
                config_role: input.config_role.clone(),
                account_id: Some(input.account.clone()),
                partition: Partition::of_region(&region),
                ..input.require.clone()
            };
            match check_policy_in_account(
                &bucket,
                &region,
                Some(&read),
                &params,
                &input.endpoints,
                input.now,
            ) {
                Ok(after) => {
                    ev.verdicts_after = after.clone();
                    if parse_json(Some(&read)).as_ref() != Some(&p.policy) {
                        Err("the policy read back differs from the one written".to_string())
                    } else {
                        passes(&after, &fixed)
                    }
                }
                Err(e) => Err(format!("the policy read back is not valid: {e}")),
            }
        }
        Ok(None) => Err("the bucket has no policy after the write".to_string()),
        Err(e) => Err(format!("cannot re-read the policy after the write: {e}")),
    };
    match verified {
        Ok(()) => {
            ev.outcome = Outcome::Applied;
            ev.reason = format!("wrote {} and verified it", p.added.join(" and "));
        }
        Err(why) => {
            let restored = match &input.current {
                Some(old) => store.put_policy(&bucket, &region, old).await,
                None => store.delete_policy(&bucket, &region).await,
            };
            ev.reason = match restored {
                Ok(()) => format!("verification failed ({why}); the previous policy was restored"),
                Err(e) => format!(
                    "verification failed ({why}) and restoring the previous policy failed too ({e}): restore it from previous_policy"
                ),
            };
        }
    }
    ev
}

/// Restore a previous policy (`None`: delete the bucket policy) and verify the bucket holds it.
pub async fn rollback<S: PolicyStore>(
    store: &S,
    bucket: &str,
    region: &str,
    previous: Option<&Value>,
) -> Result<String, String> {
    match previous {
        Some(p) => {
            let text = p.to_string();
            crate::policy::PolicyDocument::parse(&text)
                .map_err(|e| format!("the previous policy is not valid: {e}"))?;
            store
                .put_policy(bucket, region, &text)
                .await
                .map_err(|e| format!("the write failed: {e}"))?;
        }
        None => store
            .delete_policy(bucket, region)
            .await
            .map_err(|e| format!("the delete failed: {e}"))?,
    }
    let now = store
        .get_policy(bucket, region)
        .await
        .map_err(|e| format!("cannot re-read the policy: {e}"))?;
    if parse_json(now.as_deref()).as_ref() == previous && now.is_some() == previous.is_some() {
        Ok(match previous {
            Some(_) => "restored the previous policy and verified it".into(),
            None => "deleted the bucket policy (there was none before) and verified it".into(),
        })
    } else {
        Err("the policy read back differs from the one restored".into())
    }
}
