//! Scenario tests against a real moto server: the SDK talks HTTP to 127.0.0.1, the adapters read
//! the facts, the rules decide. Each test asserts the exact statuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_s3::types::ObjectOwnership;
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::{scan, ScanOptions, ScanReport};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{
    clients, locked_endpoint_policy, private_bucket_policy, Seed, MOTO_ACCOUNT,
};
use vpce_guard_tests::{find, reason, statuses};

use vpce_guard_tests::block_on as run;

async fn sweep(moto: &Moto, regions: &[&str], params: BucketParams) -> ScanReport {
    let c = clients(&moto.endpoint(), regions[0]).await;
    let opts = ScanOptions {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        buckets: Vec::new(),
        params,
        concurrency: 8,
        now: vpce_guard::now_epoch_seconds(),
        source: vpce_guard::scan::ScanSource::Api,
    };
    scan(&c, &c.calls, &opts, &|_, _| {})
        .await
        .expect("the sweep runs")
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

/// Every network rule PASS, from the rule registry.
fn all_pass_vpc() -> Vec<String> {
    vpce_guard::rules::RuleId::NETWORK
        .iter()
        .map(|r| format!("{r}=PASS"))
        .collect()
}

#[test]
fn reference_setup_is_compliant() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "us-east-1").await;
        let (v, e) = seed.reference_vpc("us-east-1", "10.10.0.0/16").await;
        seed.bucket(
            "ref-bucket",
            "us-east-1",
            Some(&private_bucket_policy("ref-bucket", &e)),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let r = sweep(&moto, &["us-east-1"], BucketParams::default()).await;
        let b = find(&r, "ref-bucket");
        assert_eq!(b.region, "us-east-1");
        assert_eq!(
            statuses(&b.evaluation),
            s(&[
                "S3-VPCE-DENY=PASS",
                "S3-VPCE-KNOWN=PASS",
                "S3-VPCE-REACHABLE=PASS",
                "S3-TLS=PASS",
                "S3-SIGV4=WARN",
                "S3-TLS-VERSION=NOT_APPLICABLE",
                "S3-NO-PUBLIC-GRANT=PASS",
                "S3-PUBLIC-ACCESS-BLOCK=PASS",
                "S3-ACLS-DISABLED=PASS",
                "S3-GUARD-ACCESS=WARN"
            ])
        );
        assert_eq!(b.evaluation.compliance.as_str(), "COMPLIANT");
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            all_pass_vpc(),
            "{:#?}",
            vpc.evaluation
        );
        assert_eq!(vpc.evaluation.compliance.as_str(), "COMPLIANT");
    });
}

#[test]
fn vpc_without_endpoint_and_bucket_in_region_without_endpoint() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "eu-west-1").await;
        let v = seed.vpc("eu-west-1", "10.20.0.0/16", true, true).await;
        seed.bucket(
            "lonely-bucket",
            "eu-west-1",
            Some(&private_bucket_policy(
                "lonely-bucket",
                "vpce-0123456789abcdef0",
            )),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let r = sweep(&moto, &["eu-west-1"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=FAIL",
                "NET-ENDPOINT-POLICY=NOT_APPLICABLE",
                "NET-ROUTES=NOT_APPLICABLE",
                "NET-DNS=PASS",
                "NET-SG-EGRESS=NOT_APPLICABLE"
            ])
        );
        let b = find(&r, "lonely-bucket");
        let st = statuses(&b.evaluation);
        assert!(st.contains(&"S3-VPCE-REACHABLE=FAIL".to_string()), "{st:?}");
        assert!(reason(&b.evaluation, "S3-VPCE-REACHABLE").contains("eu-west-1"));
        // The policy admits an endpoint the account does not have in this region.
        assert!(st.contains(&"S3-VPCE-DENY=FAIL".to_string()), "{st:?}");
    });
}

#[test]
fn default_allow_all_endpoint_policy_fails() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "us-west-2").await;
        let v = seed.vpc("us-west-2", "10.30.0.0/16", true, true).await;
        seed.gateway_endpoint(&v, &[&v.route_table_id], None).await;
        let r = sweep(&moto, &["us-west-2"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=PASS",
                "NET-ENDPOINT-POLICY=FAIL",
                "NET-ROUTES=PASS",
                "NET-DNS=PASS",
                "NET-SG-EGRESS=PASS"
            ])
        );
        assert!(reason(&vpc.evaluation, "NET-ENDPOINT-POLICY").contains("default allow-all"));
    });
}

