//! `vpce-guard check-policy` as users run it: the built binary, its exit status, stdout and
//! stderr.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = bin();
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn check(file: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "check-policy",
        file,
        "--bucket",
        "amzn-s3-demo-bucket",
        "--approved-vpce",
        "vpce-1a2b3c4d",
        "--account-id",
        "111122223333",
    ];
    args.extend_from_slice(extra);
    run(&args, None)
}

fn assert_usage_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    assert!(err.contains(needle), "stderr `{err}` lacks `{needle}`");
}

#[test]
fn reference_policy_json_has_the_contract_shape_and_exit_1() {
    let reference = repo("examples/reference-policy.json");
    let out = check(reference.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "non-compliant exits 1");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["annotation", "compliance", "findings", "resource"]);
    assert_eq!(v["resource"], "amzn-s3-demo-bucket");
    assert_eq!(v["compliance"], "NON_COMPLIANT");
    let annotation = v["annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with("S3-TLS: "),
        "failures first: {annotation}"
    );
    assert!(annotation.chars().count() <= 256);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // Every bucket rule, in the registry's catalog order.
    let expected: Vec<&str> = vpce_guard::rules::RuleId::BUCKET
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(rules, expected);
    for f in v["findings"].as_array().unwrap() {
        let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["exemptions", "reason", "rule", "status"]);
        assert!(f["exemptions"].is_array());
    }
    let tls = &v["findings"][3];
    assert_eq!(tls["status"], "FAIL");
    assert!(tls["reason"]
        .as_str()
        .unwrap()
        .contains("plain HTTP via vpce-1a2b3c4d"));
    assert_eq!(v["findings"][7]["status"], "NOT_APPLICABLE");
}

#[test]
fn compliant_policy_exits_0_and_text_lists_failures_first() {
    let compliant = repo("examples/private-bucket-policy.json");
    let ok = check(
        compliant.to_str().unwrap(),
        &[
            "--exempt-principal",
            "arn:aws:iam::*:role/aws-service-role/config.amazonaws.com/*",
            "--require-sigv4",
        ],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.starts_with("amzn-s3-demo-bucket: COMPLIANT"), "{text}");

    let reference = repo("examples/reference-policy.json");
    let bad = check(reference.to_str().unwrap(), &[]);
    let text = String::from_utf8_lossy(&bad.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].trim_start().starts_with("FAIL  S3-TLS"), "{text}");
    let first_pass = lines.iter().position(|l| l.contains("PASS")).unwrap();
    let last_fail_or_warn = lines
        .iter()
        .rposition(|l| l.contains("FAIL ") || l.contains("WARN "))
        .unwrap();
    assert!(
        last_fail_or_warn < first_pass,
        "failures and warnings first: {text}"
    );
}

#[test]
fn policy_from_standard_input() {
    let text = std::fs::read_to_string(repo("examples/reference-policy.json")).unwrap();
    let out = run(
        &[
            "check-policy",
            "-",
            "--bucket",
            "amzn-s3-demo-bucket",
            "--approved-vpce",
            "vpce-1a2b3c4d",
            "--format",
            "json",
        ],
        Some(&text),
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["status"], "PASS");
}

