//! The demo (`scripts/demo`) run non-interactively, as the README's first command runs it:
//! its key results, and nothing it started still running afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;
use vpce_guard_tests::function_binary;

fn alive(pid: u64) -> bool {
    // A process that exited and was reaped has no /proc entry; a zombie counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

#[test]
fn the_demo_tells_the_whole_story_and_stops_everything_it_started() {
    let mut bin_dir = None;
    for f in [
        "bucket-rule",
        "network-rule",
        "change-watcher",
        "slack-notifier",
        "remediator",
    ] {
        bin_dir = function_binary(f)
            .parent()
            .map(std::path::Path::to_path_buf);
    }
    let logs = std::env::temp_dir().join(format!("vpce-guard-demo-logs-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--format", "json", "--bin-dir"])
        .arg(bin_dir.unwrap())
        .arg("--logs")
        .arg(&logs)
        .arg("--report")
        .arg(logs.join("report.html"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "start",
            "periodic-sweep",
            "cloudtrail-change",
            "remediation",
            "report"
        ]
    );
    // The account at a glance: the three regions' six buckets, one private, as the report.
    let report = &doc["steps"][4]["result"];
    assert_eq!(
        (report["buckets"].as_u64(), report["private"].as_u64()),
        (Some(6), Some(1))
    );
    let page = std::fs::read_to_string(logs.join("report.html")).unwrap();
    assert!(page.contains("data-buckets=\"6\" data-private=\"1\" data-not-private=\"5\""));
    // Which buckets are compliant before the change and after the remediation.
    let compliant = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = doc[key]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(id, c)| id.starts_with("acme-") && *c == "COMPLIANT")
            .map(|(id, _)| id.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(compliant("compliance_before"), ["acme-prod-data"]);
    assert_eq!(compliant("compliance_after"), ["acme-prod-data"]);
    for b in ["acme-analytics", "acme-build-logs", "acme-public-site"] {
        assert_eq!(doc["compliance_after"][b], "NON_COMPLIANT", "{b}");
    }
    // In between, the change made it non-compliant, and the watcher named the user.
    let change = &doc["steps"][2]["result"];
    assert_eq!(change["finding"]["compliance"], "NON_COMPLIANT");
    assert_eq!(
        change["finding"]["trigger"]["actor_arn"],
        "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice@example.com"
    );
    // The Slack messages the sink received: count and first line of each.
    let first: Vec<&str> = doc["slack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["first_line"].as_str().unwrap())
        .collect();
    assert_eq!(
        first,
        [
            "S3 bucket acme-prod-data is NON_COMPLIANT",
            "Resolved: S3 bucket acme-prod-data is compliant again"
        ]
    );
    let rem = &doc["steps"][3]["result"];
    assert_eq!(rem["dry_run"]["outcome"], "planned");
    assert_eq!(rem["enforce"]["outcome"], "applied");
    assert_eq!(rem["refusal"]["outcome"], "refused");
    assert!(rem["refusal"]["reason"]
        .as_str()
        .unwrap()
        .contains("ap-southeast-2"));
    // Every function wrote its log; nothing the demo started is still running.
    assert!(logs.join("change-watcher.log").exists());
    let pids = doc["pids"].as_array().unwrap();
    assert!(pids.len() >= 7, "moto and six function processes: {pids:?}");
    for p in pids {
        assert!(!alive(p.as_u64().unwrap()), "process {p} still runs");
    }
    let _ = std::fs::remove_dir_all(&logs);
}
