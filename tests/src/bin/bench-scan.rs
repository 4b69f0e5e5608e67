//! Seed N buckets (default 1,000) in a moto server and sweep them; print wall time, buckets per
//! second and API calls per bucket and per region. Run through `scripts/bench-scan [N]`.

use std::time::Instant;

use aws_sdk_s3::types::ObjectOwnership;
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::{scan, ScanOptions};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{clients, private_bucket_policy, Seed};

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

    let c = clients(&moto.endpoint(), REGION).await;
    let opts = ScanOptions {
        regions: vec![REGION.to_string()],
        buckets: Vec::new(),
        params: BucketParams::default(),
        concurrency,
        now: vpce_guard::now_epoch_seconds(),
    };
    let t = Instant::now();
    let report = match scan(&c, &c.calls, &opts, &|_, _| {}).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scan failed: {e}");
            std::process::exit(1);
        }
    };
    let wall = t.elapsed().as_secs_f64();
    let buckets = report.buckets.len().max(1) as f64;
    let s3: u64 = report
        .api_calls
        .iter()
        .filter(|(k, _)| k.starts_with("s3:"))
        .map(|(_, v)| v)
        .sum();
    let per_bucket: u64 = [
        "s3:GetBucketPolicy",
        "s3:GetPublicAccessBlock",
        "s3:GetBucketOwnershipControls",
    ]
    .iter()
    .filter_map(|k| report.api_calls.get(*k))
    .sum();
    let ec2: u64 = report
        .api_calls
        .iter()
        .filter(|(k, _)| k.starts_with("ec2:"))
        .map(|(_, v)| v)
        .sum();
    println!("buckets scanned:        {}", report.buckets.len());
    println!("vpcs evaluated:         {}", report.vpcs.len());
    println!("concurrency:            {concurrency}");
    println!("wall time:              {wall:.2} s");
    println!("buckets per second:     {:.0}", buckets / wall);
    println!(
        "S3 calls per bucket:    {:.2} (bucket reads), {:.2} (all S3 incl. listing)",
        per_bucket as f64 / buckets,
        s3 as f64 / buckets
    );
    println!(
        "EC2 calls per region:   {ec2} (1 region; {} VPCs)",
        report.vpcs.len()
    );
    println!("api calls:              {:?}", report.api_calls);
}
