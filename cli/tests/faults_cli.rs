//! `vpce-guard scan` and `remediate` with a fault proxy between them and moto: transient faults
//! are retried and change nothing; persistent ones never turn into a PASS, a COMPLIANT or a
//! half-written policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;
use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::Value;
use vpce_guard::ports::PolicyStore;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::fault::{Fault, FaultProxy};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::offline_command_with_credentials;
use vpce_guard_tests::seed::{private_bucket_policy, Seed, MOTO_ACCOUNT};

const REGION: &str = "us-east-1";
const PRIVATE: &str = "fault-private";
const OPEN: &str = "fault-open";
const ME: &str = "arn:aws:sts::123456789012:user/moto";

/// The CLI offline, with test credentials; three attempts, not the product's five, so each
/// persistent fault waits less.
fn cli(args: &[&str]) -> Output {
    offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(args)
        .env("AWS_MAX_ATTEMPTS", "3")
        .output()
        .unwrap()
}

struct World {
    moto: Moto,
    seed: Seed,
    proxy: FaultProxy,
}

/// A private bucket behind a reference VPC's endpoint (COMPLIANT when nothing fails), a bucket
/// without policy, and the proxy in front of moto.
fn world() -> World {
    let moto = Moto::start();
    let seed = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        seed.secure_default_vpc(REGION, MOTO_ACCOUNT).await;
        let (_, e) = seed.reference_vpc(REGION, "10.30.0.0/16").await;
        let enforced = || Some(ObjectOwnership::BucketOwnerEnforced);
        let policy = private_bucket_policy(PRIVATE, &e);
        seed.bucket(PRIVATE, REGION, Some(&policy), true, enforced())
            .await;
        seed.bucket(OPEN, REGION, None, true, enforced()).await;
        seed
    });
    let proxy = FaultProxy::start(moto.port);
    World { moto, seed, proxy }
}

/// `scan --format json` through the proxy: exit code and report.
fn scan(w: &World) -> (Option<i32>, Value, String) {
    let endpoint = w.proxy.endpoint();
    let out = cli(&[
        "scan",
        "--endpoint-url",
        &endpoint,
        "--region",
        REGION,
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v, stderr)
}

/// `resource → (compliance, [RULE=STATUS])` of every bucket and VPC of a report.
fn verdicts(report: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for kind in ["buckets", "vpcs"] {
        for e in report[kind].as_array().into_iter().flatten() {
            let statuses = e["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| format!("{}={}", f["rule"], f["status"]))
                .collect();
            out.push((
                e["resource"].to_string(),
                e["compliance"].to_string(),
                statuses,
            ));
        }
    }
    out.sort();
    out
}

fn status<'a>(report: &'a Value, bucket: &str, rule: &str) -> Option<&'a str> {
    report["buckets"]
        .as_array()?
        .iter()
        .find(|b| b["resource"] == bucket)?["findings"]
        .as_array()?
        .iter()
        .find(|f| f["rule"] == rule)?["status"]
        .as_str()
}

fn compliance<'a>(report: &'a Value, bucket: &str) -> Option<&'a str> {
    report["buckets"]
        .as_array()?
        .iter()
        .find(|b| b["resource"] == bucket)?["compliance"]
        .as_str()
}

#[test]
fn transient_faults_are_retried_and_change_no_verdict() {
    let w = world();
    let (code, clean, err) = scan(&w);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(compliance(&clean, PRIVATE), Some("COMPLIANT"), "{clean}");
    assert_eq!(compliance(&clean, OPEN), Some("NON_COMPLIANT"));

    // One or two faults of each kind on the reads the verdicts rest on: the SDK's retries
    // (three attempts) absorb them.
    w.proxy.times("GetBucketPolicy", Fault::Throttle, 2);
    w.proxy.times("DescribeVpcEndpoints", Fault::ServerError, 1);
    w.proxy.times("ListBuckets", Fault::Reset, 1);
    w.proxy.times("GetPublicAccessBlock", Fault::Throttle, 1);
    w.proxy.times("DescribeRouteTables", Fault::Throttle, 2);
    w.proxy.times(
        "GetBucketOwnershipControls",
        Fault::Latency(Duration::from_millis(1500)),
        1,
    );
    let (code, faulted, err) = scan(&w);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(verdicts(&faulted), verdicts(&clean), "{err}");
    for (op, n) in [
        ("GetBucketPolicy", 2),
        ("DescribeVpcEndpoints", 1),
        ("ListBuckets", 1),
        ("GetPublicAccessBlock", 1),
        ("DescribeRouteTables", 2),
    ] {
        assert_eq!(w.proxy.injected(op), n, "{op}");
    }
}

