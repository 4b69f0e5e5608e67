//! The Config rule handlers on the in-memory ports: every notification type, every parameter
//! and event error, `PutEvaluations` partial failure and throttling, and the call budget of
//! each notification type (docs/COST.md) on accounts of 1 and 50 VPCs. No moto, no network:
//! the whole file runs in about a second.
//!
//! GIVEN an account in memory, WHEN the handler takes a Config rule event, THEN it reports
//! exactly these evaluations, with exactly these AWS calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vpce_guard::config::rule_functions::{
    handle_bucket_rule, handle_network_rule, HandlerError, HandlerOutput, Warm,
};
use vpce_guard::config::{ConfigRuleEvent, ResourceType, Timestamp};
use vpce_guard::facts::{Fact, PublicAccessBlock};
use vpce_guard::ports::ErrorKind;
use vpce_guard::rules::Compliance;
use vpce_guard::testing::memory::{MemoryAws, MemoryBucket, ALL_ON};
use vpce_guard::FunctionError;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// 2026-11-28T00:00:00Z: the time of evaluation.
const NOW: f64 = 1_795_824_000.0;
const RECORDER_ROLE: &str =
    "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig";

// ----- GIVEN ---------------------------------------------------------------------------------

/// An account with `vpcs` reference VPCs and a private bucket `b` approved through the first
/// VPC's endpoint (the bucket's Block Public Access all on, the account's all off).
fn account(vpcs: usize) -> (MemoryAws, String) {
    let mut aws = MemoryAws::new(ACCOUNT, REGION);
    let ids = aws.add_reference_vpcs(REGION, vpcs);
    let vpce = ids[0].1.clone();
    aws.add_bucket("b", MemoryBucket::private(REGION, &policy("b", &vpce)));
    aws.recorder_role = Some(RECORDER_ROLE.into());
    (aws, vpce)
}

fn policy(bucket: &str, vpce: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"StringNotEquals": {"aws:sourceVpce": vpce}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    .to_string()
}

fn envelope(invoking: Value) -> Value {
    json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": "{}",
        "resultToken": "token-1",
        "eventLeftScope": false,
        "configRuleName": "vpce-guard-rule",
        "accountId": ACCOUNT,
        "version": "1.0"
    })
}

fn typed(v: &Value) -> ConfigRuleEvent {
    serde_json::from_value(v.clone()).unwrap()
}

/// A bucket's change notification; its item carries the policy and Block Public Access (all
/// four `bpa`), not ownership (so S3 is asked for that).
fn bucket_change(bucket: &str, policy: Option<&str>, bpa: bool) -> Value {
    envelope(json!({
        "messageType": "ConfigurationItemChangeNotification",
        "notificationCreationTime": "2026-11-27T10:15:02.120Z",
        "configurationItem": {
            "resourceType": "AWS::S3::Bucket", "resourceId": bucket, "resourceName": bucket,
            "awsRegion": REGION, "awsAccountId": ACCOUNT,
            "configurationItemCaptureTime": "2026-11-27T10:15:00.000Z",
            "configurationItemStatus": "OK",
            "configuration": {"name": bucket},
            "supplementaryConfiguration": {
                "BucketPolicy": {"policyText": policy},
                "PublicAccessBlockConfiguration": {"blockPublicAcls": bpa, "ignorePublicAcls": bpa,
                    "blockPublicPolicy": bpa, "restrictPublicBuckets": bpa}
            }
        }
    }))
}

fn oversized(resource_type: &str, id: &str) -> Value {
    envelope(json!({
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": "2026-11-27T10:20:01.500Z",
        "configurationItemSummary": {
            "resourceType": resource_type, "resourceId": id, "awsRegion": REGION,
            "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2026-11-27T10:20:00.000Z"
        }
    }))
}

fn periodic() -> Value {
    envelope(json!({
        "messageType": "ScheduledNotification",
        "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2026-11-27T12:00:00.000Z"
    }))
}

fn network_change(resource_type: &str, id: &str, vpc: &str, status: &str) -> Value {
    envelope(json!({
        "messageType": "ConfigurationItemChangeNotification",
        "configurationItem": {
            "resourceType": resource_type, "resourceId": id, "awsRegion": REGION,
            "awsAccountId": ACCOUNT, "configurationItemStatus": status,
            "configurationItemCaptureTime": "2026-11-27T10:30:00.000Z",
            "configuration": {"vpcId": vpc}
        }
    }))
}

fn with(mut ev: Value, key: &str, value: Value) -> Value {
    ev[key] = value;
    ev
}

// ----- WHEN ----------------------------------------------------------------------------------

async fn bucket_rule(aws: &MemoryAws, ev: &Value) -> Result<HandlerOutput, HandlerError> {
    handle_bucket_rule(aws, &Warm::default(), &typed(ev), NOW).await
}

async fn network_rule(aws: &MemoryAws, ev: &Value) -> Result<HandlerOutput, HandlerError> {
    handle_network_rule(aws, &typed(ev), Some(REGION), NOW).await
}

// ----- THEN ----------------------------------------------------------------------------------

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The one evaluation sent, checked against the expected resource and compliance.
fn sent_one(
    aws: &MemoryAws,
    id: &str,
    compliance: Compliance,
) -> vpce_guard::config::ConfigEvaluation {
    let sent = aws.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].evaluations.len(), 1, "{sent:#?}");
    let e = sent[0].evaluations[0].clone();
    assert_eq!(e.resource_id, id);
    assert_eq!(e.compliance, compliance, "{e:#?}");
    e
}

// ----- The bucket rule -----------------------------------------------------------------------

