//! `--format ocsf` of `check-policy` and `scan`: every line an OCSF Compliance Finding,
//! validated with py-ocsf-models (pinned; `tests/ocsf/validate.py`) against the pinned OCSF
//! version, and saying what the JSON output says, rule by rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::Value;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{private_bucket_policy, Seed, MOTO_ACCOUNT};
use vpce_guard_tests::{block_on, offline_command_with_credentials};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the validator on `lines`: (success, its stdout and stderr).
fn validate(lines: &str) -> (bool, String) {
    vpce_guard_tests::run_validator("tests/ocsf/validate.py", lines)
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (resource, rule) → OCSF compliance status id.
fn ocsf_statuses(evs: &[Value]) -> BTreeMap<(String, String), u64> {
    evs.iter()
        .map(|e| {
            (
                (
                    e["resources"][0]["name"].as_str().unwrap().to_string(),
                    e["compliance"]["control"].as_str().unwrap().to_string(),
                ),
                e["compliance"]["status_id"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The same from the JSON output's findings (not-applicable rules are no OCSF finding).
fn json_statuses(evals: &[&Value]) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for e in evals {
        for f in e["findings"].as_array().unwrap() {
            let id = match f["status"].as_str().unwrap() {
                "PASS" => 1,
                "WARN" => 2,
                "FAIL" => 3,
                _ => continue,
            };
            out.insert(
                (
                    e["resource"].as_str().unwrap().to_string(),
                    f["rule"].as_str().unwrap().to_string(),
                ),
                id,
            );
        }
    }
    out
}

#[test]
fn check_policy_ocsf_is_valid_and_says_what_json_says() {
    let policy = root().join("examples/private-bucket-policy.json");
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
            .args([
                "check-policy",
                policy.to_str().unwrap(),
                "--bucket",
                "example-private-bucket",
                "--account-id",
                "123456789012",
                "--approved-vpce",
                "vpce-0a1b2c3d4e5f60718",
                "--format",
                format,
            ])
            .output()
            .unwrap()
    };
    let (ocsf, json) = (run("ocsf"), run("json"));
    assert_eq!(
        ocsf.status.code(),
        json.status.code(),
        "the same exit status"
    );
    let text = String::from_utf8_lossy(&ocsf.stdout).to_string();
    let (ok, said) = validate(&text);
    assert!(ok, "{said}\n{text}");
    let evs = events(&ocsf.stdout);
    assert!(
        said.starts_with(&format!("{} events valid", evs.len())),
        "{said}"
    );
    let j: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(ocsf_statuses(&evs), json_statuses(&[&j]));
    for e in &evs {
        assert_eq!(
            e["resources"][0]["uid"],
            "arn:aws:s3:::example-private-bucket"
        );
        assert_eq!(e["cloud"]["account"]["uid"], "123456789012");
    }

    // The validator is not vacuous: a wrong class, an unknown key and a bad status fail it.
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let doctored = |edit: &dyn Fn(&mut Value)| {
        let mut v = line.clone();
        edit(&mut v);
        assert_ne!(v, line);
        v.to_string()
    };
    for bad in [
        doctored(&|v| v["class_uid"] = 2004.into()),
        doctored(&|v| v["made_up"] = 1.into()),
        doctored(&|v| v["compliance"]["status_id"] = 7.into()),
        doctored(&|v| v["severity_id"] = "high".into()),
    ] {
        let (ok, said) = validate(&bad);
        assert!(!ok, "accepted: {bad}\n{said}");
    }
}

#[test]
fn scan_ocsf_is_valid_and_says_what_json_says() {
    let moto = Moto::start();
    block_on(async {
        let seed = Seed::new(&moto.endpoint(), "us-east-1").await;
        seed.secure_default_vpc("us-east-1", MOTO_ACCOUNT).await;
        let (_, e) = seed.reference_vpc("us-east-1", "10.10.0.0/16").await;
        seed.bucket(
            "ocsf-private",
            "us-east-1",
            Some(&private_bucket_policy("ocsf-private", &e)),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        seed.bucket("ocsf-open", "us-east-1", None, false, None)
            .await;
    });
    let run = |format: &str| {
        offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
            .args([
                "scan",
                "--endpoint-url",
                &moto.endpoint(),
                "--region",
                "us-east-1",
                "--format",
                format,
            ])
            .output()
            .unwrap()
    };
    let (ocsf, json) = (run("ocsf"), run("json"));
    assert_eq!(
        ocsf.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&ocsf.stderr)
    );
    assert_eq!(ocsf.status.code(), json.status.code());
    let text = String::from_utf8_lossy(&ocsf.stdout).to_string();
    let (ok, said) = validate(&text);
    assert!(ok, "{said}");
    let evs = events(&ocsf.stdout);
    let j: Value = serde_json::from_slice(&json.stdout).unwrap();
    let all: Vec<&Value> = j["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .chain(j["vpcs"].as_array().unwrap())
        .collect();
    assert_eq!(ocsf_statuses(&evs), json_statuses(&all));
    // Buckets and VPCs, each with its ARN, account and region.
    let open = evs
        .iter()
        .find(|e| e["resources"][0]["name"] == "ocsf-open")
        .unwrap();
    assert_eq!(open["resources"][0]["uid"], "arn:aws:s3:::ocsf-open");
    assert_eq!(open["cloud"]["account"]["uid"], MOTO_ACCOUNT);
    assert_eq!(open["cloud"]["region"], "us-east-1");
    let vpc = evs
        .iter()
        .find(|e| e["resources"][0]["type"] == "AWS::EC2::VPC")
        .unwrap();
    let uid = vpc["resources"][0]["uid"].as_str().unwrap();
    assert!(
        uid.starts_with(&format!("arn:aws:ec2:us-east-1:{MOTO_ACCOUNT}:vpc/vpc-")),
        "{uid}"
    );
}
