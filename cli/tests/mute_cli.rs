//! `--mute-file` on `scan` and `check-policy`: muted by name and pattern (NOT_APPLICABLE with
//! the reason), an expired mute that stops muting and says so, a bucket that only carries a
//! tag is not muted, and a list with a mistake is refused (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_s3::types::{Tag, Tagging};
use serde_json::{json, Value};
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{Seed, MOTO_ACCOUNT};
use vpce_guard_tests::{block_on, offline_command_with_credentials, s3_client};

fn mute_file(name: &str, body: &Value) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "vpce-guard-mute-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&p, body.to_string()).unwrap();
    p
}

fn list() -> Value {
    json!({"muted": [
        {"resource": "site-*", "reason": "public website", "until": "2099-06-30"},
        {"resource": "old-logs", "reason": "log delivery", "until": "2020-01-31"}
    ]})
}

#[test]
fn scan_mutes_by_name_and_pattern_never_by_tag() {
    let moto = Moto::start();
    block_on(async {
        let seed = Seed::new(&moto.endpoint(), "us-east-1").await;
        seed.secure_default_vpc("us-east-1", MOTO_ACCOUNT).await;
        for b in ["site-www", "old-logs", "tagged"] {
            seed.bucket(b, "us-east-1", None, false, None).await;
        }
        // Whoever can tag a bucket must not be able to silence it.
        let tags = Tagging::builder()
            .tag_set(
                Tag::builder()
                    .key("vpce-guard:exempt")
                    .value("true")
                    .build()
                    .unwrap(),
            )
            .tag_set(
                Tag::builder()
                    .key("vpce-guard:muted")
                    .value("public website")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        s3_client(&moto.endpoint())
            .put_bucket_tagging()
            .bucket("tagged")
            .tagging(tags)
            .send()
            .await
            .unwrap();
    });
    let file = mute_file("scan", &list());
    let endpoint = moto.endpoint();
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "--mute-file",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
            .args(&args)
            .output()
            .unwrap()
    };
    let out = scan(&["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bucket = |name: &str| {
        report["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["resource"] == name)
            .unwrap()
            .clone()
    };
    let site = bucket("site-www");
    assert_eq!(site["compliance"], "NOT_APPLICABLE");
    assert_eq!(site["muted"], "muted: public website (until 2099-06-30)");
    assert_eq!(
        site["annotation"],
        "muted: public website (until 2099-06-30)"
    );
    assert!(
        site["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["status"] == "FAIL"),
        "the findings are kept as judged"
    );
    let old = bucket("old-logs");
    assert_eq!(old["compliance"], "NON_COMPLIANT");
    assert_eq!(
        old["mute_expired"],
        "mute expired on 2020-01-31: log delivery"
    );
    let tagged = bucket("tagged");
    assert_eq!(tagged["compliance"], "NON_COMPLIANT");
    assert!(tagged.get("muted").is_none());
    // Only the muted bucket: nothing non-compliant, exit 0; the text says why.
    let out = scan(&["--bucket", "site-www", "--format", "text"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("muted: public website (until 2099-06-30)"),
        "{text}"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn check_policy_mutes_and_refuses_a_list_with_a_mistake() {
    let policy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/private-bucket-policy.json");
    let run = |bucket: &str, file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vpce-guard"))
            .args([
                "check-policy",
                policy.to_str().unwrap(),
                "--bucket",
                bucket,
                "--approved-vpce",
                "vpce-0a1b2c3d4e5f60718",
                "--mute-file",
                file.to_str().unwrap(),
                "--format",
                "json",
            ])
            .output()
            .unwrap()
    };
    let good = mute_file("check", &list());
    let out = run("site-docs", &good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["compliance"], "NOT_APPLICABLE");
    assert_eq!(e["muted"], "muted: public website (until 2099-06-30)");
    let out = run("other-bucket", &good);
    assert_eq!(out.status.code(), Some(1));

    let bad = mute_file(
        "bad",
        &json!({"muted": [{"resource": "site-*", "reason": "public website", "until": "2099-02-30"}]}),
    );
    let out = run("site-docs", &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("mute entry 0: `until` `2099-02-30` is not a date"),
        "{err}"
    );
    for f in [good, bad] {
        let _ = std::fs::remove_file(f);
    }
}
