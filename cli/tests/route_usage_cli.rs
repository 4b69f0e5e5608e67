//! `vpce-guard route-usage` as users run it: over CloudTrail log files as CloudTrail delivers
//! them (gzipped, in nested folders, in S3 through moto), over Athena's result, and the Athena
//! SQL itself run on DuckDB over the same records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::s3_client;
use vpce_guard_tests::seed::Seed;
use vpce_guard_tests::{block_on, offline_command, offline_command_with_credentials};

const GUARDED: &str = "amzn-s3-demo-private";
const APPROVED: &str = "vpce-0a1b2c3d4e5f60001";
const BREAK_GLASS: &str = "arn:aws:iam::111122223333:role/break-glass";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> PathBuf {
    root().join("tests/cloudtrail/route-usage.json")
}

fn records() -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    v["Records"].as_array().unwrap().clone()
}

fn route_usage(args: &[&str]) -> Output {
    offline_command(env!("CARGO_BIN_EXE_vpce-guard"))
        .arg("route-usage")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vpce-guard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn log_file(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

/// The fixture as CloudTrail delivers it: one gzipped file per few records, in the
/// `AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/` folders, beside a digest file that
/// must be skipped.
fn delivered_tree(name: &str) -> PathBuf {
    let dir = tempdir(name);
    let day = dir.join("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/07");
    std::fs::create_dir_all(&day).unwrap();
    for (i, chunk) in records().chunks(4).enumerate() {
        let f = day.join(format!(
            "111122223333_CloudTrail_eu-west-1_20261207T07{i:02}Z_abc{i}.json.gz"
        ));
        std::fs::write(f, gzip(&log_file(chunk))).unwrap();
    }
    let digest = dir.join("AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/12/07");
    std::fs::create_dir_all(&digest).unwrap();
    std::fs::write(
        digest.join("111122223333_CloudTrail-Digest_eu-west-1_x.json.gz"),
        gzip(br#"{"awsAccountId":"111122223333","digestStartTime":"2026-12-07T07:00:00Z"}"#),
    )
    .unwrap();
    dir
}

const FIXTURE_ARGS: [&str; 6] = [
    "--bucket",
    GUARDED,
    "--approved-vpce",
    APPROVED,
    "--exempt-principal",
    BREAK_GLASS,
];

/// The fixture's report, computed by hand from its records (tests/cloudtrail/make_fixture.py
/// says what each record is).
fn expected_report() -> Value {
    let finding = |principal: &str,
                   ip: &str,
                   ipv6: bool,
                   ev: &str,
                   count: u64,
                   denied: u64,
                   first: &str,
                   last: &str| {
        json!({"principal": principal, "source_ip": ip, "ipv6": ipv6, "event_names": [ev],
               "count": count, "denied": denied, "first_seen": first, "last_seen": last})
    };
    let ci = "arn:aws:iam::111122223333:user/ci-deploy";
    let analyst = "arn:aws:iam::111122223333:role/analyst";
    json!({
        "buckets": [{
            "bucket": GUARDED,
            "requests": 7,
            "excluded": 5,
            "via_approved_endpoint": 2,
            "public_route": 4,
            "other_endpoint": 1,
            "endpoint_policy_denied": 1,
            "findings": [
                finding(ci, "203.0.113.10", false, "GetObject", 2, 1, "2026-12-07T07:12:30Z", "2026-12-07T07:40:02Z"),
                finding(analyst, "2001:db8:4006:812::200e", true, "GetObject", 1, 0, "2026-12-07T07:20:00Z", "2026-12-07T07:20:00Z"),
                finding(analyst, "172.31.7.9", false, "ListObjects", 1, 0, "2026-12-07T07:25:17Z", "2026-12-07T07:25:17Z"),
                finding(ci, "203.0.113.10", false, "PutObject", 1, 0, "2026-12-07T08:05:59Z", "2026-12-07T08:05:59Z"),
            ]
        }],
        "endpoint_denials": [
            {"vpc_endpoint_id": APPROVED, "principal_account": "777788889999", "bucket": GUARDED,
             "event_names": ["GetObject"], "count": 1,
             "first_seen": "2026-12-07T07:35:10Z", "last_seen": "2026-12-07T07:35:10Z"},
            {"vpc_endpoint_id": APPROVED, "principal_account": "999900001111", "bucket": null,
             "event_names": ["PutObject"], "count": 1,
             "first_seen": "2026-12-07T07:36:10Z", "last_seen": "2026-12-07T07:36:10Z"},
        ]
    })
}

#[test]
fn gzipped_nested_log_files_give_the_exact_report_and_exit_1() {
    let dir = delivered_tree("tree");
    let mut args = vec![dir.to_str().unwrap()];
    args.extend(FIXTURE_ARGS);
    args.extend(["--format", "json"]);
    let out = route_usage(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out), expected_report());

    // The text report leads with the share through an approved endpoint (2 of 7).
    let mut args = vec![dir.to_str().unwrap()];
    args.extend(FIXTURE_ARGS);
    let out = route_usage(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(
            "amzn-s3-demo-private: 28.6% of 7 requests through an approved endpoint (4 public route, 1 another endpoint; 5 excluded; 1 refused by an endpoint policy)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("from 2001:db8:4006:812::200e (IPv6)"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn only_approved_routes_exit_0() {
    let dir = tempdir("approved");
    let approved: Vec<Value> = records()
        .into_iter()
        .filter(|r| r["eventCategory"] == "Data" && r["vpcEndpointId"] == APPROVED)
        .collect();
    assert_eq!(approved.len(), 2, "the fixture's two approved requests");
    let f = dir.join("approved.json");
    std::fs::write(&f, log_file(&approved)).unwrap();
    let out = route_usage(&[
        f.to_str().unwrap(),
        "--approved-vpce",
        APPROVED,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["buckets"][0]["via_approved_endpoint"], 2);
    assert_eq!(report["buckets"][0]["findings"], json!([]));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_file_that_is_not_cloudtrail_exits_2_with_one_line_and_prints_nothing() {
    let dir = delivered_tree("bad");
    let day = dir.join("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/07");
    // A Config snapshot where a log file should be: valid JSON, gzipped, not CloudTrail.
    std::fs::write(
        day.join("zz_snapshot.json.gz"),
        gzip(br#"{"fileVersion":"1.0","configurationItems":[]}"#),
    )
    .unwrap();
    for format in ["json", "text"] {
        let mut args = vec![dir.to_str().unwrap()];
        args.extend(FIXTURE_ARGS);
        args.extend(["--format", format]);
        let out = route_usage(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("zz_snapshot.json.gz") && err.contains("not CloudTrail"),
            "{err}"
        );
    }
    // Truncated gzip and missing files are bad input too.
    let cut = dir.join("cut.json.gz");
    let whole = gzip(&log_file(&records()));
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    for f in [cut, dir.join("missing.json")] {
        let out = route_usage(&[f.to_str().unwrap(), "--approved-vpce", APPROVED]);
        assert_eq!(out.status.code(), Some(2), "{f:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
    // Nothing approved: a clear error, not a report where every request is "unapproved".
    let out = route_usage(&[fixture().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no approved endpoints"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The Athena SQL of `args`, run on DuckDB over the fixture's records by
/// tests/cloudtrail/athena_duckdb.py (sqlglot transpiles it), turned back into JSON by
/// `--from-athena`: the same report as the analysis in Rust.
fn athena_round_trip(args: &[&str], dir: &Path, n: usize) -> (Value, Value) {
    let mut direct = vec![fixture().to_str().unwrap().to_string()];
    direct.extend(args.iter().map(|s| s.to_string()));
    direct.extend(["--format".into(), "json".into()]);
    let direct: Vec<&str> = direct.iter().map(String::as_str).collect();
    let rust = json_of(&route_usage(&direct));

    let mut sql_args = vec!["--athena", "cloudtrail_logs"];
    sql_args.extend(args);
    let out = route_usage(&sql_args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = dir.join(format!("q{n}.sql"));
    std::fs::write(&sql, &out.stdout).unwrap();

    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup (it installs sqlglot and duckdb)",
        python.display()
    );
    let ran = std::process::Command::new(python)
        .arg(root().join("tests/cloudtrail/athena_duckdb.py"))
        .arg(&sql)
        .arg("cloudtrail_logs")
        .arg(fixture())
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "DuckDB rejected the SQL: {}\n{}",
        String::from_utf8_lossy(&ran.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let csv = dir.join(format!("r{n}.csv"));
    std::fs::write(&csv, &ran.stdout).unwrap();

    let mut back = vec!["--from-athena", csv.to_str().unwrap(), "--format", "json"];
    back.extend(args);
    let out = route_usage(&back);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (rust, json_of(&out))
}

#[test]
fn the_athena_sql_run_on_duckdb_gives_the_same_report() {
    let dir = tempdir("athena");
    let cases: [&[&str]; 4] = [
        &FIXTURE_ARGS,
        // Every bucket in the records, no exemption.
        &["--approved-vpce", APPROVED],
        // The account's own endpoints, whichever they are.
        &[
            "--approved-endpoint-scope",
            "account",
            "--account-id",
            "111122223333",
        ],
        // The organization's endpoints (its accounts named), two approved ids, two patterns.
        &[
            "--approved-endpoint-scope",
            "organization",
            "--org-account",
            "444455556666",
            "--account-id",
            "111122223333",
            "--approved-vpce",
            "vpce-0b2c3d4e5f6a70002",
            "--exempt-principal",
            "arn:aws:iam::111122223333:role/break-*",
            "--exempt-principal",
            "arn:aws:iam::*:user/ci-?eploy",
        ],
    ];
    for (n, args) in cases.iter().enumerate() {
        let (rust, athena) = athena_round_trip(args, &dir, n);
        assert_eq!(athena, rust, "case {n}: {args:?}");
    }
    let (rust, _) = athena_round_trip(&FIXTURE_ARGS, &dir, 9);
    assert_eq!(rust, expected_report());
    let _ = std::fs::remove_dir_all(dir);
}

/// Log files in S3 (moto), read through the SDK with `--endpoint-url`; the approved endpoints
/// named by their VPC and read from EC2.
#[test]
fn log_files_in_s3_and_approved_vpcs_from_ec2() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let vpce = block_on(async {
        let seed = Seed::new(&endpoint, "us-east-1").await;
        let (vpc, vpce) = seed.reference_vpc("us-east-1", "10.20.0.0/16").await;
        let s3 = s3_client(&endpoint);
        s3.create_bucket().bucket("org-trail").send().await.unwrap();
        // The fixture with the approved endpoint replaced by the seeded one.
        let text = std::fs::read_to_string(fixture())
            .unwrap()
            .replace(APPROVED, &vpce);
        let v: Value = serde_json::from_str(&text).unwrap();
        let recs = v["Records"].as_array().unwrap();
        for (i, chunk) in recs.chunks(5).enumerate() {
            s3.put_object()
                .bucket("org-trail")
                .key(format!(
                    "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2026/12/07/f{i}.json.gz"
                ))
                .body(gzip(&log_file(chunk)).into())
                .send()
                .await
                .unwrap();
        }
        s3.put_object()
            .bucket("org-trail")
            .key("AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/eu-west-1/2026/12/07/d.json.gz")
            .body(gzip(b"{\"digestStartTime\":\"x\"}").into())
            .send()
            .await
            .unwrap();
        (vpc.vpc_id, vpce)
    });
    let (vpc_id, vpce_id) = vpce;
    let out = offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args([
            "route-usage",
            "s3://org-trail/AWSLogs/o-a1b2c3d4e5/",
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "--bucket",
            GUARDED,
            "--approved-vpc",
            &vpc_id,
            "--exempt-principal",
            BREAK_GLASS,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Value =
        serde_json::from_str(&expected_report().to_string().replace(APPROVED, &vpce_id)).unwrap();
    assert_eq!(json_of(&out), expected);

    // A VPC without an S3 endpoint approves nothing: an error, not a silent report.
    let out = offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args([
            "route-usage",
            fixture().to_str().unwrap(),
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "--approved-vpc",
            "vpc-0000000000000dead",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("vpc-0000000000000dead: no S3 endpoint"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
