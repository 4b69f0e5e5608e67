//! The notifier on the in-memory state table and a recording Slack: the de-duplication rule,
//! the digest, Slack's 429 and 500, the state table unreachable; `insta` pins each message
//! shape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};

use super::notifier::{handle, NotifierSettings};
use super::render::{digest, message, Links};
use super::webhook::{url_from_secret, PostError, SlackSink};
use super::*;
use crate::events::Trigger;
use crate::rules::{Finding, Status};
use crate::testing::memory::MemoryStateTable;

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
        schema_version: crate::events::FINDING_SCHEMA_VERSION.into(),
        finding_id: format!("vpce-guard/123456789012/us-east-1/s3-bucket/{bucket}"),
        severity: crate::rules::Severity::High,
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
        muted: None,
        mute_expired: None,
    }
}

fn missing_deny(bucket: &str) -> FindingDetail {
    let mut f = finding(
        bucket,
        Compliance::NonCompliant,
        &[(RuleId::S3VpceDeny, "no statement denies requests from outside the approved endpoints (vpce-0a1b2c3d4e5f60718)")],
    );
    let ex = crate::remedy::GuardExemptions::new(
        &[],
        &["arn:aws:iam::123456789012:role/vpce-guard/BucketRule".to_string()],
        &["arn:aws:iam::123456789012:role/vpce-guard/Remediator".to_string()],
        None,
        "us-east-1",
        "123456789012",
    );
    f.fix = Some(crate::remedy::deny_outside_vpce(
        bucket,
        crate::rules::params::Partition::Aws,
        &["vpce-0a1b2c3d4e5f60718".to_string()],
        &ex,
    ));
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

use crate::testing::sqs_batch as batch;

fn cfg() -> NotifierSettings {
    NotifierSettings {
        rule_names: vec!["vpce-guard-bucket".into(), "vpce-guard-network".into()],
        links: Links {
            bucket_rule: Some("vpce-guard-bucket".into()),
            network_rule: Some("vpce-guard-network".into()),
        },
        ..NotifierSettings::default()
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
    let err = url_from_secret("http://hooks.example.com/services/T/B/SECRET")
        .unwrap_err()
        .to_string();
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

// ----- made-up endpoints ---------------------------------------------------------------------

/// The buttons of a message's actions blocks: (text, url).
fn buttons(m: &Value) -> Vec<(String, String)> {
    m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| {
            (
                e["text"]["text"].as_str().unwrap().to_string(),
                e["url"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn synthetic_ids_have_one_shape() {
    use crate::policy::space::synthetic::{is_synthetic_id, synthetic_id};
    assert_eq!(synthetic_id("vpce-", 2), "vpce-0ffe0000000000002");
    assert_eq!(synthetic_id("vpc-", 0x1f), "vpc-0ffe000000000001f");
    for n in [1, 2, 3, 17, 255, 65_535, u64::from(u32::MAX)] {
        for prefix in ["vpce-", "vpc-"] {
            let id = synthetic_id(prefix, n);
            assert!(is_synthetic_id(&id), "{id}");
            // The shape of a real id (17 hex digits): the rules and the notifier see one.
            assert_eq!(id.len(), prefix.len() + 17);
        }
    }
    for real in [
        "vpce-0a1b2c3d4e5f60718",
        "vpce-0a1b2c3d",
        // A real id may start with 0ffe; its counter digits are not five zeros.
        "vpce-0ffe1a2b3c4d5e6f7",
        "vpce-0ffe",
        "vpce-0ffe00000000000002",
        "vpce-0FFE0000000000002",
        "0ffe0000000000002",
        "-0ffe0000000000002",
    ] {
        assert!(!is_synthetic_id(real), "{real}");
    }
}

/// The ids the engine really makes up for its counter-examples are the ones the notifier
/// recognises (if the engine changes its spelling, this fails).
#[test]
fn the_engines_made_up_endpoints_are_recognised() {
    use crate::policy::model::PolicyDocument;
    use crate::policy::space::synthetic::is_synthetic_id;
    use crate::rules::bucket::check_policy;
    use crate::rules::BucketParams;
    // Denies only requests that come through no endpoint: any endpoint gets in.
    let doc = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
            "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
            "Condition":{"Null":{"aws:SourceVpce":"true"}}}]}"#,
    )
    .unwrap();
    let params = BucketParams {
        approved_vpce: vec!["vpce-1a2b3c4d".into()],
        account_id: Some("123456789012".into()),
        ..BucketParams::default()
    };
    let e = check_policy("b", &doc, &params, NOW as f64);
    let known = e
        .findings
        .iter()
        .find(|f| f.rule == RuleId::S3VpceKnown)
        .unwrap();
    assert_eq!(known.status, Status::Fail, "{}", known.reason);
    let made_up: Vec<&str> = known
        .reason
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("vpce-0ffe"))
        .collect();
    assert!(!made_up.is_empty(), "{}", known.reason);
    for id in &made_up {
        assert!(is_synthetic_id(id), "{id} in {}", known.reason);
    }
    // Rendered: the made-up endpoint is plain text with what it is, and has no button.
    let mut f = missing_deny("b");
    f.findings = vec![known.clone()];
    let m = message(&Notice::Finding(Box::new(f)), Decision::Alert, &cfg().links);
    let text = m.to_string();
    for id in &made_up {
        assert!(
            text.contains(&format!(
                "{id} _(hypothetical endpoint used for the counter-example)_"
            )),
            "{text}"
        );
        assert!(
            !buttons(&m)
                .iter()
                .any(|(t, u)| t.contains(id) || u.contains(id)),
            "{id} has a button"
        );
    }
}

#[test]
fn a_made_up_endpoint_is_plain_text_and_a_real_one_keeps_its_link() {
    let mut f = missing_deny("vpce-guard-demo");
    f.findings[0].reason = "not denied: TLS 1.2 via vpce-0ffe0000000000002 (a foreign endpoint) in vpc-0ffe0000000000003: s3:GetObject by a same-account role session; closest: statement 1 (aws:SourceVpce is vpce-0a1b2c3d4e5f60718)".into();
    let m = message(&Notice::Finding(Box::new(f)), Decision::Alert, &cfg().links);
    let text = m.to_string();
    assert!(text.contains(
        "via vpce-0ffe0000000000002 _(hypothetical endpoint used for the counter-example)_ (a foreign endpoint)"
    ));
    assert!(
        text.contains("vpc-0ffe0000000000003 _(hypothetical VPC used for the counter-example)_")
    );
    assert!(
        !text.contains("vpce-0a1b2c3d4e5f60718 _("),
        "a real id is not annotated"
    );
    let b = buttons(&m);
    assert!(
        !b.iter()
            .any(|(t, u)| t.contains("0ffe") || u.contains("0ffe")),
        "{b:?}"
    );
    let real = b
        .iter()
        .find(|(t, _)| t == "Endpoint vpce-0a1b2c3d4e5f60718")
        .expect("the real endpoint keeps its button");
    assert_eq!(
        real.1,
        "https://us-east-1.console.aws.amazon.com/vpcconsole/home?region=us-east-1#EndpointDetails:vpcEndpointId=vpce-0a1b2c3d4e5f60718"
    );
    // Config's annotation quoting a made-up endpoint: the same.
    let mut body: Value = serde_json::from_str(&config_body("b", "NON_COMPLIANT")).unwrap();
    body["detail"]["newEvaluationResult"]["annotation"] = json!(
        "S3-VPCE-KNOWN: not denied: via vpce-0ffe0000000000001 (another endpoint of the account)"
    );
    let n = parse_notice(&body.to_string(), &[]).unwrap().unwrap();
    let m = message(&n, Decision::Alert, &cfg().links);
    assert!(m
        .to_string()
        .contains("vpce-0ffe0000000000001 _(hypothetical endpoint used for the counter-example)_"));
    assert!(!buttons(&m).iter().any(|(t, _)| t.contains("0ffe")));
}

// ----- CloudWatch alarms ---------------------------------------------------------------------

const DLQ_ALARM: &str = "vpce-guard-FailedEventsQueue-messages";

fn alarm_body(name: &str, state: &str, previous: &str, dimensions: Value) -> String {
    let namespace = if dimensions.get("FunctionName").is_some() {
        "AWS/Lambda"
    } else {
        "AWS/SQS"
    };
    let metric = if namespace == "AWS/Lambda" {
        "Errors"
    } else {
        "ApproximateNumberOfMessagesVisible"
    };
    json!({"version": "0", "id": "a1", "detail-type": "CloudWatch Alarm State Change",
           "source": "aws.cloudwatch", "account": "123456789012", "region": "us-east-1",
           "time": "2026-11-28T09:21:04Z",
           "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
           "detail": {"alarmName": name,
                      "state": {"value": state, "reason": format!("Threshold Crossed: {state}"),
                                "timestamp": "2026-11-28T09:21:04.511+0000"},
                      "previousState": {"value": previous, "reason": "before",
                                        "timestamp": "2026-11-27T18:06:12.144+0000"},
                      "configuration": {"metrics": [{"id": "m1", "metricStat": {
                          "metric": {"namespace": namespace, "name": metric, "dimensions": dimensions},
                          "period": 300, "stat": "Maximum"}, "returnData": true}]}}})
    .to_string()
}

fn dlq_alarm(state: &str, previous: &str) -> String {
    alarm_body(
        DLQ_ALARM,
        state,
        previous,
        json!({"QueueName": "vpce-guard-FailedEventsQueue-Hk3T9xQm2LpA"}),
    )
}

fn sample_batch(name: &str) -> SqsEvent {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn alarm_events_are_read() {
    let n = parse_notice(&dlq_alarm("ALARM", "OK"), &cfg().rule_names)
        .unwrap()
        .unwrap();
    let Notice::Alarm(a) = &n else {
        panic!("{n:?}")
    };
    assert_eq!(a.alarm_name, DLQ_ALARM);
    assert_eq!(a.state, AlarmState::Alarm);
    assert_eq!(a.previous.as_deref(), Some("OK"));
    assert_eq!(
        a.queue.as_deref(),
        Some("vpce-guard-FailedEventsQueue-Hk3T9xQm2LpA")
    );
    assert_eq!(a.namespace.as_deref(), Some("AWS/SQS"));
    assert!(a.is_queue_alarm());
    assert_eq!(
        a.alarm_arn.as_deref(),
        Some(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:vpce-guard-FailedEventsQueue-messages"
        )
    );
    assert_eq!(n.key(), format!("AWS::CloudWatch::Alarm#{DLQ_ALARM}"));
    assert_eq!(n.compliance(), Compliance::NonCompliant);
    assert_eq!(n.failing(), None);
    assert_eq!((n.account(), n.region()), ("123456789012", "us-east-1"));
    let ok = parse_notice(&dlq_alarm("OK", "ALARM"), &[])
        .unwrap()
        .unwrap();
    assert_eq!(ok.compliance(), Compliance::Compliant);
    // Not enough data is not news.
    assert_eq!(
        parse_notice(&dlq_alarm("INSUFFICIENT_DATA", "OK"), &[]).unwrap(),
        None
    );
    // Shapes the notifier does not know still fail the record.
    let mut v: Value = serde_json::from_str(&dlq_alarm("ALARM", "OK")).unwrap();
    v["source"] = json!("my.app");
    assert!(parse_notice(&v.to_string(), &[]).is_err(), "another source");
    let mut v: Value = serde_json::from_str(&dlq_alarm("ALARM", "OK")).unwrap();
    v["detail"].as_object_mut().unwrap().remove("alarmName");
    assert!(parse_notice(&v.to_string(), &[]).is_err(), "no alarm name");
    let mut v: Value = serde_json::from_str(&dlq_alarm("ALARM", "OK")).unwrap();
    v["detail"]["state"]["value"] = json!("ON_FIRE");
    assert!(
        parse_notice(&v.to_string(), &[]).is_err(),
        "an unknown state"
    );
    let mut v: Value = serde_json::from_str(&dlq_alarm("ALARM", "OK")).unwrap();
    v["detail"].as_object_mut().unwrap().remove("state");
    assert!(parse_notice(&v.to_string(), &[]).is_err(), "no state");
    assert!(parse_notice(
        &json!({"detail-type": "CloudWatch Alarm Configuration Change", "source": "aws.cloudwatch", "detail": {}}).to_string(),
        &[]
    )
    .is_err());
    // A composite alarm (no metric): read, nothing watched named.
    let mut v: Value = serde_json::from_str(&dlq_alarm("ALARM", "OK")).unwrap();
    v["detail"]["configuration"] = json!({"alarmRule": "ALARM(a) OR ALARM(b)"});
    let Some(Notice::Alarm(a)) = parse_notice(&v.to_string(), &[]).unwrap() else {
        panic!("composite")
    };
    assert_eq!((a.queue, a.function, a.metric), (None, None, None));
}

/// Through the handler, the state table keyed on the alarm's name: one message when it fires,
/// none while it stays in ALARM, one "resolved" when it is OK again.
#[tokio::test]
async fn an_alarm_is_posted_once_and_resolved_once() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    assert!(run(&store, &slack, &[dlq_alarm("ALARM", "OK")])
        .await
        .is_empty());
    assert_eq!(
        slack.texts(),
        vec![format!("CloudWatch alarm {DLQ_ALARM} is in ALARM")]
    );
    assert!(store
        .items()
        .contains_key(&format!("AWS::CloudWatch::Alarm#{DLQ_ALARM}")));
    // The same state again (ALARM → INSUFFICIENT_DATA → ALARM): nothing new.
    run(&store, &slack, &[dlq_alarm("INSUFFICIENT_DATA", "ALARM")]).await;
    run(&store, &slack, &[dlq_alarm("ALARM", "INSUFFICIENT_DATA")]).await;
    assert_eq!(slack.texts().len(), 1);
    // Back to OK: resolved, once.
    run(&store, &slack, &[dlq_alarm("OK", "ALARM")]).await;
    run(&store, &slack, &[dlq_alarm("OK", "ALARM")]).await;
    assert_eq!(
        slack.texts(),
        vec![
            format!("CloudWatch alarm {DLQ_ALARM} is in ALARM"),
            format!("Resolved: CloudWatch alarm {DLQ_ALARM} is OK again"),
        ]
    );
    // An OK never preceded by a message (a new alarm leaving INSUFFICIENT_DATA): none.
    let other = alarm_body(
        "vpce-guard-BucketRuleFunction-errors",
        "OK",
        "INSUFFICIENT_DATA",
        json!({"FunctionName": "vpce-guard-BucketRuleFunction-Q1w2E3r4"}),
    );
    assert!(run(&store, &slack, &[other]).await.is_empty());
    assert_eq!(slack.texts().len(), 2);
    // A bucket and an alarm in one batch: each its own message; other kinds still work.
    run(
        &store,
        &slack,
        &[finding_body(&missing_deny("p")), dlq_alarm("ALARM", "OK")],
    )
    .await;
    assert_eq!(slack.texts().len(), 4);
}

/// `events/notifier-cloudwatch-alarm.json` as Lambda's SQS poller passes it.
#[tokio::test]
async fn the_sample_alarm_event_is_posted() {
    let event = sample_batch("notifier-cloudwatch-alarm.json");
    assert_eq!(event.records.len(), 1);
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let (resp, summary) =
        handle(&store, &slack, &cfg(), &event, NOW, Duration::from_secs(30)).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(summary.messages, 1);
    let posted = slack.posted.lock().unwrap().clone();
    insta::assert_json_snapshot!("alarm_dlq", posted[0]);
    let text = posted[0].to_string();
    for part in [
        "vpce-guard-FailedEventsQueue-messages",
        "ALARM (was OK)",
        "vpce-guard-FailedEventsQueue-Hk3T9xQm2LpA",
        "Threshold Crossed",
        "receive-message",
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/vpce-guard-FailedEventsQueue-messages",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    // The body's MD5 is what SQS says it is.
    let record = &event.records[0];
    assert!(record.md5_of_body.is_some());
}

#[test]
fn alarm_message_shapes() {
    let links = cfg().links;
    let ok = parse_notice(&dlq_alarm("OK", "ALARM"), &[])
        .unwrap()
        .unwrap();
    insta::assert_json_snapshot!("alarm_resolved", message(&ok, Decision::Resolved, &links));
    let errors = parse_notice(
        &alarm_body(
            "vpce-guard-RemediatorFunction-errors",
            "ALARM",
            "OK",
            json!({"FunctionName": "vpce-guard-RemediatorFunction-Q1w2E3r4"}),
        ),
        &[],
    )
    .unwrap()
    .unwrap();
    insta::assert_json_snapshot!(
        "alarm_function_errors",
        message(&errors, Decision::Alert, &links)
    );
    let b = buttons(&message(&errors, Decision::Alert, &links));
    assert_eq!(
        b.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        vec!["Alarm", "Function vpce-guard-RemediatorFunction-Q1w2E3r4"]
    );
    // The notifier's own dead-letter queue: an SQS source, redriven with a message move task.
    let notifier_dlq = parse_notice(
        &alarm_body(
            "vpce-guard-NotificationsDeadLetterQueue-messages",
            "ALARM",
            "OK",
            json!({"QueueName": "vpce-guard-NotificationsDeadLetterQueue-Zx9Yw8"}),
        ),
        &[],
    )
    .unwrap()
    .unwrap();
    let m = message(&notifier_dlq, Decision::Alert, &links).to_string();
    assert!(m.contains("start-message-move-task"), "{m}");
    assert!(m.contains(
        "--source-arn arn:aws:sqs:us-east-1:123456789012:vpce-guard-NotificationsDeadLetterQueue-Zx9Yw8"
    ));
    // The failed-events queue's sources are Lambda and EventBridge: replayed, not redriven.
    let failed = parse_notice(&dlq_alarm("ALARM", "OK"), &[])
        .unwrap()
        .unwrap();
    let m = message(&failed, Decision::Alert, &links).to_string();
    assert!(!m.contains("start-message-move-task"), "{m}");
    assert!(m.contains("start-config-rules-evaluation"), "{m}");
}

#[test]
fn alarm_names_are_encoded_in_links_and_escaped_in_text() {
    use super::render::{alarm_link, url_encode};
    assert_eq!(url_encode("a b/c#d&e"), "a%20b%2Fc%23d%26e");
    assert_eq!(url_encode("é"), "%C3%A9");
    assert_eq!(
        alarm_link("my stack/DLQ <1>", "eu-west-1"),
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/my%20stack%2FDLQ%20%3C1%3E"
    );
    assert!(alarm_link("x", "cn-north-1").starts_with("https://cn-north-1.console.amazonaws.cn/"));
    let n = parse_notice(
        &alarm_body("<!channel> & co", "ALARM", "OK", json!({"QueueName": "q"})),
        &[],
    )
    .unwrap()
    .unwrap();
    let m = message(&n, Decision::Alert, &cfg().links);
    // Every text Slack parses (mrkdwn, and the top-level text) has it escaped; the plain-text
    // header shows it as it is.
    let mut parsed: Vec<String> = vec![m["text"].as_str().unwrap().to_string()];
    for b in m["blocks"].as_array().unwrap() {
        if b["text"]["type"] == "mrkdwn" {
            parsed.push(b["text"]["text"].as_str().unwrap().to_string());
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            parsed.push(f["text"].as_str().unwrap().to_string());
        }
    }
    assert!(
        !parsed.iter().any(|t| t.contains("<!channel>")),
        "{parsed:?}"
    );
    assert!(
        parsed[0].contains("&lt;!channel&gt; &amp; co"),
        "{parsed:?}"
    );
    assert_eq!(m["blocks"][0]["text"]["type"], "plain_text");
    assert!(buttons(&m)[0]
        .1
        .ends_with("#alarmsV2:alarm/%3C%21channel%3E%20%26%20co"));
}

#[test]
fn a_digest_lists_alarms_with_their_links() {
    let links = cfg().links;
    let mut items: Vec<(Notice, Decision)> = (0..11)
        .map(|i| {
            (
                Notice::Finding(Box::new(missing_deny(&format!("bucket-{i:02}")))),
                Decision::Alert,
            )
        })
        .collect();
    items.insert(
        0,
        (
            parse_notice(&dlq_alarm("ALARM", "OK"), &[])
                .unwrap()
                .unwrap(),
            Decision::Alert,
        ),
    );
    let d = digest(&items, &links).to_string();
    assert!(d.contains(&format!(
        "<https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/{DLQ_ALARM}|CloudWatch alarm {DLQ_ALARM}> (123456789012, us-east-1): ALARM"
    )), "{d}");
    assert!(d.contains("CloudWatch alarms: 1"), "{d}");
}

/// The fix is JSON a user can paste: a fix longer than one Slack section is split into one
/// section per statement, never cut in the middle of one.
#[test]
fn the_fix_is_never_cut_mid_statement() {
    let f = missing_deny("vpce-guard-demo-private");
    let fix = f.fix.clone().unwrap();
    let m = message(&Notice::Finding(Box::new(f)), Decision::Alert, &cfg().links);
    let code: Vec<Value> = m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .filter_map(|t| {
            t.split_once("```")
                .map(|(_, rest)| rest.trim_end_matches("```").to_string())
        })
        .map(|json| serde_json::from_str::<Value>(&json).unwrap_or_else(|e| panic!("{e}: {json}")))
        .collect();
    let pasted: Vec<Value> = code
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(a) => a,
            other => vec![other],
        })
        .collect();
    assert_eq!(pasted, fix, "every statement of the fix, whole, in order");
    for b in m["blocks"].as_array().unwrap() {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(t.chars().count() <= 3000, "Slack's section limit");
        }
    }
}