#[tokio::test]
async fn bucket_change_reads_only_what_the_item_lacks_and_the_regions_s3_endpoints() {
    for vpcs in [1, 50] {
        let (aws, vpce) = account(vpcs);
        let out = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
            .await
            .unwrap();
        assert_eq!(
            out.api_calls,
            calls(&[
                ("config:DescribeConfigurationRecorders", 1),
                ("config:PutEvaluations", 1),
                ("ec2:DescribeVpcEndpoints", 1),
                ("s3:GetBucketOwnershipControls", 1),
            ]),
            "{vpcs} VPCs"
        );
        assert_eq!(out.compliance["b"], Compliance::Compliant);
        let e = sent_one(&aws, "b", Compliance::Compliant);
        assert_eq!(e.resource_type, ResourceType::S3Bucket);
        assert_eq!(e.ordering_timestamp, ts("2026-11-27T10:15:00Z"));
        assert_eq!(aws.sent()[0].token, "token-1");
        assert!(!aws.sent()[0].test_mode);
    }
}

#[tokio::test]
async fn the_accounts_block_public_access_is_read_only_when_the_bucket_leaves_a_setting_off() {
    for vpcs in [1, 50] {
        let (mut aws, vpce) = account(vpcs);
        aws.account_public_access_block = Fact::Known(ALL_ON);
        let out = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), false))
            .await
            .unwrap();
        assert_eq!(out.api_calls["s3control:GetPublicAccessBlock"], 1);
        assert_eq!(
            out.api_calls.values().sum::<u64>(),
            5,
            "{:?}",
            out.api_calls
        );
        // On at account level: the rule passes.
        sent_one(&aws, "b", Compliance::Compliant);
    }
    // Off at both levels: it fails, naming the settings.
    let (aws, vpce) = account(1);
    bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), false))
        .await
        .unwrap();
    let e = sent_one(&aws, "b", Compliance::NonCompliant);
    assert!(
        e.annotation.unwrap().contains("S3-PUBLIC-ACCESS-BLOCK"),
        "bucket and account off"
    );
}

#[tokio::test]
async fn a_bucket_without_policy_is_non_compliant_failures_first() {
    let (aws, _) = account(1);
    bucket_rule(&aws, &bucket_change("b", None, true))
        .await
        .unwrap();
    let e = sent_one(&aws, "b", Compliance::NonCompliant);
    let a = e.annotation.unwrap();
    assert!(a.starts_with("S3-VPCE-DENY: no bucket policy"), "{a}");
    assert!(a.chars().count() <= 256);
    assert!(e.failing_rules.iter().any(|r| r.as_str() == "S3-VPCE-DENY"));
}

#[tokio::test]
async fn the_recorder_role_is_read_once_per_warm_function_and_a_failed_read_is_retried() {
    let (aws, vpce) = account(1);
    let warm = Warm::default();
    let ev = typed(&bucket_change("b", Some(&policy("b", &vpce)), true));
    aws.fail(
        "config:DescribeConfigurationRecorders",
        ErrorKind::Throttled,
        1,
    );
    let first = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(first.api_calls["config:DescribeConfigurationRecorders"], 1);
    assert_eq!(
        first.compliance["b"],
        Compliance::Compliant,
        "evaluated anyway"
    );
    let second = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(
        second.api_calls["config:DescribeConfigurationRecorders"], 1,
        "not cached"
    );
    let third = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(
        third.api_calls.get("config:DescribeConfigurationRecorders"),
        None
    );
    assert_eq!(
        third.api_calls.values().sum::<u64>(),
        3,
        "{:?}",
        third.api_calls
    );
}

#[tokio::test]
async fn oversized_bucket_notifications_fetch_the_item_from_config() {
    for vpcs in [1, 50] {
        let (mut aws, _) = account(vpcs);
        aws.record_bucket("b", false);
        let out = bucket_rule(&aws, &oversized("AWS::S3::Bucket", "b"))
            .await
            .unwrap();
        assert_eq!(
            out.api_calls,
            calls(&[
                ("config:DescribeConfigurationRecorders", 1),
                ("config:GetResourceConfigHistory", 1),
                ("config:PutEvaluations", 1),
                ("ec2:DescribeVpcEndpoints", 1),
                ("s3:GetBucketOwnershipControls", 1),
            ])
        );
        let e = sent_one(&aws, "b", Compliance::Compliant);
        assert_eq!(
            e.ordering_timestamp,
            ts("2026-11-27T09:00:00Z"),
            "the item's time"
        );
    }
    // Config has no item: NOT_APPLICABLE, nothing else read.
    let (aws, _) = account(1);
    let out = bucket_rule(&aws, &oversized("AWS::S3::Bucket", "b"))
        .await
        .unwrap();
    assert_eq!(out.api_calls.values().sum::<u64>(), 2);
    let e = sent_one(&aws, "b", Compliance::NotApplicable);
    assert_eq!(e.ordering_timestamp, ts("2026-11-27T10:20:00Z"));
}

#[tokio::test]
async fn deleted_and_left_scope_buckets_are_not_applicable_for_one_call() {
    let (aws, _) = account(1);
    let mut ev = bucket_change("b", None, true);
    let raw = ev["invokingEvent"]
        .as_str()
        .unwrap()
        .replace("\"OK\"", "\"ResourceDeleted\"");
    ev["invokingEvent"] = json!(raw);
    let out = bucket_rule(&aws, &with(ev, "resultToken", json!("TESTMODE")))
        .await
        .unwrap();
    assert_eq!(out.api_calls, calls(&[("config:PutEvaluations", 1)]));
    let e = sent_one(&aws, "b", Compliance::NotApplicable);
    assert_eq!(e.annotation.as_deref(), Some("the bucket no longer exists"));
    assert!(aws.sent()[0].test_mode);

    let (aws, _) = account(1);
    let out = bucket_rule(
        &aws,
        &with(
            bucket_change("b", None, true),
            "eventLeftScope",
            json!(true),
        ),
    )
    .await
    .unwrap();
    assert_eq!(out.api_calls, calls(&[("config:PutEvaluations", 1)]));
    let e = sent_one(&aws, "b", Compliance::NotApplicable);
    assert_eq!(
        e.annotation.as_deref(),
        Some("the bucket left the rule's scope")
    );
    let (aws, _) = account(1);
    bucket_rule(
        &aws,
        &with(
            oversized("AWS::S3::Bucket", "b"),
            "eventLeftScope",
            json!(true),
        ),
    )
    .await
    .unwrap();
    sent_one(&aws, "b", Compliance::NotApplicable);
}

