//! The watcher on CloudTrail's real shapes and on the in-memory account: what each call
//! touches, what it costs (equal for 1 and 50 VPCs), and what it publishes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use super::change_watcher::{handle, WatcherSettings};
use super::*;
use crate::config::rule_functions::Warm;
use crate::events::{FindingDetail, FINDING_DETAIL_TYPE};
use crate::facts::Fact;
use crate::ports::ErrorKind;
use crate::rules::{Compliance, RuleId};
use crate::testing::memory::{MemoryAws, MemoryBucket};
use crate::FunctionError;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const NOW: f64 = 1_795_824_000.0;
const ACTOR: &str = "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice@example.com";

fn envelope(source: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": "6f1a3b1e-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail", "source": source,
        "account": ACCOUNT, "time": "2026-11-28T09:00:03Z", "region": REGION,
        "resources": [], "detail": detail
    })
}

fn call(source: &str, name: &str, params: Value) -> Value {
    let event_source = if source == "aws.s3" {
        "s3.amazonaws.com"
    } else {
        "ec2.amazonaws.com"
    };
    envelope(
        source,
        json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "arn": ACTOR, "principalId": "AROAEXAMPLE:alice",
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/PlatformAdmin"}}},
            "eventTime": "2026-11-28T09:00:01Z", "eventSource": event_source, "eventName": name,
            "awsRegion": REGION, "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
            "requestParameters": params, "responseElements": null,
            "eventID": "0b7e9a2c-1111-4222-8333-444455556666", "recipientAccountId": ACCOUNT
        }),
    )
}

fn event(v: Value) -> WatcherEvent {
    serde_json::from_value(v).unwrap()
}

fn deny_policy(bucket: &str, vpce: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}},
        {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    .to_string()
}

fn allow_only(bucket: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "ReadForApp", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
         "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    .to_string()
}

/// An account of `vpcs` reference VPCs, bucket `private` behind the first endpoint, bucket
/// `other` behind it too, bucket `open` without a policy.
fn account(vpcs: usize) -> (MemoryAws, Vec<(String, String)>) {
    let mut aws = MemoryAws::new(ACCOUNT, REGION);
    let ids = aws.add_reference_vpcs(REGION, vpcs);
    let vpce = ids[0].1.clone();
    aws.add_bucket(
        "private",
        MemoryBucket::private(REGION, &deny_policy("private", &vpce)),
    );
    aws.add_bucket(
        "other",
        MemoryBucket::private(REGION, &deny_policy("other", &vpce)),
    );
    let mut open = MemoryBucket::private(REGION, "");
    open.policy = Fact::NotConfigured;
    aws.add_bucket("open", open);
    aws.recorder_role = Some(
        "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
            .into(),
    );
    (aws, ids)
}

fn published(aws: &MemoryAws) -> Vec<FindingDetail> {
    aws.published()
        .into_iter()
        .map(|(_, e)| {
            assert_eq!(e.detail_type, FINDING_DETAIL_TYPE);
            serde_json::from_str(&e.detail).unwrap()
        })
        .collect()
}

fn calls(aws: &MemoryAws) -> Vec<(String, u64)> {
    aws.call_counts().into_iter().collect()
}

async fn run(aws: &MemoryAws, ev: Value) -> super::change_watcher::WatcherOutput {
    handle(
        aws,
        &Warm::default(),
        &WatcherSettings::default(),
        &event(ev),
        NOW,
    )
    .await
    .unwrap()
}

// ----- classification on CloudTrail's shapes ---------------------------------------------------

/// The names of the watched calls that affect `what` (the watcher's one table).
fn calls_that(what: Affects) -> Vec<&'static str> {
    WATCHED_CALLS
        .iter()
        .filter(|c| c.affects == what)
        .map(|c| c.name)
        .collect()
}

/// Every watched call is handled: a record naming its resource never comes back "not a call
/// the watcher handles", and every call's source is S3 or EC2.
#[test]
fn every_watched_call_is_dispatched() {
    for c in WATCHED_CALLS {
        let d = event(call(
            if c.source == "s3.amazonaws.com" {
                "aws.s3"
            } else {
                "aws.ec2"
            },
            c.name,
            json!({}),
        ))
        .detail;
        match classify(&d) {
            Classified::Ignore(why) => panic!("{} ignored: {why}", c.name),
            Classified::Handle(_) | Classified::Unusable(_) => {}
        }
    }
}

