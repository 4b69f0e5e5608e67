//! Load on the real parts: the function binaries through a local Lambda Runtime API, against
//! moto and the recording Config endpoint (which forwards Config's inventory calls to moto).
//!
//! 1. a periodic sweep of N buckets (default 5,000) by the bucket rule: wall time, peak RSS,
//!    evaluations and `PutEvaluations` calls;
//! 2. a burst of 1,000 CloudTrail `PutBucketPolicy` events through the change watcher, one
//!    after the other on a warm function: total, median and 99th percentile, peak RSS;
//! 3. N compliance changes through the Slack notifier in SQS batches of 100 (template.yaml's
//!    `BatchSize`): Slack messages posted, against the bound ceil(N / 100).
//!
//! Run through `scripts/load [BUCKETS]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::json;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed, STATE_TABLE};
use vpce_guard_tests::slack::SlackSink;
use vpce_guard_tests::{compliance_change_record, function_env, sample_event};

const REGION: &str = "us-east-1";
const EVENTS: usize = 1_000;
const SQS_BATCH: usize = 100;
const TIMEOUT: Duration = Duration::from_secs(900);

fn fail(what: &str) -> ! {
    eprintln!("load: {what}");
    std::process::exit(1)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| fail("usage: load BIN_DIR [BUCKETS]")),
    );
    let buckets: usize = args
        .next()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| fail("BUCKETS is not a number"))
        })
        .unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    let moto = Moto::start();
    let slack = SlackSink::start();

    // The account: one reference VPC and its endpoint; N buckets, every other one private.
    let started = Instant::now();
    let names: Vec<String> = (0..buckets).map(|i| format!("load-{i:05}")).collect();
    let secret = rt.block_on(async {
        let seed = Arc::new(Seed::new(&moto.endpoint(), REGION).await);
        let (_, vpce) = seed.reference_vpc(REGION, "10.60.0.0/16").await;
        let vpce = Arc::new(vpce);
        let mut set = tokio::task::JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            if set.len() >= 16 {
                let _ = set.join_next().await;
            }
            let (seed, vpce, name) = (seed.clone(), vpce.clone(), name.clone());
            set.spawn(async move {
                let policy = (i % 2 == 0).then(|| private_bucket_policy(&name, &vpce));
                seed.bucket(
                    &name,
                    REGION,
                    policy.as_deref(),
                    true,
                    Some(ObjectOwnership::BucketOwnerEnforced),
                )
                .await;
            });
        }
        while set.join_next().await.is_some() {}
        seed.notifier_resources(STATE_TABLE, &slack.url()).await
    });
    println!(
        "seeded {buckets} buckets in moto in {:.1} s",
        secs(started.elapsed())
    );

    // 1. The periodic sweep.
    let recorder = ConfigRecorder::start(moto.port);
    let env = function_env(&moto, &recorder, REGION);
    let mut rule = LambdaRuntime::start(&dir.join("bucket-rule"), &env);
    let t = Instant::now();
    let out = rule
        .invoke(&sample_event("bucket-rule-periodic.json"), TIMEOUT)
        .unwrap_or_else(|e| fail(&format!("bucket-rule: {e}")));
    let took = t.elapsed();
    let rss = rule.peak_rss_kib().unwrap_or(0);
    rule.stop();
    let puts = recorder.with(|r| r.count("PutEvaluations"));
    println!(
        "periodic sweep: {} evaluations of {buckets} buckets in {:.1} s ({:.2} ms per bucket), {puts} PutEvaluations calls, peak RSS {:.1} MiB",
        out["evaluations"],
        secs(took),
        secs(took) * 1000.0 / buckets.max(1) as f64,
        rss as f64 / 1024.0
    );
    println!("  AWS calls: {}", out["api_calls"]);

    // 2. The CloudTrail burst.
    let mut env = function_env(&moto, &recorder, REGION);
    env.push((
        "GUARD_PRINCIPAL_ARNS",
        "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole".to_string(),
    ));
    let mut watcher = LambdaRuntime::start(&dir.join("change-watcher"), &env);
    let template = sample_event("watcher-put-bucket-policy-assumed-role.json");
    let mut times = Vec::with_capacity(EVENTS);
    let t = Instant::now();
    for i in 0..EVENTS {
        let mut ev = template.clone();
        ev["id"] = json!(format!("burst-{i}"));
        ev["detail"]["requestParameters"]["bucketName"] = json!(names[i % names.len()]);
        let s = Instant::now();
        if let Err(e) = watcher.invoke(&ev, Duration::from_secs(60)) {
            fail(&format!("change-watcher, event {i}: {e}"));
        }
        times.push(s.elapsed());
    }
    let total = t.elapsed();
    let rss = watcher.peak_rss_kib().unwrap_or(0);
    watcher.stop();
    times.sort();
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "CloudTrail burst: {EVENTS} events in {:.1} s, median {:.1} ms, p99 {:.1} ms, peak RSS {:.1} MiB",
        secs(total),
        pct(0.5),
        pct(0.99),
        rss as f64 / 1024.0
    );

    // 3. The compliance-change flood.
    let mut env = function_env(&moto, &recorder, REGION);
    env.extend([
        ("SLACK_WEBHOOK_SECRET_ARN", secret),
        ("STATE_TABLE_NAME", STATE_TABLE.to_string()),
        ("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()),
        ("NETWORK_RULE_NAME", "vpce-guard-network".to_string()),
    ]);
    let mut notifier = LambdaRuntime::start(&dir.join("slack-notifier"), &env);
    let t = Instant::now();
    let mut failed = 0;
    for (b, chunk) in names.chunks(SQS_BATCH).enumerate() {
        let records: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, name)| {
                compliance_change_record(name, REGION, "NON_COMPLIANT", &format!("m{b}-{i}"))
            })
            .collect();
        let out = notifier
            .invoke(&json!({ "Records": records }), Duration::from_secs(120))
            .unwrap_or_else(|e| fail(&format!("slack-notifier, batch {b}: {e}")));
        failed += out["batchItemFailures"].as_array().map_or(0, Vec::len);
    }
    let total = t.elapsed();
    notifier.stop();
    let posted = slack.texts().len();
    let bound = buckets.div_ceil(SQS_BATCH);
    println!(
        "compliance flood: {buckets} changes in batches of {SQS_BATCH} in {:.1} s: {posted} Slack messages (bound {bound}), {failed} records failed",
        secs(total)
    );
    if posted > bound || failed > 0 {
        fail("the flood broke its bound or failed records");
    }
}