#[tokio::test]
async fn the_periodic_sweep_reads_configs_inventory_and_the_region_once() {
    for vpcs in [1, 50] {
        let (mut aws, vpce) = account(vpcs);
        for i in 0..250 {
            let name = format!("sweep-{i:03}");
            let mut b = MemoryBucket::private(REGION, &policy(&name, &vpce));
            if i % 2 == 1 {
                b.policy = Fact::NotConfigured;
            }
            aws.add_bucket(&name, b);
            aws.record_bucket(&name, true);
        }
        aws.record_bucket("b", true);
        // One bucket Config lists but cannot return: read from S3 directly.
        aws.add_bucket(
            "unrecorded",
            MemoryBucket::private(REGION, &policy("unrecorded", &vpce)),
        );
        aws.record_bucket("unrecorded", true);
        aws.unprocessed.insert("unrecorded".into());
        // One Config knows as deleted, one evaluated before and gone since.
        aws.deleted
            .insert((ResourceType::S3Bucket, "deleted-bucket".into()));
        aws.evaluated_before = vec![(ResourceType::S3Bucket, "vanished".into())];
        let out = bucket_rule(&aws, &periodic()).await.unwrap();
        assert_eq!(
            out.api_calls,
            calls(&[
                ("config:BatchGetResourceConfig", 3),
                ("config:DescribeConfigurationRecorders", 1),
                ("config:GetComplianceDetailsByConfigRule", 1),
                ("config:ListDiscoveredResources", 3),
                ("config:PutEvaluations", 3),
                ("ec2:DescribeVpcEndpoints", 1),
                ("s3:GetBucketLocation", 1),
                ("s3:GetBucketOwnershipControls", 1),
                ("s3:GetBucketPolicy", 1),
                ("s3:GetPublicAccessBlock", 1),
            ]),
            "{vpcs} VPCs"
        );
        assert_eq!(out.evaluations, 254);
        let sizes: Vec<usize> = aws.sent().iter().map(|s| s.evaluations.len()).collect();
        assert_eq!(sizes, [100, 100, 54]);
        let all: Vec<_> = aws.sent().into_iter().flat_map(|s| s.evaluations).collect();
        assert!(all
            .iter()
            .all(|e| e.ordering_timestamp == ts("2026-11-27T12:00:00Z")));
        let of = |id: &str| all.iter().find(|e| e.resource_id == id).unwrap().compliance;
        assert_eq!(of("deleted-bucket"), Compliance::NotApplicable);
        assert_eq!(of("vanished"), Compliance::NotApplicable);
        assert_eq!(of("unrecorded"), Compliance::Compliant);
        assert_eq!(of("sweep-000"), Compliance::Compliant);
        assert_eq!(of("sweep-001"), Compliance::NonCompliant);
        let compliant = all
            .iter()
            .filter(|e| e.compliance == Compliance::Compliant)
            .count();
        assert_eq!(compliant, 125 + 2);
    }
}

#[tokio::test]
async fn a_sweep_with_nothing_live_reads_no_network() {
    let (mut aws, _) = account(3);
    aws.deleted.insert((ResourceType::S3Bucket, "gone".into()));
    let out = bucket_rule(&aws, &periodic()).await.unwrap();
    assert_eq!(
        out.api_calls,
        calls(&[
            ("config:GetComplianceDetailsByConfigRule", 1),
            ("config:ListDiscoveredResources", 1),
            ("config:PutEvaluations", 1),
        ])
    );
}

#[tokio::test]
async fn endpoints_that_cannot_be_read_fail_reachability_or_the_invocation() {
    // Denied: the bucket is evaluated, S3-VPCE-REACHABLE FAILs with the reason.
    let (aws, vpce) = account(1);
    aws.fail("ec2:DescribeVpcEndpoints", ErrorKind::AccessDenied, 1);
    bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap();
    let e = sent_one(&aws, "b", Compliance::NonCompliant);
    assert!(e
        .failing_rules
        .iter()
        .any(|r| r.as_str() == "S3-VPCE-REACHABLE"));
    // Throttled after the SDK's retries: the invocation fails, transient, nothing sent.
    let (aws, vpce) = account(1);
    aws.fail("ec2:DescribeVpcEndpoints", ErrorKind::Throttled, 1);
    let err = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.Throttled");
    assert!(err.is_transient());
    assert!(
        err.to_string().contains("ec2:DescribeVpcEndpoints"),
        "{err}"
    );
    assert!(aws.sent().is_empty());
}

#[tokio::test]
async fn failed_evaluations_are_retried_then_fail_the_invocation() {
    let (aws, vpce) = account(1);
    aws.reject_evaluations(1);
    let out = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap();
    assert_eq!(out.put_evaluations_calls, 2, "one rejected, one retried");
    assert_eq!(out.api_calls["config:PutEvaluations"], 2);

    let (aws, vpce) = account(1);
    aws.reject_evaluations(100);
    let err = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.EvaluationsRejected");
    assert!(err.is_transient());
    assert!(
        err.to_string()
            .contains("rejected 1 evaluation(s) after 3 attempts: b"),
        "{err}"
    );
    assert_eq!(aws.sent().len(), 3, "never silently lost: three attempts");
}

