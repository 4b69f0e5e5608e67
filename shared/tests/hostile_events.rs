//! Hostile events (issue 12, point 2, the events part): Config rule events, CloudTrail events
//! and SQS batches with missing, extra, wrongly typed and enormous fields, through the
//! handlers on the in-memory account. Each gets a clear error, a clear finding or a clear
//! "ignored", quickly: never a panic, a hang, or a COMPLIANT it cannot justify.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};
use vpce_guard::config::rule_functions::{handle_bucket_rule, Warm};
use vpce_guard::config::ConfigRuleEvent;
use vpce_guard::notify::notifier::{handle as notify, NotifierSettings};
use vpce_guard::rules::Compliance;
use vpce_guard::testing::memory::MemoryStateTable;
use vpce_guard::watcher::change_watcher::{handle as watch, WatcherSettings};
use vpce_guard::watcher::WatcherEvent;
use vpce_guard::FunctionError;

const MIB: usize = 1 << 20;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn event_file(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The bucket rule on the in-memory account: the error type, or the compliance sent.
fn bucket_rule(ev: Value) -> Result<Vec<Compliance>, String> {
    let event: ConfigRuleEvent = serde_json::from_value(ev).map_err(|e| format!("serde: {e}"))?;
    let aws = checks::account();
    let t = Instant::now();
    let out = block_on(handle_bucket_rule(&aws, &Warm::default(), &event, 1.8e9));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    match out {
        Ok(_) => Ok(aws
            .sent()
            .into_iter()
            .flat_map(|s| s.evaluations)
            .map(|e| e.compliance)
            .collect()),
        Err(e) => Err(e.error_type().to_string()),
    }
}

/// The change event of `events/` for the in-memory account's private bucket, edited.
fn change(edit: impl FnOnce(&mut Value, &mut Value)) -> Value {
    let mut ev = event_file("bucket-rule-change.json");
    let mut inv: Value = serde_json::from_str(ev["invokingEvent"].as_str().unwrap()).unwrap();
    inv["configurationItem"]["resourceId"] = json!("private");
    inv["configurationItem"]["resourceName"] = json!("private");
    edit(&mut ev, &mut inv);
    if !inv.is_null() {
        ev["invokingEvent"] = Value::String(inv.to_string());
    }
    ev
}

#[test]
fn config_events_missing_or_mistyped_fields_are_invalid_events() {
    let invalid = "VpceGuard.InvalidEvent";
    let cases: Vec<(&str, Value)> = vec![
        (
            "no invokingEvent",
            change(|ev, inv| {
                ev.as_object_mut().unwrap().remove("invokingEvent");
                *inv = Value::Null;
            }),
        ),
        (
            "invokingEvent a number",
            change(|ev, inv| {
                ev["invokingEvent"] = json!(42);
                *inv = Value::Null;
            }),
        ),
        (
            "invokingEvent not JSON",
            change(|ev, inv| {
                ev["invokingEvent"] = json!("{\"configurationItem\": ");
                *inv = Value::Null;
            }),
        ),
        (
            "no messageType",
            change(|_, inv| {
                inv.as_object_mut().unwrap().remove("messageType");
            }),
        ),
        (
            "messageType unknown",
            change(|_, inv| inv["messageType"] = json!("SurpriseNotification")),
        ),
        (
            "no resourceId",
            change(|_, inv| {
                inv["configurationItem"]
                    .as_object_mut()
                    .unwrap()
                    .remove("resourceId");
            }),
        ),
        (
            "resourceId a number",
            change(|_, inv| inv["configurationItem"]["resourceId"] = json!(7)),
        ),
        (
            "capture time not a time",
            change(|_, inv| {
                inv["configurationItem"]["configurationItemCaptureTime"] = json!("soon")
            }),
        ),
    ];
    for (what, ev) in cases {
        match bucket_rule(ev) {
            Err(t) => assert!(t == invalid || t.starts_with("serde:"), "{what}: {t}"),
            Ok(sent) => panic!("{what}: evaluated {sent:?}"),
        }
    }
}

#[test]
fn wrongly_typed_rule_parameters_are_invalid_parameters() {
    for params in [
        json!("{\"ApprovedVpceIds\": 5}"),
        json!("{\"RequireTlsVersion\": \"1.9\"}"),
    ] {
        let ev = change(|ev, _| ev["ruleParameters"] = params.clone());
        assert_eq!(
            bucket_rule(ev),
            Err("VpceGuard.InvalidParameter".to_string()),
            "{params}"
        );
    }
}

#[test]
fn rule_parameters_that_are_not_json_make_the_event_invalid() {
    let ev = change(|ev, _| ev["ruleParameters"] = json!("not json"));
    assert_eq!(bucket_rule(ev), Err("VpceGuard.InvalidEvent".to_string()));
}

#[test]
fn extra_fields_are_ignored_and_the_item_still_judged() {
    let ev = change(|ev, inv| {
        ev["surprise"] = json!({"nested": [1, 2, 3]});
        inv["alsoNew"] = json!(true);
        inv["configurationItem"]["futureField"] = json!({"x": null});
    });
    let sent = bucket_rule(ev).unwrap();
    assert_eq!(sent.len(), 1);
}

#[test]
fn enormous_fields_are_judged_quickly_and_never_compliant() {
    // A 5 MiB policy in the item: far beyond S3's 20 KB, refused as a policy.
    let huge_policy = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"{}\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}]}}",
        "x".repeat(5 * MIB)
    );
    let ev = change(|_, inv| {
        inv["configurationItem"]["supplementaryConfiguration"]["BucketPolicy"]["policyText"] =
            json!(huge_policy);
    });
    match bucket_rule(ev) {
        Ok(sent) => assert!(sent.iter().all(|c| *c != Compliance::Compliant), "{sent:?}"),
        Err(t) => assert_eq!(t, "VpceGuard.InvalidEvent"),
    }
    // A 2 MiB result token and a 2 MiB resource name: an answer, no panic.
    let ev = change(|ev, inv| {
        ev["resultToken"] = json!("t".repeat(2 * MIB));
        inv["configurationItem"]["resourceName"] = json!("n".repeat(2 * MIB));
    });
    let _ = bucket_rule(ev);
}

