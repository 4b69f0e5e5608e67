//! The notifier on the in-memory state table and a recording Slack: the de-duplication rule,
//! the digest, Slack's 429 and 500, the state table unreachable; `insta` pins each message
//! shape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};

use super::handler::{handle, NotifierConfig};
use super::render::{digest, message, Links};
use super::webhook::{url_from_secret, PostError, SlackSink};
use super::*;
use crate::aws::memory::MemoryStateTable;
use crate::rules::{Finding, Status};
use crate::watcher::handler::Trigger;

const NOW: i64 = 1_795_824_000;
const ACTOR: &str = "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice@example.com";

/// Slack in memory: records payloads; answers with the scripted errors first.
#[derive(Default)]
struct Slack {
    posted: Mutex<Vec<Value>>,
    script: Mutex<Vec<PostError>>,
    attempts: Mutex<usize>,
}

impl SlackSink for Slack {
    async fn post(&self, payload: &Value) -> Result<(), PostError> {
        *self.attempts.lock().unwrap() += 1;
        let next = {
            let mut s = self.script.lock().unwrap();
            (!s.is_empty()).then(|| s.remove(0))
        };
        match next {
            Some(e) => Err(e),
            None => {
                self.posted.lock().unwrap().push(payload.clone());
                Ok(())
            }
        }
    }
}

impl Slack {
    fn texts(&self) -> Vec<String> {
        self.posted
            .lock()
            .unwrap()
            .iter()
            .map(|p| p["text"].as_str().unwrap().to_string())
            .collect()
    }
}

fn finding(bucket: &str, compliance: Compliance, failing: &[(RuleId, &str)]) -> FindingDetail {
    let findings = failing
        .iter()
        .map(|(r, why)| Finding::new(*r, Status::Fail, *why))
        .collect();
    FindingDetail {
        resource: bucket.into(),
        resource_type: "AWS::S3::Bucket".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        compliance,
        annotation: String::new(),
        findings,
        trigger: Trigger {
            event_name: "PutBucketPolicy".into(),
            event_id: Some("0b7e9a2c-1111-4222-8333-444455556666".into()),
            event_time: Some("2026-11-28T09:00:01Z".into()),
            actor_arn: Some(ACTOR.into()),
            source_ip: Some("198.51.100.7".into()),
            user_agent: Some("aws-cli/2.15.0".into()),
        },
        fix: None,
    }
}

fn missing_deny(bucket: &str) -> FindingDetail {
    let mut f = finding(
        bucket,
        Compliance::NonCompliant,
        &[(RuleId::S3VpceDeny, "no statement denies requests from outside the approved endpoints (vpce-0a1b2c3d4e5f60718)")],
    );
    f.fix = Some(vec![crate::remedy::deny_outside_vpce(
        bucket,
        crate::rules::params::Partition::Aws,
        &["vpce-0a1b2c3d4e5f60718".to_string()],
        &["arn:aws:iam::123456789012:role/vpce-guard/*".to_string()],
    )]);
    f
}

fn finding_body(f: &FindingDetail) -> String {
    json!({"version": "0", "id": "e1", "detail-type": "vpce-guard Finding", "source": "vpce-guard",
           "account": f.account, "region": f.region, "time": "2026-11-28T09:00:04Z",
           "resources": [], "detail": f})
    .to_string()
}

fn config_body(bucket: &str, compliance: &str) -> String {
    json!({"version": "0", "id": "c1", "detail-type": "Config Rules Compliance Change",
           "source": "aws.config", "account": "123456789012", "region": "us-east-1",
           "time": "2026-11-28T09:05:00Z", "resources": [],
           "detail": {"resourceId": bucket, "awsRegion": "us-east-1", "awsAccountId": "123456789012",
                      "configRuleName": "vpce-guard-bucket", "resourceType": "AWS::S3::Bucket",
                      "messageType": "ComplianceChangeNotification",
                      "newEvaluationResult": {"complianceType": compliance,
                          "annotation": "S3-VPCE-DENY: no statement denies requests from outside the approved endpoints",
                          "resultRecordedTime": "2026-11-28T09:05:00.000Z"},
                      "oldEvaluationResult": {"complianceType": "COMPLIANT"}}})
    .to_string()
}

