//! For each function binary (built in release mode), run through a local Lambda Runtime API
//! against moto and the recording Config endpoint: init (process start → its first request for
//! an event), the first (cold) invocation's duration, a warm invocation's, and peak RSS; then
//! the AWS calls of each notification type on an account of 1 VPC and of 50 (docs/COST.md).
//! Run through `scripts/bench-functions`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::json;
use vpce_guard_tests::budget::{measure_all, table, BudgetAccount};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed, STATE_TABLE};
use vpce_guard_tests::slack::SlackSink;
use vpce_guard_tests::{edit_invoking_event, function_env, sample_event};

const REGION: &str = "us-east-1";
const RUNS: usize = 5;

/// A function to measure: its binary's name, its event, its extra environment.
type Run<'a> = (&'a str, &'a serde_json::Value, Vec<(&'static str, String)>);

fn main() {
    let dir = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => {
            eprintln!("usage: bench-functions TARGET_DIR/release");
            std::process::exit(2);
        }
    };
    let moto = Moto::start();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    let slack = SlackSink::start();
    let (vpc, vpce, secret_arn) = rt.block_on(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let (v, e) = seed.reference_vpc(REGION, "10.10.0.0/16").await;
        seed.bucket(
            "bench-bucket",
            REGION,
            Some(&private_bucket_policy("bench-bucket", &e)),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let secret_arn = seed.notifier_resources(STATE_TABLE, &slack.url()).await;
        (v.vpc_id, e, secret_arn)
    });
    let mut bucket_event = sample_event("bucket-rule-change.json");
    let policy = private_bucket_policy("bench-bucket", &vpce);
    edit_invoking_event(&mut bucket_event, |inv| {
        inv["configurationItem"]["resourceId"] = json!("bench-bucket");
        inv["configurationItem"]["resourceName"] = json!("bench-bucket");
        inv["configurationItem"]["supplementaryConfiguration"]["BucketPolicy"]["policyText"] =
            json!(policy);
    });
    let mut vpc_event = sample_event("network-rule-change-vpc.json");
    edit_invoking_event(&mut vpc_event, |inv| {
        inv["configurationItem"]["resourceId"] = json!(vpc)
    });

    println!(
        "{:<14} {:>10} {:>12} {:>12} {:>12} {:>10}",
        "function", "size (KiB)", "init (ms)", "cold (ms)", "warm (ms)", "RSS (KiB)"
    );
    let mut watcher_event = sample_event("watcher-put-bucket-policy-assumed-role.json");
    watcher_event["detail"]["requestParameters"]["bucketName"] = json!("bench-bucket");
    // The notifier: a batch of one finding; a new resource each run (a message each time).
    let notifier_event = sample_event("notifier-sqs-batch.json");
    let notifier_env = vec![
        ("SLACK_WEBHOOK_SECRET_ARN", secret_arn),
        ("STATE_TABLE_NAME", STATE_TABLE.to_string()),
        ("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()),
        ("NETWORK_RULE_NAME", "vpce-guard-network".to_string()),
    ];
    // The remediator: a manual request for the compliant bench bucket (a plan, no change).
    let remediator_event = json!({"bucket": "bench-bucket", "trigger": "config-remediation"});
    let remediator_env = vec![
        ("REMEDIATION_MODE", "DryRun".to_string()),
        (
            "CALLER_PRINCIPAL_ARN",
            "arn:aws:iam::123456789012:role/vpce-guard/bench-remediator".to_string(),
        ),
        (
            "GUARD_PRINCIPAL_ARNS",
            "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole".to_string(),
        ),
    ];
    // Route usage: the sample SQS batch of S3 data events (its aggregates go to the default bus).
    let usage_event = sample_event("route-usage-sqs-batch.json");
    let usage_env = vec![
        ("APPROVED_VPCE_IDS", "vpce-0a1b2c3d4e5f60001".to_string()),
        ("ROUTE_USAGE_BUCKETS", "amzn-s3-demo-private".to_string()),
    ];
    let runs: [Run<'_>; 6] = [
        ("bucket-rule", &bucket_event, Vec::new()),
        ("network-rule", &vpc_event, Vec::new()),
        ("change-watcher", &watcher_event, Vec::new()),
        ("slack-notifier", &notifier_event, notifier_env),
        ("remediator", &remediator_event, remediator_env),
        ("route-usage", &usage_event, usage_env),
    ];
    for (name, event, extra) in runs.iter() {
        let bin = dir.join(name);
        let size = std::fs::metadata(&bin).map(|m| m.len() / 1024).unwrap_or(0);
        let (mut inits, mut colds, mut warms, mut rss) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let recorder = ConfigRecorder::start(moto.port);
            let mut env = function_env(&moto, &recorder, REGION);
            env.extend(extra.iter().cloned());
            let mut lambda = LambdaRuntime::start(&bin, &env);
            let init = lambda
                .wait_init(Duration::from_secs(30))
                .unwrap_or(Duration::MAX);
            let t = Instant::now();
            let cold = lambda.invoke(event, Duration::from_secs(60));
            let cold_ms = t.elapsed();
            let t = Instant::now();
            let _ = lambda.invoke(event, Duration::from_secs(60));
            let warm_ms = t.elapsed();
            if let Err(e) = cold {
                eprintln!("{name}: invocation failed: {e}");
                std::process::exit(1);
            }
            rss.push(lambda.peak_rss_kib().unwrap_or(0));
            lambda.stop();
            inits.push(init);
            colds.push(cold_ms);
            warms.push(warm_ms);
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v.get(v.len() / 2)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(f64::NAN)
        };
        println!(
            "{name:<14} {size:>10} {:>12.1} {:>12.1} {:>12.1} {:>10}",
            median(&mut inits),
            median(&mut colds),
            median(&mut warms),
            rss.iter().max().copied().unwrap_or(0)
        );
    }
    println!("(median of {RUNS} process starts; cold/warm include moto's and the recorder's response time)");
    drop(moto);

    println!();
    println!("AWS calls per notification (a cold start each; moto's request log and the Config recorder):");
    let accounts = [BudgetAccount::seed(1), BudgetAccount::seed(50)];
    let accounts: Vec<&BudgetAccount> = accounts.iter().collect();
    let bucket = measure_all(
        &dir.join("bucket-rule"),
        &accounts,
        BudgetAccount::bucket_notifications,
    );
    println!();
    println!("{}", table("bucket-rule", &[1, 50], &bucket));
    let network = measure_all(
        &dir.join("network-rule"),
        &accounts,
        BudgetAccount::network_notifications,
    );
    println!("{}", table("network-rule", &[1, 50], &network));
}