/// The watcher on the in-memory account: ignored (why), or the findings published.
fn watcher(ev: Value) -> Result<Result<Option<String>, String>, String> {
    let event: WatcherEvent = serde_json::from_value(ev).map_err(|e| format!("serde: {e}"))?;
    let aws = checks::account();
    let t = Instant::now();
    let out = block_on(watch(
        &aws,
        &Warm::default(),
        &WatcherSettings::default(),
        &event,
        1.8e9,
    ));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    Ok(out
        .map(|o| o.ignored)
        .map_err(|e| e.error_type().to_string()))
}

#[test]
fn cloudtrail_events_with_hostile_fields_are_ignored_or_refused() {
    let base = || {
        let mut ev = event_file("watcher-put-bucket-policy-assumed-role.json");
        ev["detail"]["requestParameters"]["bucketName"] = json!("private");
        ev
    };
    // The control: handled.
    assert_eq!(watcher(base()), Ok(Ok(None)));
    let cases: Vec<(&str, Value)> = vec![
        ("bucketName a number", {
            let mut ev = base();
            ev["detail"]["requestParameters"]["bucketName"] = json!(12);
            ev
        }),
        ("no requestParameters", {
            let mut ev = base();
            ev["detail"]
                .as_object_mut()
                .unwrap()
                .remove("requestParameters");
            ev
        }),
        ("requestParameters a string of 4 MiB", {
            let mut ev = base();
            ev["detail"]["requestParameters"] = json!("p".repeat(4 * MIB));
            ev
        }),
        ("a bucket name of 1 MiB", {
            let mut ev = base();
            ev["detail"]["requestParameters"]["bucketName"] = json!("b".repeat(MIB));
            ev
        }),
        ("eventName a list", {
            let mut ev = base();
            ev["detail"]["eventName"] = json!(["PutBucketPolicy"]);
            ev
        }),
        ("no detail", {
            let mut ev = base();
            ev.as_object_mut().unwrap().remove("detail");
            ev
        }),
    ];
    for (what, ev) in cases {
        match watcher(ev) {
            Err(serde) => assert!(serde.starts_with("serde:"), "{what}: {serde}"),
            Ok(Ok(Some(_ignored))) => {}
            Ok(Ok(None)) => panic!("{what}: handled as if valid"),
            Ok(Err(t)) => assert!(t.starts_with("VpceGuard."), "{what}: {t}"),
        }
    }
}

#[test]
fn hostile_sqs_records_fail_alone() {
    let good = event_file("notifier-sqs-batch.json")["Records"][1].clone();
    let mut records = vec![good];
    for (i, body) in [
        json!("x".repeat(MIB)),
        Value::Null,
        json!(17),
        json!("{\"detail-type\": \"Config Rules Compliance Change\", \"detail\": 5}"),
    ]
    .into_iter()
    .enumerate()
    {
        records.push(json!({"messageId": format!("bad-{i}"), "body": body, "eventSource": "aws:sqs", "extra": {"a": 1}}));
    }
    let event: SqsEvent = match serde_json::from_value(json!({ "Records": records })) {
        Ok(e) => e,
        // A body that is not a string at all does not read as an SQS batch: Lambda's own
        // deserialization fails the invocation, which SQS retries whole.
        Err(_) => {
            records.retain(|r| r["body"].is_string() || r["body"].is_null());
            serde_json::from_value(json!({ "Records": records })).unwrap()
        }
    };
    let slack = checks::CountingSlack::default();
    let cfg = NotifierSettings {
        rule_names: vec!["vpce-guard-bucket".into()],
        ..NotifierSettings::default()
    };
    let (resp, _) = block_on(notify(
        &MemoryStateTable::default(),
        &slack,
        &cfg,
        &event,
        1_800_000_000,
        Duration::from_secs(0),
    ));
    let failed: Vec<String> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let bad: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .filter(|id| id.starts_with("bad-"))
        .collect();
    assert_eq!(failed, bad, "only the hostile records fail");
    assert_eq!(
        slack.posted.lock().unwrap().len(),
        1,
        "the good record posts"
    );
}