fn batch(bodies: &[String]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn cfg() -> NotifierConfig {
    NotifierConfig {
        rule_names: vec!["vpce-guard-bucket".into(), "vpce-guard-network".into()],
        links: Links {
            bucket_rule: Some("vpce-guard-bucket".into()),
            network_rule: Some("vpce-guard-network".into()),
        },
        ..NotifierConfig::default()
    }
}

async fn run(store: &MemoryStateTable, slack: &Slack, bodies: &[String]) -> Vec<String> {
    let (resp, _) = handle(
        store,
        slack,
        &cfg(),
        &batch(bodies),
        NOW,
        Duration::from_secs(30),
    )
    .await;
    resp.batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

// ----- the rule ------------------------------------------------------------------------------

#[test]
fn decide_follows_the_documented_rule() {
    let nc = Compliance::NonCompliant;
    let sent = |c, f: Option<Vec<RuleId>>, expires_at| SentState {
        compliance: c,
        failing: f,
        expires_at,
        version: 1,
    };
    let deny = [RuleId::S3VpceDeny];
    let both = [RuleId::S3VpceDeny, RuleId::S3Tls];
    assert_eq!(decide(None, nc, Some(&deny), NOW), Decision::Alert);
    assert_eq!(
        decide(None, Compliance::Compliant, None, NOW),
        Decision::Quiet(true)
    );
    let last = sent(nc, Some(deny.to_vec()), NOW + 100);
    assert_eq!(
        decide(Some(&last), nc, Some(&deny), NOW),
        Decision::Quiet(false)
    );
    assert_eq!(decide(Some(&last), nc, Some(&both), NOW), Decision::Alert);
    assert_eq!(
        decide(Some(&last), nc, None, NOW),
        Decision::Quiet(false),
        "Config's change after the finding"
    );
    assert_eq!(
        decide(Some(&last), Compliance::Compliant, None, NOW),
        Decision::Resolved
    );
    assert_eq!(
        decide(Some(&last), Compliance::NotApplicable, None, NOW),
        Decision::Resolved
    );
    let unknown_rules = sent(nc, None, NOW + 100);
    assert_eq!(
        decide(Some(&unknown_rules), nc, Some(&deny), NOW),
        Decision::Quiet(true)
    );
    // An expired item counts as absent even before DynamoDB deletes it.
    let expired = sent(nc, Some(deny.to_vec()), NOW - 1);
    assert_eq!(
        decide(Some(&expired), nc, Some(&deny), NOW),
        Decision::Alert
    );
    let ok = sent(Compliance::Compliant, None, NOW + 100);
    assert_eq!(
        decide(Some(&ok), Compliance::Compliant, None, NOW),
        Decision::Quiet(false)
    );
}

#[tokio::test]
async fn one_message_per_real_change_whichever_path_saw_it_first() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let f = missing_deny("private");
    assert!(run(&store, &slack, &[finding_body(&f)]).await.is_empty());
    assert_eq!(slack.texts(), vec!["S3 bucket private is NON_COMPLIANT"]);
    // The same finding again, then Config's later change for the same state: nothing.
    run(&store, &slack, &[finding_body(&f)]).await;
    run(&store, &slack, &[config_body("private", "NON_COMPLIANT")]).await;
    assert_eq!(slack.texts().len(), 1);
    // A fix: one "resolved" message.
    run(
        &store,
        &slack,
        &[finding_body(&finding(
            "private",
            Compliance::Compliant,
            &[],
        ))],
    )
    .await;
    run(&store, &slack, &[config_body("private", "COMPLIANT")]).await;
    assert_eq!(
        slack.texts(),
        vec![
            "S3 bucket private is NON_COMPLIANT",
            "Resolved: S3 bucket private is compliant again"
        ]
    );
    // Config first this time, then the finding for the same state: one message.
    run(&store, &slack, &[config_body("other", "NON_COMPLIANT")]).await;
    run(&store, &slack, &[finding_body(&missing_deny("other"))]).await;
    assert_eq!(slack.texts().len(), 3);
    // Another rule's compliance change is not reported.
    let mut foreign: Value = serde_json::from_str(&config_body("x", "NON_COMPLIANT")).unwrap();
    foreign["detail"]["configRuleName"] = json!("someone-elses-rule");
    assert!(run(&store, &slack, &[foreign.to_string()]).await.is_empty());
    assert_eq!(slack.texts().len(), 3);
}

#[tokio::test]
async fn a_batch_above_the_threshold_becomes_one_digest() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let bodies: Vec<String> = (0..500)
        .map(|i| finding_body(&missing_deny(&format!("bucket-{i:03}"))))
        .collect();
    assert!(run(&store, &slack, &bodies).await.is_empty());
    assert_eq!(
        slack.texts(),
        vec!["vpce-guard: 500 changes (500 non-compliant, 0 resolved)"]
    );
    assert_eq!(store.items().len(), 500, "every resource's state recorded");
    // Ten or fewer: one message each.
    let slack = Slack::default();
    let bodies: Vec<String> = (0..10)
        .map(|i| finding_body(&missing_deny(&format!("small-{i}"))))
        .collect();
    run(&store, &slack, &bodies).await;
    assert_eq!(slack.texts().len(), 10);
}

