//! The network rule's call budget (docs/COST.md), run as Lambda runs it against moto: each
//! notification type costs exactly these AWS calls, counted where they land (moto's request
//! recorder, the Config recorder). A change costs the same on an account of 1 VPC and of 50;
//! only the periodic sweep grows, by EC2's two `DescribeVpcAttribute` per VPC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use vpce_guard_tests::budget::{measure_all, table, BudgetAccount, Calls};

fn calls(pairs: &[(&str, u64)]) -> Calls {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// One VPC's facts and the evaluation.
fn one_vpc() -> Calls {
    calls(&[
        ("config:PutEvaluations", 1),
        ("ec2:DescribePrefixLists", 1),
        ("ec2:DescribeRouteTables", 1),
        ("ec2:DescribeSecurityGroups", 1),
        ("ec2:DescribeSubnets", 1),
        ("ec2:DescribeVpcAttribute", 2),
        ("ec2:DescribeVpcEndpoints", 1),
        ("ec2:DescribeVpcs", 1),
    ])
}

fn periodic(vpcs: u64) -> Calls {
    calls(&[
        ("config:GetComplianceDetailsByConfigRule", 1),
        ("config:PutEvaluations", 1),
        ("ec2:DescribePrefixLists", 1),
        ("ec2:DescribeRouteTables", 1),
        ("ec2:DescribeSecurityGroups", 1),
        ("ec2:DescribeSubnets", 1),
        ("ec2:DescribeVpcAttribute", 2 * vpcs),
        ("ec2:DescribeVpcEndpoints", 1),
        ("ec2:DescribeVpcs", 1),
    ])
}

#[test]
fn each_change_costs_the_same_on_1_and_50_vpcs() {
    let small = BudgetAccount::seed(1);
    let large = BudgetAccount::seed(50);
    let rows = measure_all(
        Path::new(env!("CARGO_BIN_EXE_network-rule")),
        &[&small, &large],
        BudgetAccount::network_notifications,
    );
    eprintln!("{}", table("network-rule", &[1, 50], &rows));
    let put_only = calls(&[("config:PutEvaluations", 1)]);
    let expected: Vec<(&str, Calls, Calls)> = vec![
        ("change: VPC", one_vpc(), one_vpc()),
        ("change: route table", one_vpc(), one_vpc()),
        ("change: security group", one_vpc(), one_vpc()),
        ("change: VPC endpoint", one_vpc(), one_vpc()),
        ("oversized: VPC", one_vpc(), one_vpc()),
        ("periodic", periodic(1), periodic(50)),
        ("deleted VPC", put_only.clone(), put_only.clone()),
        ("left scope", put_only.clone(), put_only),
    ];
    assert_eq!(rows.len(), expected.len());
    for ((name, got), (want_name, small, large)) in rows.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert_eq!(&got[0], small, "{name} on 1 VPC");
        assert_eq!(&got[1], large, "{name} on 50 VPCs");
    }
}
