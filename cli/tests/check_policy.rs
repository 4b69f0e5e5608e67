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
