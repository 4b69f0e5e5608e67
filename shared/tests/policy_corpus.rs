//! Every case of `tests/cases/` gives exactly the expected status of every bucket rule. Runs
//! on the library alone, without the AWS SDK (`--no-default-features`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vpce_guard::policy::PolicyDocument;
#[path = "support/cases.rs"]
mod cases;

use cases::{case_files, policy_text, InvalidCase, PolicyCase};

#[test]
fn every_policy_case_gives_the_expected_statuses() {
    let files = case_files("policy");
    assert!(
        files.len() >= 60,
        "the corpus should hold at least 60 cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut real_world = 0;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap();
        let case: PolicyCase = match serde_json::from_str(&text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: not a valid case file: {e}"));
                continue;
            }
        };
        if case.source != "synthetic" {
            real_world += 1;
        }
        match case.evaluate() {
            Ok(eval) => {
                for m in case.mismatches(&eval) {
                    failures.push(format!("{name}: {m}"));
                }
            }
            Err(e) => failures.push(format!("{name}: cannot evaluate: {e}")),
        }
    }
    assert!(
        real_world >= 20,
        "at least 20 real-world cases expected, found {real_world}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_invalid_case_is_rejected_with_a_clear_message() {
    let files = case_files("invalid");
    assert!(
        files.len() >= 10,
        "expected at least 10 invalid cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let case: InvalidCase =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        match PolicyDocument::parse(&policy_text(&case.policy)) {
            Ok(_) => failures.push(format!(
                "{name}: accepted, expected an error containing `{}`",
                case.error_contains
            )),
            Err(e) if !e.to_string().contains(&case.error_contains) => failures.push(format!(
                "{name}: error `{e}` lacks `{}`",
                case.error_contains
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
