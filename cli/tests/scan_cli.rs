//! `vpce-guard scan` as users run it: the built binary against a moto server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{json, Value};
use vpce_guard_tests::moto::{free_port, Moto};
use vpce_guard_tests::recorder::ConfigRecorder;
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
    assert_eq!(keys, ["api_calls", "buckets", "network", "vpcs"]);
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

/// `n` more buckets: every third without a policy (non-compliant), the rest private; every
/// fifth without Block Public Access (its Config item then lacks it: one direct read).
async fn more_buckets(moto: &Moto, region: &str, n: usize) {
    let seed = Seed::new(&moto.endpoint(), region).await;
    let (_, e) = seed.reference_vpc(region, "10.30.0.0/16").await;
    for i in 0..n {
        let name = format!("cfg-bucket-{i:03}");
        let policy = (i % 3 != 0).then(|| private_bucket_policy(&name, &e));
        seed.bucket(
            &name,
            region,
            policy.as_deref(),
            i % 5 != 0,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
    }
}

/// `scan` with AWS at moto and AWS Config at the recording endpoint (which forwards the
/// inventory calls to moto and answers for the recorder), as the standard variables set them.
fn scan_json(moto: &Moto, config: &ConfigRecorder, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["--region", "us-east-1", "--format", "json"];
    args.extend(extra);
    let out = bare_scan(&args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ENDPOINT_URL_CONFIG_SERVICE", config.endpoint())
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn source_config_reads_the_inventory_with_the_same_verdicts() {
    let moto = Moto::start();
    let recorder = ConfigRecorder::start(moto.port);
    run(seed_account(&moto, "us-east-1", true));
    run(more_buckets(&moto, "us-east-1", 203));
    let n = 205u64;

    // No recorder yet: `config` refuses, `auto` falls back to S3 and says so.
    let (code, _, err) = scan_json(&moto, &recorder, &["--source", "config"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("AWS Config does not record AWS::S3::Bucket in us-east-1"),
        "{err}"
    );
    let (code, auto, err) = scan_json(&moto, &recorder, &["--source", "auto"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(auto["sources"], json!({"us-east-1": "api"}));
    assert!(
        err.contains("us-east-1: buckets read from S3 directly"),
        "{err}"
    );

    recorder.with(|r| {
        r.recorder_role = Some(
            "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig".into(),
        );
        r.recording = true;
    });
    let (_, api, _) = scan_json(&moto, &recorder, &[]);
    let (code, config, err) = scan_json(&moto, &recorder, &["--source", "config"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(config["sources"], json!({"us-east-1": "config"}));
    assert!(
        api.get("sources").is_none(),
        "the default JSON is unchanged"
    );
    // The same verdicts, bucket by bucket, and the same VPCs.
    assert_eq!(config["buckets"].as_array().unwrap().len(), n as usize);
    assert_eq!(config["buckets"], api["buckets"]);
    assert_eq!(config["vpcs"], api["vpcs"]);
    // The cost: per 100 buckets one ListDiscoveredResources page and one
    // BatchGetResourceConfig; S3 only for what moto's items lack: Object Ownership for every
    // bucket, Block Public Access for those without it; never the policy.
    let calls = &config["api_calls"];
    let pages = n.div_ceil(100);
    assert_eq!(calls["config:ListDiscoveredResources"], pages, "{calls}");
    assert_eq!(calls["config:BatchGetResourceConfig"], pages, "{calls}");
    assert_eq!(calls["s3:GetBucketOwnershipControls"], n, "{calls}");
    let without_block = 1 + (0..203).filter(|i| i % 5 == 0).count() as u64;
    assert_eq!(calls["s3:GetPublicAccessBlock"], without_block, "{calls}");
    assert!(calls.get("s3:GetBucketPolicy").is_none(), "{calls}");
    assert!(calls.get("s3:ListBuckets").is_none(), "{calls}");
    assert_eq!(api["api_calls"]["s3:GetBucketPolicy"], n);
    // `auto` now picks Config.
    let (_, auto, _) = scan_json(&moto, &recorder, &["--source", "auto"]);
    assert_eq!(auto["sources"], json!({"us-east-1": "config"}));
    assert_eq!(auto["buckets"], api["buckets"]);
}

/// An account aggregator in moto (through the recording endpoint), over this account in
/// every region.
async fn aggregator(recorder: &ConfigRecorder, name: &str) {
    let conf = aws_sdk_config::Config::builder()
        .behavior_version(aws_sdk_config::config::BehaviorVersion::latest())
        .endpoint_url(recorder.endpoint())
        .region(aws_sdk_config::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_config::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let source = aws_sdk_config::types::AccountAggregationSource::builder()
        .account_ids(MOTO_ACCOUNT)
        .all_aws_regions(true)
        .build()
        .unwrap();
    aws_sdk_config::Client::from_conf(conf)
        .put_configuration_aggregator()
        .configuration_aggregator_name(name)
        .account_aggregation_sources(source)
        .send()
        .await
        .unwrap();
}

#[test]
fn aggregator_sweeps_with_the_verdicts_of_a_direct_sweep() {
    let moto = Moto::start();
    let recorder = ConfigRecorder::start(moto.port);
    run(seed_account(&moto, "us-east-1", true));
    run(more_buckets(&moto, "us-east-1", 120));
    run(aggregator(&recorder, "org-aggregator"));
    let n = 122u64;
    let (_, direct, _) = scan_json(&moto, &recorder, &[]);
    let (code, agg, err) = scan_json(
        &moto,
        &recorder,
        &[
            "--aggregator",
            "org-aggregator",
            "--assume-role-name",
            "vpce-guard-reader",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    let buckets = agg["buckets"].as_array().unwrap();
    assert_eq!(buckets.len() as u64, n);
    // Each bucket names its account; without that field, the direct sweep's verdicts.
    let mut stripped = agg["buckets"].clone();
    for b in stripped.as_array_mut().unwrap() {
        assert_eq!(b["account"], MOTO_ACCOUNT);
        b.as_object_mut().unwrap().remove("account");
    }
    assert_eq!(stripped, direct["buckets"]);
    assert_eq!(
        agg["accounts"],
        json!([{"account": MOTO_ACCOUNT, "buckets": n, "non_compliant_buckets":
                direct["buckets"].as_array().unwrap().iter().filter(|b| b["compliance"] == "NON_COMPLIANT").count(),
                "vpcs": direct["vpcs"].as_array().unwrap().len(), "non_compliant_vpcs": 0,
                "access": "direct"}])
    );
    let calls = &agg["api_calls"];
    assert_eq!(
        calls["config:ListAggregateDiscoveredResources"], 2,
        "{calls}"
    );
    assert_eq!(
        calls["config:BatchGetAggregateResourceConfig"], 2,
        "{calls}"
    );
    assert!(calls.get("s3:GetBucketPolicy").is_none(), "{calls}");
    assert!(
        calls.get("sts:AssumeRole").is_none(),
        "the own account needs no role"
    );
    // A muted bucket is NOT_APPLICABLE and no longer counted in its account's figures.
    let mute =
        std::env::temp_dir().join(format!("vpce-guard-agg-mute-{}.json", std::process::id()));
    std::fs::write(
        &mute,
        r#"{"muted": [{"resource": "cli-open", "reason": "a test", "until": "2999-12-31"}]}"#,
    )
    .unwrap();
    let (_, muted, err) = scan_json(
        &moto,
        &recorder,
        &[
            "--aggregator",
            "org-aggregator",
            "--mute-file",
            mute.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&mute).ok();
    let open = muted["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["resource"] == "cli-open")
        .unwrap();
    assert_eq!(open["compliance"], "NOT_APPLICABLE", "{err}");
    assert_eq!(
        muted["accounts"][0]["non_compliant_buckets"]
            .as_u64()
            .unwrap()
            + 1,
        agg["accounts"][0]["non_compliant_buckets"]
            .as_u64()
            .unwrap()
    );
    // An aggregator that does not exist: exit 2, one line.
    let (code, _, err) = scan_json(&moto, &recorder, &["--aggregator", "nope"]);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `--assume-role-name` reaches another account (moto answers STS for any account).
#[test]
fn a_role_in_another_account_is_assumed_and_checked() {
    use vpce_guard::ports::AccountAccess;
    let moto = Moto::start();
    let other = run(async {
        let c = vpce_guard_tests::seed::clients(&moto.endpoint(), "us-east-1").await;
        let reader = c.enter("444455556666", "vpce-guard-reader").await.unwrap();
        vpce_guard::ports::AccountReader::account_id(&reader)
            .await
            .unwrap()
    });
    assert_eq!(other, "444455556666");
}