#[tokio::test]
async fn slack_429_is_waited_out_and_500_fails_only_that_record() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    slack
        .script
        .lock()
        .unwrap()
        .push(PostError::RateLimited(Duration::from_millis(0)));
    assert!(run(&store, &slack, &[finding_body(&missing_deny("a"))])
        .await
        .is_empty());
    assert_eq!(*slack.attempts.lock().unwrap(), 2);
    assert_eq!(slack.texts().len(), 1);
    // A 500 on the second of two messages: only its record fails, and its state is not kept.
    slack
        .script
        .lock()
        .unwrap()
        .extend([PostError::Server(500)]);
    let failed = run(
        &store,
        &slack,
        &[
            finding_body(&missing_deny("b")),
            finding_body(&missing_deny("c")),
        ],
    )
    .await;
    assert_eq!(failed, vec!["m0"], "b's message failed");
    assert_eq!(slack.texts().len(), 2);
    assert!(!store.items().contains_key("AWS::S3::Bucket#b"));
    // Its retry sends it once.
    assert!(run(&store, &slack, &[finding_body(&missing_deny("b"))])
        .await
        .is_empty());
    assert_eq!(slack.texts().len(), 3);
    // A Retry-After longer than the invocation has left fails the record for SQS to retry.
    slack
        .script
        .lock()
        .unwrap()
        .push(PostError::RateLimited(Duration::from_secs(3600)));
    let failed = run(&store, &slack, &[finding_body(&missing_deny("d"))]).await;
    assert_eq!(failed, vec!["m0"]);
}

#[tokio::test]
async fn the_state_table_unreachable_neither_drops_nor_duplicates() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    *store.fail_reads.lock().unwrap() = 1;
    let f = finding_body(&missing_deny("a"));
    assert_eq!(
        run(&store, &slack, std::slice::from_ref(&f)).await,
        vec!["m0"],
        "retried, not dropped"
    );
    assert!(
        slack.texts().is_empty(),
        "nothing sent without knowing the last state"
    );
    assert!(run(&store, &slack, std::slice::from_ref(&f))
        .await
        .is_empty());
    assert!(run(&store, &slack, &[f]).await.is_empty());
    assert_eq!(slack.texts().len(), 1);
}

/// Slack accepted the message but the state write failed: the records are not retried, since
/// SQS would deliver them again and the message would be posted twice.
#[tokio::test]
async fn a_failed_state_write_after_a_post_does_not_post_twice() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    *store.fail_writes.lock().unwrap() = 1;
    let f = finding_body(&missing_deny("a"));
    assert!(run(&store, &slack, std::slice::from_ref(&f))
        .await
        .is_empty());
    assert_eq!(slack.texts().len(), 1);
    assert!(
        store.items().is_empty(),
        "the failed write recorded nothing"
    );
}

#[tokio::test]
async fn unreadable_records_fail_alone() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let failed = run(
        &store,
        &slack,
        &[
            "not json".into(),
            json!({"detail-type": "Other", "detail": {}}).to_string(),
            finding_body(&missing_deny("a")),
        ],
    )
    .await;
    assert_eq!(failed, vec!["m0", "m1"]);
    assert_eq!(slack.texts().len(), 1);
}

