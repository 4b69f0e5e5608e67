//! `scan --source`: the buckets from S3 (three reads each) or from AWS Config's inventory (100 a
//! call, S3 only for what an item lacks), on the in-memory account. The same verdicts either
//! way, the calls counted, and the cost independent of the number of VPCs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use vpce_guard::ports::ErrorKind;
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::{scan, ScanOptions, ScanReport, ScanSource};
use vpce_guard::testing::memory::{MemoryAws, MemoryBucket};
use vpce_guard::testing::policies::private_bucket_policy;

const REGION: &str = "us-east-1";
const OTHER: &str = "eu-west-1";

/// `n` buckets in `REGION`, every third without a policy; recorded by Config with (`with_ownership`)
/// or without Object Ownership, as real items come.
fn account(n: usize, vpcs: usize, with_ownership: bool) -> MemoryAws {
    let mut aws = MemoryAws::new("111122223333", REGION);
    let vpces = aws.add_reference_vpcs(REGION, vpcs);
    let vpce = vpces[0].1.clone();
    for i in 0..n {
        let name = format!("bucket-{i:03}");
        let mut b = MemoryBucket::private(REGION, &private_bucket_policy(&name, &vpce));
        if i % 3 == 0 {
            b.policy = vpce_guard::facts::Fact::NotConfigured;
        }
        aws.add_bucket(&name, b);
        aws.record_bucket(&name, with_ownership);
    }
    aws.recording_regions.insert(REGION.to_string());
    aws
}

async fn sweep(
    aws: &MemoryAws,
    regions: &[&str],
    source: ScanSource,
) -> Result<ScanReport, String> {
    let opts = ScanOptions {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        buckets: Vec::new(),
        params: BucketParams::default(),
        concurrency: 8,
        now: 1_796_601_600.0,
        source,
    };
    scan(aws, &aws.calls, &opts, &|_, _| {})
        .await
        .map_err(|e| e.to_string())
}

fn verdicts(r: &ScanReport) -> Vec<(String, String)> {
    r.buckets
        .iter()
        .map(|b| {
            (
                b.evaluation.resource.clone(),
                format!("{:?}", b.evaluation.findings),
            )
        })
        .collect()
}

fn reads(calls: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    calls
        .iter()
        .filter(|(k, _)| k.starts_with("config:") || k.starts_with("s3:"))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[tokio::test]
async fn config_gives_the_api_verdicts_at_two_calls_per_100_buckets_whatever_the_vpcs() {
    for vpcs in [1, 500] {
        let api_account = account(250, vpcs, true);
        let api = sweep(&api_account, &[REGION], ScanSource::Api)
            .await
            .unwrap();
        let config_account = account(250, vpcs, true);
        let config = sweep(&config_account, &[REGION], ScanSource::Config)
            .await
            .unwrap();
        assert_eq!(verdicts(&config), verdicts(&api));
        assert_eq!(config.vpcs, api.vpcs);
        assert_eq!(config.buckets.len(), 250);
        assert_eq!(
            config.sources,
            BTreeMap::from([(REGION.to_string(), ScanSource::Config)])
        );
        assert!(api.sources.is_empty());
        // Items with every fact: no S3 read at all, three pages of each Config call.
        assert_eq!(
            reads(&config_account.call_counts()),
            BTreeMap::from([
                ("config:BatchGetResourceConfig".to_string(), 3),
                ("config:DescribeConfigurationRecorders".to_string(), 1),
                ("config:ListDiscoveredResources".to_string(), 3),
            ]),
            "{vpcs} VPCs"
        );
        assert_eq!(api_account.call_counts()["s3:GetBucketPolicy"], 250);
    }
}

#[tokio::test]
async fn items_without_ownership_cost_one_s3_read_each() {
    let aws = account(120, 1, false);
    sweep(&aws, &[REGION], ScanSource::Config).await.unwrap();
    let calls = aws.call_counts();
    assert_eq!(calls["s3:GetBucketOwnershipControls"], 120);
    assert_eq!(calls.get("s3:GetBucketPolicy"), None);
    assert_eq!(calls["config:BatchGetResourceConfig"], 2);
}

#[tokio::test]
async fn auto_picks_per_region_and_config_refuses_a_region_it_does_not_record() {
    let mut aws = account(5, 1, true);
    aws.add_bucket(
        "eu-bucket",
        MemoryBucket::private(OTHER, &private_bucket_policy("eu-bucket", "vpce-0a1b2c3d")),
    );
    let auto = sweep(&aws, &[REGION, OTHER], ScanSource::Auto)
        .await
        .unwrap();
    assert_eq!(
        auto.sources,
        BTreeMap::from([
            (OTHER.to_string(), ScanSource::Api),
            (REGION.to_string(), ScanSource::Config),
        ])
    );
    assert_eq!(auto.buckets.len(), 6);
    let err = sweep(&aws, &[REGION, OTHER], ScanSource::Config)
        .await
        .unwrap_err();
    assert!(
        err.contains("AWS Config does not record AWS::S3::Bucket in eu-west-1"),
        "{err}"
    );
    // A recorder that cannot be read: `auto` falls back to S3, `config` fails.
    aws.fail(
        "config:DescribeConfigurationRecorders",
        ErrorKind::AccessDenied,
        1,
    );
    let auto = sweep(&aws, &[REGION], ScanSource::Auto).await.unwrap();
    assert_eq!(auto.sources[REGION], ScanSource::Api);
    aws.fail(
        "config:DescribeConfigurationRecorders",
        ErrorKind::AccessDenied,
        1,
    );
    assert!(sweep(&aws, &[REGION], ScanSource::Config).await.is_err());
}
