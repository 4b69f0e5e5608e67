//! The route-usage function's handler on in-memory ports: SQS batches of EventBridge events
//! from CloudTrail, one `vpce-guard Route Usage` event per aggregate, the calls counted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{handle, RouteUsageContext, RouteUsageSettings};
use crate::events::{RouteUsageDetail, ROUTE_USAGE_DETAIL_TYPE};
use crate::ports::ErrorKind;
use crate::testing::memory::MemoryAws;
use crate::usage::{Analysis, UsageOptions};

/// tests/cloudtrail/route-usage.json: one record of each case (see make_fixture.py).
const LOG: &str = include_str!("../../../../tests/cloudtrail/route-usage.json");
const GUARDED: &str = "amzn-s3-demo-private";

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const ACCOUNT: &str = "111122223333";

fn envelope(r: &Value) -> String {
    let detail_type = if r["eventCategory"] == "NetworkActivity" {
        "AWS Network Activity Event via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({"version": "0", "id": "6f2a1c1e-0000-4000-8000-000000000001",
           "detail-type": detail_type, "source": "aws.s3", "account": ACCOUNT,
           "time": r["eventTime"], "region": "us-east-1", "resources": [], "detail": r})
    .to_string()
}

use crate::testing::sqs_batch as batch;

fn fixture_bodies() -> Vec<String> {
    let all: Value = serde_json::from_str(LOG).unwrap();
    all["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(envelope)
        .collect()
}

fn settings(env: &[(&str, &str)]) -> RouteUsageSettings {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RouteUsageSettings::from_env(|k| env.get(k).cloned()).unwrap()
}

fn fixture_settings() -> RouteUsageSettings {
    settings(&[
        ("APPROVED_VPCE_IDS", "vpce-0a1b2c3d4e5f60001"),
        (
            "EXEMPT_PRINCIPAL_ARNS",
            "arn:aws:iam::111122223333:role/break-glass",
        ),
        ("ROUTE_USAGE_BUCKETS", GUARDED),
    ])
}

fn published_details(aws: &MemoryAws) -> Vec<RouteUsageDetail> {
    aws.published()
        .into_iter()
        .map(|(bus, e)| {
            assert_eq!(bus, None, "the default bus");
            assert_eq!(e.detail_type, ROUTE_USAGE_DETAIL_TYPE);
            serde_json::from_str(&e.detail).unwrap()
        })
        .collect()
}

fn failures(resp: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    resp.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_batch_publishes_one_event_per_aggregate_and_costs_one_call_per_ten() {
    let aws = MemoryAws::new(ACCOUNT, "us-east-1");
    let ctx = RouteUsageContext::new(fixture_settings(), BTreeSet::new(), None);
    let (resp, summary) = handle(&aws, &ctx, &batch(&fixture_bodies())).await;
    assert!(failures(&resp).is_empty());
    assert_eq!(summary.records, 17);
    // The offline report of the same records, as events: 4 findings, 2 denials.
    let mut offline = Analysis::new(UsageOptions {
        buckets: set(&[GUARDED]),
        approved_vpces: set(&["vpce-0a1b2c3d4e5f60001"]),
        approved_owners: BTreeSet::new(),
        exempt_principals: vec!["arn:aws:iam::111122223333:role/break-glass".into()],
    });
    offline.feed(LOG.as_bytes()).unwrap();
    let report = offline.report();
    let details = published_details(&aws);
    let mut expected: Vec<RouteUsageDetail> = report.buckets[0]
        .findings
        .iter()
        .map(|f| RouteUsageDetail::UnapprovedRoute {
            account: ACCOUNT.into(),
            region: "us-east-1".into(),
            bucket: GUARDED.into(),
            finding: f.clone(),
        })
        .collect();
    expected.extend(report.endpoint_denials.iter().map(|d| {
        RouteUsageDetail::EndpointPolicyDenied {
            account: ACCOUNT.into(),
            region: "us-east-1".into(),
            denial: d.clone(),
        }
    }));
    assert_eq!(details, expected);
    assert_eq!(details.len(), 6);
    // Its figures as EMF: records read, aggregates published, the PutEvents call.
    let emf: Vec<Value> = summary
        .emf(1_795_824_000.0)
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |metric: &str| {
        emf.iter()
            .find_map(|l| l[metric].as_f64())
            .unwrap_or_else(|| panic!("no {metric}: {emf:#?}"))
    };
    assert_eq!(of("RouteUsageAggregates"), 6.0);
    assert_eq!(of("CloudTrailRecords"), summary.cloudtrail_records as f64);
    assert_eq!(of("AwsCalls"), 1.0);
    // Cost follows the event: the batch's one PutEvents, nothing else.
    assert_eq!(
        aws.call_counts(),
        BTreeMap::from([("events:PutEvents".to_string(), 1)])
    );
    let resources: Vec<Vec<String>> = aws
        .published()
        .into_iter()
        .map(|(_, e)| e.resources)
        .collect();
    assert_eq!(
        resources[0],
        vec!["arn:aws:s3:::amzn-s3-demo-private".to_string()]
    );
    assert_eq!(
        resources[4],
        vec![
            "arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f60001".to_string(),
            "arn:aws:s3:::amzn-s3-demo-private".to_string()
        ]
    );
}

#[tokio::test]
async fn with_no_endpoint_listed_the_accounts_own_endpoints_are_approved() {
    let aws = MemoryAws::new(ACCOUNT, "us-east-1");
    let ctx = RouteUsageContext::new(settings(&[]), BTreeSet::new(), None);
    handle(&aws, &ctx, &batch(&fixture_bodies())).await;
    let details = published_details(&aws);
    // The fixture's other endpoint belongs to 444455556666: still a finding; the break-glass
    // role (not exempt here) on the public route is one more; the other bucket's request too.
    let routes: Vec<(&str, &str)> = details
        .iter()
        .filter_map(|d| match d {
            RouteUsageDetail::UnapprovedRoute {
                bucket, finding, ..
            } => Some((bucket.as_str(), finding.source_ip.as_str())),
            RouteUsageDetail::EndpointPolicyDenied { .. } => None,
        })
        .collect();
    assert!(routes.contains(&(GUARDED, "172.31.7.9")), "{routes:?}");
    assert!(
        routes.contains(&("amzn-s3-demo-logs", "203.0.113.10")),
        "{routes:?}"
    );
    assert_eq!(routes.len(), 6, "{routes:?}");
}

#[tokio::test]
async fn a_message_that_is_not_cloudtrail_fails_alone() {
    let aws = MemoryAws::new(ACCOUNT, "us-east-1");
    let ctx = RouteUsageContext::new(fixture_settings(), BTreeSet::new(), None);
    let mut bodies = fixture_bodies();
    bodies.insert(3, "not json".into());
    bodies.insert(
        5,
        json!({"account": ACCOUNT, "region": "us-east-1", "detail": {"eventName": 3}}).to_string(),
    );
    let (resp, summary) = handle(&aws, &ctx, &batch(&bodies)).await;
    assert_eq!(failures(&resp), vec!["m3".to_string(), "m5".to_string()]);
    assert_eq!(summary.failed, 2);
    assert_eq!(published_details(&aws).len(), 6, "the rest is published");
}

#[tokio::test]
async fn a_failed_publish_fails_the_batch_for_a_retry() {
    let aws = MemoryAws::new(ACCOUNT, "us-east-1");
    aws.fail("events:PutEvents", ErrorKind::Throttled, 1);
    let ctx = RouteUsageContext::new(fixture_settings(), BTreeSet::new(), None);
    let bodies = fixture_bodies();
    let (resp, _) = handle(&aws, &ctx, &batch(&bodies)).await;
    assert_eq!(failures(&resp).len(), bodies.len());
    // Nothing to publish (only approved requests): nothing fails, no call at all.
    let aws = MemoryAws::new(ACCOUNT, "us-east-1");
    let approved: Vec<String> = bodies.into_iter().take(2).collect();
    let (resp, summary) = handle(&aws, &ctx, &batch(&approved)).await;
    assert!(failures(&resp).is_empty());
    assert_eq!(summary.aggregates, 0);
    assert!(aws.call_counts().is_empty());
}

#[tokio::test]
async fn approved_vpcs_cost_one_call_at_init_whatever_the_number_of_vpcs() {
    let mut aws = MemoryAws::new(ACCOUNT, "us-east-1");
    let vpcs = aws.add_reference_vpcs("us-east-1", 500);
    let (vpc, endpoint) = vpcs[7].clone();
    let s = settings(&[("APPROVED_VPC_IDS", &vpc)]);
    let ctx = RouteUsageContext::load(&aws, s, "us-east-1").await.unwrap();
    assert_eq!(
        aws.call_counts(),
        BTreeMap::from([("ec2:DescribeVpcEndpoints".to_string(), 1)])
    );
    // A request through that VPC's endpoint is approved; one through another is not.
    let all: Value = serde_json::from_str(LOG).unwrap();
    let mut through = all["Records"][0].clone();
    through["vpcEndpointId"] = json!(endpoint);
    through["vpcEndpointAccountId"] = json!("444455556666");
    let mut other = through.clone();
    other["vpcEndpointId"] = json!(vpcs[8].1);
    let (_, summary) = handle(&aws, &ctx, &batch(&[envelope(&through), envelope(&other)])).await;
    assert_eq!(summary.aggregates, 1);
    let calls = aws.call_counts();
    assert_eq!(
        calls.get("ec2:DescribeVpcEndpoints"),
        Some(&1),
        "none per batch"
    );
    assert_eq!(calls.get("events:PutEvents"), Some(&1));
}

#[tokio::test]
async fn organization_scope_fails_closed_when_the_accounts_cannot_be_listed() {
    let s = settings(&[("APPROVED_ENDPOINT_SCOPE", "organization")]);
    let ctx = RouteUsageContext::new(s, BTreeSet::new(), None);
    assert!(ctx.needs_org_accounts());
    let denied = ctx.clone().with_org_accounts(Err(crate::ports::AwsError {
        call: "organizations:ListAccounts",
        kind: ErrorKind::AccessDenied,
        code: Some("AccessDeniedException".into()),
        message: "not the management account".into(),
    }));
    assert_eq!(denied.options(ACCOUNT).approved_owners, set(&[ACCOUNT]));
    let listed = ctx.with_org_accounts(Ok(vec!["444455556666".into()]));
    assert_eq!(
        listed.options(ACCOUNT).approved_owners,
        set(&[ACCOUNT, "444455556666"])
    );
}

#[test]
fn settings_are_validated() {
    let bad = |k: &str, v: &str| {
        let env = BTreeMap::from([(k.to_string(), v.to_string())]);
        RouteUsageSettings::from_env(|x| env.get(x).cloned()).unwrap_err()
    };
    assert!(bad("ROUTE_USAGE_BUCKETS", "Bad_Bucket")
        .to_string()
        .contains("RouteUsageBuckets"));
    assert!(bad("APPROVED_VPCE_IDS", "vpc-123")
        .to_string()
        .contains("vpc-123"));
    assert!(bad("APPROVED_ENDPOINT_SCOPE", "everything")
        .to_string()
        .contains("everything"));
}
