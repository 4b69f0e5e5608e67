//! Shared helpers of the end-to-end and corpus tests: the case corpus, a moto server per test,
//! seeding through the real SDK, and the call budgets of the Config rule functions.

#![allow(clippy::panic)]

pub mod budget;
pub mod demo;
pub mod fault;
pub mod hub_recorder;
pub mod moto;
pub mod recorder;
pub mod runtime;
pub mod seed;
pub mod slack;

use vpce_guard::rules::Evaluation;
use vpce_guard::scan::{RegionalEvaluation, ScanReport};

/// Run a future to completion on a fresh current-thread runtime (test helper).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    }
}

/// `RULE=STATUS` for every finding, in order: compact to assert on.
pub fn statuses(e: &Evaluation) -> Vec<String> {
    e.findings
        .iter()
        .map(|f| format!("{}={}", f.rule.as_str(), f.status.as_str()))
        .collect()
}

/// The evaluation of one resource of a report.
pub fn find<'a>(report: &'a ScanReport, resource: &str) -> &'a RegionalEvaluation {
    report
        .buckets
        .iter()
        .chain(&report.vpcs)
        .find(|e| e.evaluation.resource == resource)
        .unwrap_or_else(|| panic!("{resource} is not in the report: {report:#?}"))
}

/// The reason of one rule's finding.
pub fn reason<'a>(e: &'a Evaluation, rule: &str) -> &'a str {
    e.findings
        .iter()
        .find(|f| f.rule.as_str() == rule)
        .map(|f| f.reason.as_str())
        .unwrap_or("")
}

/// A sample event of `events/`, parsed.
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Edit the invoking event (a JSON string inside the event) with `f`.
pub fn edit_invoking_event(event: &mut serde_json::Value, f: impl FnOnce(&mut serde_json::Value)) {
    let raw = event["invokingEvent"].as_str().unwrap_or("{}").to_string();
    let mut inv: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
    f(&mut inv);
    event["invokingEvent"] = serde_json::Value::String(inv.to_string());
}

/// The environment of a function process under test: moto for S3, EC2, STS; the recorder for
/// Config.
pub fn function_env(
    moto: &moto::Moto,
    recorder: &recorder::ConfigRecorder,
    region: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", region.to_string()),
        ("AWS_DEFAULT_REGION", region.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ENDPOINT_URL_CONFIG_SERVICE", recorder.endpoint()),
    ]
}

/// A function binary of the workspace, built by `cargo test --workspace` next to the test
/// binaries (`target/debug/<name>`); built here when missing (a test run of one package).
pub fn function_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()))
        .to_path_buf();
    let path = dir.join(name);
    if !path.exists() {
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
            .args(["build", "-p", name])
            .status()
            .unwrap_or_else(|e| panic!("cargo build -p {name}: {e}"));
        assert!(status.success(), "cargo build -p {name} failed");
    }
    path
}

/// An SQS record (as the notifier's queue delivers it) holding a "Config Rules Compliance
/// Change" event of the bucket rule `vpce-guard-bucket` for `bucket`, now `compliance`.
pub fn compliance_change_record(
    bucket: &str,
    region: &str,
    compliance: &str,
    id: &str,
) -> serde_json::Value {
    use serde_json::json;
    let body = json!({"version": "0", "id": id, "detail-type": "Config Rules Compliance Change",
        "source": "aws.config", "account": "123456789012", "region": region,
        "time": "2026-11-28T09:12:00Z", "resources": [],
        "detail": {"resourceId": bucket, "awsRegion": region, "awsAccountId": "123456789012",
            "configRuleName": "vpce-guard-bucket", "resourceType": "AWS::S3::Bucket",
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": {"complianceType": compliance, "annotation": "S3-VPCE-DENY: no deny"},
            "oldEvaluationResult": {"complianceType": "COMPLIANT"}}});
    json!({"messageId": id, "body": body.to_string(), "eventSource": "aws:sqs"})
}

/// A command for `bin` with nothing from the environment that could reach beyond loopback: no
/// instance metadata, no shared config or credentials files, no credentials; `PATH` kept.
pub fn offline_command(bin: &str) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/vpce-guard/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/vpce-guard/credentials",
        );
    c
}

/// The same with moto's test credentials and region `us-east-1`.
pub fn offline_command_with_credentials(bin: &str) -> std::process::Command {
    let mut c = offline_command(bin);
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        // `remediate --apply` records in the user's state directory: a test's own, never ours.
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join(format!("vpce-guard-state-{}", std::process::id())),
        );
    c
}

/// A plain S3 client for moto at `endpoint` (us-east-1, path style, test credentials): for
/// what the seeders do not do (tags, log files).
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Run a validator script of the repository (`tests/…/validate.py`) with the project's venv
/// Python (scripts/setup installs what it imports) on `input`: (it passed, what it printed).
pub fn run_validator(script: &str, input: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(root.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{script}: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
