//! Every event vpce-guard publishes or reads, read from its sample in `events/` through its one
//! type (`vpce_guard::events`, `remedy::apply::RemediationEvent`) and written back: the same
//! JSON value comes out. A field renamed in a type, or in a sample, fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use vpce_guard::events::{
    AlarmStateChangeDetail, ComplianceChangeDetail, Envelope, FindingDetail, ManualRequest,
    RouteUsageDetail, ALARM_DETAIL_TYPE, ALARM_SOURCE, CONFIG_COMPLIANCE_DETAIL_TYPE,
    FINDING_DETAIL_TYPE, REMEDIATION_DETAIL_TYPE, ROUTE_USAGE_DETAIL_TYPE, SOURCE,
};
use vpce_guard::remedy::apply::RemediationEvent;

fn sample(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Read as `T`, write again: the same value.
fn round_trip<T: DeserializeOwned + Serialize>(what: &str, v: &Value) -> T {
    let typed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what} does not read as its type: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, v, "{what}: written back differently");
    typed
}

#[test]
fn the_finding_and_the_compliance_change_in_the_notifier_batch() {
    let batch = sample("notifier-sqs-batch.json");
    let mut seen = Vec::new();
    for r in batch["Records"].as_array().unwrap() {
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        let env: Envelope<Value> = round_trip("the envelope", &body);
        match env.detail_type.as_str() {
            FINDING_DETAIL_TYPE => {
                assert_eq!(env.source, SOURCE);
                let f: FindingDetail = round_trip("a finding", &env.detail);
                assert!(f.is_noncompliant_bucket());
            }
            CONFIG_COMPLIANCE_DETAIL_TYPE => {
                round_trip::<ComplianceChangeDetail>("a compliance change", &env.detail);
            }
            other => panic!("unexpected detail-type {other}"),
        }
        seen.push(env.detail_type);
    }
    assert!(seen.iter().any(|d| d == FINDING_DETAIL_TYPE), "{seen:?}");
    assert!(
        seen.iter().any(|d| d == CONFIG_COMPLIANCE_DETAIL_TYPE),
        "{seen:?}"
    );
}

#[test]
fn configs_compliance_change() {
    let ev = sample("notifier-config-compliance-change.json");
    let env: Envelope<ComplianceChangeDetail> = round_trip("the event", &ev);
    assert_eq!(env.detail_type, CONFIG_COMPLIANCE_DETAIL_TYPE);
    assert_eq!(env.detail.config_rule_name, "vpce-guard-bucket");
    assert_eq!(
        env.detail.compliance(),
        Some(vpce_guard::rules::Compliance::NonCompliant)
    );
}

#[test]
fn the_ssm_automation_payload() {
    let ev = sample("remediator-config-remediation.json");
    let m: ManualRequest = round_trip("the SSM payload", &ev);
    assert_eq!(m.trigger, "config-remediation");
}

#[test]
fn the_remediation_event() {
    let ev = sample("remediation-applied.json");
    let env: Envelope<RemediationEvent> = round_trip("the remediation event", &ev);
    assert_eq!(env.detail_type, REMEDIATION_DETAIL_TYPE);
    assert_eq!(env.source, SOURCE);
    assert!(env.detail.previous_policy.is_some());
}

#[test]
fn the_cloudwatch_alarm_state_change() {
    let batch = sample("notifier-cloudwatch-alarm.json");
    let body: Value = serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
    let env: Envelope<AlarmStateChangeDetail> = round_trip("the alarm event", &body);
    assert_eq!(env.detail_type, ALARM_DETAIL_TYPE);
    assert_eq!(env.source, ALARM_SOURCE);
    assert_eq!(env.detail.state.value, "ALARM");
    let metric = env.detail.metric().unwrap();
    assert_eq!(metric.namespace.as_deref(), Some("AWS/SQS"));
    assert!(metric.dimensions.contains_key("QueueName"));
}

#[test]
fn route_usage_events_and_their_input() {
    for name in ["route-usage-event.json", "route-usage-endpoint-denial.json"] {
        let ev = sample(name);
        let env: Envelope<RouteUsageDetail> = round_trip(name, &ev);
        assert_eq!(env.detail_type, ROUTE_USAGE_DETAIL_TYPE);
        assert_eq!(env.source, SOURCE);
    }
    // The function's input: S3 data events (and a network activity event) from CloudTrail in
    // EventBridge's envelope, in an SQS batch; each body one CloudTrail record.
    let batch = sample("route-usage-sqs-batch.json");
    let mut types = Vec::new();
    for r in batch["Records"].as_array().unwrap() {
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        let env: Envelope<Value> = round_trip("an S3 data event", &body);
        assert_eq!(env.source, "aws.s3");
        assert_eq!(env.detail["eventSource"], "s3.amazonaws.com");
        types.push(env.detail_type);
    }
    assert!(types.iter().any(|t| t == "AWS API Call via CloudTrail"));
    assert!(types
        .iter()
        .any(|t| t == "AWS Network Activity Event via CloudTrail"));
}

#[test]
fn the_finding_event_as_the_watcher_emits_it() {
    let ev = sample("finding-event.json");
    let env: Envelope<FindingDetail> = round_trip("the finding event", &ev);
    assert_eq!(env.detail_type, FINDING_DETAIL_TYPE);
    assert!(env.detail.is_noncompliant_bucket());
}
