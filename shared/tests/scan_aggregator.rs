//! `scan --aggregator` on the in-memory account: buckets of several accounts from one Config
//! aggregator, 100 a call; the caller's own account read directly, the others judged from the
//! items alone (and said so), or listed as failed when their role cannot be assumed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use vpce_guard::facts::{Fact, PublicAccessBlock};
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::aggregate::{scan_aggregator, AggregatorOptions};
use vpce_guard::scan::{scan, ScanOptions, ScanReport, ScanSource};
use vpce_guard::testing::memory::{MemoryAws, MemoryBucket, ALL_ON};
use vpce_guard::testing::policies::private_bucket_policy;

const OWN: &str = "111122223333";
const OTHERS: [&str; 2] = ["444455556666", "777788889999"];
const REGION: &str = "us-east-1";

/// 150 buckets of the own account (every third without a policy) and 60 of each other account,
/// all recorded with Object Ownership in their items.
fn organization(vpcs: usize) -> MemoryAws {
    let mut aws = MemoryAws::new(OWN, REGION);
    let vpce = aws.add_reference_vpcs(REGION, vpcs)[0].1.clone();
    for i in 0..150 {
        let name = format!("own-{i:03}");
        let mut b = MemoryBucket::private(REGION, &private_bucket_policy(&name, &vpce));
        if i % 3 == 0 {
            b.policy = vpce_guard::facts::Fact::NotConfigured;
        }
        aws.add_bucket(&name, b);
        aws.record_bucket(&name, true);
    }
    for (k, account) in OTHERS.iter().enumerate() {
        for i in 0..60 {
            let name = format!("acct{k}-{i:02}");
            let mut b = MemoryBucket::private(REGION, &private_bucket_policy(&name, &vpce));
            // Their own Block Public Access off: the account's decides.
            b.public_access_block = Fact::Known(PublicAccessBlock::default());
            aws.record_foreign_bucket(&name, account, &b, true);
        }
    }
    // Config records the first other account's Block Public Access (all on), not the second's.
    aws.record_foreign_account_block(OTHERS[0], ALL_ON);
    aws.aggregator = Some("org".into());
    aws
}

fn opts() -> ScanOptions {
    ScanOptions {
        regions: Vec::new(),
        buckets: Vec::new(),
        params: BucketParams::default(),
        concurrency: 8,
        now: 1_796_601_600.0,
        source: ScanSource::Api,
    }
}

async fn aggregated(aws: &MemoryAws, role: Option<&str>) -> ScanReport {
    let agg = AggregatorOptions {
        name: "org".into(),
        role_name: role.map(str::to_string),
    };
    scan_aggregator(aws, &aws.calls, &opts(), &agg, &|_, _| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn every_account_from_one_aggregator_at_two_calls_per_100_buckets() {
    for vpcs in [1, 500] {
        let aws = organization(vpcs);
        let report = aggregated(&aws, None).await;
        assert_eq!(report.buckets.len(), 270);
        assert!(!report.incomplete);
        // The own account's verdicts are those of a direct sweep.
        let direct = {
            let own = organization(vpcs);
            let mut o = opts();
            o.regions = vec![REGION.into()];
            scan(&own, &own.calls, &o, &|_, _| {}).await.unwrap()
        };
        let own: Vec<_> = report
            .buckets
            .iter()
            .filter(|b| b.account.as_deref() == Some(OWN))
            .map(|b| (&b.evaluation.resource, &b.evaluation.findings))
            .collect();
        let expected: Vec<_> = direct
            .buckets
            .iter()
            .map(|b| (&b.evaluation.resource, &b.evaluation.findings))
            .collect();
        assert_eq!(own, expected);
        assert_eq!(report.vpcs.len(), direct.vpcs.len());
        // Per account: counts and how it was read.
        let summary: Vec<(&str, usize, &str)> = report
            .accounts
            .iter()
            .map(|a| (a.account.as_str(), a.buckets, a.access))
            .collect();
        assert_eq!(
            summary,
            vec![
                (OWN, 150, "direct"),
                (OTHERS[0], 60, "none"),
                (OTHERS[1], 60, "none")
            ]
        );
        // Another account's buckets are not judged on what cannot be read: the network rules'
        // reasons say why.
        let foreign = report
            .buckets
            .iter()
            .find(|b| b.account.as_deref() == Some(OTHERS[0]))
            .unwrap();
        let text = format!("{:?}", foreign.evaluation.findings);
        assert!(text.contains("no access to account 444455556666"), "{text}");
        // The account's Block Public Access comes from the aggregator where Config records it:
        // known (all on) for the first other account, unknown (never assumed) for the second.
        let block_status = |account: &str| {
            let b = report
                .buckets
                .iter()
                .find(|b| b.account.as_deref() == Some(account))
                .unwrap();
            b.evaluation
                .findings
                .iter()
                .find(|f| f.rule == vpce_guard::rules::RuleId::S3PublicAccessBlock)
                .map(|f| f.status)
                .unwrap()
        };
        assert_eq!(block_status(OTHERS[0]), vpce_guard::rules::Status::Pass);
        assert_ne!(block_status(OTHERS[1]), vpce_guard::rules::Status::Pass);
        // The cost: 270 buckets, 3 pages of each aggregator call, no S3 read of any bucket
        // (the items carry every fact), whatever the number of VPCs.
        let calls: BTreeMap<String, u64> = aws
            .call_counts()
            .into_iter()
            .filter(|(k, _)| k.starts_with("config:") || k.starts_with("s3:"))
            .collect();
        assert_eq!(
            calls,
            BTreeMap::from([
                ("config:BatchGetAggregateResourceConfig".to_string(), 3 + 1),
                ("config:ListAggregateDiscoveredResources".to_string(), 3 + 1),
            ]),
            "{vpcs} VPCs: three pages of buckets, one of account Block Public Access"
        );
    }
}

#[tokio::test]
async fn an_account_whose_role_cannot_be_assumed_is_listed_and_the_report_incomplete() {
    let aws = organization(1);
    let report = aggregated(&aws, Some("vpce-guard-reader")).await;
    assert!(report.incomplete);
    let failed: Vec<&str> = report
        .accounts
        .iter()
        .filter(|a| a.error.is_some())
        .map(|a| a.account.as_str())
        .collect();
    assert_eq!(failed, OTHERS.to_vec());
    assert!(report.accounts[1]
        .error
        .as_deref()
        .unwrap()
        .contains("arn:aws:iam::444455556666:role/vpce-guard-reader"));
    // Their buckets are still reported, judged from the items alone.
    assert_eq!(report.buckets.len(), 270);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["incomplete"], true);
    assert_eq!(json["buckets"][0]["account"], OWN);
    // A region filter and a bucket filter narrow the aggregator's answer.
    let agg = AggregatorOptions {
        name: "org".into(),
        role_name: None,
    };
    let mut o = opts();
    o.buckets = vec!["acct1-07".into(), "own-002".into()];
    let two = scan_aggregator(&aws, &aws.calls, &o, &agg, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(two.buckets.len(), 2);
    o.buckets.clear();
    o.regions = vec!["eu-west-1".into()];
    let none = scan_aggregator(&aws, &aws.calls, &o, &agg, &|_, _| {})
        .await
        .unwrap();
    assert!(none.buckets.is_empty());
    // An aggregator that does not exist is an error, not an empty report.
    let wrong = AggregatorOptions {
        name: "nope".into(),
        role_name: None,
    };
    let err = scan_aggregator(&aws, &aws.calls, &opts(), &wrong, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no aggregator named nope"),
        "{err}"
    );
}
