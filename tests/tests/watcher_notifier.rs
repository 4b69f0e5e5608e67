//! The change watcher and the Slack notifier run as Lambda runs them (the built binaries
//! against a local Runtime API), with the real parts around them: S3, EC2, EventBridge
//! (`PutEvents` delivered to an SQS target by a rule), SQS, DynamoDB and Secrets Manager in
//! moto; AWS Config's recorder role from the recording Config endpoint; Slack as a local
//! webhook sink. The CloudTrail events are the files in `events/`, with moto's ids put in.
//!
//! GIVEN a private bucket, WHEN someone removes its deny, THEN a NON_COMPLIANT finding names
//! them and Slack gets exactly one message, never a second for the same state, and one
//! "resolved" message after the fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{json, Value};
use vpce_guard::ports::PolicyStore;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed};
use vpce_guard_tests::slack::{Reply, SlackSink};
use vpce_guard_tests::{compliance_change_record, function_binary, function_env, sample_event};

const REGION: &str = "us-east-1";
const PRIVATE: &str = "vpce-guard-demo-private";
const ALSO_PRIVATE: &str = "vpce-guard-demo-reports";
const NO_POLICY: &str = "vpce-guard-demo-scratch";
const TIMEOUT: Duration = Duration::from_secs(120);
const ACTOR: &str = "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice@example.com";
const TABLE: &str = vpce_guard_tests::seed::STATE_TABLE;

struct World {
    moto: Moto,
    _recorder: ConfigRecorder,
    seed: Seed,
    vpc: String,
    vpce: String,
    queue_url: String,
    slack: SlackSink,
    watcher: LambdaRuntime,
    notifier: LambdaRuntime,
}

