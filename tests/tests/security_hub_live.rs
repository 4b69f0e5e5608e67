//! The bucket rule with `SecurityHubFindings` on, run as Lambda runs it, against moto's
//! Security Hub (`BatchImportFindings`, `GetFindings`): the exact ASFF of a failing rule as
//! Security Hub stores it, one `BatchImportFindings` for the bucket's findings, and the same
//! findings re-imported `PASSED` and `ARCHIVED` once the bucket is fixed; a muted bucket's
//! findings suppressed. (`BatchUpdateFindings` is not in moto: a recording endpoint,
//! `vpce_guard_tests::hub_recorder`, answers it and shows the exact request; the in-memory
//! ports cover it too, in shared/tests/config_handlers.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{json, Value};
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::hub_recorder::HubRecorder;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{private_bucket_policy, Seed, MOTO_ACCOUNT};
use vpce_guard_tests::{edit_invoking_event, function_binary, function_env, sample_event};

const REGION: &str = "us-east-1";
const BUCKET: &str = "hub-bucket";
const TIMEOUT: Duration = Duration::from_secs(120);

fn hub(endpoint: &str) -> aws_sdk_securityhub::Client {
    let conf = aws_sdk_securityhub::Config::builder()
        .behavior_version(aws_sdk_securityhub::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_securityhub::config::Region::new(REGION))
        .credentials_provider(aws_sdk_securityhub::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_securityhub::Client::from_conf(conf)
}

/// Run `f` on a thread with room for the SDK's Security Hub deserializers (their frames are
/// large in a debug build: `ResourceDetails` alone has hundreds of fields).
fn big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

/// Every finding moto's Security Hub holds, as (id, rule, compliance, record state).
fn findings(endpoint: &str) -> Vec<(String, String, String, String)> {
    big_stack(|| findings_here(endpoint))
}

fn findings_here(endpoint: &str) -> Vec<(String, String, String, String)> {
    run(Box::pin(async {
        let out = hub(endpoint).get_findings().send().await.unwrap();
        out.findings()
            .iter()
            .map(|f| {
                (
                    f.id().unwrap_or_default().to_string(),
                    f.generator_id().unwrap_or_default().to_string(),
                    f.compliance()
                        .and_then(|c| c.status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    f.record_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }))
}

fn change(policy: Option<&str>) -> Value {
    let mut ev = sample_event("bucket-rule-change.json");
    edit_invoking_event(&mut ev, |inv| {
        let item = &mut inv["configurationItem"];
        item["resourceId"] = json!(BUCKET);
        item["resourceName"] = json!(BUCKET);
        item["awsAccountId"] = json!(MOTO_ACCOUNT);
        item["configuration"]["name"] = json!(BUCKET);
        item["supplementaryConfiguration"]["BucketPolicy"]["policyText"] = json!(policy);
    });
    ev["accountId"] = json!(MOTO_ACCOUNT);
    ev
}

/// moto with a reference VPC, the bucket without a policy, and Security Hub enabled; returns
/// the VPC's endpoint.
fn account_with_hub(moto: &Moto) -> String {
    let vpce = run(Box::pin(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let (_, vpce) = seed.reference_vpc(REGION, "10.60.0.0/16").await;
        seed.bucket(
            BUCKET,
            REGION,
            None,
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        vpce
    }));
    run(Box::pin(async {
        hub(&moto.endpoint())
            .enable_security_hub()
            .send()
            .await
            .unwrap();
    }));
    vpce
}

#[test]
fn the_bucket_rule_imports_then_resolves_its_findings_in_security_hub() {
    let moto = Moto::start();
    let vpce = account_with_hub(&moto);
    let recorder = ConfigRecorder::start(moto.port);
    let mut env = function_env(&moto, &recorder, REGION);
    env.push(("SECURITY_HUB_FINDINGS", "Enabled".to_string()));
    let mut f = LambdaRuntime::start(&function_binary("bucket-rule"), &env);

    // No policy: every failing or warning rule is a finding, imported in one call.
    let out = f.invoke(&change(None), TIMEOUT).unwrap();
    assert_eq!(
        out["api_calls"]["securityhub:BatchImportFindings"], 1,
        "{out}"
    );
    assert_eq!(out["api_calls"]["securityhub:GetFindings"], 1, "{out}");
    let held = findings(&moto.endpoint());
    let deny_id = format!("vpce-guard/{MOTO_ACCOUNT}/{REGION}/s3-bucket/{BUCKET}/S3-VPCE-DENY");
    let deny = held.iter().find(|h| h.0 == deny_id).unwrap();
    assert_eq!(
        (deny.1.as_str(), deny.2.as_str(), deny.3.as_str()),
        ("vpce-guard/S3-VPCE-DENY", "FAILED", "ACTIVE")
    );
    assert!(held.len() >= 3, "{held:?}");
    // Its figures, as CloudWatch EMF lines in its log.
    let emf: Vec<Value> = f
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(
        emf.iter().any(|v| v["Rule"] == "S3-VPCE-DENY"
            && v["Status"] == "FAIL"
            && v["Evaluations"] == 1.0
            && v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "vpce-guard"),
        "{emf:#?}"
    );
    assert!(
        emf.iter()
            .any(|v| v["Operation"] == "securityhub:BatchImportFindings" && v["AwsCalls"] == 1.0),
        "{emf:#?}"
    );
    // The ASFF as Security Hub stores it.
    let endpoint = moto.endpoint();
    let stored = big_stack(|| {
        run(Box::pin(async {
            let out = hub(&endpoint).get_findings().send().await.unwrap();
            out.findings()
                .iter()
                .find(|f| f.id() == Some(deny_id.as_str()))
                .cloned()
                .map(Box::new)
                .unwrap()
        }))
    });
    assert_eq!(
        stored.product_arn(),
        Some(
            format!("arn:aws:securityhub:{REGION}:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default")
                .as_str()
        )
    );
    assert_eq!(stored.aws_account_id(), Some(MOTO_ACCOUNT));
    assert_eq!(
        stored
            .severity()
            .and_then(|s| s.label())
            .map(|l| l.as_str()),
        Some("HIGH")
    );
    assert_eq!(
        stored.resources()[0].id(),
        Some(format!("arn:aws:s3:::{BUCKET}").as_str())
    );
    assert_eq!(stored.resources()[0].r#type(), Some("AwsS3Bucket"));
    assert_eq!(
        stored
            .product_fields()
            .and_then(|p| p.get("vpce-guard/RuleId"))
            .map(String::as_str),
        Some("S3-VPCE-DENY")
    );
    assert!(stored
        .remediation()
        .and_then(|r| r.recommendation())
        .and_then(|r| r.text())
        .unwrap()
        .contains("docs/RULES.md#s3-vpce-deny"));

    // Fixed: the deny's finding is re-imported PASSED and ARCHIVED, under the same id.
    let policy = private_bucket_policy(BUCKET, &vpce);
    run(Box::pin(async {
        vpce_guard_tests::s3_client(&moto.endpoint())
            .put_bucket_policy()
            .bucket(BUCKET)
            .policy(&policy)
            .send()
            .await
            .unwrap();
    }));
    f.invoke(&change(Some(&policy)), TIMEOUT).unwrap();
    let held = findings(&moto.endpoint());
    let deny = held.iter().find(|h| h.0 == deny_id).unwrap();
    assert_eq!((deny.2.as_str(), deny.3.as_str()), ("PASSED", "ARCHIVED"));
    assert_eq!(
        held.iter().filter(|h| h.0 == deny_id).count(),
        1,
        "updated, not duplicated"
    );
}

/// A muted bucket: Config gets NOT_APPLICABLE with the mute's reason (the list read from the
/// stack's SSM parameter, in moto), its findings are imported with their real status, and
/// their workflow set to SUPPRESSED with the reason as the note — `BatchUpdateFindings`, which
/// moto lacks, answered by a recording endpoint that shows the exact request.
#[test]
fn a_muted_buckets_findings_are_suppressed_with_batch_update_findings() {
    let moto = Moto::start();
    let mute =
        json!({"muted": [{"resource": BUCKET, "reason": "public website", "until": "2099-06-30"}]});
    account_with_hub(&moto);
    run(Box::pin(async {
        let conf = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(aws_sdk_ssm::config::Region::new(REGION))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
            .put_parameter()
            .name("/vpce-guard/muted-resources")
            .value(mute.to_string())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }));
    let recorder = ConfigRecorder::start(moto.port);
    let hub_endpoint = HubRecorder::start(moto.port);
    let mut env = function_env(&moto, &recorder, REGION);
    env.push(("SECURITY_HUB_FINDINGS", "Enabled".to_string()));
    env.push((
        "MUTED_RESOURCES_PARAMETER",
        "/vpce-guard/muted-resources".to_string(),
    ));
    env.push(("AWS_ENDPOINT_URL_SECURITYHUB", hub_endpoint.endpoint()));
    let mut f = LambdaRuntime::start(&function_binary("bucket-rule"), &env);
    let out = f.invoke(&change(None), TIMEOUT).unwrap();
    assert_eq!(out["api_calls"]["ssm:GetParameter"], 1, "{out}");
    assert_eq!(
        out["api_calls"]["securityhub:BatchUpdateFindings"], 1,
        "{out}"
    );
    let evaluation = recorder.with(|r| r.put_evaluations())[0]["Evaluations"][0].clone();
    assert_eq!(evaluation["ComplianceType"], "NOT_APPLICABLE");
    assert_eq!(
        evaluation["Annotation"],
        "muted: public website (until 2099-06-30)"
    );
    // Imported with their real status, then suppressed, every one, in one request.
    let held = findings(&moto.endpoint());
    assert!(held.iter().any(|h| h.2 == "FAILED"), "{held:?}");
    let updates = hub_endpoint.updates();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    let u = &updates[0];
    assert_eq!(u["Workflow"], json!({"Status": "SUPPRESSED"}));
    assert_eq!(
        u["Note"],
        json!({"Text": "muted: public website (until 2099-06-30)", "UpdatedBy": "vpce-guard"})
    );
    let product =
        format!("arn:aws:securityhub:{REGION}:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default");
    let mut suppressed: Vec<String> = u["FindingIdentifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["ProductArn"], product.as_str());
            i["Id"].as_str().unwrap().to_string()
        })
        .collect();
    let mut imported: Vec<String> = held.iter().map(|h| h.0.clone()).collect();
    suppressed.sort();
    imported.sort();
    assert_eq!(suppressed, imported);
}
