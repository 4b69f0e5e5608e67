//! `vpce-guard scan`: sweep an account (or any AWS-compatible endpoint) and evaluate every
//! bucket and VPC.

use std::io::IsTerminal;

use vpce_guard::aws::AwsClients;
use vpce_guard::ports::expand_for_judging;
use vpce_guard::ports::{AwsError, ErrorKind};
use vpce_guard::rules::Status;
use vpce_guard::scan::aggregate::{scan_aggregator, AggregatorOptions};
use vpce_guard::scan::{scan, ScanOptions, ScanReport, ScanSource};

use crate::check::params;
use crate::output::render_text;
use crate::{ReportFormat, ScanArgs, SourceArg, EXIT_NON_COMPLIANT};

fn cannot_run(e: &AwsError) -> String {
    match e.kind {
        ErrorKind::Credentials => format!(
            "cannot run: no usable AWS credentials ({e}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
        ErrorKind::Unreachable => format!("cannot run: the AWS endpoint cannot be reached ({e})"),
        _ => format!("cannot run: {e}"),
    }
}

/// Run the command; `Err` is a one-line message for exit status 2.
pub fn run(args: &ScanArgs) -> Result<u8, String> {
    let mut params = params(&args.rules, None)?;
    let mutes = crate::check::mute_list(&args.rules)?;
    if let Some(url) = &args.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--endpoint-url `{url}` must start with http:// or https://"
            ));
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let (mut report, account) = runtime.block_on(async {
        let first_region = args.region.first().map(String::as_str);
        let clients = AwsClients::load(args.endpoint_url.as_deref(), first_region).await;
        let regions = if args.region.is_empty() && args.aggregator.is_some() {
            // Every region the aggregator covers.
            Vec::new()
        } else if args.region.is_empty() {
            match clients.default_region() {
                Some(r) => vec![r],
                None => {
                    return Err(
                        "no region: pass --region or set AWS_REGION (or a profile region)"
                            .to_string(),
                    )
                }
            }
        } else {
            args.region.clone()
        };
        // A guard pattern stays an exemption; S3-GUARD-ACCESS asks about the roles it matches.
        if params
            .guard_principals
            .iter()
            .chain(&params.remediator_principals)
            .any(|p| vpce_guard::rules::guard::is_pattern(p))
        {
            let mut expanded = params.clone();
            match expand_for_judging(&clients, &mut expanded).await {
                Ok(notes) => {
                    for n in notes {
                        eprintln!("vpce-guard: {n}");
                    }
                    params = expanded;
                }
                Err(e) => eprintln!(
                    "vpce-guard: warning: {e}; S3-GUARD-ACCESS judges the pattern as written"
                ),
            }
        }
        let opts = ScanOptions {
            regions,
            buckets: args.bucket.clone(),
            params,
            concurrency: args.concurrency,
            now: vpce_guard::now_epoch_seconds(),
            source: match args.source {
                SourceArg::Api => ScanSource::Api,
                SourceArg::Config => ScanSource::Config,
                SourceArg::Auto => ScanSource::Auto,
            },
        };
        let tty = std::io::stderr().is_terminal();
        let progress = move |done: usize, total: usize| {
            if tty {
                eprint!("\rvpce-guard: {done}/{total} buckets");
                if done == total {
                    eprintln!();
                }
            }
        };
        let report = match &args.aggregator {
            Some(name) => {
                let agg = AggregatorOptions {
                    name: name.clone(),
                    role_name: args.assume_role_name.clone(),
                };
                scan_aggregator(&clients, &clients.calls, &opts, &agg, &progress)
                    .await
                    .map_err(|e| cannot_run(&e))?
            }
            None => scan(&clients, &clients.calls, &opts, &progress)
                .await
                .map_err(|e| cannot_run(&e))?,
        };
        // OCSF names each resource's account: the caller's, read once (after the sweep).
        let account = if args.format == ReportFormat::Ocsf {
            use vpce_guard::ports::AccountReader;
            Some(clients.account_id().await.map_err(|e| cannot_run(&e))?)
        } else {
            None
        };
        Ok::<_, String>((report, account))
    })?;
    // The mute list: a muted resource is NOT_APPLICABLE, with its reason (never a tag).
    report.mute(&mutes, vpce_guard::now_epoch_seconds());
    if args.source != SourceArg::Api {
        // Which source each region used, where a person reads it (JSON has `sources`).
        for (region, source) in &report.sources {
            let how = match source {
                ScanSource::Config => "AWS Config's inventory",
                _ => "S3 directly (Config does not record buckets there)",
            };
            eprintln!("vpce-guard: {region}: buckets read from {how}");
        }
    }
    print_report(&report, account.as_deref(), args.format)?;
    if report.incomplete {
        // Never a partial result presented as complete.
        let failed: Vec<String> = report
            .accounts
            .iter()
            .filter_map(|a| a.error.as_ref().map(|e| format!("{} ({e})", a.account)))
            .collect();
        eprintln!(
            "vpce-guard: incomplete: {} account(s) could not be read: {}",
            failed.len(),
            failed.join("; ")
        );
        return Ok(crate::EXIT_USAGE);
    }
    Ok(if report.non_compliant() {
        EXIT_NON_COMPLIANT
    } else {
        0
    })
}

