//! The bucket rule run as Lambda runs it: the built binary against a local Runtime API, S3 and
//! EC2 in moto, Config's `PutEvaluations` in a recording endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{json, Value};
use vpce_guard::policy::date::parse_date;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed};
use vpce_guard_tests::{edit_invoking_event, function_env, sample_event};

const REGION: &str = "us-east-1";
const TIMEOUT: Duration = Duration::from_secs(120);

struct Harness {
    moto: Moto,
    recorder: ConfigRecorder,
    lambda: LambdaRuntime,
    vpce: String,
}

use vpce_guard_tests::block_on as run;

/// moto with a reference VPC and endpoint, the recorder, and the function started.
fn harness() -> Harness {
    let moto = Moto::start();
    let vpce = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        seed.reference_vpc(REGION, "10.10.0.0/16").await.1
    });
    let recorder = ConfigRecorder::start(moto.port);
    let lambda = LambdaRuntime::start(
        Path::new(env!("CARGO_BIN_EXE_bucket-rule")),
        &function_env(&moto, &recorder, REGION),
    );
    Harness {
        moto,
        recorder,
        lambda,
        vpce,
    }
}

fn seed_bucket(h: &Harness, name: &str, private: bool) {
    run(async {
        let seed = Seed::new(&h.moto.endpoint(), REGION).await;
        let policy = private.then(|| private_bucket_policy(name, &h.vpce));
        seed.bucket(
            name,
            REGION,
            policy.as_deref(),
            private,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
    });
}

/// The change event of `events/`, pointed at `bucket` with `policy` in the item.
fn change_event(bucket: &str, policy: Option<&str>) -> Value {
    let mut ev = sample_event("bucket-rule-change.json");
    edit_invoking_event(&mut ev, |inv| {
        let item = &mut inv["configurationItem"];
        item["resourceId"] = json!(bucket);
        item["resourceName"] = json!(bucket);
        item["configuration"]["name"] = json!(bucket);
        item["supplementaryConfiguration"]["BucketPolicy"]["policyText"] = match policy {
            Some(p) => json!(p),
            None => Value::Null,
        };
    });
    ev
}

fn epoch(iso: &str) -> f64 {
    parse_date(iso).unwrap()
}

#[test]
fn change_notification_evaluates_from_the_item_and_reports_exactly() {
    let mut h = harness();
    seed_bucket(&h, "change-bucket", true);
    let policy = private_bucket_policy("change-bucket", &h.vpce);
    let out = h
        .lambda
        .invoke(&change_event("change-bucket", Some(&policy)), TIMEOUT)
        .unwrap();
    assert_eq!(out["evaluations"], 1);
    // The item carries the policy and Block Public Access: only ownership is read from S3.
    let calls = &out["api_calls"];
    assert_eq!(calls.get("s3:GetBucketPolicy"), None, "{calls}");
    assert_eq!(calls.get("s3:GetPublicAccessBlock"), None, "{calls}");
    assert_eq!(calls["s3:GetBucketOwnershipControls"], 1, "{calls}");
    let puts = h.recorder.with(|r| r.put_evaluations());
    assert_eq!(puts.len(), 1);
    let put = &puts[0];
    assert_eq!(put["ResultToken"], "myResultToken");
    assert!(
        put.get("TestMode").is_none() || put["TestMode"] == false,
        "{put}"
    );
    let e = &put["Evaluations"][0];
    assert_eq!(e["ComplianceResourceType"], "AWS::S3::Bucket");
    assert_eq!(e["ComplianceResourceId"], "change-bucket");
    assert_eq!(e["ComplianceType"], "COMPLIANT");
    assert_eq!(
        e["OrderingTimestamp"].as_f64().unwrap(),
        epoch("2026-11-27T10:15:00.000Z")
    );
    let annotation = e["Annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with("S3-SIGV4: "),
        "warnings only: {annotation}"
    );
    assert!(annotation.chars().count() <= 256);

    // The same bucket without a policy in the item: NON_COMPLIANT, failures first.
    let out = h
        .lambda
        .invoke(&change_event("change-bucket", None), TIMEOUT)
        .unwrap();
    assert_eq!(out["compliance"]["change-bucket"], "NON_COMPLIANT");
    let puts = h.recorder.with(|r| r.put_evaluations());
    let a = puts[1]["Evaluations"][0]["Annotation"].as_str().unwrap();
    assert!(a.starts_with("S3-VPCE-DENY: no bucket policy"), "{a}");

    // The log an operator queries: one JSON line per evaluated resource, one summary line.
    let logs = h.lambda.json_logs_when(
        |l| {
            l.iter()
                .filter(|x| x["fields"]["message"] == "invocation")
                .count()
                >= 2
        },
        TIMEOUT,
    );
    let fields = |message: &str| -> Vec<Value> {
        logs.iter()
            .filter(|l| l["fields"]["message"] == message)
            .map(|l| l["fields"].clone())
            .collect()
    };
    let evaluations = fields("evaluation");
    assert_eq!(evaluations.len(), 2, "{logs:#?}");
    assert_eq!(evaluations[0]["resource"], "change-bucket");
    assert_eq!(evaluations[0]["resource_type"], "AWS::S3::Bucket");
    assert_eq!(evaluations[0]["compliance"], "COMPLIANT");
    assert_eq!(evaluations[0]["failing_rules"], "");
    assert_eq!(evaluations[1]["compliance"], "NON_COMPLIANT");
    assert!(
        evaluations[1]["failing_rules"]
            .as_str()
            .unwrap()
            .contains("S3-VPCE-DENY"),
        "{}",
        evaluations[1]
    );
    let summaries = fields("invocation");
    assert_eq!(summaries.len(), 2, "{logs:#?}");
    let s = &summaries[0];
    assert_eq!(s["notification"], "ConfigurationItemChangeNotification");
    assert_eq!(s["rule"], "bucket-rule");
    assert_eq!(s["resources"], 1);
    assert_eq!(s["evaluations_sent"], 1);
    assert_eq!(s["aws_calls"], 4, "{s}");
    let by_op: Value = serde_json::from_str(s["api_calls"].as_str().unwrap()).unwrap();
    assert_eq!(by_op["ec2:DescribeVpcEndpoints"], 1, "{s}");
    assert!(s["duration_ms"].is_u64(), "{s}");
    assert!(logs.iter().all(|l| l["level"] != "ERROR"), "{logs:#?}");
}

#[test]
fn testmode_deleted_and_left_scope_are_not_applicable() {
    let mut h = harness();
    let mut ev = change_event("deleted-bucket", None);
    ev["resultToken"] = json!("TESTMODE");
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItem"]["configurationItemStatus"] = json!("ResourceDeleted")
    });
    h.lambda.invoke(&ev, TIMEOUT).unwrap();
    let mut left = change_event("left-bucket", None);
    left["eventLeftScope"] = json!(true);
    h.lambda.invoke(&left, TIMEOUT).unwrap();
    let puts = h.recorder.with(|r| r.put_evaluations());
    assert_eq!(puts[0]["TestMode"], true);
    assert_eq!(
        puts[0]["Evaluations"][0]["ComplianceType"],
        "NOT_APPLICABLE"
    );
    assert_eq!(
        puts[0]["Evaluations"][0]["ComplianceResourceId"],
        "deleted-bucket"
    );
    assert_eq!(
        puts[1]["Evaluations"][0]["ComplianceType"],
        "NOT_APPLICABLE"
    );
    assert_eq!(
        puts[1]["Evaluations"][0]["ComplianceResourceId"],
        "left-bucket"
    );
}

