//! Seed N buckets (default 1,000) in a moto server and sweep them twice, `--source api` (three
//! S3 calls per bucket) and `--source config` (AWS Config's inventory, 100 buckets a call, S3
//! only for what moto's items lack), then through an aggregator; print wall time, buckets per
//! second and API calls of each. Then the aggregator path over 40 accounts in memory (moto
//! keeps one account), networks from Config items. Run through `scripts/bench-scan [N]`.

use std::time::Instant;

use aws_sdk_s3::types::ObjectOwnership;
use vpce_guard::aws::AwsClients;
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::aggregate::{scan_aggregator, AggregatorOptions};
use vpce_guard::scan::{scan, ScanOptions, ScanSource};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::seed::{private_bucket_policy, Seed};

const REGION: &str = "us-east-1";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: bench-scan [BUCKETS]");
            std::process::exit(2);
        }
    };
    let concurrency: usize = std::env::var("CONCURRENCY")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(16);
    let moto = Moto::start();
    let seed = Seed::new(&moto.endpoint(), REGION).await;
    let t = Instant::now();
    let (_, e) = seed.reference_vpc(REGION, "10.10.0.0/16").await;
    for i in 0..n {
        let name = format!("bench-bucket-{i:05}");
        let policy = if i % 2 == 0 {
            Some(private_bucket_policy(&name, &e))
        } else {
            None
        };
        seed.bucket(
            &name,
            REGION,
            policy.as_deref(),
            i % 3 != 0,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
    }
    eprintln!("seeded {n} buckets in {:.1} s", t.elapsed().as_secs_f64());

    // AWS Config through the recording endpoint: it answers for the recorder (recording every
    // type) and forwards the inventory calls to moto, its timestamps made AWS's.
    let recorder = ConfigRecorder::start(moto.port);
    recorder.with(|r| {
        r.recorder_role = Some("arn:aws:iam::123456789012:role/config-recorder".into());
        r.recording = true;
    });
    // As the CLI reads them: the standard variables.
    std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint());
    std::env::set_var("AWS_ENDPOINT_URL_CONFIG_SERVICE", recorder.endpoint());
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    println!("{n} buckets in {REGION}, concurrency {concurrency}, moto on 127.0.0.1");
    println!(
        "{:<8} {:>8} {:>10} {:>9} {:>7} {:>6} {:>6}  calls",
        "source", "wall s", "buckets/s", "requests", "Config", "S3", "EC2"
    );
    let opts = |source, regions: Vec<String>| ScanOptions {
        regions,
        buckets: Vec::new(),
        params: BucketParams::default(),
        concurrency,
        now: vpce_guard::now_epoch_seconds(),
        source,
    };
    let mut verdicts = Vec::new();
    for source in [ScanSource::Api, ScanSource::Config] {
        let c = AwsClients::load(None, Some(REGION)).await;
        let o = opts(source, vec![REGION.to_string()]);
        let t = Instant::now();
        let report = scan(&c, &c.calls, &o, &|_, _| {}).await;
        verdicts.push(row(&format!("{source:?}").to_lowercase(), report, t));
    }
    // The aggregator path: the same buckets through an account aggregator (moto keeps every
    // account's resources in one backend, so this measures one account's share of it).
    let c = AwsClients::load(None, Some(REGION)).await;
    put_aggregator(&recorder).await;
    let agg = AggregatorOptions {
        name: "bench-aggregator".into(),
        role_name: None,
    };
    let o = opts(ScanSource::Api, Vec::new());
    let t = Instant::now();
    let report = scan_aggregator(&c, &c.calls, &o, &agg, &|_, _| {}).await;
    verdicts.push(row("aggreg.", report, t));
    if verdicts.iter().any(|v| Some(v) != verdicts.first()) {
        eprintln!("the sources disagree on a verdict");
        std::process::exit(1);
    }
    println!(
        "same verdicts for all {} buckets; the physical limit: api 3 S3 calls per bucket (300 per 100), config 2 Config calls per 100 buckets plus S3 for what an item lacks (moto: Object Ownership, and Block Public Access where unset)",
        verdicts.first().map_or(0, Vec::len)
    );
    organization_in_memory(n, concurrency).await;
}