fn start() -> World {
    let moto = Moto::start();
    let slack = SlackSink::start();
    let recorder = ConfigRecorder::start(moto.port);
    let (seed, vpc, vpce, queue_url, secret_arn) = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let (v, vpce) = seed.reference_vpc(REGION, "10.40.0.0/16").await;
        // Block Public Access on, ACLs disabled: only the policy decides compliance.
        let enforced = || Some(aws_sdk_s3::types::ObjectOwnership::BucketOwnerEnforced);
        for b in [PRIVATE, ALSO_PRIVATE] {
            let policy = private_bucket_policy(b, &vpce);
            seed.bucket(b, REGION, Some(&policy), true, enforced())
                .await;
        }
        seed.bucket(NO_POLICY, REGION, None, true, enforced()).await;
        // Findings: a rule on the default bus to the notifications queue, as template.yaml.
        let queue_url = seed
            .rule_to_queue(
                "vpce-guard-notify-findings",
                &json!({"source": ["vpce-guard"], "detail-type": ["vpce-guard Finding"]}),
                "vpce-guard-notifications",
            )
            .await;
        let secret_arn = seed.notifier_resources(TABLE, &slack.url()).await;
        (seed, v.vpc_id, vpce, queue_url, secret_arn)
    });
    let base = function_env(&moto, &recorder, REGION);
    let mut env = base.clone();
    env.push((
        "GUARD_PRINCIPAL_ARNS",
        "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole".to_string(),
    ));
    let watcher = LambdaRuntime::start(&function_binary("change-watcher"), &env);
    let mut env = base;
    env.push(("SLACK_WEBHOOK_SECRET_ARN", secret_arn));
    env.push(("STATE_TABLE_NAME", TABLE.to_string()));
    env.push(("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()));
    env.push(("NETWORK_RULE_NAME", "vpce-guard-network".to_string()));
    env.push(("AWS_LAMBDA_LOG_FORMAT", "JSON".to_string()));
    env.push(("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_string()));
    let notifier = LambdaRuntime::start(&function_binary("slack-notifier"), &env);
    World {
        moto,
        _recorder: recorder,
        seed,
        vpc,
        vpce,
        queue_url,
        slack,
        watcher,
        notifier,
    }
}

impl World {
    /// A sample CloudTrail event with this bucket named.
    fn bucket_event(&self, file: &str, bucket: &str) -> Value {
        let mut ev = sample_event(file);
        ev["detail"]["requestParameters"]["bucketName"] = json!(bucket);
        ev
    }

    fn watch(&mut self, event: &Value) -> Value {
        self.watcher
            .invoke(event, TIMEOUT)
            .unwrap_or_else(|e| panic!("watcher: {e}"))
    }

    /// The finding events EventBridge delivered to the queue since the last call, as SQS
    /// records (the notifier's input).
    fn delivered(&self) -> Vec<Value> {
        run(self.seed.drain_queue(&self.queue_url, REGION))
    }

    fn notify(&mut self, records: Vec<Value>) -> Vec<String> {
        let out = self
            .notifier
            .invoke(&json!({ "Records": records }), TIMEOUT)
            .unwrap_or_else(|e| panic!("notifier: {e}"));
        out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
            .collect()
    }

    fn put_policy(&self, bucket: &str, policy: &str) {
        run(self.seed.c.put_policy(bucket, REGION, policy)).unwrap();
    }
}

fn details(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap()["detail"].clone()
        })
        .collect()
}

/// The policy a hurried admin leaves: the deny gone, an allow for the app.
fn allow_only(bucket: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AppRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
         "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    .to_string()
}

fn config_change(bucket: &str, compliance: &str, id: &str) -> Value {
    compliance_change_record(bucket, REGION, compliance, id)
}

#[test]
fn a_removed_deny_is_one_finding_one_message_and_one_resolution() {
    let mut w = start();
    // WHEN alice removes the deny, THEN the watcher publishes a NON_COMPLIANT finding naming her.
    w.put_policy(PRIVATE, &allow_only(PRIVATE));
    let ev = w.bucket_event("watcher-put-bucket-policy-assumed-role.json", PRIVATE);
    let out = w.watch(&ev);
    assert_eq!(
        out["findings"],
        json!([["AWS::S3::Bucket", PRIVATE, "NON_COMPLIANT"]]),
        "{out}"
    );
    let records = w.delivered();
    let d = &details(&records)[0];
    assert_eq!(d["trigger"]["actor_arn"], ACTOR);
    assert_eq!(d["trigger"]["event_name"], "PutBucketPolicy");
    assert_eq!(
        d["fix"][0]["Condition"]["StringNotEquals"]["aws:SourceVpce"],
        json!([w.vpce])
    );
    // THEN exactly one Slack message.
    assert!(w.notify(records).is_empty());
    assert_eq!(
        w.slack.texts(),
        vec![format!("S3 bucket {PRIVATE} is NON_COMPLIANT")]
    );
    // The same event again: a finding, no second message.
    w.watch(&ev);
    let again = w.delivered();
    assert_eq!(again.len(), 1);
    assert!(w.notify(again).is_empty());
    // Config's later compliance change for the same state: none either.
    assert!(w
        .notify(vec![config_change(PRIVATE, "NON_COMPLIANT", "cfg-1")])
        .is_empty());
    assert_eq!(w.slack.texts().len(), 1);
    // The fix from the message, added to the policy: one "resolved" message.
    let mut policy: Value = serde_json::from_str(&allow_only(PRIVATE)).unwrap();
    for st in d["fix"].as_array().unwrap() {
        policy["Statement"].as_array_mut().unwrap().push(st.clone());
    }
    w.put_policy(PRIVATE, &policy.to_string());
    w.watch(&ev);
    let fixed = w.delivered();
    assert_eq!(
        details(&fixed)[0]["compliance"],
        "COMPLIANT",
        "{}",
        details(&fixed)[0]
    );
    assert!(w.notify(fixed).is_empty());
    assert_eq!(
        w.slack.texts(),
        vec![
            format!("S3 bucket {PRIVATE} is NON_COMPLIANT"),
            format!("Resolved: S3 bucket {PRIVATE} is compliant again")
        ]
    );
    // The webhook URL (a secret) is in no log line of either function.
    let secret = "test-webhook-secret";
    for line in w.notifier.logs().iter().chain(w.watcher.logs().iter()) {
        assert!(!line.contains(secret), "the webhook URL leaked: {line}");
    }
    assert!(!w.notifier.logs().is_empty());
    w.watcher.stop();
    w.notifier.stop();
}

#[test]
fn deleting_an_endpoint_reports_the_vpc_and_every_bucket_locked_out() {
    let mut w = start();
    run(async {
        aws_sdk_ec2::Client::new(&w.seed.c.sdk)
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&w.vpce)
            .send()
            .await
            .unwrap();
    });
    let mut ev = sample_event("watcher-delete-vpc-endpoints.json");
    ev["detail"]["requestParameters"]["DeleteVpcEndpointsRequest"]["VpcEndpointId"]["content"] =
        json!(w.vpce);
    let out = w.watch(&ev);
    let mut got: Vec<(String, String, String)> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[0].as_str().unwrap().to_string(),
                f[1].as_str().unwrap().to_string(),
                f[2].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let nc = "NON_COMPLIANT".to_string();
    assert_eq!(
        got,
        vec![
            ("AWS::EC2::VPC".into(), w.vpc.clone(), nc.clone()),
            ("AWS::S3::Bucket".into(), PRIVATE.into(), nc.clone()),
            ("AWS::S3::Bucket".into(), ALSO_PRIVATE.into(), nc.clone()),
        ],
        "{out}"
    );
    let records = w.delivered();
    for d in details(&records) {
        assert_eq!(d["trigger"]["event_name"], "DeleteVpcEndpoints");
        assert!(d["trigger"]["actor_arn"].is_string(), "{d}");
        if d["resource_type"] == "AWS::S3::Bucket" {
            let reachable = d["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule"] == "S3-VPCE-REACHABLE")
                .unwrap();
            assert_eq!(reachable["status"], "FAIL", "{d}");
        }
    }
    // Three changes: three messages (below the digest threshold), each naming the endpoint.
    assert!(w.notify(records).is_empty());
    assert_eq!(w.slack.texts().len(), 3);
    w.watcher.stop();
    w.notifier.stop();
}

