//! Apply a plan and verify it, behind the [`PolicyStore`] port: re-read right before the write
//! and abort on any change, write, re-read, re-evaluate, and restore the previous policy when
//! the verification fails. Whatever happens, the bucket holds either its old policy or the
//! verified new one, and the [`RemediationEvent`] says which.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::policy_store::PolicyStore;
use crate::rules::bucket::check_policy_in_account;
use crate::rules::{Finding, RuleId, Status};

use super::history::{record_time, Action, HistoryStore, RecordStatus, RemediationRecord};
use super::{plan, principal_arn_of, Decision, RemedyInput, EXEMPT_TAG, SID_DENY_PLAIN_HTTP};

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
    pub(crate) fn parse(s: &str) -> Option<Mode> {
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
    /// As the events and records spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Finding => "finding",
            Trigger::ConfigCompliance => "config-compliance",
            Trigger::ConfigRemediation => "config-remediation",
            Trigger::Cli => "cli",
        }
    }

    /// A person's decision (writes in `DryRun` too, never in `Disabled`).
    pub(crate) fn is_manual(self) -> bool {
        matches!(self, Trigger::ConfigRemediation | Trigger::Cli)
    }
}

/// Does this mode let this trigger write?
pub(crate) fn may_write(mode: Mode, trigger: Trigger) -> bool {
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
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) mode: Mode,
    pub(crate) trigger: Trigger,
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
/// caller put there is replaced). A write is recorded in `history` first (a record that cannot
/// be made fails the remediation before anything is written), and the record is updated with
/// the outcome.
pub async fn remediate<S: PolicyStore, H: HistoryStore>(
    store: &S,
    history: &H,
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
    let mut record = RemediationRecord {
        bucket: bucket.clone(),
        region: region.clone(),
        account: input.account.clone(),
        at: record_time(input.now),
        action: Action::Remediate,
        actor: input
            .caller
            .as_deref()
            .map(principal_arn_of)
            .unwrap_or_else(|| "unknown".into()),
        trigger: trigger.as_str().into(),
        status: RecordStatus::Pending,
        previous_policy: p.previous.clone(),
        new_policy: Some(p.policy.clone()),
        verdicts_before: p.verdicts_before.clone(),
        verdicts_after: p.verdicts_after.clone(),
        reason: format!("writing {}", p.added.join(" and ")),
        undoes: None,
    };
    if let Err(e) = history.put_record(&record).await {
        ev.reason = format!(
            "cannot record the remediation in {} ({e}): nothing written",
            history.location()
        );
        return ev;
    }
    let text = p.policy.to_string();
    if let Err(e) = store.put_policy(&bucket, &region, &text).await {
        ev.reason = format!("the write failed: {e}; the previous policy is unchanged");
        finish_record(history, &mut record, RecordStatus::Failed, &mut ev).await;
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
            let params = input.params();
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
    let status = if ev.outcome == Outcome::Applied {
        RecordStatus::Applied
    } else {
        RecordStatus::Failed
    };
    finish_record(history, &mut record, status, &mut ev).await;
    ev
}

/// Update a record with the outcome; say in the event where it is, or that the update failed
/// (the record then stays `pending`, with both policies: a rollback still finds it).
async fn finish_record<H: HistoryStore>(
    history: &H,
    record: &mut RemediationRecord,
    status: RecordStatus,
    ev: &mut RemediationEvent,
) {
    if !history.records_anything() {
        return;
    }
    record.status = status;
    record.verdicts_after = ev.verdicts_after.clone();
    record.reason = ev.reason.clone();
    match history.put_record(record).await {
        Ok(()) => ev.reason.push_str(&format!(
            "; recorded in {} at {}",
            history.location(),
            record.at
        )),
        Err(e) => ev.reason.push_str(&format!(
            "; the record in {} at {} could not be updated ({e}) and stays pending",
            history.location(),
            record.at
        )),
    }
}

/// Restore a previous policy (`None`: delete the bucket policy) and verify the bucket holds it.
pub(crate) async fn rollback<S: PolicyStore>(
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

/// What a rollback restores, and what it expects to find.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoRequest {
    /// The policy to restore (`None`: delete the bucket policy).
    pub restore: Option<Value>,
    /// The policy the bucket must hold now (the remediation's `new_policy`): anything else
    /// means it changed since, and the rollback refuses. `None`: not checked (`--from FILE`).
    pub expect_current: Option<Option<Value>>,
    /// The `at` of the record undone.
    pub undoes: Option<String>,
}

/// How a rollback ended: `Ok` with what was done, or `Err` with why nothing (or not all) was.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoOutcome {
    pub outcome: Outcome,
    pub reason: String,
    pub(crate) record: Option<RemediationRecord>,
}