#[test]
fn route_table_without_endpoint_route_fails() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "us-east-2").await;
        let v = seed.vpc("us-east-2", "10.40.0.0/16", true, true).await;
        // The endpoint sits on no route table.
        seed.gateway_endpoint(&v, &[], Some(&locked_endpoint_policy(MOTO_ACCOUNT)))
            .await;
        let r = sweep(&moto, &["us-east-2"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=PASS",
                "NET-ENDPOINT-POLICY=PASS",
                "NET-ROUTES=FAIL",
                "NET-DNS=PASS",
                "NET-SG-EGRESS=PASS"
            ])
        );
        assert!(reason(&vpc.evaluation, "NET-ROUTES").contains(&v.route_table_id));
    });
}

#[test]
fn subnet_routed_through_nat_warns() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "ap-southeast-2").await;
        let (v, _) = seed.reference_vpc("ap-southeast-2", "10.50.0.0/16").await;
        let nat = seed.nat_default_route(&v).await;
        let r = sweep(&moto, &["ap-southeast-2"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=PASS",
                "NET-ENDPOINT-POLICY=PASS",
                "NET-ROUTES=WARN",
                "NET-DNS=PASS",
                "NET-SG-EGRESS=PASS"
            ])
        );
        assert!(reason(&vpc.evaluation, "NET-ROUTES").contains(&nat));
        assert_eq!(
            vpc.evaluation.compliance.as_str(),
            "COMPLIANT",
            "a WARN never changes compliance"
        );
    });
}

#[test]
fn dns_hostnames_off_fails() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "eu-central-1").await;
        let v = seed.vpc("eu-central-1", "10.60.0.0/16", true, false).await;
        seed.gateway_endpoint(
            &v,
            &[&v.route_table_id],
            Some(&locked_endpoint_policy(MOTO_ACCOUNT)),
        )
        .await;
        let r = sweep(&moto, &["eu-central-1"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=PASS",
                "NET-ENDPOINT-POLICY=PASS",
                "NET-ROUTES=PASS",
                "NET-DNS=FAIL",
                "NET-SG-EGRESS=PASS"
            ])
        );
        assert!(reason(&vpc.evaluation, "NET-DNS").contains("enableDnsHostnames"));
    });
}

#[test]
fn security_group_egress_without_prefix_list_fails() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "ca-central-1").await;
        let (v, _) = seed.reference_vpc("ca-central-1", "10.70.0.0/16").await;
        let pl = seed
            .s3_prefix_list("ca-central-1")
            .await
            .expect("moto has the S3 prefix list of ca-central-1");
        let bad = seed
            .restricted_security_group(&v, "only-corp-proxy", Some("10.99.0.0/16"), None)
            .await;
        // HTTPS to the S3 prefix list only: enough, so this group is not reported.
        let good = seed
            .restricted_security_group(&v, "https-to-s3", None, Some(&pl))
            .await;
        let r = sweep(&moto, &["ca-central-1"], BucketParams::default()).await;
        let vpc = find(&r, &v.vpc_id);
        let why = reason(&vpc.evaluation, "NET-SG-EGRESS");
        assert_eq!(
            statuses(&vpc.evaluation),
            s(&[
                "NET-S3-GATEWAY=PASS",
                "NET-ENDPOINT-POLICY=PASS",
                "NET-ROUTES=PASS",
                "NET-DNS=PASS",
                "NET-SG-EGRESS=FAIL"
            ])
        );
        // Exactly the blocking group, and the prefix list the scan read is the seeded one.
        assert_eq!(
            why,
            format!(
                "security group {bad} (only-corp-proxy) blocks HTTPS egress to the S3 prefix list {pl}"
            ),
            "{good} lets HTTPS reach S3"
        );
    });
}

#[test]
fn bucket_without_policy_and_bucket_admitting_a_foreign_endpoint() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "eu-west-2").await;
        let (_, e) = seed.reference_vpc("eu-west-2", "10.80.0.0/16").await;
        seed.bucket(
            "no-policy-bucket",
            "eu-west-2",
            None,
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let foreign = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::foreign-vpce-bucket", "arn:aws:s3:::foreign-vpce-bucket/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": [e.as_str(), "vpce-0f0e0d0c0b0a09080"]}}}]
        })
        .to_string();
        seed.bucket(
            "foreign-vpce-bucket",
            "eu-west-2",
            Some(&foreign),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let r = sweep(&moto, &["eu-west-2"], BucketParams::default()).await;
        let nopol = find(&r, "no-policy-bucket");
        assert_eq!(
            statuses(&nopol.evaluation),
            s(&[
                "S3-VPCE-DENY=FAIL",
                "S3-VPCE-KNOWN=PASS",
                "S3-VPCE-REACHABLE=PASS",
                "S3-TLS=FAIL",
                "S3-SIGV4=WARN",
                "S3-TLS-VERSION=NOT_APPLICABLE",
                "S3-NO-PUBLIC-GRANT=PASS",
                "S3-PUBLIC-ACCESS-BLOCK=PASS",
                "S3-ACLS-DISABLED=PASS",
                "S3-GUARD-ACCESS=PASS"
            ])
        );
        assert!(reason(&nopol.evaluation, "S3-VPCE-DENY").contains("no bucket policy"));
        let f = find(&r, "foreign-vpce-bucket");
        let st = statuses(&f.evaluation);
        assert_eq!(
            &st[..3],
            &s(&[
                "S3-VPCE-DENY=FAIL",
                "S3-VPCE-KNOWN=FAIL",
                "S3-VPCE-REACHABLE=PASS"
            ])
        );
        assert!(reason(&f.evaluation, "S3-VPCE-KNOWN").contains("vpce-0f0e0d0c0b0a09080"));
    });
}