#[test]
fn the_webhook_url_comes_from_the_secret_and_must_be_https() {
    assert_eq!(
        url_from_secret("https://hooks.slack.com/services/T/B/X").unwrap(),
        "https://hooks.slack.com/services/T/B/X"
    );
    assert_eq!(
        url_from_secret(r#"{"webhook_url": "https://hooks.slack.com/x"}"#).unwrap(),
        "https://hooks.slack.com/x"
    );
    assert!(url_from_secret("http://127.0.0.1:8080/hook").is_ok());
    let err = url_from_secret("http://hooks.example.com/services/T/B/SECRET").unwrap_err();
    assert!(!err.contains("SECRET"), "the error does not repeat the URL");
    assert!(url_from_secret(r#"{"other": 1}"#).is_err());
}

// ----- message shapes ------------------------------------------------------------------------

#[test]
fn message_shapes() {
    let links = cfg().links;
    let alert = Notice::Finding(Box::new(missing_deny("vpce-guard-demo-private")));
    insta::assert_json_snapshot!(
        "alert_missing_deny",
        message(&alert, Decision::Alert, &links)
    );
    let resolved = Notice::Finding(Box::new(finding(
        "vpce-guard-demo-private",
        Compliance::Compliant,
        &[],
    )));
    insta::assert_json_snapshot!("resolved", message(&resolved, Decision::Resolved, &links));
    let config = parse_notice(
        &config_body("vpce-guard-demo-private", "NON_COMPLIANT"),
        &[],
    )
    .unwrap()
    .unwrap();
    insta::assert_json_snapshot!("config_change", message(&config, Decision::Alert, &links));
    let mut vpc = finding(
        "vpc-0a1b2c3d4e5f60718",
        Compliance::NonCompliant,
        &[(
            RuleId::NetS3Gateway,
            "no available S3 gateway endpoint (vpce-0a1b2c3d4e5f60718 is deleted)",
        )],
    );
    vpc.resource_type = "AWS::EC2::VPC".into();
    vpc.trigger.event_name = "DeleteVpcEndpoints".into();
    insta::assert_json_snapshot!(
        "vpc_alert",
        message(&Notice::Finding(Box::new(vpc)), Decision::Alert, &links)
    );
    let items: Vec<(Notice, Decision)> = (0..12)
        .map(|i| {
            let d = if i % 4 == 3 {
                Decision::Resolved
            } else {
                Decision::Alert
            };
            (
                Notice::Finding(Box::new(missing_deny(&format!("bucket-{i:02}")))),
                d,
            )
        })
        .collect();
    insta::assert_json_snapshot!("digest", digest(&items, &links));
}

#[test]
fn text_from_users_is_escaped_for_slack() {
    let mut f = missing_deny("b");
    f.trigger.actor_arn = Some("<!channel> & friends".into());
    let m = message(&Notice::Finding(Box::new(f)), Decision::Alert, &cfg().links);
    let s = m.to_string();
    assert!(!s.contains("<!channel>"));
    assert!(s.contains("&lt;!channel&gt; &amp; friends"));
}

#[test]
fn only_real_endpoint_ids_get_a_console_button() {
    let mut f = missing_deny("vpce-guard-demo");
    f.findings[0].reason =
        "through vpce-0a1b2c3d (vpce-guard role, xvpce-12345678, vpce-123)".into();
    let m = message(&Notice::Finding(Box::new(f)), Decision::Alert, &cfg().links);
    let buttons: Vec<&str> = m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        buttons,
        vec![
            "Bucket permissions",
            "Endpoint vpce-0a1b2c3d",
            "Endpoint vpce-0a1b2c3d4e5f60718",
            "Config rule"
        ]
    );
}

#[tokio::test]
async fn five_thousand_changes_in_batches_of_a_hundred_post_at_most_fifty_messages() {
    // The queue hands the notifier at most 100 records a batch (template.yaml: BatchSize 100),
    // so a sweep that flips 5,000 buckets posts at most ceil(5,000 / 100) = 50 digests.
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let bodies: Vec<String> = (0..5_000)
        .map(|i| finding_body(&missing_deny(&format!("bulk-{i:04}"))))
        .collect();
    for chunk in bodies.chunks(100) {
        assert!(run(&store, &slack, chunk).await.is_empty());
    }
    assert_eq!(slack.texts().len(), 50);
    assert!(slack
        .texts()
        .iter()
        .all(|t| t.starts_with("vpce-guard: 100 changes")));
    assert_eq!(store.items().len(), 5_000);
    // The same sweep again: nothing new, no message.
    for chunk in bodies.chunks(100) {
        run(&store, &slack, chunk).await;
    }
    assert_eq!(slack.texts().len(), 50);
}

/// The state table's cost follows the resources of a batch, not its records: one read per
/// resource, one write per message sent.
#[tokio::test]
async fn dynamodb_calls_follow_the_resources_of_a_batch() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    // Ten records about three buckets.
    let bodies: Vec<String> = (0..10)
        .map(|i| finding_body(&missing_deny(&format!("b{}", i % 3))))
        .collect();
    assert!(run(&store, &slack, &bodies).await.is_empty());
    assert_eq!(slack.texts().len(), 3);
    let calls = store.calls.snapshot();
    assert_eq!(calls.get("dynamodb:GetItem"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("dynamodb:PutItem"), Some(&3), "{calls:?}");
    // The same batch again: three reads, nothing new to send or write.
    assert!(run(&store, &slack, &bodies).await.is_empty());
    let calls = store.calls.snapshot();
    assert_eq!(calls.get("dynamodb:GetItem"), Some(&6), "{calls:?}");
    assert_eq!(calls.get("dynamodb:PutItem"), Some(&3), "{calls:?}");
}
