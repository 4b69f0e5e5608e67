//! `vpce-guard remediate` and `vpce-guard rollback`.

use std::io::Write;

use serde_json::Value;
use vpce_guard::aws::AwsClients;
use vpce_guard::aws::{ConfiguredHistory, HistoryTable};
use vpce_guard::config::parse_rule_parameters;
use vpce_guard::ports::expand_for_writing;
use vpce_guard::ports::{AccountReader, BucketReader, NetworkReader};
use vpce_guard::ports::{CallerIdentity, DeployedRules};
use vpce_guard::remedy::apply::{
    remediate, undo, Mode, Outcome, RemediationEvent, Trigger, UndoRequest,
};
use vpce_guard::remedy::history::{record_to_undo, HistoryFile, HistoryStore, RemediationRecord};
use vpce_guard::remedy::{render_diff, RemedyInput};
use vpce_guard::rules::bucket::RegionView;
use vpce_guard::rules::{BucketParams, Finding};

use crate::{Format, HistoryArgs, RemediateArgs, RemediationsArgs, RollbackArgs};

/// Exit status of a refusal.
pub const EXIT_REFUSED: u8 = 1;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn add_unique(list: &mut Vec<String>, more: &[String]) {
    for m in more {
        let m = m.trim();
        if !m.is_empty() && !list.iter().any(|x| x == m) {
            list.push(m.to_string());
        }
    }
}

fn check_endpoint(url: &Option<String>) -> Result<(), String> {
    match url {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => Err(format!(
            "--endpoint-url `{u}` must start with http:// or https://"
        )),
        _ => Ok(()),
    }
}

async fn bucket_region(
    c: &AwsClients,
    bucket: &str,
    given: &Option<String>,
) -> Result<String, String> {
    if let Some(r) = given {
        return Ok(r.clone());
    }
    match c.bucket_region(bucket).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(format!("bucket `{bucket}` does not exist")),
        Err(e) => Err(format!("cannot find the region of `{bucket}`: {e}")),
    }
}

/// The deployed bucket rule's parameters (the defaults: a CLI write accepts what the rule
/// accepts and never locks the stack's functions out).
async fn deployed_params(c: &AwsClients, rule_name: &str) -> Result<BucketParams, String> {
    match c.rule_parameters(rule_name).await {
        Ok(Some(raw)) => parse_rule_parameters(Some(&raw))
            .map_err(|e| format!("the deployed rule `{rule_name}` has invalid parameters: {e}")),
        Ok(None) => Ok(BucketParams::default()),
        Err(e) => Err(format!(
            "cannot read the deployed rule `{rule_name}` ({e}); without its parameters the write could lock the stack's functions out"
        )),
    }
}

/// The approved endpoints that are available in the region: the region's S3 endpoints only
/// (one filtered call), as the remediator function reads them.
async fn available_endpoints(
    c: &AwsClients,
    region: &str,
    approved: &[String],
) -> Result<Vec<String>, String> {
    let s3_endpoints = c
        .s3_endpoints(region)
        .await
        .map_err(|e| format!("cannot read the S3 endpoints of {region}: {e}"))?;
    let available = RegionView::from_endpoints(region, &s3_endpoints).available;
    Ok(if approved.is_empty() {
        available
    } else {
        approved
            .iter()
            .filter(|e| available.contains(e))
            .cloned()
            .collect()
    })
}