/// The aggregator path over many accounts, which moto cannot hold apart: an in-memory
/// organization of 40 accounts sharing `n` buckets, each with 10 VPCs recorded as Config
/// items, judged from the aggregator alone (no role). Measures the engine and the call count;
/// the in-memory calls themselves cost nothing.
async fn organization_in_memory(n: usize, concurrency: usize) {
    use vpce_guard::facts::{Fact, NetworkFacts};
    use vpce_guard::testing::memory::{reference_vpcs, MemoryAws, MemoryBucket, ALL_ON};
    const ACCOUNTS: usize = 40;
    let mut aws = MemoryAws::new("111122223333", REGION);
    aws.aggregator = Some("org".into());
    for a in 0..ACCOUNTS {
        let account = format!("{:012}", 200_000_000_000u64 + a as u64);
        let mut net = NetworkFacts {
            region: REGION.into(),
            ..NetworkFacts::default()
        };
        let vpce = reference_vpcs(&mut net, &account, &format!("{a:02x}"), 10)[0]
            .1
            .clone();
        aws.record_foreign_network(&account, &net);
        aws.record_foreign_account_block(&account, ALL_ON);
        for i in (a..n).step_by(ACCOUNTS) {
            let name = format!("org-bucket-{i:05}");
            let mut b = MemoryBucket::private(REGION, &private_bucket_policy(&name, &vpce));
            if i % 2 == 1 {
                b.policy = Fact::NotConfigured;
            }
            aws.record_foreign_bucket(&name, &account, &b, true);
        }
    }
    let agg = AggregatorOptions {
        name: "org".into(),
        role_name: None,
    };
    let o = ScanOptions {
        regions: Vec::new(),
        buckets: Vec::new(),
        params: BucketParams::default(),
        concurrency,
        now: vpce_guard::now_epoch_seconds(),
        source: ScanSource::Api,
    };
    let t = Instant::now();
    let report = scan_aggregator(&aws, &aws.calls, &o, &agg, &|_, _| {}).await;
    let wall = t.elapsed().as_secs_f64();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scan (organization in memory) failed: {e}");
            std::process::exit(1);
        }
    };
    let config: u64 = report
        .api_calls
        .iter()
        .filter(|(k, _)| k.starts_with("config:"))
        .map(|(_, v)| v)
        .sum();
    let other: u64 = report.api_calls.values().sum::<u64>() - config;
    println!(
        "organization in memory: {ACCOUNTS} accounts, {} buckets, {} VPCs judged from the aggregator's items in {wall:.2} s ({:.0} buckets/s); {config} Config calls ({:.1} per 100 buckets, network included), {other} other calls  {:?}",
        report.buckets.len(),
        report.vpcs.len(),
        report.buckets.len() as f64 / wall,
        config as f64 * 100.0 / report.buckets.len().max(1) as f64,
        report.api_calls
    );
}

/// Print one source's figures (the sweep started at `started`); its verdicts, to compare.
fn row(
    label: &str,
    report: Result<vpce_guard::scan::ScanReport, vpce_guard::ports::AwsError>,
    started: Instant,
) -> Vec<(String, vpce_guard::rules::Compliance)> {
    let wall = started.elapsed().as_secs_f64();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scan ({label}) failed: {e}");
            std::process::exit(1);
        }
    };
    let sum = |prefix: &str| -> u64 {
        report
            .api_calls
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    };
    let total: u64 = report.api_calls.values().sum();
    println!(
        "{:<8} {:>8.2} {:>10.0} {:>9} {:>7} {:>6} {:>6}  {:?}",
        label,
        wall,
        report.buckets.len() as f64 / wall,
        total,
        sum("config:"),
        sum("s3:"),
        sum("ec2:"),
        report.api_calls
    );
    report
        .buckets
        .iter()
        .map(|b| (b.evaluation.resource.clone(), b.evaluation.compliance))
        .collect()
}

/// An account aggregator over this account in every region, through the recording endpoint.
async fn put_aggregator(recorder: &ConfigRecorder) {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(recorder.endpoint())
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    let config = aws_sdk_config::Client::new(&sdk);
    let source = match aws_sdk_config::types::AccountAggregationSource::builder()
        .account_ids(vpce_guard_tests::seed::MOTO_ACCOUNT)
        .all_aws_regions(true)
        .build()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aggregator source: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = config
        .put_configuration_aggregator()
        .configuration_aggregator_name("bench-aggregator")
        .account_aggregation_sources(source)
        .send()
        .await
    {
        eprintln!("PutConfigurationAggregator: {e:?}");
        std::process::exit(1);
    }
}
