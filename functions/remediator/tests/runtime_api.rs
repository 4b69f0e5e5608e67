//! The remediator run as Lambda runs it: the built binary against a local Runtime API, with S3,
//! EC2, STS and EventBridge in moto. The manual trigger's payload is the file the SSM Automation
//! document of template.yaml sends (tests/template checks the two agree); moto implements
//! neither SSM Automation executions nor Config remediation, so this is where the payload
//! reaches the function.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use vpce_guard::ports::PolicyStore;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::Seed;
use vpce_guard_tests::{function_env, sample_event};

const REGION: &str = "us-east-1";
const BUCKET: &str = "amzn-s3-demo-bucket";
const TIMEOUT: Duration = Duration::from_secs(120);
/// moto's caller, as the function's own role ARN stands in the template.
const CALLER: &str = "arn:aws:sts::123456789012:user/moto";

fn start(mode: &str) -> (Moto, ConfigRecorder, LambdaRuntime, Seed) {
    start_with(mode, Vec::new(), None)
}

/// `start`, with more variables for the function and an SSM parameter (name, value) seeded
/// before its init reads them.
fn start_with(
    mode: &str,
    extra: Vec<(&'static str, String)>,
    parameter: Option<(&str, &str)>,
) -> (Moto, ConfigRecorder, LambdaRuntime, Seed) {
    let moto = Moto::start();
    let seed = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        seed.reference_vpc(REGION, "10.30.0.0/16").await;
        seed.bucket(BUCKET, REGION, None, true, None).await;
        if let Some((name, value)) = parameter {
            seed.ssm_parameter(name, value).await;
        }
        seed
    });
    let recorder = ConfigRecorder::start(moto.port);
    let mut env = function_env(&moto, &recorder, REGION);
    env.push(("REMEDIATION_MODE", mode.to_string()));
    env.push(("CALLER_PRINCIPAL_ARN", CALLER.to_string()));
    env.push(("EXEMPT_PRINCIPAL_ARNS", CALLER.to_string()));
    env.push((
        "GUARD_PRINCIPAL_ARNS",
        "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole".to_string(),
    ));
    env.push(("BUCKET_RULE_NAME", "vpce-guard-bucket".to_string()));
    env.extend(extra);
    let lambda = LambdaRuntime::start(Path::new(env!("CARGO_BIN_EXE_remediator")), &env);
    (moto, recorder, lambda, seed)
}

/// Fifty exempt principals do not fit Config's `InputParameters`; from an SSM parameter (read
/// at init, `EXEMPT_PRINCIPAL_ARNS_PARAMETER`) every one of them is exempted in the deny the
/// function writes, beside the one from the environment.
#[test]
fn fifty_exempt_principals_from_an_ssm_parameter_are_all_in_the_written_deny() {
    const NAME: &str = "/vpce-guard/exempt-principal-arns";
    let arns: Vec<String> = (0..50)
        .map(|i| format!("arn:aws:iam::123456789012:role/break-glass/BreakGlass{i:02}"))
        .collect();
    let (_moto, _rec, mut lambda, seed) = start_with(
        "DryRun",
        vec![("EXEMPT_PRINCIPAL_ARNS_PARAMETER", NAME.to_string())],
        Some((NAME, &arns.join(","))),
    );
    let out = lambda
        .invoke(&sample_event("remediator-config-remediation.json"), TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["outcome"], "applied", "{out}");
    let written: Value =
        serde_json::from_str(&run(seed.c.get_policy(BUCKET, REGION)).unwrap().unwrap()).unwrap();
    let deny = written["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "VpceGuardDenyOutsideVpce")
        .unwrap_or_else(|| panic!("no endpoint deny in {written}"));
    let exempted = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"].clone();
    for arn in arns.iter().chain([&CALLER.to_string()]) {
        assert!(
            exempted
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == arn.as_str())),
            "{arn} not exempted: {exempted}"
        );
    }
    lambda.stop();
}

#[test]
fn the_ssm_payload_writes_in_dry_run_and_nothing_is_written_when_disabled() {
    let payload = sample_event("remediator-config-remediation.json");
    let (_moto, _rec, mut lambda, seed) = start("DryRun");
    let out = lambda
        .invoke(&payload, TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(out["trigger"], "config-remediation");
    assert_eq!(out["previous_policy"], Value::Null);
    let written: Value =
        serde_json::from_str(&run(seed.c.get_policy(BUCKET, REGION)).unwrap().unwrap()).unwrap();
    assert_eq!(written, out["new_policy"]);
    lambda.stop();

    let (_moto, _rec, mut lambda, seed) = start("Disabled");
    let out = lambda
        .invoke(&payload, TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["outcome"], "planned", "{out}");
    assert!(run(seed.c.get_policy(BUCKET, REGION)).unwrap().is_none());
    lambda.stop();
}

#[test]
fn an_unknown_trigger_fails_the_invocation() {
    let (_moto, _rec, mut lambda, _seed) = start("Enforce");
    let bad = serde_json::json!({"bucket": BUCKET, "trigger": "please"});
    let err = lambda.invoke(&bad, TIMEOUT).unwrap_err();
    assert!(err.to_string().contains("unknown trigger"), "{err}");
    // By cause, never the Rust type's name.
    assert_eq!(err["errorType"], "VpceGuard.InvalidEvent", "{err}");
    let err = lambda.invoke(&serde_json::json!(42), TIMEOUT).unwrap_err();
    assert_eq!(err["errorType"], "VpceGuard.InvalidEvent", "{err}");
    lambda.stop();
}

/// What one remediation costs, whatever the region holds: the region's S3 endpoints (one
/// filtered call, no other EC2 read), the bucket's policy and tags, the write and its
/// verification, and the event.
#[test]
fn one_remediation_costs_the_same_with_one_vpc_or_four() {
    let mut costs = Vec::new();
    for extra_vpcs in [0, 3] {
        let (moto, _rec, mut lambda, seed) = start("Enforce");
        run(async {
            for i in 0..extra_vpcs {
                seed.reference_vpc(REGION, &format!("10.{}.0.0/16", 40 + i))
                    .await;
            }
        });
        moto.start_recording();
        let out = lambda
            .invoke(&sample_event("remediator-config-remediation.json"), TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out["outcome"], "applied", "{out}");
        let calls = moto.recorded_calls();
        let expected: std::collections::BTreeMap<String, u64> = [
            ("ec2:DescribeVpcEndpoints", 1),
            // PutEvents, as moto's recorder names it.
            ("events:POST /", 1),
            ("s3:GetBucketLocation", 1),
            // The read, the re-read right before the write, the verification.
            ("s3:GetBucketPolicy", 3),
            ("s3:GetBucketTagging", 1),
            ("s3:PutBucketPolicy", 1),
            ("sts:GetCallerIdentity", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(calls, expected, "{extra_vpcs} extra VPCs");
        costs.push(calls);
        lambda.stop();
    }
    assert_eq!(costs[0], costs[1], "the cost depends on the region's size");
}