/// Roll back with the same guard rails as a remediation: the bucket must still hold what the
/// remediation wrote, the restored policy must not lock the caller out, the rollback is
/// recorded before it writes, and the policy is read back and compared. `input` gives the
/// bucket, the judging parameters and the caller (its `current` is read here).
pub async fn undo<S: PolicyStore, H: HistoryStore>(
    store: &S,
    history: &H,
    input: &RemedyInput,
    req: &UndoRequest,
) -> UndoOutcome {
    let (bucket, region) = (input.bucket.as_str(), input.region.as_str());
    let fail = |outcome: Outcome, reason: String| UndoOutcome {
        outcome,
        reason,
        record: None,
    };
    let current = match store.get_policy(bucket, region).await {
        Ok(p) => p,
        Err(e) => {
            return fail(
                Outcome::Failed,
                format!("cannot read the bucket policy: {e}"),
            )
        }
    };
    let current_json = parse_json(current.as_deref());
    if current.is_some() && current_json.is_none() {
        return fail(
            Outcome::Refused,
            "the current bucket policy is not JSON: nothing written".into(),
        );
    }
    if let Some(expected) = &req.expect_current {
        if current_json == req.restore && expected != &req.restore {
            return fail(
                Outcome::NoChange,
                "the bucket already holds the policy from before the remediation: nothing to undo"
                    .into(),
            );
        }
        if &current_json != expected {
            return fail(
                Outcome::Refused,
                format!(
                    "the bucket policy changed since the remediation{}: restoring would drop those changes; nothing written (compare with `vpce-guard remediations --format json`, or restore a file with --from)",
                    req.undoes.as_deref().map(|a| format!(" at {a}")).unwrap_or_default()
                ),
            );
        }
    }
    let restore_text = req.restore.as_ref().map(Value::to_string);
    if let Some(text) = &restore_text {
        if let Err(e) = crate::policy::PolicyDocument::parse(text) {
            return fail(
                Outcome::Refused,
                format!("the policy to restore is not valid: {e}"),
            );
        }
        if let Some(caller) = &input.caller {
            let arn = principal_arn_of(caller);
            match crate::rules::bucket::writer_denied(
                bucket,
                text,
                &input.params(),
                &arn,
                input.now,
            ) {
                Ok(None) => {}
                Ok(Some(why)) | Err(why) => {
                    return fail(
                        Outcome::Refused,
                        format!(
                            "the policy to restore would deny the caller {arn} from where it runs ({why}): nothing written"
                        ),
                    )
                }
            }
        }
    }
    let judge = |text: Option<&str>| {
        check_policy_in_account(
            bucket,
            region,
            text,
            &input.params(),
            &input.endpoints,
            input.now,
        )
        .unwrap_or_default()
    };
    let mut record = RemediationRecord {
        bucket: bucket.to_string(),
        region: region.to_string(),
        account: input.account.clone(),
        at: record_time(input.now),
        action: Action::Rollback,
        actor: input
            .caller
            .as_deref()
            .map(principal_arn_of)
            .unwrap_or_else(|| "unknown".into()),
        trigger: Trigger::Cli.as_str().into(),
        status: RecordStatus::Pending,
        previous_policy: current_json.clone(),
        new_policy: req.restore.clone(),
        verdicts_before: judge(current.as_deref()),
        verdicts_after: judge(restore_text.as_deref()),
        reason: "restoring".into(),
        undoes: req.undoes.clone(),
    };
    if let Err(e) = history.put_record(&record).await {
        return fail(
            Outcome::Failed,
            format!(
                "cannot record the rollback in {} ({e}): nothing written",
                history.location()
            ),
        );
    }
    let result = rollback(store, bucket, region, req.restore.as_ref()).await;
    let (outcome, status, mut reason) = match result {
        Ok(msg) => (Outcome::Applied, RecordStatus::Applied, msg),
        Err(e) => (Outcome::Failed, RecordStatus::Failed, e),
    };
    record.status = status;
    record.reason = reason.clone();
    if history.records_anything() {
        match history.put_record(&record).await {
            Ok(()) => reason.push_str(&format!(
                "; recorded in {} at {}",
                history.location(),
                record.at
            )),
            Err(e) => reason.push_str(&format!(
                "; the record in {} could not be updated ({e}) and stays pending",
                history.location()
            )),
        }
    }
    UndoOutcome {
        outcome,
        reason,
        record: Some(record),
    }
}
