//! `vpce-guard remediate` and `vpce-guard rollback`.

use std::io::Write;

use serde_json::Value;
use vpce_guard::aws::clients::AwsClients;
use vpce_guard::aws::policy_store::{CallerIdentity, DeployedRules};
use vpce_guard::aws::{AccountReader, BucketReader, NetworkReader};
use vpce_guard::config::parse_rule_parameters;
use vpce_guard::remedy::apply::{remediate, rollback, Mode, Outcome, RemediationEvent, Trigger};
use vpce_guard::remedy::{render_diff, RemedyInput};
use vpce_guard::rules::bucket::RegionView;
use vpce_guard::rules::{BucketParams, Finding};

use crate::{Format, RemediateArgs, RollbackArgs};

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

/// Run `remediate`; `Err` is a one-line message for exit status 2.
pub fn run(args: &RemediateArgs) -> Result<u8, String> {
    check_endpoint(&args.endpoint_url)?;
    let ev = runtime()?.block_on(async {
        let c = AwsClients::load(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let region = bucket_region(&c, &args.bucket, &args.region).await?;
        let account = c
            .account_id()
            .await
            .map_err(|e| format!("cannot tell the account: {e}"))?;
        // The deployed bucket rule's parameters are the defaults: a CLI remediation writes what
        // the rule accepts and never locks the stack's functions out. Flags add to them.
        let mut p: BucketParams = match c.rule_parameters(&args.rule_name).await {
            Ok(Some(raw)) => parse_rule_parameters(Some(&raw)).map_err(|e| {
                format!("the deployed rule `{}` has invalid parameters: {e}", args.rule_name)
            })?,
            Ok(None) => BucketParams::default(),
            Err(e) => {
                return Err(format!(
                    "cannot read the deployed rule `{}` ({e}); without its parameters the write could lock the stack's functions out",
                    args.rule_name
                ))
            }
        };
        add_unique(&mut p.approved_vpce, &args.approved_vpce);
        add_unique(&mut p.exempt_principals, &args.exempt_principal);
        add_unique(&mut p.guard_principals, &args.guard_principal);
        p.validate().map_err(|e| e.to_string())?;
        // The region's S3 endpoints only (one filtered call), as the remediator function reads
        // them: not the whole network of the region.
        let s3_endpoints = c
            .s3_endpoints(&region)
            .await
            .map_err(|e| format!("cannot read the S3 endpoints of {region}: {e}"))?;
        let available = RegionView::from_endpoints(&region, &s3_endpoints).available;
        let endpoints: Vec<String> = if p.approved_vpce.is_empty() {
            available
        } else {
            p.approved_vpce
                .iter()
                .filter(|e| available.contains(e))
                .cloned()
                .collect()
        };
        let caller = c
            .caller_arn()
            .await
            .map_err(|e| format!("cannot tell who is running: {e}"))?;
        let input = RemedyInput {
            bucket: args.bucket.clone(),
            region,
            account,
            current: None,
            endpoints,
            exempt_principals: p.exempt_principals.clone(),
            guard_principals: p.guard_principals.clone(),
            config_role: None,
            require: p,
            caller: Some(caller),
            exempt_tag: false,
            now: vpce_guard::now_epoch_seconds(),
        };
        let mode = if args.apply { Mode::Enforce } else { Mode::DryRun };
        Ok(remediate(&c, input, mode, Trigger::Cli, args.apply).await)
    })?;
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
    let text = std::fs::read_to_string(&args.from)
        .map_err(|e| format!("cannot read `{}`: {e}", args.from))?;
    let previous = previous_from(&text)?;
    let msg = runtime()?.block_on(async {
        let c = AwsClients::load(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let region = bucket_region(&c, &args.bucket, &args.region).await?;
        rollback(&c, &args.bucket, &region, previous.as_ref()).await
    })?;
    println!("{}: {msg}", args.bucket);
    Ok(0)
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
