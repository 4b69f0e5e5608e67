//! The fuzz targets' properties on the stable toolchain: every seed input (`fuzz/seeds/`, made
//! by `scripts/fuzz seeds` from tests/cases and events/) and every input that once broke a
//! property (`fuzz/regressions/`) is replayed through the same checks the fuzzers run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["seeds", "regressions"] {
        if let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    files.sort();
    files
}

/// Replays every input; `at_least` of them must reach the code under test.
fn replay(target: &str, check: fn(&[u8]) -> bool, at_least: usize) {
    let files = inputs(target);
    let mut reached = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        match std::panic::catch_unwind(|| check(&data)) {
            Ok(r) => reached += usize::from(r),
            Err(_) => panic!("{target}: the property fails on {}", f.display()),
        }
    }
    assert!(
        reached >= at_least,
        "{target}: {reached} of {} inputs reached the code under test, expected at least \
         {at_least} (run scripts/fuzz seeds)",
        files.len()
    );
}

#[test]
fn policy_rules_corpus() {
    replay("policy_rules", checks::policy_rules, 100);
}

#[test]
fn config_event_corpus() {
    replay("config_event", checks::config_event, 9);
}

#[test]
fn cloudtrail_event_corpus() {
    replay("cloudtrail_event", checks::cloudtrail_event, 10);
}

#[test]
fn notifier_batch_corpus() {
    replay("notifier_batch", checks::notifier_batch, 2);
}

#[test]
fn remedy_merge_corpus() {
    replay("remedy_merge", checks::remedy_merge, 30);
}