// ----- route usage ---------------------------------------------------------------------------

fn route_finding(principal: &str, ip: &str, first: &str, count: u64, denied: u64) -> Value {
    json!({"kind": "unapproved_route", "account": "123456789012", "region": "eu-west-1",
           "bucket": "amzn-s3-demo-private", "principal": principal, "source_ip": ip,
           "ipv6": ip.contains(':'), "event_names": ["GetObject", "PutObject"], "count": count,
           "denied": denied, "first_seen": first, "last_seen": first})
}

fn route_body(detail: &Value) -> String {
    json!({"version": "0", "id": "r1", "detail-type": "vpce-guard Route Usage",
           "source": "vpce-guard", "account": "123456789012", "region": "eu-west-1",
           "time": "2026-12-07T08:00:00Z", "resources": ["arn:aws:s3:::amzn-s3-demo-private"],
           "detail": detail})
    .to_string()
}

fn denial() -> Value {
    json!({"kind": "endpoint_policy_denied", "account": "123456789012", "region": "eu-west-1",
           "vpc_endpoint_id": "vpce-0a1b2c3d4e5f60001", "principal_account": "777788889999",
           "bucket": null, "event_names": ["PutObject"], "count": 3,
           "first_seen": "2026-12-07T07:36:10Z", "last_seen": "2026-12-07T07:51:02Z"})
}

