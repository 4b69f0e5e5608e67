//! The functions, run as Lambda runs them, with the fault proxy between them and moto (S3, EC2,
//! STS, EventBridge, DynamoDB, Secrets Manager) and between them and the Config recorder.
//! Transient faults are retried and change nothing; persistent ones fail the invocation (or,
//! for the notifier, its records) so that Config, EventBridge or SQS retries: never a wrong
//! COMPLIANT, never a finding or a message silently lost, never one posted twice, never a
//! policy left half-written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{json, Value};
use vpce_guard::ports::PolicyStore;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::fault::{Fault, FaultProxy};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed};
use vpce_guard_tests::slack::SlackSink;
use vpce_guard_tests::{edit_invoking_event, function_binary, function_env, sample_event};

const REGION: &str = "us-east-1";
const PRIVATE: &str = "faults-private";
const OPEN: &str = "faults-open";
const TABLE: &str = "vpce-guard-notifier-state";
const TIMEOUT: Duration = Duration::from_secs(120);

/// moto with a reference VPC, a private bucket and one without policy; the recorder; a proxy
/// in front of each.
struct World {
    moto: Moto,
    seed: Seed,
    vpc: String,
    vpce: String,
    recorder: ConfigRecorder,
    aws: FaultProxy,
    config: FaultProxy,
}

fn world() -> World {
    let moto = Moto::start();
    let (seed, vpc, vpce) = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let (vpc, vpce) = seed.reference_vpc(REGION, "10.50.0.0/16").await;
        let enforced = || Some(ObjectOwnership::BucketOwnerEnforced);
        let policy = private_bucket_policy(PRIVATE, &vpce);
        seed.bucket(PRIVATE, REGION, Some(&policy), true, enforced())
            .await;
        seed.bucket(OPEN, REGION, None, true, enforced()).await;
        (seed, vpc.vpc_id, vpce)
    });
    let recorder = ConfigRecorder::start(moto.port);
    let aws = FaultProxy::start(moto.port);
    let config = FaultProxy::start(recorder.port);
    World {
        moto,
        seed,
        vpc,
        vpce,
        recorder,
        aws,
        config,
    }
}