#[test]
fn persistent_faults_on_the_policy_read_never_pass() {
    let w = world();
    for fault in [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Reset,
        Fault::Truncate,
    ] {
        w.proxy.heal();
        let before = w.proxy.seen("GetBucketPolicy");
        w.proxy.always("GetBucketPolicy", fault);
        let (code, report, err) = scan(&w);
        assert_ne!(code, Some(0), "{fault:?}: exit 0\n{report}\n{err}");
        if report.is_null() {
            // The whole scan failed: an error on stderr, not a report.
            assert!(!err.trim().is_empty(), "{fault:?}: no report and no error");
            continue;
        }
        for bucket in [PRIVATE, OPEN] {
            assert_ne!(
                compliance(&report, bucket),
                Some("COMPLIANT"),
                "{fault:?}: {bucket} COMPLIANT without its policy\n{report}"
            );
            assert_ne!(
                status(&report, bucket, "S3-VPCE-DENY"),
                Some("PASS"),
                "{fault:?}: {bucket}\n{report}"
            );
        }
        // Retried before giving up: at least two attempts per bucket.
        assert!(
            w.proxy.seen("GetBucketPolicy") - before >= 4,
            "{fault:?}: {} attempts",
            w.proxy.seen("GetBucketPolicy") - before
        );
    }
}

#[test]
fn persistent_faults_on_the_endpoint_read_never_pass_reachability() {
    let w = world();
    w.proxy.always("DescribeVpcEndpoints", Fault::ServerError);
    let (code, report, err) = scan(&w);
    assert_ne!(code, Some(0), "{report}\n{err}");
    if !report.is_null() {
        assert_ne!(compliance(&report, PRIVATE), Some("COMPLIANT"), "{report}");
        assert_ne!(
            status(&report, PRIVATE, "S3-VPCE-REACHABLE"),
            Some("PASS"),
            "{report}"
        );
        for vpc in report["vpcs"].as_array().into_iter().flatten() {
            assert_ne!(vpc["compliance"], "COMPLIANT", "{vpc}");
        }
    }
    assert!(w.proxy.seen("DescribeVpcEndpoints") >= 2, "not retried");
}

fn policy(w: &World, bucket: &str) -> Option<Value> {
    run(w.seed.c.get_policy(bucket, REGION))
        .unwrap()
        .map(|t| serde_json::from_str(&t).unwrap())
}

fn remediate(w: &World, bucket: &str) -> (Option<i32>, String) {
    let endpoint = w.proxy.endpoint();
    let out = cli(&[
        "remediate",
        "--bucket",
        bucket,
        "--endpoint-url",
        &endpoint,
        "--exempt-principal",
        ME,
        "--apply",
        "--format",
        "json",
    ]);
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Whatever fails between the remediator's reads and writes, the bucket ends with its old
/// policy or with the new one it verified; never something else, never a half-written policy.
#[test]
fn the_remediator_leaves_the_old_policy_or_the_verified_new_one() {
    let w = world();
    let old = policy(&w, OPEN);
    assert_eq!(old, None);
    let faults: [(&str, usize, Fault); 6] = [
        // The write itself fails (every attempt).
        ("PutBucketPolicy", 0, Fault::ServerError),
        ("PutBucketPolicy", 0, Fault::Reset),
        // The first read passes; the re-read right before the write fails: nothing written.
        ("GetBucketPolicy", 1, Fault::Truncate),
        // The write passes; the verification read fails: the previous state is restored.
        ("GetBucketPolicy", 2, Fault::ServerError),
        // The region's endpoints cannot be read: no plan.
        ("DescribeVpcEndpoints", 0, Fault::Throttle),
        // The caller cannot be identified: no plan (it could lock itself out).
        ("GetCallerIdentity", 0, Fault::ServerError),
    ];
    for (op, skip, fault) in faults {
        w.proxy.heal();
        let seen = w.proxy.seen(op);
        w.proxy.after(op, seen + skip, fault);
        let (code, out) = remediate(&w, OPEN);
        let now = policy(&w, OPEN);
        assert_ne!(code, Some(0), "{op} {fault:?}: success reported\n{out}");
        assert_eq!(now, old, "{op} {fault:?}: the policy changed\n{out}");
    }
    // Healed, the same command writes and verifies.
    w.proxy.heal();
    let (code, out) = remediate(&w, OPEN);
    assert_eq!(code, Some(0), "{out}");
    let written = policy(&w, OPEN).unwrap();
    assert!(
        written.to_string().contains("VpceGuardDenyOutsideVpce"),
        "{written}"
    );
    let _ = &w.moto;
}