#[test]
fn acls_enabled_and_block_public_access_off_fail() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "sa-east-1").await;
        let (_, e) = seed.reference_vpc("sa-east-1", "10.90.0.0/16").await;
        seed.bucket(
            "acl-bucket",
            "sa-east-1",
            Some(&private_bucket_policy("acl-bucket", &e)),
            false,
            Some(ObjectOwnership::ObjectWriter),
        )
        .await;
        let r = sweep(&moto, &["sa-east-1"], BucketParams::default()).await;
        let b = find(&r, "acl-bucket");
        let st = statuses(&b.evaluation);
        assert_eq!(
            &st[7..9],
            &s(&["S3-PUBLIC-ACCESS-BLOCK=FAIL", "S3-ACLS-DISABLED=FAIL"])
        );
        assert_eq!(
            &st[..4],
            &s(&[
                "S3-VPCE-DENY=PASS",
                "S3-VPCE-KNOWN=PASS",
                "S3-VPCE-REACHABLE=PASS",
                "S3-TLS=PASS"
            ])
        );
        assert!(reason(&b.evaluation, "S3-ACLS-DISABLED").contains("ObjectWriter"));
        assert!(reason(&b.evaluation, "S3-PUBLIC-ACCESS-BLOCK").contains("BlockPublicAcls"));
    });
}

#[test]
fn two_regions_in_one_scan() {
    let moto = Moto::start();
    run(async {
        let seed = Seed::new(&moto.endpoint(), "us-east-1").await;
        let (v1, e1) = seed.reference_vpc("us-east-1", "10.11.0.0/16").await;
        let (v2, e2) = seed.reference_vpc("eu-north-1", "10.12.0.0/16").await;
        seed.bucket(
            "east-bucket",
            "us-east-1",
            Some(&private_bucket_policy("east-bucket", &e1)),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        // This bucket lives in eu-north-1 but its policy names the us-east-1 endpoint: gateway
        // endpoints serve only their own region, so it is unreachable.
        seed.bucket(
            "north-bucket",
            "eu-north-1",
            Some(&private_bucket_policy("north-bucket", &e1)),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let r = sweep(&moto, &["us-east-1", "eu-north-1"], BucketParams::default()).await;
        assert_eq!(find(&r, "east-bucket").region, "us-east-1");
        assert_eq!(find(&r, "north-bucket").region, "eu-north-1");
        assert_eq!(
            find(&r, "east-bucket").evaluation.compliance.as_str(),
            "COMPLIANT"
        );
        let north = &find(&r, "north-bucket").evaluation;
        assert_eq!(
            &statuses(north)[..3],
            &s(&[
                "S3-VPCE-DENY=FAIL",
                "S3-VPCE-KNOWN=FAIL",
                "S3-VPCE-REACHABLE=FAIL"
            ])
        );
        // The request that gets through is the one via the us-east-1 endpoint the policy names:
        // a non-approved origin (S3-VPCE-DENY) and a non-approved endpoint (S3-VPCE-KNOWN).
        let through_e1 = format!("not denied: TLS 1.2 via {e1} (an endpoint the policy names): ");
        for rule in ["S3-VPCE-DENY", "S3-VPCE-KNOWN"] {
            let why = reason(north, rule);
            assert!(why.starts_with(&through_e1), "{rule}: {why}");
        }
        // eu-north-1's own endpoint, the approved one there, is denied.
        let why = reason(north, "S3-VPCE-REACHABLE");
        assert!(
            why.starts_with(
                "s3:GetObject by a same-account role session through the approved endpoints is denied"
            ),
            "{why}"
        );
        assert!(
            why.contains(&format!("via {e2} (approved endpoint) in {}", v2.vpc_id)),
            "{why}"
        );
        assert!(!why.contains(&e1), "{why}");
        assert_eq!(find(&r, &v1.vpc_id).region, "us-east-1");
        assert_eq!(find(&r, &v2.vpc_id).region, "eu-north-1");
        // Network facts are read once per region, not per bucket.
        assert_eq!(r.api_calls.get("ec2:DescribeVpcEndpoints"), Some(&2));
        assert_eq!(r.api_calls.get("s3:GetBucketPolicy"), Some(&2));
    });
}