#[tokio::test]
async fn route_usage_is_sent_once_per_aggregate_and_hour() {
    let store = MemoryStateTable::default();
    let slack = Slack::default();
    let ci = "arn:aws:iam::123456789012:user/ci-deploy";
    let a = route_finding(ci, "203.0.113.10", "2026-12-07T07:12:30Z", 2, 0);
    assert!(run(&store, &slack, &[route_body(&a)]).await.is_empty());
    // The same aggregate again in the same hour (a retried batch, a later batch): nothing.
    let again = route_finding(ci, "203.0.113.10", "2026-12-07T07:40:00Z", 5, 0);
    run(&store, &slack, &[route_body(&a), route_body(&again)]).await;
    // The next hour, another source, another principal: one message each.
    let next_hour = route_finding(ci, "203.0.113.10", "2026-12-07T08:02:00Z", 1, 0);
    let other_ip = route_finding(ci, "2001:db8::10", "2026-12-07T07:15:00Z", 1, 1);
    run(
        &store,
        &slack,
        &[
            route_body(&next_hour),
            route_body(&other_ip),
            route_body(&denial()),
        ],
    )
    .await;
    run(&store, &slack, &[route_body(&denial())]).await;
    assert_eq!(
        slack.texts(),
        vec![
            "2 requests to S3 bucket amzn-s3-demo-private did not come through an approved endpoint (succeeded: the bucket is reachable off the approved endpoints)",
            "1 request to S3 bucket amzn-s3-demo-private did not come through an approved endpoint (succeeded: the bucket is reachable off the approved endpoints)",
            "1 request to S3 bucket amzn-s3-demo-private did not come through an approved endpoint (refused: the deny works, the client is off the private route)",
            "VPC endpoint vpce-0a1b2c3d4e5f60001 refused 3 requests from account 777788889999",
        ]
    );
    // A flood becomes one digest, counted apart from the rules.
    let slack = Slack::default();
    let bodies: Vec<String> = (0..40)
        .map(|i| {
            route_body(&route_finding(
                &format!("arn:aws:iam::123456789012:role/app-{i:02}"),
                "198.51.100.7",
                "2026-12-07T09:00:00Z",
                1,
                0,
            ))
        })
        .collect();
    run(&store, &slack, &bodies).await;
    assert_eq!(
        slack.texts(),
        vec!["vpce-guard: 40 changes (40 non-compliant, 0 resolved)"]
    );
    let posted = slack.posted.lock().unwrap()[0].to_string();
    assert!(
        posted.contains("route usage: not through an approved endpoint: 40"),
        "{posted}"
    );
}

#[test]
fn route_usage_messages() {
    let links = cfg().links;
    let read = |v: &Value| match parse_notice(&route_body(v), &[]).unwrap() {
        Some(n) => n,
        None => panic!("not a notice"),
    };
    let partly = route_finding(
        "arn:aws:iam::123456789012:role/analyst",
        "2001:db8:4006:812::200e",
        "2026-12-07T07:20:00Z",
        4,
        1,
    );
    insta::assert_json_snapshot!(
        "route_usage_partly_refused",
        message(&read(&partly), Decision::Alert, &links)
    );
    insta::assert_json_snapshot!(
        "route_usage_endpoint_denial",
        message(&read(&denial()), Decision::Alert, &links)
    );
    // A detail of an unknown kind is an error, not a silent skip.
    let mut odd = denial();
    odd["kind"] = json!("something_else");
    assert!(parse_notice(&route_body(&odd), &[]).is_err());
}