#[test]
fn invalid_input_is_one_line_on_stderr_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("vpce-guard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_json = dir.join("not-json.json");
    std::fs::write(&not_json, "{ this is not json").unwrap();
    let bad_effect = dir.join("bad-effect.json");
    std::fs::write(
        &bad_effect,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Permit","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
    )
    .unwrap();

    assert_usage_error(&check(not_json.to_str().unwrap(), &[]), "not JSON");
    assert_usage_error(
        &check(bad_effect.to_str().unwrap(), &[]),
        "`Effect` must be `Allow` or `Deny`",
    );
    assert_usage_error(
        &check(dir.join("missing.json").to_str().unwrap(), &[]),
        "cannot read",
    );
    let reference = repo("examples/reference-policy.json");
    let r = reference.to_str().unwrap();
    assert_usage_error(&check(r, &["--no-such-flag"]), "--no-such-flag");
    assert_usage_error(
        &check(r, &["--require-tls-version", "1.9"]),
        "RequireTlsVersion",
    );
    assert_usage_error(&check(r, &["--format", "yaml"]), "yaml");
    assert_usage_error(
        &run(
            &[
                "check-policy",
                r,
                "--bucket",
                "b",
                "--approved-vpce",
                "vpc-123",
            ],
            None,
        ),
        "ApprovedVpceIds",
    );
    assert_usage_error(
        &run(&["check-policy", r, "--bucket", "b"], None),
        "--approved-vpce",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn endpoint_owner_flags_are_validated_and_change_the_verdict() {
    let dir = std::env::temp_dir().join(format!("vpce-guard-cli-owner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A deny unless the endpoint belongs to the bucket owner's account (aws:VpceAccount).
    let own = dir.join("own-account.json");
    std::fs::write(
        &own,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"OwnEndpointsOnly","Effect":"Deny","Principal":"*","Action":"s3:*",
            "Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],
            "Condition":{"StringNotEqualsIfExists":{"aws:VpceAccount":"111122223333"}}}]}"#,
    )
    .unwrap();
    let o = own.to_str().unwrap();
    let status = |out: &Output, rule: &str| -> String {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .map(|f| f["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    let default = check(o, &["--format", "json"]);
    assert_eq!(status(&default, "S3-VPCE-KNOWN"), "FAIL", "{default:?}");
    let widened = check(
        o,
        &["--format", "json", "--approved-endpoint-scope", "account"],
    );
    assert_eq!(status(&widened, "S3-VPCE-KNOWN"), "PASS", "{widened:?}");
    assert_eq!(status(&widened, "S3-VPCE-REACHABLE"), "PASS");
    assert_usage_error(
        &check(o, &["--approved-endpoint-scope", "everything"]),
        "ApprovedEndpointScope",
    );
    assert_usage_error(&check(o, &["--org-id", "org-1"]), "--org-id");
    assert_usage_error(
        &check(
            o,
            &[
                "--org-id",
                "o-a1b2c3d4e5",
                "--org-path",
                "o-zzzzzzzzzz/r-ab12/",
            ],
        ),
        "--org-path",
    );
    assert_usage_error(
        &check(o, &["--approved-vpce-account", "4444"]),
        "--approved-vpce-account",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rcp_files_join_the_judgement_and_bad_ones_are_usage_errors() {
    let dir = std::env::temp_dir().join(format!("vpce-guard-cli-rcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tls_only = dir.join("tls-only.json");
    std::fs::write(
        &tls_only,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*",
            "Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
    )
    .unwrap();
    // AWS's network-perimeter RCP reduced to its aws:SourceVpce test and the AWS-service
    // exemptions, as `aws organizations describe-policy` prints it.
    let content = r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnforceNetworkPerimeter","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-1a2b3c4d"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false","aws:ViaAWSService":"false"}}}]}"#;
    let described = dir.join("described.json");
    std::fs::write(
        &described,
        serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-0123abcd", "Name": "perimeter",
            "Type": "RESOURCE_CONTROL_POLICY"}, "Content": content}})
        .to_string(),
    )
    .unwrap();
    let t = tls_only.to_str().unwrap();
    let d = described.to_str().unwrap();
    let statuses = |out: &Output| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .filter(|(r, _)| r.starts_with("S3-VPCE-"))
            .collect()
    };
    let without = check(t, &["--format", "json"]);
    assert_eq!(without.status.code(), Some(1));
    assert!(statuses(&without)
        .iter()
        .any(|(r, s)| r == "S3-VPCE-DENY" && s == "FAIL"));
    let with = check(t, &["--format", "json", "--rcp", d]);
    assert!(
        statuses(&with).iter().all(|(_, s)| s == "PASS"),
        "{:?}",
        statuses(&with)
    );
    assert_eq!(with.status.code(), Some(0), "{with:?}");
    // A locking RCP is named by its policy id in the reason.
    let lock = dir.join("lock.json");
    std::fs::write(
        &lock,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Lock","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
    )
    .unwrap();
    let locked = check(t, &["--rcp", lock.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&locked.stdout);
    assert!(text.contains("RCP lock.json statement `Lock`"), "{text}");
    assert_usage_error(
        &check(t, &["--rcp", dir.join("missing.json").to_str().unwrap()]),
        "--rcp",
    );
    assert_usage_error(&check(t, &["--rcp", t, "--rcp", "/dev/null"]), "--rcp");
    std::fs::remove_dir_all(&dir).ok();
}
