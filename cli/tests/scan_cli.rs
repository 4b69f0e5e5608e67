//! `vpce-guard scan` as users run it: the built binary against a moto server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::Value;
use vpce_guard_tests::moto::{free_port, Moto};
use vpce_guard_tests::seed::{private_bucket_policy, Seed, MOTO_ACCOUNT};

use vpce_guard_tests::block_on as run;
use vpce_guard_tests::offline_command;

/// `vpce-guard scan` with nothing from the environment that could reach beyond loopback (no
/// instance metadata, no shared config files) and no credentials.
fn bare_scan(args: &[&str]) -> Command {
    let mut c = offline_command(env!("CARGO_BIN_EXE_vpce-guard"));
    c.arg("scan").args(args);
    c
}

/// The same with test credentials.
fn scan(args: &[&str]) -> Output {
    bare_scan(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap()
}

/// One private bucket in a reference VPC, moto's default VPC secured too, and optionally a
/// bucket without policy.
async fn seed_account(moto: &Moto, region: &str, with_open_bucket: bool) {
    let seed = Seed::new(&moto.endpoint(), region).await;
    seed.secure_default_vpc(region, MOTO_ACCOUNT).await;
    let (_, e) = seed.reference_vpc(region, "10.10.0.0/16").await;
    seed.bucket(
        "cli-private",
        region,
        Some(&private_bucket_policy("cli-private", &e)),
        true,
        Some(ObjectOwnership::BucketOwnerEnforced),
    )
    .await;
    if with_open_bucket {
        seed.bucket("cli-open", region, None, false, None).await;
    }
}

#[test]
fn json_report_and_exit_1_when_anything_is_non_compliant() {
    let moto = Moto::start();
    run(seed_account(&moto, "us-east-1", true));
    let out = scan(&[
        "--endpoint-url",
        &moto.endpoint(),
        "--region",
        "us-east-1",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_calls", "buckets", "vpcs"]);
    let buckets = v["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);
    for b in buckets {
        let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["annotation", "compliance", "findings", "region", "resource"]
        );
        assert_eq!(b["region"], "us-east-1");
        assert_eq!(b["findings"].as_array().unwrap().len(), 10);
    }
    let open = buckets
        .iter()
        .find(|b| b["resource"] == "cli-open")
        .unwrap();
    assert_eq!(open["compliance"], "NON_COMPLIANT");
    assert_eq!(open["findings"][0]["status"], "FAIL");
    let private = buckets
        .iter()
        .find(|b| b["resource"] == "cli-private")
        .unwrap();
    assert_eq!(private["compliance"], "COMPLIANT");
    assert_eq!(v["vpcs"].as_array().unwrap().len(), 2);
    for vpc in v["vpcs"].as_array().unwrap() {
        assert_eq!(vpc["compliance"], "COMPLIANT", "{vpc}");
        assert!(vpc["resource"].as_str().unwrap().starts_with("vpc-"));
    }
    let calls = &v["api_calls"];
    assert_eq!(calls["s3:GetBucketPolicy"], 2);
    assert_eq!(calls["s3:GetPublicAccessBlock"], 2);
    assert_eq!(calls["s3:GetBucketOwnershipControls"], 2);
    assert_eq!(calls["ec2:DescribeVpcEndpoints"], 1);
}

#[test]
fn exit_0_when_everything_is_compliant_and_text_summary() {
    let moto = Moto::start();
    run(seed_account(&moto, "eu-west-1", false));
    let out = scan(&["--endpoint-url", &moto.endpoint(), "--region", "eu-west-1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("bucket cli-private [eu-west-1] COMPLIANT"),
        "{text}"
    );
    assert!(
        text.contains("1 buckets (0 non-compliant), 2 VPCs (0 non-compliant)"),
        "{text}"
    );
    // --bucket limits the sweep.
    let one = scan(&[
        "--endpoint-url",
        &moto.endpoint(),
        "--region",
        "eu-west-1",
        "--bucket",
        "cli-private",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["buckets"].as_array().unwrap().len(), 1);
    assert!(v["api_calls"].get("s3:ListBuckets").is_none());
}

#[test]
fn cannot_run_is_exit_2_with_one_line() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = scan(&["--endpoint-url", &closed, "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot run: the AWS endpoint cannot be reached"),
        "{err}"
    );

    let moto = Moto::start();
    let no_creds = bare_scan(&["--endpoint-url", &moto.endpoint(), "--region", "us-east-1"])
        .output()
        .unwrap();
    assert_eq!(no_creds.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_creds.stderr);
    assert!(err.contains("no usable AWS credentials"), "{err}");

    let bad = scan(&["--endpoint-url", "localhost:1234", "--region", "us-east-1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--endpoint-url"));
}

#[test]
fn demo_account_seeds_any_endpoint_and_scan_judges_it() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let out = Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(["demo-account", "--endpoint-url", &endpoint])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for b in [
        "acme-prod-data",
        "acme-public-site",
        "acme-sydney-media (ap-southeast-2)",
    ] {
        assert!(text.contains(b), "{text}");
    }
    let report = scan(&[
        "--endpoint-url",
        &endpoint,
        "--region",
        "us-east-1",
        "--format",
        "json",
    ]);
    assert_eq!(
        report.status.code(),
        Some(1),
        "the demo account has non-compliant buckets"
    );
    let v: Value = serde_json::from_slice(&report.stdout).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("acme-prod-data") && text.contains("acme-analytics"),
        "{text}"
    );
    // Not an URL: a clear usage error.
    let bad = Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(["demo-account", "--endpoint-url", "localhost:5000"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
