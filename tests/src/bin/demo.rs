//! The product in one run (`scripts/demo`): moto on 127.0.0.1 with the demo account, the
//! recording Config endpoint, a local Slack webhook, and the built function binaries run as
//! Lambda runs them (the project's Runtime API harness):
//!
//! 1. the Config rules' periodic sweep, and the evaluations Config received;
//! 2. a CloudTrail `PutBucketPolicy` in which a named user removes a private bucket's deny: the
//!    change watcher's finding and the Slack message it becomes;
//! 3. the remediator: the plan in `DryRun`, the write in `Enforce`, the re-evaluation and the
//!    "resolved" message; and a refusal;
//! 4. the account at a glance: a sweep of its three regions as the HTML report
//!    (`vpce-guard report`'s page, written to `--report`, default `<logs>/../demo-report.html`);
//! 5. a summary.
//!
//! `demo [--format json] [--bin-dir DIR] [--logs DIR] [--report FILE]` (or
//! `VPCE_GUARD_DEMO_FORMAT=json`).
//! Everything it starts stops when it ends, also on failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vpce_guard::remedy::render_diff;
use vpce_guard_tests::demo::{block_kit_text, evaluation_table, evaluations};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{Seed, DEMO_NO_ENDPOINT, DEMO_PRIVATE, STATE_TABLE};
use vpce_guard_tests::slack::SlackSink;
use vpce_guard_tests::{function_env, sample_event};

const REGION: &str = "us-east-1";
const TIMEOUT: Duration = Duration::from_secs(120);
/// The guard's roles as the template passes them: exact ARNs, never the path wildcard.
const GUARD: &str = "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole";
/// The stack's remediation history table.
const HISTORY_TABLE: &str = "vpce-guard-remediation-history";
/// The remediator's role, as the template names it (under the guard's path).
const REMEDIATOR_ROLE: &str = "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-RemediatorRole";

type R<T> = Result<T, String>;

struct Opts {
    json: bool,
    bin_dir: PathBuf,
    logs: PathBuf,
    report: Option<PathBuf>,
}

fn opts() -> R<Opts> {
    let mut json = std::env::var("VPCE_GUARD_DEMO_FORMAT").is_ok_and(|v| v == "json");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut bin_dir = exe
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no directory for the function binaries")?;
    let mut logs = bin_dir.join("demo-logs");
    let mut report = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--format" => json = args.next().as_deref() == Some("json"),
            "--bin-dir" => bin_dir = args.next().map(PathBuf::from).ok_or("--bin-dir DIR")?,
            "--logs" => logs = args.next().map(PathBuf::from).ok_or("--logs DIR")?,
            "--report" => report = Some(args.next().map(PathBuf::from).ok_or("--report FILE")?),
            "-h" | "--help" => {
                println!("demo [--format json] [--bin-dir DIR] [--logs DIR] [--report FILE]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for f in [
        "bucket-rule",
        "network-rule",
        "change-watcher",
        "slack-notifier",
        "remediator",
    ] {
        if !bin_dir.join(f).exists() {
            return Err(format!(
                "{} is missing: build the functions first (scripts/demo does)",
                bin_dir.join(f).display()
            ));
        }
    }
    Ok(Opts {
        json,
        bin_dir,
        logs,
        report,
    })
}

/// What the demo prints and reports.
struct Story {
    json: bool,
    steps: Vec<Value>,
    started: Instant,
}

impl Story {
    fn heading(&self, n: usize, sentence: &str) {
        if !self.json {
            println!("\n\x1b[1m{n}. {sentence}\x1b[0m");
        }
    }

    fn line(&self, s: &str) {
        if !self.json {
            println!("   {s}");
        }
    }

    fn step(&mut self, name: &str, t: Instant, result: Value) {
        let secs = t.elapsed().as_secs_f64();
        self.steps
            .push(json!({"step": name, "seconds": (secs * 10.0).round() / 10.0, "result": result}));
        if !self.json {
            println!("   ({secs:.1} s)");
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> R<F::Output> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| e.to_string())
}

fn invoke(f: &mut LambdaRuntime, event: &Value, what: &str) -> R<Value> {
    f.invoke(event, TIMEOUT)
        .map_err(|e| format!("{what} failed: {e}"))
}

/// The SQS queue the notifications rule delivers to, drained into SQS records.
fn drain(sdk: &aws_config::SdkConfig, queue: &str) -> R<Vec<Value>> {
    block_on(async {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(|e| format!("ReceiveMessage: {e:?}"))?;
            let msgs = got.messages.unwrap_or_default();
            if msgs.is_empty() {
                return Ok(out);
            }
            for m in msgs {
                if let Some(h) = &m.receipt_handle {
                    sqs.delete_message()
                        .queue_url(queue)
                        .receipt_handle(h)
                        .send()
                        .await
                        .map_err(|e| format!("DeleteMessage: {e:?}"))?;
                }
                out.push(
                    json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle,
                                "body": m.body, "eventSource": "aws:sqs", "awsRegion": REGION}),
                );
            }
        }
    })?
}