#[test]
fn bucket_calls_name_their_bucket_and_account_calls_every_bucket() {
    for name in calls_that(Affects::Bucket) {
        let d = event(call(
            "aws.s3",
            name,
            json!({"bucketName": "b01", "Host": "b01.s3.amazonaws.com"}),
        ))
        .detail;
        assert_eq!(
            classify(&d),
            Classified::Handle(Target::Bucket("b01".into())),
            "{name}"
        );
    }
    for name in calls_that(Affects::AllBuckets) {
        let d = event(call(
            "aws.s3",
            name,
            json!({"PublicAccessBlockConfiguration": {}}),
        ))
        .detail;
        assert_eq!(
            classify(&d),
            Classified::Handle(Target::AllBuckets),
            "{name}"
        );
    }
}

#[test]
fn ec2_parameters_are_read_in_their_xml_derived_shapes() {
    let cases = [
        (
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": "vpce-0a1"}}}),
            Target::Endpoints {
                ids: vec!["vpce-0a1".into()],
                vpc: None,
            },
        ),
        (
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": [{"tag": 1, "content": "vpce-0a1"}, {"tag": 2, "content": "vpce-0b2"}]}}),
            Target::Endpoints {
                ids: vec!["vpce-0a1".into(), "vpce-0b2".into()],
                vpc: None,
            },
        ),
        (
            "ModifyVpcEndpoint",
            json!({"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0a1", "ResetPolicy": false}}),
            Target::Endpoints {
                ids: vec!["vpce-0a1".into()],
                vpc: None,
            },
        ),
        (
            "CreateRoute",
            json!({"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0"}),
            Target::RouteTable("rtb-1".into()),
        ),
        (
            "ReplaceRoute",
            json!({"routeTableId": "rtb-1"}),
            Target::RouteTable("rtb-1".into()),
        ),
        (
            "DeleteRoute",
            json!({"routeTableId": "rtb-1"}),
            Target::RouteTable("rtb-1".into()),
        ),
        (
            "AssociateRouteTable",
            json!({"routeTableId": "rtb-1", "subnetId": "subnet-1"}),
            Target::RouteTable("rtb-1".into()),
        ),
        (
            "DisassociateRouteTable",
            json!({"associationId": "rtbassoc-1"}),
            Target::RouteTableAssociation("rtbassoc-1".into()),
        ),
        (
            "ReplaceRouteTableAssociation",
            json!({"associationId": "rtbassoc-1", "routeTableId": "rtb-2"}),
            Target::RouteTable("rtb-2".into()),
        ),
        (
            "ModifyVpcAttribute",
            json!({"vpcId": "vpc-1", "enableDnsSupport": {"value": false}}),
            Target::Vpc("vpc-1".into()),
        ),
        (
            "AuthorizeSecurityGroupEgress",
            json!({"groupId": "sg-1", "ipPermissions": {"items": []}}),
            Target::SecurityGroup("sg-1".into()),
        ),
        (
            "RevokeSecurityGroupEgress",
            json!({"groupId": "sg-1"}),
            Target::SecurityGroup("sg-1".into()),
        ),
        (
            "ModifySecurityGroupRules",
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {"tag": 1, "SecurityGroupRuleId": "sgr-1"}}}),
            Target::SecurityGroup("sg-1".into()),
        ),
    ];
    for (name, params, want) in cases {
        let d = event(call("aws.ec2", name, params)).detail;
        assert_eq!(classify(&d), Classified::Handle(want), "{name}");
    }
    // CreateVpcEndpoint: the VPC from the request, the new id from the response.
    let mut v = call(
        "aws.ec2",
        "CreateVpcEndpoint",
        json!({"CreateVpcEndpointRequest": {
        "VpcId": "vpc-1", "ServiceName": "com.amazonaws.us-east-1.s3", "VpcEndpointType": "Gateway",
        "RouteTableId": {"tag": 1, "content": "rtb-1"}}}),
    );
    v["detail"]["responseElements"] = json!({"CreateVpcEndpointResponse": {"vpcEndpoint": {"vpcEndpointId": "vpce-new", "vpcId": "vpc-1"}}});
    assert_eq!(
        classify(&event(v).detail),
        Classified::Handle(Target::Endpoints {
            ids: vec!["vpce-new".into()],
            vpc: Some("vpc-1".into())
        })
    );
    // Another service's endpoint does not concern S3.
    let d = event(call(
        "aws.ec2",
        "CreateVpcEndpoint",
        json!({"CreateVpcEndpointRequest": {
        "VpcId": "vpc-1", "ServiceName": "com.amazonaws.us-east-1.dynamodb"}}),
    ))
    .detail;
    assert!(matches!(classify(&d), Classified::Ignore(_)));
}