fn print_report(
    report: &ScanReport,
    account: Option<&str>,
    format: ReportFormat,
) -> Result<(), String> {
    use std::io::Write;
    let text = match format {
        ReportFormat::Ocsf => {
            let now = vpce_guard::now_epoch_seconds();
            return crate::output::print_lines(&report.ocsf_events(account, now));
        }
        ReportFormat::Json => {
            serde_json::to_string_pretty(report).map_err(|e| format!("cannot render JSON: {e}"))?
                + "\n"
        }
        ReportFormat::Html => {
            vpce_guard::scan::html::report_html(report, None, vpce_guard::now_epoch_seconds())
        }
        ReportFormat::Text => {
            let mut s = String::new();
            let mut all: Vec<(&str, &vpce_guard::scan::RegionalEvaluation)> = report
                .buckets
                .iter()
                .map(|b| ("bucket", b))
                .chain(report.vpcs.iter().map(|v| ("vpc", v)))
                .collect();
            // Non-compliant resources first.
            all.sort_by_key(|(_, e)| {
                !e.evaluation
                    .findings
                    .iter()
                    .any(|f| f.status == Status::Fail)
            });
            for (kind, e) in all {
                match &e.account {
                    Some(a) => s.push_str(&format!(
                        "{kind} {} [{a} {}] ",
                        e.evaluation.resource, e.region
                    )),
                    None => {
                        s.push_str(&format!("{kind} {} [{}] ", e.evaluation.resource, e.region))
                    }
                }
                s.push_str(
                    &render_text(&e.evaluation)
                        .split_once(": ")
                        .map(|x| x.1.to_string())
                        .unwrap_or_default(),
                );
                s.push('\n');
            }
            let nc = |v: &Vec<vpce_guard::scan::RegionalEvaluation>| {
                v.iter()
                    .filter(|e| {
                        e.evaluation.compliance == vpce_guard::rules::Compliance::NonCompliant
                    })
                    .count()
            };
            for a in &report.accounts {
                s.push_str(&format!(
                    "account {}: {} buckets ({} non-compliant), {} VPCs ({} non-compliant), read {}{}\n",
                    a.account,
                    a.buckets,
                    a.non_compliant_buckets,
                    a.vpcs,
                    a.non_compliant_vpcs,
                    a.access,
                    a.error
                        .as_ref()
                        .map(|e| format!("; FAILED: {e}"))
                        .unwrap_or_default()
                ));
            }
            s.push_str(&format!(
                "{} buckets ({} non-compliant), {} VPCs ({} non-compliant); API calls: {}\n",
                report.buckets.len(),
                nc(&report.buckets),
                report.vpcs.len(),
                nc(&report.vpcs),
                report
                    .api_calls
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            s
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the output: {e}"))
}