#[tokio::test]
async fn throttled_put_evaluations_fails_the_invocation_as_transient() {
    let (aws, vpce) = account(1);
    aws.fail("config:PutEvaluations", ErrorKind::Throttled, 1);
    let err = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.Throttled");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    // The next invocation (Lambda's retry) goes through.
    bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap();
    // Denied is not transient.
    let (aws, vpce) = account(1);
    aws.fail("config:PutEvaluations", ErrorKind::AccessDenied, 1);
    let err = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.AccessDenied");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn each_invalid_rule_parameter_fails_the_invocation_naming_it() {
    for (params, named) in [
        (
            r#"{"ApprovedVpceIds":"not-an-endpoint"}"#,
            "ApprovedVpceIds",
        ),
        (r#"{"ApprovedVpcIds":"vpce-1a2b3c4d"}"#, "ApprovedVpcIds"),
        (r#"{"ExemptPrincipalArns":"admin"}"#, "ExemptPrincipalArns"),
        (
            r#"{"GuardPrincipalArns":"guard-role"}"#,
            "GuardPrincipalArns",
        ),
        (r#"{"RequireSigV4":"yes"}"#, "RequireSigV4"),
        (r#"{"RequireTlsVersion":"1.4"}"#, "RequireTlsVersion"),
        (r#"{"DisabledRules":"S3-NOPE"}"#, "DisabledRules"),
        (r#"{"Unknown":"x"}"#, "Unknown"),
    ] {
        let (aws, _) = account(1);
        let ev = with(
            bucket_change("b", None, true),
            "ruleParameters",
            json!(params),
        );
        let err = bucket_rule(&aws, &ev).await.unwrap_err();
        assert_eq!(err.error_type(), "VpceGuard.InvalidParameter", "{params}");
        assert!(!err.is_transient());
        assert!(err.to_string().contains(named), "{params}: {err}");
        assert!(aws.call_counts().is_empty(), "{params}: no AWS call");
        let err = network_rule(&aws, &with(periodic(), "ruleParameters", json!(params)))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "VpceGuard.InvalidParameter", "{params}");
    }
    let (aws, _) = account(1);
    let err = bucket_rule(&aws, &with(periodic(), "ruleParameters", json!("{")))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.InvalidEvent");
    assert!(err.to_string().contains("`ruleParameters`"), "{err}");
}

#[tokio::test]
async fn unusable_events_fail_with_a_message_naming_the_field() {
    let (aws, _) = account(1);
    let bad_time = {
        let ev = bucket_change("b", None, true);
        let raw = ev["invokingEvent"]
            .as_str()
            .unwrap()
            .replace("2026-11-27T10:15:00.000Z", "27/11/2026");
        with(ev, "invokingEvent", json!(raw))
    };
    for (ev, says) in [
        (json!({"hello": "world"}), "`invokingEvent` is missing"),
        (
            bad_time,
            "`configurationItemCaptureTime` is not a date (RFC 3339): `27/11/2026`",
        ),
        (
            envelope(
                json!({"messageType": "ScheduledNotification", "notificationCreationTime": "noon"}),
            ),
            "`notificationCreationTime`",
        ),
        (
            envelope(json!({"messageType": "ComplianceChangeNotification"})),
            "unsupported messageType `ComplianceChangeNotification`",
        ),
        (
            with(periodic(), "invokingEvent", json!("{not json")),
            "`invokingEvent` is not valid JSON",
        ),
    ] {
        let err = bucket_rule(&aws, &ev).await.unwrap_err();
        assert_eq!(err.error_type(), "VpceGuard.InvalidEvent");
        assert!(err.to_string().starts_with("invalid rule event: "), "{err}");
        assert!(err.to_string().contains(says), "{err}");
        let err = network_rule(&aws, &ev).await.unwrap_err();
        assert_eq!(err.error_type(), "VpceGuard.InvalidEvent");
    }
    assert!(aws.call_counts().is_empty());
}

#[tokio::test]
async fn other_resource_types_are_ignored() {
    let (aws, _) = account(1);
    let ev = network_change("AWS::EC2::Subnet", "subnet-1", "vpc-1", "OK");
    let out = bucket_rule(&aws, &ev).await.unwrap();
    assert_eq!(out.evaluations, 0);
    let out = network_rule(&aws, &ev).await.unwrap();
    assert_eq!(out.evaluations, 0);
    let out = network_rule(&aws, &oversized("AWS::S3::Bucket", "b"))
        .await
        .unwrap();
    assert_eq!(out.evaluations, 0);
    assert!(aws.call_counts().is_empty());
}

// ----- The network rule ----------------------------------------------------------------------

#[tokio::test]
async fn a_network_change_reads_that_vpc_only() {
    for vpcs in [1, 50] {
        let (aws, vpce) = account(vpcs);
        let net = &aws.networks[REGION];
        let vpc = net.vpcs[0].id.clone();
        let rt = net.route_tables[0].id.clone();
        let sg = net.security_groups[0].id.clone();
        for ev in [
            network_change("AWS::EC2::VPC", &vpc, &vpc, "OK"),
            network_change("AWS::EC2::RouteTable", &rt, &vpc, "OK"),
            network_change("AWS::EC2::SecurityGroup", &sg, &vpc, "OK"),
            network_change("AWS::EC2::VPCEndpoint", &vpce, &vpc, "OK"),
            // A route table that was deleted still changes its VPC.
            network_change("AWS::EC2::RouteTable", &rt, &vpc, "ResourceDeleted"),
        ] {
            let out = network_rule(&aws, &ev).await.unwrap();
            assert_eq!(
                out.api_calls,
                calls(&[
                    ("config:PutEvaluations", 1),
                    ("ec2:DescribePrefixLists", 1),
                    ("ec2:DescribeRouteTables", 1),
                    ("ec2:DescribeSecurityGroups", 1),
                    ("ec2:DescribeSubnets", 1),
                    ("ec2:DescribeVpcAttribute", 2),
                    ("ec2:DescribeVpcEndpoints", 1),
                    ("ec2:DescribeVpcs", 1),
                ]),
                "{vpcs} VPCs"
            );
            assert_eq!(out.compliance[&vpc], Compliance::Compliant, "{out:?}");
        }
        let e = &aws.sent()[0].evaluations[0];
        assert_eq!(e.resource_type, ResourceType::Ec2Vpc);
        assert_eq!(e.annotation, None, "nothing to say: omitted");
        assert_eq!(e.ordering_timestamp, ts("2026-11-27T10:30:00Z"));
    }
}

#[tokio::test]
async fn a_vpc_without_endpoint_fails_and_a_vanished_vpc_is_not_applicable() {
    let (mut aws, _) = account(2);
    let net = aws.networks.get_mut(REGION).unwrap();
    let bare = net.vpcs[1].id.clone();
    net.endpoints.retain(|e| e.vpc_id != bare);
    network_rule(&aws, &network_change("AWS::EC2::VPC", &bare, &bare, "OK"))
        .await
        .unwrap();
    let e = sent_one(&aws, &bare, Compliance::NonCompliant);
    assert!(e.annotation.unwrap().starts_with("NET-S3-GATEWAY: "));

    let (aws, _) = account(1);
    let out = network_rule(
        &aws,
        &network_change("AWS::EC2::RouteTable", "rtb-1", "vpc-0gone", "OK"),
    )
    .await
    .unwrap();
    assert_eq!(out.api_calls.values().sum::<u64>(), 9);
    let e = sent_one(&aws, "vpc-0gone", Compliance::NotApplicable);
    assert_eq!(e.annotation.as_deref(), Some("the VPC no longer exists"));
}

#[tokio::test]
async fn deleted_and_left_scope_vpcs_are_not_applicable_for_one_call() {
    for (status, left, why) in [
        ("ResourceDeleted", false, "the VPC no longer exists"),
        ("OK", true, "the VPC left the rule's scope"),
    ] {
        let (aws, _) = account(1);
        let ev = with(
            network_change("AWS::EC2::VPC", "vpc-1", "vpc-1", status),
            "eventLeftScope",
            json!(left),
        );
        let out = network_rule(&aws, &ev).await.unwrap();
        assert_eq!(out.api_calls, calls(&[("config:PutEvaluations", 1)]));
        let e = sent_one(&aws, "vpc-1", Compliance::NotApplicable);
        assert_eq!(e.annotation.as_deref(), Some(why));
    }
}

#[tokio::test]
async fn oversized_network_notifications() {
    for vpcs in [1, 50] {
        let (mut aws, _) = account(vpcs);
        let vpc = aws.networks[REGION].vpcs[0].id.clone();
        let rt = aws.networks[REGION].route_tables[0].id.clone();
        // A VPC's summary names the VPC: no history read.
        let out = network_rule(&aws, &oversized("AWS::EC2::VPC", &vpc))
            .await
            .unwrap();
        assert_eq!(out.api_calls.values().sum::<u64>(), 9);
        assert_eq!(out.compliance[&vpc], Compliance::Compliant);
        // A route table's: its item, for the VPC.
        let item = vpce_guard::config::ConfigItem {
            configuration: json!({"vpcId": vpc}),
            ..vpce_guard::config::ConfigItem::bare(
                ResourceType::Ec2RouteTable,
                &rt,
                Some(REGION.into()),
                None,
            )
        };
        aws.items
            .insert((ResourceType::Ec2RouteTable, rt.clone()), item);
        let out = network_rule(&aws, &oversized("AWS::EC2::RouteTable", &rt))
            .await
            .unwrap();
        assert_eq!(out.api_calls["config:GetResourceConfigHistory"], 1);
        assert_eq!(out.api_calls.values().sum::<u64>(), 10);
        assert_eq!(
            aws.sent()[1].evaluations[0].ordering_timestamp,
            ts("2026-11-27T10:20:00Z"),
            "the summary's time when the item has none"
        );
    }
    // No item in Config: nothing to evaluate.
    let (aws, _) = account(1);
    let out = network_rule(&aws, &oversized("AWS::EC2::SecurityGroup", "sg-1"))
        .await
        .unwrap();
    assert_eq!(out.evaluations, 0);
    assert_eq!(
        out.api_calls,
        calls(&[("config:GetResourceConfigHistory", 1)])
    );
}

#[tokio::test]
async fn the_periodic_network_sweep_reads_the_region_once() {
    for vpcs in [1, 50] {
        let (mut aws, _) = account(vpcs);
        aws.evaluated_before = vec![(ResourceType::Ec2Vpc, "vpc-0gone".into())];
        let out = network_rule(&aws, &periodic()).await.unwrap();
        let puts = (vpcs + 1).div_ceil(100) as u64;
        assert_eq!(
            out.api_calls,
            calls(&[
                ("config:GetComplianceDetailsByConfigRule", 1),
                ("config:PutEvaluations", puts),
                ("ec2:DescribePrefixLists", 1),
                ("ec2:DescribeRouteTables", 1),
                ("ec2:DescribeSecurityGroups", 1),
                ("ec2:DescribeSubnets", 1),
                ("ec2:DescribeVpcAttribute", 2 * vpcs as u64),
                ("ec2:DescribeVpcEndpoints", 1),
                ("ec2:DescribeVpcs", 1),
            ])
        );
        assert_eq!(out.evaluations, vpcs + 1);
        assert_eq!(out.compliance["vpc-0gone"], Compliance::NotApplicable);
        let all: Vec<_> = aws.sent().into_iter().flat_map(|s| s.evaluations).collect();
        assert!(all
            .iter()
            .all(|e| e.ordering_timestamp == ts("2026-11-27T12:00:00Z")));
        assert_eq!(
            all.iter()
                .filter(|e| e.compliance == Compliance::Compliant)
                .count(),
            vpcs
        );
    }
}

#[tokio::test]
async fn disabled_rules_apply_to_the_network_rule() {
    let (mut aws, _) = account(1);
    let net = aws.networks.get_mut(REGION).unwrap();
    net.vpcs[0].dns_hostnames = Some(false);
    let vpc = net.vpcs[0].id.clone();
    network_rule(&aws, &network_change("AWS::EC2::VPC", &vpc, &vpc, "OK"))
        .await
        .unwrap();
    sent_one(&aws, &vpc, Compliance::NonCompliant);
    let (mut aws, _) = account(1);
    aws.networks.get_mut(REGION).unwrap().vpcs[0].dns_hostnames = Some(false);
    let ev = with(
        network_change("AWS::EC2::VPC", &vpc, &vpc, "OK"),
        "ruleParameters",
        json!(r#"{"DisabledRules":"NET-DNS"}"#),
    );
    network_rule(&aws, &ev).await.unwrap();
    sent_one(&aws, &vpc, Compliance::Compliant);
}

#[tokio::test]
async fn throttled_ec2_fails_the_network_invocation_as_transient() {
    let (aws, _) = account(1);
    let vpc = aws.networks[REGION].vpcs[0].id.clone();
    aws.fail("ec2:DescribeRouteTables", ErrorKind::Throttled, 1);
    let err = network_rule(&aws, &network_change("AWS::EC2::VPC", &vpc, &vpc, "OK"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.Throttled");
    assert!(aws.sent().is_empty());
    aws.fail("ec2:DescribeVpcs", ErrorKind::Unreachable, 1);
    let err = network_rule(&aws, &periodic()).await.unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.Unreachable");
}

#[test]
fn block_public_access_all_on_is_the_constant() {
    assert!(ALL_ON.missing().is_empty());
    assert_eq!(PublicAccessBlock::default().missing().len(), 4);
}

// ----- The organization layer ----------------------------------------------------------------

/// A bucket whose own policy only denies plain HTTP, in an account whose RCP denies every
/// other origin: the organization-policy source makes it compliant.
fn rcp_account(management: &str) -> (MemoryAws, String) {
    let (mut aws, vpce) = account(1);
    let tls_only =
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "TlsOnly", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
        .to_string();
    aws.add_bucket("b", MemoryBucket::private(REGION, &tls_only));
    let rcp = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Perimeter", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": vpce},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}}}]});
    aws.org_layer = Some(vpce_guard::ports::OrgLayer {
        org_id: "o-a1b2c3d4e5".into(),
        management_account: management.into(),
        path: "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/".into(),
        rcps: vec![vpce_guard::policy::Rcp::from_text(&rcp.to_string(), "p-0123abcd").unwrap()],
    });
    (aws, tls_only)
}

#[tokio::test]
async fn the_organizations_rcps_join_the_judgement_and_are_read_once_per_warm_container() {
    let (aws, tls_only) = rcp_account("999988887777");
    let warm = Warm::default();
    let ev = typed(&bucket_change("b", Some(&tls_only), true));
    let first = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(
        first.compliance["b"],
        Compliance::Compliant,
        "{:?}",
        aws.sent()
    );
    assert_eq!(first.api_calls["organizations:ListPoliciesForTarget"], 1);
    let second = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(second.compliance["b"], Compliance::Compliant);
    assert_eq!(
        second.api_calls.get("organizations:ListPoliciesForTarget"),
        None,
        "kept for the warm container"
    );
}

#[tokio::test]
async fn rcps_do_not_apply_in_the_management_account() {
    let (aws, tls_only) = rcp_account(ACCOUNT);
    let out = bucket_rule(&aws, &bucket_change("b", Some(&tls_only), true))
        .await
        .unwrap();
    assert_eq!(out.compliance["b"], Compliance::NonCompliant);
}

#[tokio::test]
async fn an_unreadable_organization_source_judges_the_bucket_policy_alone_and_says_so() {
    let (aws, _) = rcp_account("999988887777");
    let (_, vpce) = account(1);
    aws.fail(
        "organizations:ListPoliciesForTarget",
        ErrorKind::AccessDenied,
        1,
    );
    // The bucket's own deny is complete: the deny rules pass on it alone, and the rules that
    // must show a request is not denied cannot be confirmed.
    let out = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap();
    let e = sent_one(&aws, "b", Compliance::Compliant);
    assert!(
        e.annotation
            .as_deref()
            .is_some_and(|a| a.contains("S3-VPCE-REACHABLE: not confirmed")),
        "{e:#?}"
    );
    assert_eq!(out.compliance["b"], Compliance::Compliant);
}

#[tokio::test]
async fn without_a_source_the_accounts_own_organization_is_asked_once_per_container() {
    let (mut aws, _) = account(1);
    // A deny that admits the organization's endpoints only (aws:VpceOrgID).
    let org_keyed = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "OrgEndpointsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
         "Condition": {"StringNotEqualsIfExists": {"aws:VpceOrgID": "o-a1b2c3d4e5"}}}]})
    .to_string();
    aws.add_bucket("b", MemoryBucket::private(REGION, &org_keyed));
    let warm = Warm::default();
    // Only S3-VPCE-REACHABLE speaks in the annotation.
    let ev = typed(&with(
        bucket_change("b", Some(&org_keyed), true),
        "ruleParameters",
        json!(
            json!({"DisabledRules": "S3-VPCE-DENY,S3-VPCE-KNOWN,S3-TLS,S3-SIGV4,S3-GUARD-ACCESS"})
                .to_string()
        ),
    ));
    let reachable = |aws: &MemoryAws| {
        let sent = aws.sent();
        let e = sent.last().unwrap().evaluations[0].clone();
        e.annotation.unwrap_or_default()
    };
    // Unknown organization: the approved endpoint's requests are not confirmed.
    handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert!(
        reachable(&aws).contains("S3-VPCE-REACHABLE: not confirmed"),
        "{}",
        reachable(&aws)
    );
    // The account is in o-a1b2c3d4e5: known, the request is allowed, and asked once.
    aws.organization = Some(("o-a1b2c3d4e5".into(), "999988887777".into()));
    let warm = Warm::default();
    let first = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(first.api_calls["organizations:DescribeOrganization"], 1);
    assert!(
        !reachable(&aws).contains("S3-VPCE-REACHABLE"),
        "{}",
        reachable(&aws)
    );
    let second = handle_bucket_rule(&aws, &warm, &ev, NOW).await.unwrap();
    assert_eq!(
        second.api_calls.get("organizations:DescribeOrganization"),
        None
    );
}