#[test]
fn failed_unknown_and_incomplete_records_are_ignored_not_errors() {
    let mut failed = call("aws.s3", "PutBucketPolicy", json!({"bucketName": "b01"}));
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert!(
        matches!(classify(&event(failed).detail), Classified::Ignore(w) if w.contains("AccessDenied"))
    );
    let other = call("aws.ec2", "RunInstances", json!({}));
    assert!(matches!(
        classify(&event(other).detail),
        Classified::Ignore(_)
    ));
    let mut bare = call("aws.s3", "DeleteBucketPolicy", json!({}));
    bare["detail"]
        .as_object_mut()
        .unwrap()
        .remove("requestParameters");
    assert!(
        matches!(classify(&event(bare).detail), Classified::Unusable(w) if w.contains("bucket"))
    );
}

#[test]
fn the_detail_is_read_leniently_and_the_actor_found_where_the_record_has_it() {
    // No userIdentity.arn, no responseElements, a number where a string belongs.
    let v = envelope(
        "aws.s3",
        json!({
            "eventName": "PutBucketPolicy", "eventSource": "s3.amazonaws.com", "awsRegion": 7,
            "userIdentity": {"type": "AWSAccount", "accountId": "111122223333", "principalId": "AIDAEXAMPLE"},
            "requestParameters": {"bucketName": "b01"}
        }),
    );
    let d = event(v).detail;
    assert_eq!(d.aws_region, None);
    assert_eq!(d.actor().as_deref(), Some("account 111122223333"));
    assert_eq!(
        classify(&d),
        Classified::Handle(Target::Bucket("b01".into()))
    );
    // A service acting for a user.
    let v = envelope(
        "aws.s3",
        json!({"eventName": "PutBucketPolicy", "eventSource": "s3.amazonaws.com",
        "userIdentity": {"type": "AssumedRole", "invokedBy": "cloudformation.amazonaws.com",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/Deployer"}}},
        "requestParameters": {"bucketName": "b01"}}),
    );
    assert_eq!(
        event(v).detail.actor().as_deref(),
        Some("arn:aws:iam::123456789012:role/Deployer")
    );
    // A detail that is not an object at all still parses, and is ignored.
    let d = event(envelope("aws.s3", json!("garbage"))).detail;
    assert!(matches!(classify(&d), Classified::Ignore(_)));
}

// ----- the handler on the in-memory account ----------------------------------------------------

#[tokio::test]
async fn a_policy_change_that_removes_the_deny_is_a_non_compliant_finding_naming_the_actor() {
    let (mut aws, ids) = account(1);
    aws.buckets.get_mut("private").unwrap().policy = Fact::Known(allow_only("private"));
    let out = run(
        &aws,
        call(
            "aws.s3",
            "PutBucketPolicy",
            json!({"bucketName": "private"}),
        ),
    )
    .await;
    assert_eq!(
        out.findings,
        vec![(
            "AWS::S3::Bucket".into(),
            "private".into(),
            Compliance::NonCompliant
        )]
    );
    let f = &published(&aws)[0];
    assert_eq!(f.trigger.actor_arn.as_deref(), Some(ACTOR));
    assert_eq!(f.trigger.event_name, "PutBucketPolicy");
    assert_eq!(f.trigger.source_ip.as_deref(), Some("198.51.100.7"));
    assert!(f.failing_rules().contains(&RuleId::S3VpceDeny));
    // The fix is the remediator's statement with the region's endpoint filled in.
    let fix = f.fix.as_ref().unwrap();
    assert_eq!(fix[0]["Sid"], "VpceGuardDenyOutsideVpce");
    assert_eq!(
        fix[0]["Condition"]["StringNotEquals"]["aws:SourceVpce"],
        json!([ids[0].1])
    );
}

#[tokio::test]
async fn a_bucket_change_costs_the_same_with_1_and_50_vpcs() {
    let mut counts = Vec::new();
    for vpcs in [1, 50] {
        let (aws, _) = account(vpcs);
        run(
            &aws,
            call(
                "aws.s3",
                "PutBucketPolicy",
                json!({"bucketName": "private"}),
            ),
        )
        .await;
        assert_eq!(published(&aws)[0].compliance, Compliance::Compliant);
        counts.push(calls(&aws));
    }
    assert_eq!(counts[0], counts[1]);
    let expected: Vec<(String, u64)> = [
        ("config:DescribeConfigurationRecorders", 1),
        ("ec2:DescribeVpcEndpoints", 1),
        ("events:PutEvents", 1),
        ("s3:GetBucketOwnershipControls", 1),
        ("s3:GetBucketPolicy", 1),
        ("s3:GetPublicAccessBlock", 1),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    assert_eq!(counts[0], expected);
}

#[tokio::test]
async fn a_route_change_reevaluates_that_vpc_only_at_a_cost_independent_of_the_account() {
    let mut counts = Vec::new();
    for vpcs in [1, 50] {
        let (aws, ids) = account(vpcs);
        let out = run(
            &aws,
            call(
                "aws.ec2",
                "DeleteRoute",
                json!({"routeTableId": format!("rtb-{:017x}", 0)}),
            ),
        )
        .await;
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].1, ids[0].0);
        assert_eq!(out.findings[0].0, "AWS::EC2::VPC");
        counts.push(calls(&aws));
    }
    assert_eq!(counts[0], counts[1]);
    assert_eq!(
        counts[0].iter().map(|(_, n)| n).sum::<u64>(),
        1 + 8 + 1,
        "route table lookup + one VPC's reads + PutEvents: {:?}",
        counts[0]
    );
}

