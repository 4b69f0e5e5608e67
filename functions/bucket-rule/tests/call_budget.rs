//! The bucket rule's call budget (docs/COST.md), run as Lambda runs it against moto: each
//! notification type costs exactly these AWS calls, counted where they land (moto's request
//! recorder, the Config recorder), and the same on an account of 1 VPC and of 50.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use vpce_guard_tests::budget::{measure_all, table, BudgetAccount, Calls};

fn calls(pairs: &[(&str, u64)]) -> Calls {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn each_notification_costs_the_same_on_1_and_50_vpcs() {
    let small = BudgetAccount::seed(1);
    let large = BudgetAccount::seed(50);
    let rows = measure_all(
        Path::new(env!("CARGO_BIN_EXE_bucket-rule")),
        &[&small, &large],
        BudgetAccount::bucket_notifications,
    );
    eprintln!("{}", table("bucket-rule", &[1, 50], &rows));
    let change = [
        ("config:DescribeConfigurationRecorders", 1),
        ("config:PutEvaluations", 1),
        ("ec2:DescribeVpcEndpoints", 1),
        ("s3:GetBucketOwnershipControls", 1),
    ];
    let mut bpa_off = change.to_vec();
    bpa_off.push(("s3control:GetPublicAccessBlock", 1));
    let mut oversized = change.to_vec();
    oversized.push(("config:GetResourceConfigHistory", 1));
    let expected: Vec<(&str, Calls)> = vec![
        ("change", calls(&change)),
        ("change, bucket BPA off", calls(&bpa_off)),
        ("oversized", calls(&oversized)),
        (
            "periodic (2 buckets)",
            calls(&[
                ("config:BatchGetResourceConfig", 1),
                ("config:DescribeConfigurationRecorders", 1),
                ("config:GetComplianceDetailsByConfigRule", 1),
                ("config:ListDiscoveredResources", 1),
                ("config:PutEvaluations", 1),
                ("ec2:DescribeVpcEndpoints", 1),
                ("s3:GetBucketOwnershipControls", 2),
                ("s3:GetPublicAccessBlock", 1),
                ("s3control:GetPublicAccessBlock", 1),
            ]),
        ),
        ("deleted", calls(&[("config:PutEvaluations", 1)])),
        ("left scope", calls(&[("config:PutEvaluations", 1)])),
    ];
    assert_eq!(rows.len(), expected.len());
    for ((name, got), (want_name, want)) in rows.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert_eq!(&got[0], want, "{name} on 1 VPC");
        assert_eq!(&got[1], want, "{name} on 50 VPCs");
    }
}
