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
            .map(|a| (a.account.as_str(), a.buckets, a.access.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (OWN, 150, "direct"),
                (OTHERS[0], 60, "none"),
                (OTHERS[1], 60, "none")
            ]
        );
        // Another account's buckets are not judged on what cannot be read: Config records no
        // EC2 resource of theirs here, and the network rules' reasons say so.
        let foreign = report
            .buckets
            .iter()
            .find(|b| b.account.as_deref() == Some(OTHERS[0]))
            .unwrap();
        let text = format!("{:?}", foreign.evaluation.findings);
        assert!(
            text.contains("no network facts for account 444455556666 in us-east-1: the aggregator holds no AWS::EC2::VPC item there"),
            "{text}"
        );
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
        // (the items carry every fact), whatever the number of VPCs; for each other account,
        // one listing of its VPCs (none: nothing more).
        let calls: BTreeMap<String, u64> = aws
            .call_counts()
            .into_iter()
            .filter(|(k, _)| k.starts_with("config:") || k.starts_with("s3:"))
            .collect();
        assert_eq!(
            calls,
            BTreeMap::from([
                ("config:BatchGetAggregateResourceConfig".to_string(), 3 + 1),
                ("config:ListAggregateDiscoveredResources".to_string(), 3 + 1 + 2),
            ]),
            "{vpcs} VPCs: three pages of buckets, one of account Block Public Access, one of each other account's VPCs"
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

/// Another account judged from the aggregator's EC2 items: its buckets get the verdicts a
/// direct sweep of that account gives, its VPCs every network rule but `NET-DNS` (Config's VPC
/// items carry no DNS attributes), at 2 Config calls per 100 items of each type; an account
/// where Config records VPCs but not route tables gets no network facts, and says why.
#[tokio::test]
async fn other_accounts_networks_come_from_the_aggregators_ec2_items() {
    let mut aws = MemoryAws::new(OWN, REGION);
    aws.add_reference_vpcs(REGION, 1);
    aws.aggregator = Some("org".into());
    // The first other account: 120 VPCs of its own, 40 buckets behind its first endpoint.
    let mut twin = MemoryAws::new(OTHERS[0], REGION);
    twin.account_public_access_block = Fact::Known(ALL_ON);
    let mut net = vpce_guard::facts::NetworkFacts {
        region: REGION.into(),
        ..Default::default()
    };
    let vpce = vpce_guard::testing::memory::reference_vpcs(&mut net, OTHERS[0], "4", 120)[0]
        .1
        .clone();
    twin.networks.insert(REGION.into(), net.clone());
    aws.record_foreign_network(OTHERS[0], &net);
    aws.record_foreign_account_block(OTHERS[0], ALL_ON);
    for i in 0..40 {
        let name = format!("acct0-{i:02}");
        let mut b = MemoryBucket::private(REGION, &private_bucket_policy(&name, &vpce));
        if i % 4 == 0 {
            // Behind an endpoint the account does not have.
            b.policy = Fact::Known(private_bucket_policy(&name, "vpce-0000000000000dead"));
        }
        aws.record_foreign_bucket(&name, OTHERS[0], &b, true);
        twin.add_bucket(&name, b);
    }
    // The second other account: Config records its VPCs but not its route tables.
    let mut partial = vpce_guard::facts::NetworkFacts {
        region: REGION.into(),
        ..Default::default()
    };
    let vpce7 = vpce_guard::testing::memory::reference_vpcs(&mut partial, OTHERS[1], "7", 2)[0]
        .1
        .clone();
    partial.route_tables.clear();
    aws.record_foreign_network(OTHERS[1], &partial);
    let b = MemoryBucket::private(REGION, &private_bucket_policy("acct1-00", &vpce7));
    aws.record_foreign_bucket("acct1-00", OTHERS[1], &b, true);

    let report = aggregated(&aws, None).await;
    assert!(!report.incomplete);

    // The first other account: the verdicts of a direct sweep of it.
    let direct = {
        let mut o = opts();
        o.regions = vec![REGION.into()];
        scan(&twin, &twin.calls, &o, &|_, _| {}).await.unwrap()
    };
    let of = |account: &str| -> Vec<_> {
        report
            .buckets
            .iter()
            .filter(|b| b.account.as_deref() == Some(account))
            .map(|b| (b.evaluation.resource.clone(), b.evaluation.findings.clone()))
            .collect()
    };
    let expected: Vec<_> = direct
        .buckets
        .iter()
        .map(|b| (b.evaluation.resource.clone(), b.evaluation.findings.clone()))
        .collect();
    assert_eq!(of(OTHERS[0]), expected);
    let compliant = |r: &[vpce_guard::scan::RegionalEvaluation]| {
        r.iter()
            .filter(|e| e.evaluation.compliance == vpce_guard::rules::Compliance::Compliant)
            .count()
    };
    assert_eq!(
        compliant(&direct.buckets),
        30,
        "the ten behind an unknown endpoint fail"
    );
    // Its 120 VPCs: every rule as the direct sweep judges it, but NET-DNS.
    let vpcs: Vec<_> = report
        .vpcs
        .iter()
        .filter(|v| v.account.as_deref() == Some(OTHERS[0]))
        .collect();
    assert_eq!(vpcs.len(), 120);
    for (got, want) in vpcs.iter().zip(&direct.vpcs) {
        assert_eq!(got.evaluation.resource, want.evaluation.resource);
        for (g, w) in got
            .evaluation
            .findings
            .iter()
            .zip(&want.evaluation.findings)
        {
            if g.rule == vpce_guard::rules::RuleId::NetDns {
                assert_eq!(w.status, vpce_guard::rules::Status::Pass);
                assert_eq!(g.status, vpce_guard::rules::Status::Fail);
                assert!(g.reason.starts_with("not evaluated"), "{}", g.reason);
            } else {
                assert_eq!(g, w);
            }
        }
    }

    // The second: Config has no route tables there, so no network facts, and the reason.
    let text = format!("{:?}", of(OTHERS[1])[0].1);
    assert!(
        text.contains("no network facts for account 777788889999 in us-east-1: no AWS::EC2::RouteTable item for vpc-7"),
        "{text}"
    );
    assert!(!report
        .vpcs
        .iter()
        .any(|v| v.account.as_deref() == Some(OTHERS[1])));

    // The cost: per other account and region, one listing per type (two pages of 100 for
    // 120 VPCs, endpoints, route tables, security groups and subnets) and 2 batches of items
    // per type; no EC2 call for either, whatever their number of VPCs.
    let calls = aws.call_counts();
    assert_eq!(
        calls.get("config:ListAggregateDiscoveredResources"),
        Some(&(1 + 1 + 5 * 2 + 5)),
        "buckets, account blocks, the first account's five types (two pages each), the second's five"
    );
    assert_eq!(
        calls.get("config:BatchGetAggregateResourceConfig"),
        Some(&(1 + 1 + 5 * 2 + 4)),
        "buckets, account blocks, the first account's 5 × 120 items, the second's VPCs, endpoints, security groups and subnets (no route table to fetch)"
    );
    assert!(
        !calls.keys().any(|k| k.starts_with("ec2:")),
        "no EC2 read for accounts judged from items: {calls:?}"
    );
}