#[tokio::test]
async fn deleting_an_endpoint_reports_its_vpc_and_every_bucket_that_depended_on_it() {
    let (mut aws, ids) = account(2);
    let (vpc, vpce) = ids[0].clone();
    let net = aws.networks.get_mut(REGION).unwrap();
    net.endpoints
        .iter_mut()
        .find(|e| e.id == vpce)
        .unwrap()
        .state = "deleted".into();
    let out = run(
        &aws,
        call(
            "aws.ec2",
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": vpce}}}),
        ),
    )
    .await;
    let mut got: Vec<(String, String, Compliance)> = out.findings.clone();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        got,
        vec![
            (
                "AWS::EC2::VPC".into(),
                vpc.clone(),
                Compliance::NonCompliant
            ),
            (
                "AWS::S3::Bucket".into(),
                "other".into(),
                Compliance::NonCompliant
            ),
            (
                "AWS::S3::Bucket".into(),
                "private".into(),
                Compliance::NonCompliant
            ),
        ],
        "the bucket without a policy does not depend on the endpoint"
    );
    for f in published(&aws)
        .iter()
        .filter(|f| f.resource_type == "AWS::S3::Bucket")
    {
        assert!(
            f.failing_rules().contains(&RuleId::S3VpceReachable),
            "{f:?}"
        );
        assert_eq!(f.trigger.event_name, "DeleteVpcEndpoints");
        assert_eq!(f.trigger.actor_arn.as_deref(), Some(ACTOR));
    }
}