/// The mute list, read at each invocation (one `ssm:GetParameter`): a muted bucket is
/// `NOT_APPLICABLE` with the reason, by name or pattern; an expired mute stops muting and says
/// so; a list that cannot be used mutes nothing; no list configured costs no call.
#[tokio::test]
async fn muted_buckets_are_not_applicable_with_the_reason_until_the_mute_expires() {
    let (mut aws, _) = account(1);
    for name in ["acme-public-www", "acme-public-img", "old-logs", "open"] {
        let mut b = MemoryBucket::private(REGION, "");
        b.policy = Fact::NotConfigured;
        aws.add_bucket(name, b);
        aws.record_bucket(name, true);
    }
    aws.mute_list = Some(
        json!({"muted": [
            {"resource": "acme-public-*", "reason": "public website", "until": "2099-06-30"},
            {"resource": "old-logs", "reason": "log delivery", "until": "2020-01-31"}
        ]})
        .to_string(),
    );
    let out = bucket_rule(&aws, &periodic()).await.unwrap();
    assert_eq!(
        out.api_calls.get("ssm:GetParameter"),
        Some(&1),
        "read once per invocation"
    );
    let all: Vec<_> = aws.sent().into_iter().flat_map(|s| s.evaluations).collect();
    let of = |id: &str| all.iter().find(|e| e.resource_id == id).unwrap().clone();
    for muted in ["acme-public-www", "acme-public-img"] {
        let e = of(muted);
        assert_eq!(e.compliance, Compliance::NotApplicable, "{e:?}");
        assert_eq!(
            e.annotation.as_deref(),
            Some("muted: public website (until 2099-06-30)")
        );
    }
    let expired = of("old-logs");
    assert_eq!(expired.compliance, Compliance::NonCompliant);
    assert!(expired
        .annotation
        .as_deref()
        .unwrap()
        .starts_with("mute expired on 2020-01-31: log delivery; S3-VPCE-DENY"));
    assert_eq!(of("open").compliance, Compliance::NonCompliant);

    // A change notification for a muted bucket: the same.
    let (mut aws2, _) = account(1);
    aws2.mute_list = aws.mute_list.clone();
    let mut b = MemoryBucket::private(REGION, "");
    b.policy = Fact::NotConfigured;
    aws2.add_bucket("acme-public-www", b.clone());
    bucket_rule(&aws2, &bucket_change("acme-public-www", None, true))
        .await
        .unwrap();
    let e = sent_one(&aws2, "acme-public-www", Compliance::NotApplicable);
    assert!(e.annotation.unwrap().starts_with("muted: public website"));

    // A list with a mistake mutes nothing (fail closed), and the invocation still reports.
    let (mut aws3, _) = account(1);
    aws3.add_bucket("acme-public-www", b);
    aws3.mute_list = Some(r#"{"muted": [{"resource": "acme-public-*", "reson": "typo"}]}"#.into());
    bucket_rule(&aws3, &bucket_change("acme-public-www", None, true))
        .await
        .unwrap();
    sent_one(&aws3, "acme-public-www", Compliance::NonCompliant);

    // No list configured: no SSM call.
    let (aws4, _) = account(1);
    let out = bucket_rule(
        &aws4,
        &bucket_change("b", Some(&policy("b", "vpce-x")), true),
    )
    .await
    .unwrap();
    assert!(!out.api_calls.contains_key("ssm:GetParameter"));
}

// ----- Security Hub ----------------------------------------------------------------------------

/// With `SecurityHubFindings` on, the bucket rule imports one ASFF finding per bucket and
/// failing or warning rule (one `BatchImportFindings` per 100), resolves those whose rule passes
/// again (`PASSED`, `ARCHIVED`), suppresses a muted bucket's and un-suppresses them when the
/// mute ends; findings Security Hub fails are retried, and then fail the invocation.
#[tokio::test]
async fn security_hub_findings_are_imported_resolved_and_suppressed() {
    let (mut aws, vpce) = account(1);
    aws.security_hub = true;
    for i in 0..60 {
        let name = format!("hub-{i:02}");
        let mut b = MemoryBucket::private(REGION, &policy(&name, &vpce));
        if i % 2 == 1 {
            b.policy = Fact::NotConfigured;
        }
        aws.add_bucket(&name, b);
        aws.record_bucket(&name, true);
    }
    let out = bucket_rule(&aws, &periodic()).await.unwrap();
    let sent: Vec<_> = aws.sent().into_iter().flat_map(|s| s.evaluations).collect();
    let expected: usize = sent
        .iter()
        .flat_map(|e| &e.findings)
        .filter(|f| {
            matches!(
                f.status,
                vpce_guard::rules::Status::Fail | vpce_guard::rules::Status::Warn
            )
        })
        .count();
    assert!(expected > 100, "{expected} findings: more than one batch");
    let hub = aws.hub_findings();
    assert_eq!(hub.len(), expected);
    assert_eq!(
        out.api_calls.get("securityhub:BatchImportFindings"),
        Some(&(expected.div_ceil(100) as u64)),
        "one call per 100 findings"
    );
    assert_eq!(out.api_calls.get("securityhub:GetFindings"), Some(&1));
    // The exact ASFF of one finding.
    let id = "vpce-guard/123456789012/us-east-1/s3-bucket/hub-01/S3-VPCE-DENY";
    let held = &hub[id];
    assert_eq!(held.workflow, "NEW");
    let asff = serde_json::to_value(&held.finding).unwrap();
    let reason = sent
        .iter()
        .find(|e| e.resource_id == "hub-01")
        .unwrap()
        .findings[0]
        .reason
        .clone();
    assert_eq!(
        asff,
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": id,
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "GeneratorId": "vpce-guard/S3-VPCE-DENY",
            "AwsAccountId": ACCOUNT,
            "Region": REGION,
            "Types": ["Software and Configuration Checks/AWS Security Best Practices/S3 network perimeter"],
            "CreatedAt": "2026-11-28T00:00:00Z",
            "UpdatedAt": "2026-11-28T00:00:00Z",
            "Severity": {"Label": "HIGH"},
            "FindingProviderFields": {"Severity": {"Label": "HIGH"}, "Types": ["Software and Configuration Checks/AWS Security Best Practices/S3 network perimeter"]},
            "Title": "S3-VPCE-DENY: every request from outside the approved network origins is explicitly denied",
            "Description": reason,
            "Remediation": {"Recommendation": {"Text": "Add a Deny statement for every request whose aws:SourceVpce is not one of the account's S3 endpoints (vpce-guard remediate writes it, merged into the policy). See docs/RULES.md#s3-vpce-deny in vpce-guard."}},
            "ProductFields": {"vpce-guard/ResourceCompliance": "NON_COMPLIANT", "vpce-guard/RuleId": "S3-VPCE-DENY"},
            "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::hub-01", "Partition": "aws", "Region": REGION}],
            "Compliance": {"Status": "FAILED"},
            "RecordState": "ACTIVE"
        })
    );

    // hub-01 gets its policy: its findings are resolved, for one GetFindings and one import.
    aws.buckets.get_mut("hub-01").unwrap().policy = Fact::Known(policy("hub-01", &vpce));
    let before = aws.call_counts();
    let change = bucket_change("hub-01", Some(&policy("hub-01", &vpce)), true);
    // An hour later: the resolution is an update, its first creation time kept.
    handle_bucket_rule(&aws, &Warm::default(), &typed(&change), NOW + 3600.0)
        .await
        .unwrap();
    let delta = |name: &str| {
        aws.call_counts().get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0)
    };
    assert_eq!(delta("securityhub:GetFindings"), 1);
    assert_eq!(delta("securityhub:BatchImportFindings"), 1);
    let asff_of =
        |h: &vpce_guard::testing::memory::HeldFinding| serde_json::to_value(&h.finding).unwrap();
    let hub = aws.hub_findings();
    let of_bucket: Vec<Value> = hub
        .values()
        .map(asff_of)
        .filter(|a| a["Resources"][0]["Id"] == "arn:aws:s3:::hub-01")
        .collect();
    // What still warns stays open (the test policy does not exempt the guard); what passes
    // now is archived.
    let still = |a: &&Value| a["RecordState"] == "ACTIVE";
    assert!(of_bucket
        .iter()
        .filter(still)
        .all(|a| a["Compliance"]["Status"] == "WARNING"));
    let archived: Vec<&Value> = of_bucket.iter().filter(|a| !still(a)).collect();
    assert!(archived.len() >= 2, "{of_bucket:#?}");
    for a in &archived {
        assert_eq!(a["Compliance"]["Status"], "PASSED", "{}", a["Id"]);
    }
    assert_eq!(asff_of(&hub[id])["Severity"]["Label"], "INFORMATIONAL");
    assert_eq!(asff_of(&hub[id])["CreatedAt"], "2026-11-28T00:00:00Z");
    assert_eq!(asff_of(&hub[id])["UpdatedAt"], "2026-11-28T01:00:00Z");

    // hub-03 muted: its findings SUPPRESSED with the reason; the mute gone, back to NEW.
    aws.mute_list =
        Some(json!({"muted": [{"resource": "hub-03", "reason": "public website"}]}).to_string());
    bucket_rule(&aws, &bucket_change("hub-03", None, true))
        .await
        .unwrap();
    let muted_id = "vpce-guard/123456789012/us-east-1/s3-bucket/hub-03/S3-VPCE-DENY";
    let h = &aws.hub_findings()[muted_id];
    assert_eq!(h.workflow, "SUPPRESSED");
    assert_eq!(h.note.as_deref(), Some("muted: public website"));
    assert_eq!(
        asff_of(h)["Compliance"]["Status"],
        "FAILED",
        "the finding keeps its status"
    );
    let before = aws.call_counts();
    bucket_rule(&aws, &bucket_change("hub-03", None, true))
        .await
        .unwrap();
    assert_eq!(
        aws.call_counts().get("securityhub:BatchUpdateFindings"),
        before.get("securityhub:BatchUpdateFindings"),
        "already suppressed: no update"
    );
    aws.mute_list = None;
    bucket_rule(&aws, &bucket_change("hub-03", None, true))
        .await
        .unwrap();
    assert_eq!(aws.hub_findings()[muted_id].workflow, "NEW");

    // Findings Security Hub fails: retried once, then fine; failing every attempt fails the
    // invocation.
    aws.fail_hub_imports(2);
    bucket_rule(&aws, &bucket_change("hub-05", None, true))
        .await
        .unwrap();
    let mut always = MemoryAws::new(ACCOUNT, REGION);
    always.add_reference_vpcs(REGION, 1);
    always.security_hub = true;
    let mut b = MemoryBucket::private(REGION, "");
    b.policy = Fact::NotConfigured;
    always.add_bucket("x", b);
    always.fail_hub_imports(usize::MAX);
    let err = bucket_rule(&always, &bucket_change("x", None, true))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Security Hub rejected"), "{err}");
}