/// The history the flags name: the table, else the file, else the default file.
fn open_history(h: &HistoryArgs, c: &AwsClients) -> Result<ConfiguredHistory, String> {
    if let Some(table) = h.history_table.as_deref().filter(|t| !t.trim().is_empty()) {
        return Ok(ConfiguredHistory::Table(Box::new(HistoryTable {
            clients: c.clone(),
            table: table.trim().to_string(),
            retention_days: DEFAULT_RETENTION_DAYS,
        })));
    }
    let path = match &h.history_file {
        Some(p) => std::path::PathBuf::from(p),
        None => HistoryFile::default_path(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?,
    };
    Ok(ConfiguredHistory::File(HistoryFile { path }))
}

/// The template's default `RemediationHistoryRetentionDays`.
const DEFAULT_RETENTION_DAYS: u32 = 400;

/// Everything a CLI write judges with: the bucket, its region and account, the parameters and
/// the caller.
async fn remedy_input(
    c: &AwsClients,
    bucket: &str,
    region: &Option<String>,
    mut p: BucketParams,
) -> Result<RemedyInput, String> {
    let region = bucket_region(c, bucket, region).await?;
    let account = c
        .account_id()
        .await
        .map_err(|e| format!("cannot tell the account: {e}"))?;
    let endpoints = available_endpoints(c, &region, &p.approved_vpce).await?;
    let caller = c
        .caller_arn()
        .await
        .map_err(|e| format!("cannot tell who is running: {e}"))?;
    p.partition = vpce_guard::rules::params::Partition::of_region(&region);
    Ok(RemedyInput {
        bucket: bucket.to_string(),
        region,
        account,
        current: None,
        endpoints,
        exempt_principals: p.exempt_principals.clone(),
        guard_principals: p.guard_principals.clone(),
        remediator_principals: p.remediator_principals.clone(),
        config_role: None,
        require: p,
        caller: Some(caller),
        exempt_tag: false,
        now: vpce_guard::now_epoch_seconds(),
    })
}

/// Run `remediate`; `Err` is a one-line message for exit status 2.
pub fn run(args: &RemediateArgs) -> Result<u8, String> {
    check_endpoint(&args.endpoint_url)?;
    let (ev, notes, location) = runtime()?.block_on(async {
        let c = AwsClients::load(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let mut p = deployed_params(&c, &args.rule_name).await?;
        add_unique(&mut p.approved_vpce, &args.approved_vpce);
        add_unique(&mut p.exempt_principals, &args.exempt_principal);
        add_unique(&mut p.guard_principals, &args.guard_principal);
        add_unique(&mut p.remediator_principals, &args.remediator_principal);
        p.rcps = crate::check::read_rcps(&args.rcp)?;
        p.validate().map_err(|e| e.to_string())?;
        // The deny names the guard's roles exactly: patterns become the roles that exist now.
        let notes = expand_for_writing(&c, &mut p)
            .await
            .map_err(|e| e.to_string())?;
        let history = open_history(&args.history, &c)?;
        let input = remedy_input(&c, &args.bucket, &args.region, p).await?;
        let mode = if args.apply {
            Mode::Enforce
        } else {
            Mode::DryRun
        };
        let ev = remediate(&c, &history, input, mode, Trigger::Cli, args.apply).await;
        Ok::<_, String>((ev, notes, history.location()))
    })?;
    for n in &notes {
        eprintln!("vpce-guard: {n}");
    }
    if args.apply && matches!(ev.outcome, Outcome::Applied | Outcome::Failed) {
        eprintln!("vpce-guard: history: {location}");
    }
    print_event(&ev, args.format)?;
    Ok(match ev.outcome {
        Outcome::Applied | Outcome::Planned | Outcome::NoChange => 0,
        Outcome::Refused => {
            eprintln!("vpce-guard: refused: {}", ev.reason);
            EXIT_REFUSED
        }
        Outcome::Failed => {
            eprintln!("vpce-guard: {}", ev.reason);
            crate::EXIT_USAGE
        }
    })
}

fn verdict_line(before: &[Finding], after: &[Finding]) -> String {
    let mut out = String::new();
    for b in before {
        let a = after
            .iter()
            .find(|a| a.rule == b.rule)
            .map(|a| a.status.as_str())
            .unwrap_or("-");
        out.push_str(&format!(
            "  {:<24} {:<15} -> {a}\n",
            b.rule.as_str(),
            b.status.as_str()
        ));
    }
    out
}

fn print_event(ev: &RemediationEvent, format: Format) -> Result<(), String> {
    let text = match format {
        Format::Json => {
            serde_json::to_string_pretty(ev).map_err(|e| format!("cannot render JSON: {e}"))? + "\n"
        }
        Format::Text => {
            let mut t = format!(
                "{}: {} ({})\n",
                ev.bucket,
                match ev.outcome {
                    Outcome::Applied => "applied",
                    Outcome::Planned => "planned (run with --apply to write)",
                    Outcome::NoChange => "nothing to change",
                    Outcome::Refused => "refused",
                    Outcome::Failed => "failed",
                },
                ev.reason
            );
            if let Some(new) = &ev.new_policy {
                t.push_str("\nthe policy, before -> after:\n");
                t.push_str(&render_diff(ev.previous_policy.as_ref(), new));
            }
            if !ev.verdicts_before.is_empty() {
                t.push_str("\nverdicts, before -> after:\n");
                t.push_str(&verdict_line(&ev.verdicts_before, &ev.verdicts_after));
            }
            t
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// The policy to restore from a file: a policy document, or a saved Remediation event
/// (`previous_policy`, or its `detail.previous_policy`; `null` means "no policy").
pub fn previous_from(text: &str) -> Result<Option<Value>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("the file is not JSON: {e}"))?;
    let event = v
        .get("detail")
        .filter(|d| d.get("previous_policy").is_some())
        .unwrap_or(&v);
    if let Some(prev) = event.get("previous_policy") {
        return Ok(match prev {
            Value::Null => None,
            Value::String(s) => Some(
                serde_json::from_str(s)
                    .map_err(|e| format!("`previous_policy` is not a policy: {e}"))?,
            ),
            other => Some(other.clone()),
        });
    }
    if v.get("Statement").is_some() {
        return Ok(Some(v));
    }
    Err(
        "the file is neither a policy document nor a Remediation event with `previous_policy`"
            .into(),
    )
}

/// Run `rollback`; `Err` is a one-line message for exit status 2.
pub fn run_rollback(args: &RollbackArgs) -> Result<u8, String> {
    check_endpoint(&args.endpoint_url)?;
    let from_file = match &args.from {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read `{f}`: {e}"))?;
            Some(previous_from(&text)?)
        }
        None => None,
    };
    let out = runtime()?.block_on(async {
        let c = AwsClients::load(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let history = open_history(&args.history, &c)?;
        let req = match from_file {
            Some(restore) => UndoRequest {
                restore,
                expect_current: None,
                undoes: None,
            },
            None => {
                let records = history.records(Some(&args.bucket)).await.map_err(|e| {
                    format!("cannot read the history in {}: {e}", history.location())
                })?;
                let rec = record_to_undo(&records, &args.bucket, args.at.as_deref())
                    .map_err(|e| format!("{e} (history: {})", history.location()))?;
                UndoRequest {
                    restore: rec.previous_policy.clone(),
                    expect_current: Some(rec.new_policy.clone()),
                    undoes: Some(rec.at.clone()),
                }
            }
        };
        let mut p = deployed_params(&c, &args.rule_name).await?;
        expand_for_writing(&c, &mut p)
            .await
            .map_err(|e| e.to_string())?;
        let input = remedy_input(&c, &args.bucket, &args.region, p).await?;
        Ok::<_, String>(undo(&c, &history, &input, &req).await)
    })?;
    match out.outcome {
        Outcome::Applied | Outcome::NoChange => {
            println!("{}: {}", args.bucket, out.reason);
            Ok(0)
        }
        Outcome::Refused => {
            eprintln!("vpce-guard: refused: {}", out.reason);
            Ok(EXIT_REFUSED)
        }
        _ => Err(out.reason),
    }
}

/// Run `remediations`; `Err` is a one-line message for exit status 2.
pub fn run_list(args: &RemediationsArgs) -> Result<u8, String> {
    check_endpoint(&args.endpoint_url)?;
    let (records, location) = runtime()?.block_on(async {
        let c = AwsClients::load(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let history = open_history(&args.history, &c)?;
        let records = history
            .records(args.bucket.as_deref())
            .await
            .map_err(|e| format!("cannot read the history in {}: {e}", history.location()))?;
        Ok::<_, String>((records, history.location()))
    })?;
    let text = match args.format {
        Format::Json => {
            let list: Vec<Value> = records.iter().map(record_json).collect();
            serde_json::to_string_pretty(&serde_json::json!({ "remediations": list }))
                .map_err(|e| format!("cannot render JSON: {e}"))?
                + "\n"
        }
        Format::Text => {
            let mut t = format!("{} record(s) in {location}\n", records.len());
            for r in &records {
                let failing = |v: &[Finding]| {
                    v.iter()
                        .filter(|f| f.status == vpce_guard::rules::Status::Fail)
                        .count()
                };
                t.push_str(&format!(
                    "{}  {:<9} {:<8} {}  {} (trigger {}) by {}; failing rules {} -> {}\n",
                    r.at,
                    r.action.as_str(),
                    serde_json::to_value(r.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    r.bucket,
                    r.region,
                    r.trigger,
                    r.actor,
                    failing(&r.verdicts_before),
                    failing(&r.verdicts_after)
                ));
            }
            t
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the output: {e}"))?;
    Ok(0)
}

/// One record as `remediations --format json` lists it.
fn record_json(r: &RemediationRecord) -> Value {
    serde_json::json!({
        "bucket": r.bucket,
        "region": r.region,
        "at": r.at,
        "action": r.action.as_str(),
        "actor": r.actor,
        "trigger": r.trigger,
        "status": r.status,
        "reason": r.reason,
        "undoes": r.undoes,
        "verdicts_before": r.verdicts_before,
        "verdicts_after": r.verdicts_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_files_are_policies_or_events() {
        let p = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(previous_from(p).unwrap().is_some());
        assert_eq!(
            previous_from(r#"{"bucket":"b","previous_policy":null}"#).unwrap(),
            None
        );
        let ev = r#"{"detail":{"previous_policy":{"Statement":[]}}}"#;
        assert!(previous_from(ev).unwrap().is_some());
        let e = previous_from(r#"{"hello":1}"#).unwrap_err();
        assert!(e.contains("neither a policy document"), "{e}");
    }
}