#[tokio::test]
async fn account_block_public_access_reevaluates_every_bucket_of_the_region() {
    let (mut aws, _) = account(1);
    let mut elsewhere = MemoryBucket::private("eu-west-1", "");
    elsewhere.policy = Fact::NotConfigured;
    aws.add_bucket("elsewhere", elsewhere);
    let out = run(
        &aws,
        call("aws.s3", "DeleteAccountPublicAccessBlock", json!({})),
    )
    .await;
    let names: Vec<&str> = out.findings.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(names, vec!["open", "other", "private"]);
}

#[tokio::test]
async fn failed_and_foreign_events_publish_nothing() {
    let (aws, _) = account(1);
    let mut failed = call(
        "aws.s3",
        "PutBucketPolicy",
        json!({"bucketName": "private"}),
    );
    failed["detail"]["errorCode"] = json!("AccessDenied");
    let out = run(&aws, failed).await;
    assert!(out.ignored.is_some());
    let mut foreign = call(
        "aws.s3",
        "PutBucketPolicy",
        json!({"bucketName": "private"}),
    );
    foreign["detail-type"] = json!("Object Created");
    assert!(run(&aws, foreign).await.ignored.is_some());
    assert!(aws.published().is_empty());
    assert!(
        aws.call_counts().is_empty(),
        "no AWS call for an ignored event"
    );
}

#[tokio::test]
async fn throttling_that_outlasts_retries_fails_the_invocation_as_transient() {
    let (aws, _) = account(1);
    aws.fail("events:PutEvents", ErrorKind::Throttled, 10);
    let err = handle(
        &aws,
        &Warm::default(),
        &WatcherSettings::default(),
        &event(call(
            "aws.s3",
            "PutBucketPolicy",
            json!({"bucketName": "private"}),
        )),
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "VpceGuard.Transient.Throttled");
    // An unreadable policy is a FAIL, never a PASS.
    let (aws, _) = account(1);
    aws.fail("s3:GetBucketPolicy", ErrorKind::AccessDenied, 1);
    run(
        &aws,
        call(
            "aws.s3",
            "PutBucketPolicy",
            json!({"bucketName": "private"}),
        ),
    )
    .await;
    assert_eq!(published(&aws)[0].compliance, Compliance::NonCompliant);
}

#[test]
fn every_sample_event_in_events_is_read_as_expected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("watcher-") {
            continue;
        }
        seen += 1;
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ev = event(v);
        let got = classify(&ev.detail);
        match name.as_str() {
            "watcher-put-bucket-policy-failed.json" | "watcher-unrelated.json" => {
                assert!(matches!(got, Classified::Ignore(_)), "{name}: {got:?}")
            }
            "watcher-unknown-shape.json" => {
                assert!(matches!(got, Classified::Unusable(_)), "{name}: {got:?}")
            }
            "watcher-delete-vpc-endpoints-two.json" => assert!(
                matches!(&got, Classified::Handle(Target::Endpoints { ids, .. }) if ids.len() == 2),
                "{name}: {got:?}"
            ),
            _ => assert!(matches!(got, Classified::Handle(_)), "{name}: {got:?}"),
        }
    }
    assert!(seen >= 20, "only {seen} sample events");
}

#[tokio::test]
async fn a_burst_of_a_thousand_calls_costs_the_same_per_call() {
    // 1,000 PutBucketPolicy records over 100 buckets, through one warm watcher: every one is
    // published, and the calls grow with the records, never with the account.
    let (mut aws, ids) = account(20);
    for i in 0..100 {
        let name = format!("burst-{i:03}");
        aws.add_bucket(
            &name,
            MemoryBucket::private(REGION, &deny_policy(&name, &ids[0].1)),
        );
    }
    let warm = Warm::default();
    let cfg = WatcherSettings::default();
    for i in 0..1_000 {
        let ev = event(call(
            "aws.s3",
            "PutBucketPolicy",
            json!({"bucketName": format!("burst-{:03}", i % 100)}),
        ));
        let out = handle(&aws, &warm, &cfg, &ev, NOW).await.unwrap();
        assert_eq!(out.findings.len(), 1);
    }
    assert_eq!(published(&aws).len(), 1_000);
    let counts = aws.call_counts();
    assert_eq!(counts["events:PutEvents"], 1_000);
    assert_eq!(counts["ec2:DescribeVpcEndpoints"], 1_000);
    assert_eq!(counts["s3:GetBucketPolicy"], 1_000);
    assert_eq!(
        counts["config:DescribeConfigurationRecorders"], 1,
        "read once while warm"
    );
}

