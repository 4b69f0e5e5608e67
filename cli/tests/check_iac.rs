//! `vpce-guard check-iac` as a pipeline runs it: the fixtures of tests/iac (CloudFormation YAML
//! and JSON, SAM, CDK output, a Terraform plan), each policy's verdict asserted, and the SARIF
//! validated against the OASIS SARIF 2.1.0 schema (tests/sarif, with jsonschema from .venv).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const VPCE: &str = "vpce-0a1b2c3d4e5f60718";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("tests/iac"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "json")
            )
        })
        .map(|p| format!("tests/iac/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn check_iac(extra: &[&str], format: &str) -> (Output, Value) {
    let files = fixtures();
    let mut args: Vec<&str> = vec!["check-iac"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--approved-vpce", VPCE, "--format", format]);
    args.extend(extra);
    let out = run(&args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

/// (file name, resource) → (compliance, bucket, failing rules, warning rules, unresolved).
type Verdicts = BTreeMap<(String, String), (String, String, Vec<String>, Vec<String>, usize)>;

fn verdicts(v: &Value) -> Verdicts {
    v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let rules = |s: &str| {
                p["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["status"] == s)
                    .map(|f| f["rule"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            };
            let file = p["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (
                (file, p["resource"].as_str().unwrap().to_string()),
                (
                    p["compliance"].as_str().unwrap().to_string(),
                    p["bucket"].as_str().unwrap().to_string(),
                    rules("FAIL"),
                    rules("WARN"),
                    p["unresolved"].as_array().unwrap().len(),
                ),
            )
        })
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn every_fixture_policy_gets_its_verdict() {
    let (out, v) = check_iac(&[], "json");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = verdicts(&v);
    let nc = "NON_COMPLIANT".to_string();
    let ok = "COMPLIANT".to_string();
    let want: Verdicts = [
        // SAM: the deny, TLS and SigV4 denies with Config's role spared.
        (
            ("sam-data-lake.yaml", "RawBucketPolicy"),
            (
                ok.clone(),
                "123456789012-prod-raw-zone",
                s(&[]),
                s(&["S3-SIGV4"]),
                0,
            ),
        ),
        // CDK's enforceSSL: TLS only, nothing about the network.
        (
            (
                "cdk-enforce-ssl.template.json",
                "ReportsBucketPolicyB1C8BA25",
            ),
            (
                nc.clone(),
                "reportsbucket4e0f0e1a-symbolic",
                s(&["S3-VPCE-DENY", "S3-VPCE-KNOWN"]),
                s(&["S3-SIGV4"]),
                1,
            ),
        ),
        // Two denies that name aws:SourceVpce and leave the public route open.
        (
            ("string-match-holes.yaml", "ExportsPolicy"),
            (
                nc.clone(),
                "acme-exports",
                s(&["S3-VPCE-DENY", "S3-VPCE-KNOWN", "S3-TLS"]),
                s(&["S3-SIGV4"]),
                0,
            ),
        ),
        (
            ("string-match-holes.yaml", "ArchivePolicy"),
            (
                nc.clone(),
                "acme-archive",
                s(&["S3-VPCE-DENY", "S3-TLS"]),
                s(&["S3-SIGV4"]),
                0,
            ),
        ),
        // The endpoint the stack creates: unknown before deploy, judged at its worst.
        (
            ("endpoint-in-stack.yaml", "ArtifactsPolicy"),
            (
                nc.clone(),
                "artifacts-symbolic",
                s(&["S3-VPCE-REACHABLE"]),
                s(&["S3-SIGV4", "S3-GUARD-ACCESS"]),
                1,
            ),
        ),
        // Long form with Mappings: the TLS deny covers objects only (ListBucket over HTTP).
        (
            ("long-form-mappings.json", "LedgerPolicy"),
            (
                nc.clone(),
                "acme-prod-ledger",
                s(&["S3-TLS"]),
                s(&["S3-SIGV4", "S3-GUARD-ACCESS"]),
                0,
            ),
        ),
        // Terraform: each address once, child modules included.
        (
            ("terraform-plan.json", "aws_s3_bucket_policy.data"),
            (
                ok.clone(),
                "acme-tf-data",
                s(&[]),
                s(&["S3-SIGV4", "S3-GUARD-ACCESS"]),
                0,
            ),
        ),
        (
            ("terraform-plan.json", "aws_s3_bucket.legacy"),
            (
                nc.clone(),
                "acme-legacy-site",
                s(&[
                    "S3-VPCE-DENY",
                    "S3-VPCE-KNOWN",
                    "S3-TLS",
                    "S3-NO-PUBLIC-GRANT",
                ]),
                s(&["S3-SIGV4"]),
                0,
            ),
        ),
        (
            (
                "terraform-plan.json",
                "module.logs.aws_s3_bucket_policy.this",
            ),
            (
                nc.clone(),
                "module-logs-aws-s3-bucket-policy-this-symbolic",
                s(&[
                    "S3-VPCE-DENY",
                    "S3-VPCE-KNOWN",
                    "S3-VPCE-REACHABLE",
                    "S3-TLS",
                    "S3-SIGV4",
                    "S3-NO-PUBLIC-GRANT",
                    "S3-GUARD-ACCESS",
                ]),
                s(&[]),
                2,
            ),
        ),
        (
            (
                "terraform-plan.json",
                "module.replica[\"eu\"].aws_s3_bucket_policy.this",
            ),
            (
                ok.clone(),
                "acme-tf-replica-eu",
                s(&[]),
                s(&["S3-SIGV4", "S3-GUARD-ACCESS"]),
                0,
            ),
        ),
    ]
    .into_iter()
    .map(|((f, r), (c, b, fail, warn, u))| {
        (
            (f.to_string(), r.to_string()),
            (c, b.to_string(), fail, warn, u),
        )
    })
    .collect();
    assert_eq!(got, want);
    // Lines: the logical id's line in YAML and pretty JSON; 1 in Terraform's one-line plan.
    let lines: BTreeMap<String, u64> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["resource"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines["RawBucketPolicy"], 32);
    assert_eq!(lines["ReportsBucketPolicyB1C8BA25"], 28);
    assert_eq!(lines["ExportsPolicy"], 8);
    assert_eq!(lines["ArchivePolicy"], 28);
    assert_eq!(lines["aws_s3_bucket_policy.data"], 1);
}

#[test]
fn a_parameter_resolves_the_stacks_own_endpoint() {
    let out = run(&[
        "check-iac",
        "tests/iac/endpoint-in-stack.yaml",
        "--approved-vpce",
        VPCE,
        "--parameter",
        &format!("S3GatewayEndpoint={VPCE}"),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["policies"][0];
    assert_eq!(p["compliance"], "COMPLIANT", "{p:#}");
    assert_eq!(p["unresolved"], serde_json::json!([]));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn findings_are_exactly_what_check_policy_prints() {
    // The Terraform policy's text, judged by check-policy with the same flags.
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/iac/terraform-plan.json")).unwrap(),
    )
    .unwrap();
    let text = plan["planned_values"]["root_module"]["resources"][1]["values"]["policy"]
        .as_str()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("vpce-guard-iac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.json");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let cp = run(&[
        "check-policy",
        file.to_str().unwrap(),
        "--bucket",
        "acme-tf-data",
        "--approved-vpce",
        VPCE,
        "--account-id",
        "123456789012",
        "--format",
        "json",
    ]);
    let cp: Value = serde_json::from_slice(&cp.stdout).unwrap();
    let (_, v) = check_iac(&[], "json");
    let p = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["resource"] == "aws_s3_bucket_policy.data")
        .unwrap();
    assert_eq!(p["findings"], cp["findings"]);
    assert_eq!(p["annotation"], cp["annotation"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// Run tests/sarif/validate.py on `log`: (valid, what it printed).
fn validate(log: &str) -> (bool, String) {
    vpce_guard_tests::run_validator("tests/sarif/validate.py", log)
}

#[test]
fn sarif_is_valid_and_has_one_result_per_failing_or_warning_rule() {
    let (out, sarif) = check_iac(&[], "sarif");
    assert_eq!(out.status.code(), Some(1));
    let (ok, said) = validate(&String::from_utf8_lossy(&out.stdout));
    assert!(ok, "{said}");
    let (_, json) = check_iac(&[], "json");
    // The results are the JSON's FAIL and WARN findings, at each policy's file and line.
    let mut want: Vec<(String, u64, String, String)> = Vec::new();
    for p in json["policies"].as_array().unwrap() {
        for f in p["findings"].as_array().unwrap() {
            let level = match f["status"].as_str().unwrap() {
                "FAIL" => "error",
                "WARN" => "warning",
                _ => continue,
            };
            want.push((
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                level.to_string(),
            ));
        }
    }
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let got: Vec<(String, u64, String, String)> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            let idx = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], r["ruleId"]);
            (
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                loc["region"]["startLine"].as_u64().unwrap(),
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 33);
    // The validator rejects what the schema forbids.
    let mut bad = sarif.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validate(&bad.to_string()).0);
    let mut bad = sarif.clone();
    bad["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validate(&bad.to_string()).0);
    let mut bad = sarif;
    bad["version"] = "2.0.0".into();
    assert!(!validate(&bad.to_string()).0);
}

#[test]
fn a_muted_bucket_is_not_applicable_with_its_reason() {
    let dir = std::env::temp_dir().join(format!("vpce-guard-iac-mute-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mute = dir.join("mute.json");
    std::fs::write(
        &mute,
        r#"{"muted": [{"resource": "acme-*", "reason": "legacy exports", "until": "2999-01-01"}]}"#,
    )
    .unwrap();
    let out = run(&[
        "check-iac",
        "tests/iac/string-match-holes.yaml",
        "--approved-vpce",
        VPCE,
        "--mute-file",
        mute.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in v["policies"].as_array().unwrap() {
        assert_eq!(p["compliance"], "NOT_APPLICABLE");
        assert_eq!(p["muted"], "muted: legacy exports (until 2999-01-01)");
        // The findings are kept.
        assert!(p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["status"] == "FAIL"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exit_codes_are_check_policys() {
    // Compliant only: 0.
    let out = run(&[
        "check-iac",
        "tests/iac/sam-data-lake.yaml",
        "--approved-vpce",
        VPCE,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("RawBucketPolicy (bucket 123456789012-prod-raw-zone): COMPLIANT"));
    // Usage errors: 2 with one line.
    for (args, says) in [
        (
            vec!["check-iac", "tests/iac/sam-data-lake.yaml"],
            "--approved-vpce is required",
        ),
        (
            vec![
                "check-iac",
                "tests/iac/missing.yaml",
                "--approved-vpce",
                VPCE,
            ],
            "cannot read `tests/iac/missing.yaml`",
        ),
        (
            vec!["check-iac", "tests/iac/SOURCES.md", "--approved-vpce", VPCE],
            "not valid YAML",
        ),
        (
            vec![
                "check-iac",
                "tests/iac/sam-data-lake.yaml",
                "--approved-vpce",
                VPCE,
                "--parameter",
                "x",
            ],
            "must be KEY=VALUE",
        ),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