#[test]
fn failed_calls_publish_nothing_and_slack_failures_are_retried_or_fail_only_their_record() {
    let mut w = start();
    let failed = w.bucket_event("watcher-put-bucket-policy-failed.json", PRIVATE);
    let out = w.watch(&failed);
    assert!(
        out["ignored"].as_str().unwrap().contains("AccessDenied"),
        "{out}"
    );
    assert!(w.delivered().is_empty());
    // Slack answers 429 (Retry-After: 1): the message is sent after the wait.
    w.put_policy(PRIVATE, &allow_only(PRIVATE));
    w.watch(&w.bucket_event("watcher-put-bucket-policy-assumed-role.json", PRIVATE));
    let records = w.delivered();
    w.slack.script(&[Reply::RateLimited(1)]);
    assert!(w.notify(records).is_empty());
    let arrivals = w.slack.arrivals();
    assert_eq!(arrivals.len(), 2);
    assert!(
        arrivals[1] - arrivals[0] >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(w.slack.texts().len(), 1);
    // A 500 on one of two messages fails only that record.
    run(w.seed.c.delete_policy(ALSO_PRIVATE, REGION)).unwrap();
    let ev = w.bucket_event("watcher-delete-bucket-policy-iam-user.json", ALSO_PRIVATE);
    w.watch(&ev);
    let mut records = w.delivered();
    records.push(config_change(NO_POLICY, "NON_COMPLIANT", "cfg-2"));
    w.slack.script(&[Reply::Error(500)]);
    let first_id = records[0]["messageId"].as_str().unwrap().to_string();
    assert_eq!(w.notify(records), vec![first_id]);
    assert_eq!(w.slack.texts().len(), 2);
    w.watcher.stop();
    w.notifier.stop();
}

#[test]
fn five_hundred_changes_in_one_batch_are_one_digest() {
    let mut w = start();
    let records: Vec<Value> = (0..500)
        .map(|i| config_change(&format!("bucket-{i:03}"), "NON_COMPLIANT", &format!("m{i}")))
        .collect();
    assert!(w.notify(records).is_empty());
    assert_eq!(
        w.slack.texts(),
        vec!["vpce-guard: 500 changes (500 non-compliant, 0 resolved)"]
    );
    let _ = &w.moto;
    w.watcher.stop();
    w.notifier.stop();
}