#[tokio::test]
async fn security_hub_off_costs_no_call() {
    let (aws, vpce) = account(1);
    let out = bucket_rule(&aws, &bucket_change("b", Some(&policy("b", &vpce)), true))
        .await
        .unwrap();
    assert!(!out.api_calls.keys().any(|k| k.starts_with("securityhub:")));
}

/// Each invocation writes its figures as CloudWatch EMF lines (no API call): findings by rule
/// and status, resources by compliance, AWS calls by operation.
#[tokio::test]
async fn an_invocation_writes_its_figures_as_emf() {
    let (aws, _) = account(1);
    let out = bucket_rule(&aws, &bucket_change("b", None, true))
        .await
        .unwrap();
    let lines: Vec<Value> = out
        .metrics
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |key: &str, value: &str| {
        lines
            .iter()
            .find(|l| l[key] == value)
            .unwrap_or_else(|| panic!("no record with {key}={value}: {lines:#?}"))
            .clone()
    };
    let deny = lines
        .iter()
        .find(|l| l["Rule"] == "S3-VPCE-DENY" && l["Status"] == "FAIL")
        .unwrap();
    assert_eq!(deny["Evaluations"], 1.0);
    assert_eq!(
        deny["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "vpce-guard"
    );
    assert_eq!(
        deny["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Function", "Rule", "Status"]])
    );
    assert_eq!(deny["Function"], "bucket-rule");
    assert_eq!(find("Compliance", "NON_COMPLIANT")["Resources"], 1.0);
    assert_eq!(find("Operation", "config:PutEvaluations")["AwsCalls"], 1.0);
    // Every finding counted once: as many Evaluations as the bucket rules.
    let total: f64 = lines.iter().filter_map(|l| l["Evaluations"].as_f64()).sum();
    assert_eq!(total, vpce_guard::rules::RuleId::BUCKET.len() as f64);
    assert!(!out.api_calls.keys().any(|k| k.starts_with("cloudwatch:")));
}
