//! Route usage, live, as Lambda runs it: the built `route-usage` function against a local
//! Runtime API, fed the SQS batch of `events/route-usage-sqs-batch.json` (S3 data events and a
//! network activity denial, in EventBridge's envelope), with the approved VPC's endpoint read
//! from EC2 in moto; its `vpce-guard Route Usage` events go through moto's EventBridge (a rule
//! as template.yaml's) to an SQS queue, and from there to the Slack notifier, also built.
//!
//! GIVEN requests off the approved endpoint, WHEN the batch arrives, THEN one event per
//! aggregate, one Slack message each, and none again for the same aggregates in the same hour.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{json, Value};
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::Seed;
use vpce_guard_tests::slack::SlackSink;
use vpce_guard_tests::{function_binary, function_env, sample_event};

const REGION: &str = "us-east-1";
const SAMPLE_VPCE: &str = "vpce-0a1b2c3d4e5f60001";
const TIMEOUT: Duration = Duration::from_secs(120);
const TABLE: &str = vpce_guard_tests::seed::STATE_TABLE;

/// The sample batch with the approved endpoint's id replaced by moto's.
fn batch(vpce: &str) -> Value {
    let text = sample_event("route-usage-sqs-batch.json")
        .to_string()
        .replace(SAMPLE_VPCE, vpce);
    serde_json::from_str(&text).unwrap()
}

fn failures(out: &Value) -> Vec<String> {
    out["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn requests_off_the_approved_endpoint_reach_slack_once_per_aggregate_and_hour() {
    let moto = Moto::start();
    let slack = SlackSink::start();
    let recorder = ConfigRecorder::start(moto.port);
    let (seed, vpc, vpce, queue_url, secret_arn) = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let (v, vpce) = seed.reference_vpc(REGION, "10.60.0.0/16").await;
        // Route usage events: a rule on the default bus to the notifications queue, as
        // template.yaml's NotifyRouteUsageRule.
        let queue_url = seed
            .rule_to_queue(
                "vpce-guard-notify-route-usage",
                &json!({"source": ["vpce-guard"], "detail-type": ["vpce-guard Route Usage"]}),
                "vpce-guard-notifications",
            )
            .await;
        let secret_arn = seed.notifier_resources(TABLE, &slack.url()).await;
        (seed, v.vpc_id, vpce, queue_url, secret_arn)
    });
    let base = function_env(&moto, &recorder, REGION);
    let mut env = base.clone();
    env.push(("APPROVED_VPC_IDS", vpc));
    env.push((
        "EXEMPT_PRINCIPAL_ARNS",
        "arn:aws:iam::111122223333:role/break-glass".to_string(),
    ));
    env.push(("ROUTE_USAGE_BUCKETS", "amzn-s3-demo-private".to_string()));
    env.push(("EVENT_BUS_NAME", String::new()));
    moto.start_recording();
    let mut usage = LambdaRuntime::start(&function_binary("route-usage"), &env);
    let mut env = base;
    env.push(("SLACK_WEBHOOK_SECRET_ARN", secret_arn));
    env.push(("STATE_TABLE_NAME", TABLE.to_string()));
    env.push(("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()));
    env.push(("NETWORK_RULE_NAME", "vpce-guard-network".to_string()));
    let mut notifier = LambdaRuntime::start(&function_binary("slack-notifier"), &env);

    // WHEN the batch arrives: no message fails.
    let out = usage.invoke(&batch(&vpce), TIMEOUT).unwrap();
    assert!(failures(&out).is_empty(), "{out}");
    // Cost: the approved VPC's endpoints once at init, then one PutEvents; nothing of S3.
    let calls = moto.recorded_calls();
    let aws: Vec<(&String, &u64)> = calls
        .iter()
        .filter(|(k, _)| !k.starts_with("sqs:") && !k.starts_with("dynamodb:"))
        .collect();
    assert_eq!(
        aws,
        vec![
            (&"ec2:DescribeVpcEndpoints".to_string(), &1),
            (&"events:POST /".to_string(), &1)
        ],
        "{calls:?}"
    );
    // THEN one event per aggregate: the CI user's public-route requests (one succeeded, one
    // refused), the analyst's IPv6 request, the analyst's request through another account's
    // endpoint, and the endpoint policy's refusal; the console request and the approved ones
    // are not there.
    let records = run(seed.drain_queue(&queue_url, REGION));
    let mut kinds: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["detail-type"], "vpce-guard Route Usage");
            assert_eq!(body["source"], "vpce-guard");
            let d = &body["detail"];
            let who = d["source_ip"]
                .as_str()
                .or(d["principal_account"].as_str())
                .unwrap()
                .to_string();
            (d["kind"].as_str().unwrap().to_string(), who)
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("endpoint_policy_denied".into(), "777788889999".into()),
            ("unapproved_route".into(), "172.31.7.9".into()),
            ("unapproved_route".into(), "2001:db8:4006:812::200e".into()),
            ("unapproved_route".into(), "203.0.113.10".into()),
        ]
    );
    // One Slack message each.
    let out = notifier
        .invoke(&json!({ "Records": records }), TIMEOUT)
        .unwrap();
    assert!(failures(&out).is_empty(), "{out}");
    let texts = slack.texts();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts.contains(&"2 requests to S3 bucket amzn-s3-demo-private did not come through an approved endpoint (partly succeeded: some requests got in off the approved endpoints)".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&format!(
            "VPC endpoint {vpce} refused 1 request to S3 bucket amzn-s3-demo-private from account 777788889999"
        )),
        "{texts:?}"
    );
    // The same batch again (SQS delivers at least once): the same events, no new message.
    let out = usage.invoke(&batch(&vpce), TIMEOUT).unwrap();
    assert!(failures(&out).is_empty());
    let again = run(seed.drain_queue(&queue_url, REGION));
    assert_eq!(again.len(), 4);
    notifier
        .invoke(&json!({ "Records": again }), TIMEOUT)
        .unwrap();
    assert_eq!(slack.texts().len(), 4);
    // A message that is not CloudTrail fails alone, and the rest still counts.
    let mut bad = batch(&vpce);
    bad["Records"][2]["body"] = json!("{\"account\":\"1\",\"detail\":{\"Records\":7}}");
    let out = usage.invoke(&bad, TIMEOUT).unwrap();
    assert_eq!(
        failures(&out),
        vec![bad["Records"][2]["messageId"].as_str().unwrap().to_string()]
    );
    usage.stop();
    notifier.stop();
}