/// The notifications path of template.yaml: a rule on the default bus to an SQS queue.
async fn notifications_queue(sdk: &aws_config::SdkConfig) -> R<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name("vpce-guard-notifications")
        .send()
        .await
        .map_err(|e| format!("CreateQueue: {e:?}"))?
        .queue_url
        .ok_or("no queue URL")?;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {e:?}"))?;
    let arn = attrs
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or("no queue ARN")?;
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name("vpce-guard-notify-findings")
        .event_pattern(
            json!({"source": ["vpce-guard"], "detail-type": ["vpce-guard Finding"]}).to_string(),
        )
        .send()
        .await
        .map_err(|e| format!("PutRule: {e:?}"))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("notifications")
        .arn(arn)
        .build()
        .map_err(|e| e.to_string())?;
    events
        .put_targets()
        .rule("vpce-guard-notify-findings")
        .targets(target)
        .send()
        .await
        .map_err(|e| format!("PutTargets: {e:?}"))?;
    Ok(url)
}

fn compliance_map(rows: &[(String, String, String, String)]) -> BTreeMap<String, String> {
    rows.iter()
        .map(|(_, id, c, _)| (id.clone(), c.clone()))
        .collect()
}

fn main() {
    let started = Instant::now();
    let code = match opts().and_then(|o| run(&o, started)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("demo failed: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn run(o: &Opts, started: Instant) -> R<()> {
    std::fs::create_dir_all(&o.logs).map_err(|e| format!("{}: {e}", o.logs.display()))?;
    let mut story = Story {
        json: o.json,
        steps: Vec::new(),
        started,
    };
    // The world: moto, the Config recorder, Slack; all stop when dropped.
    let t = Instant::now();
    let moto = Moto::start();
    let recorder = ConfigRecorder::start(moto.port);
    let slack = SlackSink::start();
    let (seed, account, queue, secret) = block_on(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let account = seed.demo_account().await;
        let queue = notifications_queue(&seed.c.sdk).await?;
        let secret = seed.notifier_resources(STATE_TABLE, &slack.url()).await;
        seed.history_table(HISTORY_TABLE).await;
        Ok::<_, String>((seed, account, queue, secret))
    })??;
    if !o.json {
        println!(
            "vpce-guard demo: moto on {} with a demo account (6 buckets, 3 regions), AWS Config and Slack stood in for on 127.0.0.1",
            moto.endpoint()
        );
    }
    story.step("start", t, json!({"moto": moto.endpoint()}));

    let env = |extra: &[(&'static str, &str)]| {
        let mut e = function_env(&moto, &recorder, REGION);
        e.push(("GUARD_PRINCIPAL_ARNS", GUARD.to_string()));
        e.push(("REMEDIATOR_PRINCIPAL_ARNS", REMEDIATOR_ROLE.to_string()));
        e.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        e
    };
    let start = |name: &str, extra: &[(&'static str, &str)]| {
        LambdaRuntime::start(&o.bin_dir.join(name), &env(extra))
    };
    let rule_params =
        json!({"GuardPrincipalArns": GUARD, "RemediatorPrincipalArns": REMEDIATOR_ROLE})
            .to_string();
    let periodic = |file: &str| {
        let mut ev = sample_event(file);
        ev["ruleParameters"] = json!(rule_params);
        ev
    };
    let mut functions: Vec<(&str, LambdaRuntime)> = Vec::new();

    // 1. The periodic sweep.
    story.heading(1, "AWS Config's periodic sweep runs both rules over the account (us-east-1) and reports every resource.");
    let t = Instant::now();
    let mut bucket_rule = start("bucket-rule", &[]);
    let mut network_rule = start("network-rule", &[]);
    invoke(
        &mut bucket_rule,
        &periodic("bucket-rule-periodic.json"),
        "bucket-rule",
    )?;
    invoke(
        &mut network_rule,
        &periodic("network-rule-periodic.json"),
        "network-rule",
    )?;
    let before = evaluations(&recorder.with(|r| r.put_evaluations()));
    for l in evaluation_table(&before) {
        story.line(&l);
    }
    let before_map = compliance_map(&before);
    story.step(
        "periodic-sweep",
        t,
        json!({"evaluations": before.len(), "compliance": before_map}),
    );

    // 2. A change through CloudTrail.
    story.heading(2, &format!("alice removes the deny from {DEMO_PRIVATE}'s policy; CloudTrail tells the change watcher within seconds, and Slack gets one message."));
    let t = Instant::now();
    let hurried = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{DEMO_PRIVATE}"), format!("arn:aws:s3:::{DEMO_PRIVATE}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "AppRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
         "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{DEMO_PRIVATE}/*")}]});
    block_on(vpce_guard::ports::PolicyStore::put_policy(
        &seed.c,
        DEMO_PRIVATE,
        REGION,
        &hurried.to_string(),
    ))?
    .map_err(|e| e.to_string())?;
    let mut cloudtrail = sample_event("watcher-put-bucket-policy-assumed-role.json");
    cloudtrail["detail"]["requestParameters"]["bucketName"] = json!(DEMO_PRIVATE);
    cloudtrail["detail"]["requestParameters"]["bucketPolicy"] = hurried.clone();
    let mut watcher = start("change-watcher", &[]);
    let mut notifier = start(
        "slack-notifier",
        &[
            ("SLACK_WEBHOOK_SECRET_ARN", secret.as_str()),
            ("STATE_TABLE_NAME", STATE_TABLE),
            ("BUCKET_RULE_NAME", "vpce-guard-bucket"),
            ("NETWORK_RULE_NAME", "vpce-guard-network"),
        ],
    );
    let out = invoke(&mut watcher, &cloudtrail, "change-watcher")?;
    let records = drain(&seed.c.sdk, &queue)?;
    let finding: Value = records
        .first()
        .and_then(|r| r["body"].as_str())
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or("the finding did not reach the notifications queue")?;
    let d = &finding["detail"];
    story.line(&format!(
        "finding: {} {} is {} (changed by {} via {})",
        d["resource_type"].as_str().unwrap_or_default(),
        d["resource"].as_str().unwrap_or_default(),
        d["compliance"].as_str().unwrap_or_default(),
        d["trigger"]["actor_arn"].as_str().unwrap_or("unknown"),
        d["trigger"]["event_name"].as_str().unwrap_or_default()
    ));
    let failed = invoke(
        &mut notifier,
        &json!({ "Records": records }),
        "slack-notifier",
    )?;
    let messages = slack.accepted();
    story.line("Slack received:");
    for m in &messages {
        for l in block_kit_text(m) {
            story.line(&format!("  {l}"));
        }
    }
    story.step(
        "cloudtrail-change",
        t,
        json!({"watcher": out, "finding": d, "notifier": failed, "slack_messages": messages.len()}),
    );

    // 3. Remediation.
    story.heading(3, "The remediator plans the missing deny (DryRun), writes and verifies it (Enforce), and the bucket is compliant again; a bucket with no endpoint is refused.");
    let t = Instant::now();
    let remediator_env = |mode: &'static str| -> Vec<(&'static str, &str)> {
        vec![
            ("REMEDIATION_MODE", mode),
            ("CALLER_PRINCIPAL_ARN", REMEDIATOR_ROLE),
            ("BUCKET_RULE_NAME", "vpce-guard-bucket"),
            ("HISTORY_TABLE_NAME", HISTORY_TABLE),
        ]
    };
    let mut dry = start("remediator", &remediator_env("DryRun"));
    // An automatic trigger in DryRun plans only: the finding event itself.
    let planned = invoke(&mut dry, &finding, "remediator (DryRun)")?;
    story.line(&format!(
        "DryRun: {} — {}",
        planned["outcome"].as_str().unwrap_or_default(),
        planned["reason"].as_str().unwrap_or_default()
    ));
    if let Some(new) = planned.get("new_policy").filter(|v| !v.is_null()) {
        for l in render_diff(planned.get("previous_policy").filter(|v| !v.is_null()), new).lines() {
            story.line(&format!("  {l}"));
        }
    }
    let mut enforce = start("remediator", &remediator_env("Enforce"));
    let applied = invoke(&mut enforce, &finding, "remediator (Enforce)")?;
    story.line(&format!(
        "Enforce: {} — {}",
        applied["outcome"].as_str().unwrap_or_default(),
        applied["reason"].as_str().unwrap_or_default()
    ));
    // The remediator's own PutBucketPolicy reaches the watcher like any change.
    let mut by_remediator = cloudtrail.clone();
    by_remediator["detail"]["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/vpce-guard-RemediatorRole/remediator",
        "sessionContext": {"sessionIssuer": {"arn": REMEDIATOR_ROLE}}});
    by_remediator["detail"]["eventID"] = json!("5d1c2b3a-0000-4000-8000-00000000d3a0");
    by_remediator["detail"]["sourceIPAddress"] = json!("lambda.amazonaws.com");
    by_remediator["detail"]["userAgent"] = json!("vpce-guard-remediator");
    invoke(&mut watcher, &by_remediator, "change-watcher")?;
    let records = drain(&seed.c.sdk, &queue)?;
    invoke(
        &mut notifier,
        &json!({ "Records": records }),
        "slack-notifier",
    )?;
    let resolved = slack.accepted();
    if let Some(m) = resolved.get(messages.len()) {
        story.line("Slack received:");
        for l in block_kit_text(m) {
            story.line(&format!("  {l}"));
        }
    }
    let refusal = invoke(
        &mut enforce,
        &json!({"bucket": DEMO_NO_ENDPOINT, "trigger": "config-remediation"}),
        "remediator (refusal)",
    )?;
    story.line(&format!(
        "{DEMO_NO_ENDPOINT}: {} — {}",
        refusal["outcome"].as_str().unwrap_or_default(),
        refusal["reason"].as_str().unwrap_or_default()
    ));
    // The sweep again: what Config now holds.
    recorder.with(|r| r.calls.clear());
    invoke(
        &mut bucket_rule,
        &periodic("bucket-rule-periodic.json"),
        "bucket-rule",
    )?;
    let after = evaluations(&recorder.with(|r| r.put_evaluations()));
    let after_map = compliance_map(&after);
    story.line(&format!(
        "{DEMO_PRIVATE}: {} before the change, {} after the remediation",
        before_map
            .get(DEMO_PRIVATE)
            .map(String::as_str)
            .unwrap_or("?"),
        after_map
            .get(DEMO_PRIVATE)
            .map(String::as_str)
            .unwrap_or("?")
    ));
    story.step(
        "remediation",
        t,
        json!({"dry_run": {"outcome": planned["outcome"], "reason": planned["reason"]},
               "enforce": {"outcome": applied["outcome"], "reason": applied["reason"]},
               "refusal": {"bucket": DEMO_NO_ENDPOINT, "outcome": refusal["outcome"], "reason": refusal["reason"]},
               "compliance_after": after_map}),
    );

    // 4. The account at a glance: every region swept, as the HTML report.
    story.heading(
        4,
        "The account at a glance: a sweep of its three regions, written as the HTML report.",
    );
    let t = Instant::now();
    let report_path = o.report.clone().unwrap_or_else(|| {
        o.logs
            .parent()
            .unwrap_or(Path::new("."))
            .join("demo-report.html")
    });
    let swept = block_on(async {
        let opts = vpce_guard::scan::ScanOptions {
            regions: ["us-east-1", "eu-west-1", "ap-southeast-2"]
                .map(String::from)
                .to_vec(),
            buckets: Vec::new(),
            params: vpce_guard::rules::BucketParams {
                guard_principals: vpce_guard::rules::split_list(GUARD),
                remediator_principals: vec![REMEDIATOR_ROLE.to_string()],
                ..Default::default()
            },
            concurrency: 8,
            now: vpce_guard::now_epoch_seconds(),
            source: vpce_guard::scan::ScanSource::Api,
        };
        vpce_guard::scan::scan(&seed.c, &seed.c.calls, &opts, &|_, _| {}).await
    })?
    .map_err(|e| format!("the sweep failed: {e}"))?;
    let page = vpce_guard::scan::html::report_html(&swept, None, vpce_guard::now_epoch_seconds());
    std::fs::write(&report_path, page).map_err(|e| format!("{}: {e}", report_path.display()))?;
    let private = swept
        .buckets
        .iter()
        .filter(|b| b.evaluation.compliance == vpce_guard::rules::Compliance::Compliant)
        .count();
    story.line(&format!(
        "{private} of {} buckets private; the report: {}",
        swept.buckets.len(),
        report_path.display()
    ));
    story.step(
        "report",
        t,
        json!({"report": report_path, "buckets": swept.buckets.len(), "private": private,
               "vpcs": swept.vpcs.len()}),
    );

    // 5. Summary; logs; stop everything.
    functions.push(("bucket-rule", bucket_rule));
    functions.push(("network-rule", network_rule));
    functions.push(("change-watcher", watcher));
    functions.push(("slack-notifier", notifier));
    functions.push(("remediator-dryrun", dry));
    functions.push(("remediator-enforce", enforce));
    let mut pids = vec![moto.pid()];
    for (name, f) in functions.iter_mut() {
        pids.extend(f.pid());
        let log = f.stop();
        let path = o.logs.join(format!("{name}.log"));
        std::fs::write(&path, log).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let slack_all: Vec<Value> = slack
        .accepted()
        .iter()
        .map(|m| json!({"first_line": m["text"], "text": block_kit_text(m)}))
        .collect();
    let _ = &account;
    drop(recorder);
    drop(moto);
    let total = story.started.elapsed().as_secs_f64();
    if o.json {
        let doc = json!({
            "steps": story.steps,
            "compliance_before": before_map,
            "compliance_after": after_map,
            "slack": slack_all,
            "logs": o.logs,
            "pids": pids,
            "seconds": (total * 10.0).round() / 10.0,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
        );
    } else {
        println!("\n\x1b[1m5. Summary\x1b[0m");
        for s in &story.steps {
            println!(
                "   {:<18} {:>6.1} s",
                s["step"].as_str().unwrap_or_default(),
                s["seconds"].as_f64().unwrap_or_default()
            );
        }
        println!(
            "   checked {} resources twice, {} Slack messages, total {total:.1} s",
            before.len(),
            slack_all.len()
        );
        println!("   function logs: {}", o.logs.display());
        println!("   everything the demo started has stopped");
    }
    Ok(())
}