#[test]
fn oversized_notification_fetches_the_item_from_config() {
    let mut h = harness();
    seed_bucket(&h, "oversized-bucket", true);
    let mut ev = sample_event("bucket-rule-oversized.json");
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItemSummary"]["resourceId"] = json!("oversized-bucket");
        inv["configurationItemSummary"]["resourceName"] = json!("oversized-bucket");
    });
    let out = h.lambda.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(out["evaluations"], 1, "{out}");
    assert_eq!(h.recorder.with(|r| r.count("GetResourceConfigHistory")), 1);
    let puts = h.recorder.with(|r| r.put_evaluations());
    let e = &puts[0]["Evaluations"][0];
    assert_eq!(e["ComplianceResourceId"], "oversized-bucket");
    assert_eq!(e["ComplianceType"], "COMPLIANT", "{e}");
}

#[test]
fn periodic_sweep_of_250_buckets_batches_and_marks_vanished_ones() {
    let mut h = harness();
    run(async {
        let seed = Seed::new(&h.moto.endpoint(), REGION).await;
        for i in 0..250 {
            let name = format!("sweep-{i:03}");
            let policy = (i % 2 == 0).then(|| private_bucket_policy(&name, &h.vpce));
            seed.bucket(
                &name,
                REGION,
                policy.as_deref(),
                true,
                Some(ObjectOwnership::BucketOwnerEnforced),
            )
            .await;
        }
    });
    h.recorder.with(|r| {
        r.previously_evaluated = vec![("AWS::S3::Bucket".into(), "sweep-vanished".into())]
    });
    let out = h
        .lambda
        .invoke(&sample_event("bucket-rule-periodic.json"), TIMEOUT)
        .unwrap();
    assert_eq!(out["evaluations"], 251, "{out}");
    let puts = h.recorder.with(|r| r.put_evaluations());
    let sizes: Vec<usize> = puts
        .iter()
        .map(|p| p["Evaluations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 51]);
    let all: Vec<&Value> = puts
        .iter()
        .flat_map(|p| p["Evaluations"].as_array().unwrap())
        .collect();
    let ts = epoch("2026-11-27T12:00:00.000Z");
    assert!(all
        .iter()
        .all(|e| e["OrderingTimestamp"].as_f64() == Some(ts)));
    let vanished = all
        .iter()
        .find(|e| e["ComplianceResourceId"] == "sweep-vanished")
        .unwrap();
    assert_eq!(vanished["ComplianceType"], "NOT_APPLICABLE");
    let compliant = all
        .iter()
        .filter(|e| e["ComplianceType"] == "COMPLIANT")
        .count();
    assert_eq!(compliant, 125);
    // Config's inventory: 1 list page, 3 batches of at most 100.
    assert_eq!(h.recorder.with(|r| r.count("BatchGetResourceConfig")), 3);
    assert_eq!(
        h.recorder
            .with(|r| r.count("GetComplianceDetailsByConfigRule")),
        1
    );
    let calls = &out["api_calls"];
    eprintln!("250-bucket periodic sweep, AWS calls: {calls}");
    assert_eq!(calls["config:PutEvaluations"], 3);
    assert_eq!(calls["config:BatchGetResourceConfig"], 3);
    // Network facts once for the region.
    assert_eq!(calls["ec2:DescribeVpcEndpoints"], 1);
}

#[test]
fn failed_evaluations_are_retried_then_fail_the_invocation() {
    let mut h = harness();
    seed_bucket(&h, "retry-bucket", true);
    let policy = private_bucket_policy("retry-bucket", &h.vpce);
    h.recorder.with(|r| r.fail_evaluations = 1);
    h.lambda
        .invoke(&change_event("retry-bucket", Some(&policy)), TIMEOUT)
        .unwrap();
    assert_eq!(
        h.recorder.with(|r| r.count("PutEvaluations")),
        2,
        "one failed, one retried"
    );
    h.recorder.with(|r| r.fail_evaluations = 100);
    let err = h
        .lambda
        .invoke(&change_event("retry-bucket", Some(&policy)), TIMEOUT)
        .unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.Transient.EvaluationsRejected");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("rejected 1 evaluation(s) after 3 attempts: retry-bucket"),
        "{err}"
    );
    assert_eq!(h.recorder.with(|r| r.count("PutEvaluations")), 2 + 3);
}

#[test]
fn throttled_put_evaluations_is_retried_then_fails_the_invocation() {
    let mut h = harness();
    seed_bucket(&h, "throttle-bucket", true);
    let policy = private_bucket_policy("throttle-bucket", &h.vpce);
    h.recorder.with(|r| r.throttle = 2);
    h.lambda
        .invoke(&change_event("throttle-bucket", Some(&policy)), TIMEOUT)
        .unwrap();
    assert_eq!(
        h.recorder.with(|r| r.count("PutEvaluations")),
        3,
        "two throttled, then accepted"
    );
    h.recorder.with(|r| r.throttle = 100);
    let err = h
        .lambda
        .invoke(&change_event("throttle-bucket", Some(&policy)), TIMEOUT)
        .unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.Transient.Throttled", "{err}");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    // The failure is logged with its type and whether it is transient.
    let logged = h
        .lambda
        .json_logs_when(
            |l| {
                l.iter()
                    .any(|x| x["fields"]["message"] == "invocation failed")
            },
            TIMEOUT,
        )
        .into_iter()
        .find(|l| l["fields"]["message"] == "invocation failed")
        .unwrap();
    assert_eq!(logged["level"], "ERROR");
    assert_eq!(
        logged["fields"]["error_type"],
        "VpceGuard.Transient.Throttled"
    );
    assert_eq!(logged["fields"]["transient"], true);
}

#[test]
fn an_invalid_rule_parameter_fails_the_invocation_naming_it() {
    let mut h = harness();
    let mut ev = change_event("any-bucket", None);
    ev["ruleParameters"] = json!("{\"ApprovedVpceIds\":\"not-an-endpoint\"}");
    let err = h.lambda.invoke(&ev, TIMEOUT).unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.InvalidParameter", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("ApprovedVpceIds"),
        "{err}"
    );
    let err = h
        .lambda
        .invoke(&json!({"hello": "world"}), TIMEOUT)
        .unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.InvalidEvent", "{err}");
    assert_eq!(
        err["errorMessage"],
        "invalid rule event: `invokingEvent` is missing"
    );
    // A capture time that is not a date fails the invocation rather than ordering at 1970.
    let mut ev = change_event("any-bucket", None);
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItem"]["configurationItemCaptureTime"] = json!("27/11/2026 10:15")
    });
    let err = h.lambda.invoke(&ev, TIMEOUT).unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.InvalidEvent", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("`configurationItemCaptureTime` is not a date"),
        "{err}"
    );
    // A payload of the wrong shape (here `invokingEvent` a number, not a JSON string) is the
    // product's own InvalidEvent too, never the runtime's deserializer type.
    for bad in [json!({"invokingEvent": 5}), json!([1, 2, 3]), json!("text")] {
        let err = h.lambda.invoke(&bad, TIMEOUT).unwrap_err();
        assert_eq!(err["errorType"], "VpceGuard.InvalidEvent", "{bad}: {err}");
    }
    assert_eq!(h.recorder.with(|r| r.count("PutEvaluations")), 0);
}