impl World {
    /// A function's environment with every AWS call through the proxies, and the SDK's
    /// retries cut to three attempts (the product's five would make each persistent fault
    /// wait out about 15 s of backoff).
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = function_env(&self.moto, &self.recorder, REGION);
        env.push(("AWS_MAX_ATTEMPTS", "3".to_string()));
        for (k, v) in env.iter_mut() {
            match *k {
                "AWS_ENDPOINT_URL" => *v = self.aws.endpoint(),
                "AWS_ENDPOINT_URL_CONFIG_SERVICE" => *v = self.config.endpoint(),
                _ => {}
            }
        }
        env
    }

    /// The compliance of every evaluation the recorder received, in order.
    fn evaluations(&self) -> Vec<(String, String)> {
        self.recorder.with(|r| {
            r.put_evaluations()
                .iter()
                .flat_map(|p| p["Evaluations"].as_array().cloned().unwrap_or_default())
                .map(|e| {
                    (
                        e["ComplianceResourceId"].as_str().unwrap_or("").to_string(),
                        e["ComplianceType"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
    }
}

/// Each fault, on its operation, for good: the rule sends nothing COMPLIANT, and either sends
/// an evaluation or fails its invocation (so that Config runs it again).
fn never_compliant(w: &World, f: &mut LambdaRuntime, ev: &Value, faults: &[(&str, Fault)]) {
    for &(op, fault) in faults {
        w.aws.heal();
        w.aws.always(op, fault);
        let before = w.evaluations().len();
        let outcome = f.invoke(ev, TIMEOUT);
        let sent = &w.evaluations()[before..];
        assert!(
            sent.iter().all(|(_, c)| c != "COMPLIANT"),
            "{op} {fault:?}: {sent:?} ({outcome:?})"
        );
        if outcome.is_ok() {
            assert!(!sent.is_empty(), "{op} {fault:?}: an evaluation lost");
        }
    }
}

/// The bucket rule's change event for the private bucket, its policy in the item.
fn change_event(w: &World) -> Value {
    let mut ev = sample_event("bucket-rule-change.json");
    let policy = private_bucket_policy(PRIVATE, &w.vpce);
    edit_invoking_event(&mut ev, |inv| {
        let item = &mut inv["configurationItem"];
        item["resourceId"] = json!(PRIVATE);
        item["resourceName"] = json!(PRIVATE);
        item["configuration"]["name"] = json!(PRIVATE);
        item["supplementaryConfiguration"]["BucketPolicy"]["policyText"] = json!(policy);
    });
    ev
}

#[test]
fn the_bucket_rule_retries_transient_faults_and_never_reports_a_wrong_compliant() {
    let w = world();
    let mut f = LambdaRuntime::start(&function_binary("bucket-rule"), &w.env());
    let ev = change_event(&w);
    f.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(
        w.evaluations(),
        [(PRIVATE.to_string(), "COMPLIANT".to_string())]
    );

    // Transient: the endpoint read throttled twice, the evaluations' connection reset once.
    w.aws.times("DescribeVpcEndpoints", Fault::Throttle, 2);
    w.config.times("PutEvaluations", Fault::Reset, 1);
    f.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(w.aws.injected("DescribeVpcEndpoints"), 2);
    assert_eq!(w.config.injected("PutEvaluations"), 1);
    assert_eq!(w.evaluations().len(), 2);
    assert_eq!(w.evaluations()[1].1, "COMPLIANT");

    // Persistent, on each read the verdict rests on: the invocation fails (Config retries),
    // and nothing COMPLIANT reaches Config.
    never_compliant(
        &w,
        &mut f,
        &ev,
        &[
            ("DescribeVpcEndpoints", Fault::ServerError),
            ("DescribeVpcEndpoints", Fault::Truncate),
            ("GetBucketOwnershipControls", Fault::Throttle),
            ("GetBucketOwnershipControls", Fault::Reset),
        ],
    );

    // Config itself unreachable: the invocation fails, transient, so Config runs it again.
    w.aws.heal();
    w.config.heal();
    w.config.always("PutEvaluations", Fault::ServerError);
    let err = f.invoke(&ev, TIMEOUT).unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.Transient.Unavailable", "{err}");
    assert!(w.config.seen("PutEvaluations") >= 3, "not retried");
    f.stop();
}

#[test]
fn the_network_rule_retries_transient_faults_and_never_reports_a_wrong_compliant() {
    let w = world();
    let mut f = LambdaRuntime::start(&function_binary("network-rule"), &w.env());
    let mut ev = sample_event("network-rule-change-vpc.json");
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItem"]["resourceId"] = json!(w.vpc)
    });
    f.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(w.evaluations(), [(w.vpc.clone(), "COMPLIANT".to_string())]);

    // Transient: each of the VPC's reads fails once.
    for op in [
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeVpcEndpoints",
        "DescribeVpcAttribute",
    ] {
        w.aws.times(op, Fault::Throttle, 1);
    }
    f.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(w.evaluations().len(), 2);
    assert_eq!(w.evaluations()[1].1, "COMPLIANT");
    assert_eq!(w.aws.injected("DescribeRouteTables"), 1);

    // Persistent: nothing COMPLIANT reaches Config.
    never_compliant(
        &w,
        &mut f,
        &ev,
        &[
            ("DescribeRouteTables", Fault::ServerError),
            ("DescribeVpcAttribute", Fault::Reset),
            ("DescribeSecurityGroups", Fault::Truncate),
            ("DescribeVpcEndpoints", Fault::Throttle),
        ],
    );
    f.stop();
}

#[test]
fn the_watcher_publishes_every_finding_or_fails_its_invocation() {
    let w = world();
    let mut env = w.env();
    env.push((
        "GUARD_PRINCIPAL_ARNS",
        "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole".to_string(),
    ));
    let mut f = LambdaRuntime::start(&function_binary("change-watcher"), &env);
    let mut ev = sample_event("watcher-put-bucket-policy-assumed-role.json");
    ev["detail"]["requestParameters"]["bucketName"] = json!(PRIVATE);

    // PutEvents fails once: retried, the invocation succeeds.
    w.aws.times("PutEvents", Fault::ServerError, 1);
    let out = f.invoke(&ev, TIMEOUT).unwrap();
    assert_eq!(w.aws.injected("PutEvents"), 1);
    assert!(w.aws.seen("PutEvents") >= 2, "{out}");

    // PutEvents always fails: the invocation fails, so EventBridge retries it.
    w.aws.always("PutEvents", Fault::Throttle);
    assert!(f.invoke(&ev, TIMEOUT).is_err());

    // The bucket's policy cannot be read: no finding claims it is compliant.
    w.aws.heal();
    w.aws.always("GetBucketPolicy", Fault::Reset);
    match f.invoke(&ev, TIMEOUT) {
        Err(_) => {}
        Ok(out) => assert!(!out.to_string().contains("\"COMPLIANT\""), "{out}"),
    }
    f.stop();
}

#[test]
fn the_notifier_with_its_table_unreachable_neither_drops_nor_duplicates() {
    let w = world();
    let slack = SlackSink::start();
    let secret = run(w.seed.notifier_resources(TABLE, &slack.url()));
    let mut env = w.env();
    env.push(("SLACK_WEBHOOK_SECRET_ARN", secret));
    env.push(("STATE_TABLE_NAME", TABLE.to_string()));
    env.push(("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()));
    env.push(("NETWORK_RULE_NAME", "vpce-guard-network".to_string()));
    let mut f = LambdaRuntime::start(&function_binary("slack-notifier"), &env);
    let batch = sample_event("notifier-sqs-batch.json");
    let ids: Vec<String> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_string())
        .collect();
    let failures = |out: &Value| -> Vec<String> {
        let mut v: Vec<String> = out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let mut all = ids.clone();
    all.sort();

    // DynamoDB unreachable (every kind of fault in turn): every record back to SQS, nothing
    // posted.
    for fault in [
        Fault::Reset,
        Fault::ServerError,
        Fault::Throttle,
        Fault::Truncate,
    ] {
        w.aws.heal();
        w.aws.always("GetItem", fault);
        let out = f.invoke(&batch, TIMEOUT).unwrap();
        assert_eq!(failures(&out), all, "{fault:?}: {out}");
        assert!(slack.texts().is_empty(), "{fault:?}: posted without state");
    }
    // Back: SQS delivers the batch again; one message for the one resource.
    w.aws.heal();
    let out = f.invoke(&batch, TIMEOUT).unwrap();
    assert!(failures(&out).is_empty(), "{out}");
    assert_eq!(slack.texts().len(), 1, "{:?}", slack.texts());
    // A redelivery (SQS is at-least-once) posts nothing more.
    let out = f.invoke(&batch, TIMEOUT).unwrap();
    assert!(failures(&out).is_empty(), "{out}");
    assert_eq!(slack.texts().len(), 1, "{:?}", slack.texts());
    f.stop();
}

#[test]
fn the_remediator_function_leaves_the_old_policy_when_its_write_fails() {
    let w = world();
    let mut env = w.env();
    let caller = "arn:aws:sts::123456789012:user/moto";
    env.push(("REMEDIATION_MODE", "Enforce".to_string()));
    env.push(("CALLER_PRINCIPAL_ARN", caller.to_string()));
    env.push(("EXEMPT_PRINCIPAL_ARNS", caller.to_string()));
    env.push((
        "GUARD_PRINCIPAL_ARNS",
        "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole,arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-ChangeWatcherRole".to_string(),
    ));
    env.push(("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()));
    let mut f = LambdaRuntime::start(&function_binary("remediator"), &env);
    let mut payload = sample_event("remediator-config-remediation.json");
    payload["bucket"] = json!(OPEN);
    for fault in [Fault::ServerError, Fault::Reset, Fault::Throttle] {
        w.aws.heal();
        w.aws.always("PutBucketPolicy", fault);
        let out = f.invoke(&payload, TIMEOUT);
        if let Ok(out) = &out {
            assert_ne!(out["outcome"], "applied", "{fault:?}: {out}");
        }
        assert!(
            run(w.seed.c.get_policy(OPEN, REGION)).unwrap().is_none(),
            "{fault:?}: a policy was left"
        );
    }
    w.aws.heal();
    let out = f.invoke(&payload, TIMEOUT).unwrap();
    assert_eq!(out["outcome"], "applied", "{out}");
    f.stop();
}