#[test]
fn a_bucket_name_s3_could_not_have_given_is_not_read() {
    for bad in ["ab", "a/b/c", "bucket name", "b\u{0}x"] {
        let d = event(call(
            "aws.s3",
            "PutBucketPolicy",
            json!({ "bucketName": bad }),
        ));
        assert!(
            matches!(classify(&d.detail), Classified::Unusable(_)),
            "{bad:?}"
        );
    }
    let long = "b".repeat(256);
    let d = event(call(
        "aws.s3",
        "PutBucketPolicy",
        json!({ "bucketName": long }),
    ));
    assert!(matches!(classify(&d.detail), Classified::Unusable(_)));
    // A legacy us-east-1 name: upper case and underscores.
    let d = event(call(
        "aws.s3",
        "PutBucketPolicy",
        json!({"bucketName": "Legacy_Bucket.1"}),
    ));
    assert_eq!(
        classify(&d.detail),
        Classified::Handle(Target::Bucket("Legacy_Bucket.1".into()))
    );
}

/// `events/finding-event.json` is what the watcher emits for a policy put on a bucket without
/// the deny (the EventBridge envelope around it: id and time are EventBridge's). Regenerate it
/// with `UPDATE_EVENT_SAMPLES=1 cargo test -p vpce-guard-shared finding_event_sample`.
#[tokio::test]
async fn the_finding_event_sample_is_what_the_watcher_emits() {
    let (aws, _) = account(1);
    run(
        &aws,
        call("aws.s3", "PutBucketPolicy", json!({"bucketName": "open"})),
    )
    .await;
    let (_, out) = aws.published().into_iter().next().unwrap();
    let detail: Value = serde_json::from_str(&out.detail).unwrap();
    // Identity: versioned, stable per resource, with the worst finding's severity.
    assert_eq!(
        detail["schema_version"],
        crate::events::FINDING_SCHEMA_VERSION
    );
    assert_eq!(
        detail["finding_id"],
        "vpce-guard/123456789012/us-east-1/s3-bucket/open"
    );
    assert_eq!(detail["severity"], "HIGH");
    let emitted = json!({
        "version": "0", "id": "3c9e1f7a-5b2d-4e8f-9a1c-7d6b5e4f3a21",
        "detail-type": out.detail_type, "source": crate::events::SOURCE,
        "account": ACCOUNT, "time": "2026-11-28T09:00:04Z", "region": REGION,
        "resources": out.resources, "detail": detail,
    });
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/finding-event.json");
    if std::env::var_os("UPDATE_EVENT_SAMPLES").is_some() {
        let text = serde_json::to_string_pretty(&emitted).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        sample, emitted,
        "events/finding-event.json differs from what the watcher emits (UPDATE_EVENT_SAMPLES=1 regenerates it)"
    );
}

/// A muted bucket's finding is published NOT_APPLICABLE with the mute, and without a fix (the
/// remediator acts on non-compliant buckets only, the notifier alerts on them only); one
/// `ssm:GetParameter` per event.
#[tokio::test]
async fn a_muted_bucket_is_published_not_applicable_without_a_fix() {
    let (mut aws, _) = account(1);
    aws.mute_list =
        Some(json!({"muted": [{"resource": "open", "reason": "public website"}]}).to_string());
    run(
        &aws,
        call("aws.s3", "PutBucketPolicy", json!({"bucketName": "open"})),
    )
    .await;
    let f = published(&aws);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].compliance, Compliance::NotApplicable);
    assert_eq!(f[0].muted.as_deref(), Some("muted: public website"));
    assert_eq!(f[0].annotation, "muted: public website");
    assert_eq!(f[0].fix, None);
    assert!(!f[0].is_noncompliant_bucket());
    assert!(
        f[0].failing_rules().contains(&RuleId::S3VpceDeny),
        "the findings are kept as judged"
    );
    assert_eq!(aws.call_counts().get("ssm:GetParameter"), Some(&1));
}
