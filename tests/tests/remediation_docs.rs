//! docs/REMEDIATION.md shows real plans: three real-world policies merged (before → after as a
//! diff) and a public website refused. This test recomputes each and checks the document holds
//! exactly that text, so the docs cannot drift from what the remediator writes.
//! `PRINT_REMEDIATION_DOCS=1` prints the blocks to paste.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;
use vpce_guard::remedy::{plan, render_diff, Decision, RemedyInput};
use vpce_guard::rules::BucketParams;

fn input(policy: &Value) -> RemedyInput {
    RemedyInput {
        bucket: "amzn-s3-demo-bucket".into(),
        region: "us-east-1".into(),
        account: "111122223333".into(),
        current: Some(policy.to_string()),
        endpoints: vec!["vpce-1a2b3c4d".into()],
        exempt_principals: vec!["arn:aws:iam::111122223333:role/BreakGlass".into()],
        guard_principals: vec!["arn:aws:iam::111122223333:role/vpce-guard/BucketRule".into()],
        remediator_principals: vec!["arn:aws:iam::111122223333:role/vpce-guard/Remediator".into()],
        config_role: None,
        require: BucketParams::default(),
        caller: Some("arn:aws:iam::111122223333:role/vpce-guard/Remediator".into()),
        exempt_tag: false,
        now: 1_795_000_000.0,
    }
}

fn block(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/remediation");
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
    let policy = &case["policy"];
    match plan(&input(policy)) {
        Decision::Write(p) => format!(
            "```diff\n{}```\n",
            render_diff(p.previous.as_ref(), &p.policy)
        ),
        Decision::Refused { reason, .. } => format!("```\nrefused: {reason}\n```\n"),
        Decision::NoChange { reason } => format!("```\nno change: {reason}\n```\n"),
    }
}

#[test]
fn the_remediation_docs_show_what_the_remediator_writes() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/REMEDIATION.md"),
    )
    .unwrap();
    let mut missing = Vec::new();
    for name in [
        "data-perimeter.json",
        "sid-less.json",
        "cross-account.json",
        "public-website.json",
    ] {
        let b = block(name);
        if std::env::var_os("PRINT_REMEDIATION_DOCS").is_some() {
            println!("<!-- {name} -->\n{b}");
        }
        if !doc.contains(&b) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/REMEDIATION.md does not show the current plan for {missing:?} (run with PRINT_REMEDIATION_DOCS=1 -- --nocapture)"
    );
}
