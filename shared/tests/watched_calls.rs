//! The template's `ChangeWatcherRule` pattern against the watcher's one table of calls
//! (`watcher::WATCHED_CALLS`): the same event names, the same event sources, both ways. A call
//! added to one and not the other fails here. (The template's other checks are in
//! tests/template; this one needs the Rust table.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use vpce_guard::watcher::WATCHED_CALLS;

/// The lines of the rule's block in template.yaml.
fn rule_block(template: &str) -> Vec<&str> {
    let mut lines = template
        .lines()
        .skip_while(|l| *l != "  ChangeWatcherRule:");
    let mut out = vec![lines
        .next()
        .unwrap_or_else(|| panic!("no ChangeWatcherRule"))];
    // The block ends at the next resource (two-space indent, a name and a colon).
    out.extend(
        lines.take_while(|l| !(l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))),
    );
    out
}

/// The `- Name` items under `key:` in the block (comments skipped).
fn list_under<'a>(block: &[&'a str], key: &str) -> Vec<&'a str> {
    let start = block
        .iter()
        .position(|l| l.trim() == format!("{key}:"))
        .unwrap_or_else(|| panic!("no `{key}:` list in ChangeWatcherRule"));
    block[start + 1..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.starts_with('#'))
        .take_while(|l| l.starts_with("- "))
        .map(|l| l.trim_start_matches("- ").trim())
        .collect()
}

/// The `[a, b]` flow list of `key:` in the block.
fn flow_list<'a>(block: &[&'a str], key: &str) -> Vec<&'a str> {
    let line = block
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with(&format!("{key}: [")))
        .unwrap_or_else(|| panic!("no `{key}: [...]` in ChangeWatcherRule"));
    line.trim_start_matches(&format!("{key}: ["))
        .trim_end_matches(']')
        .split(',')
        .map(str::trim)
        .collect()
}

#[test]
fn the_template_pattern_is_the_watchers_table() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let block = rule_block(&template);
    let names: BTreeSet<&str> = list_under(&block, "eventName").into_iter().collect();
    let table: BTreeSet<&str> = WATCHED_CALLS.iter().map(|c| c.name).collect();
    assert_eq!(
        names.difference(&table).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "in the template's pattern, not in WATCHED_CALLS"
    );
    assert_eq!(
        table.difference(&names).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "in WATCHED_CALLS, not in the template's pattern"
    );
    assert_eq!(names.len(), WATCHED_CALLS.len(), "a call listed twice");
    let sources: BTreeSet<&str> = flow_list(&block, "eventSource").into_iter().collect();
    let table_sources: BTreeSet<&str> = WATCHED_CALLS.iter().map(|c| c.source).collect();
    assert_eq!(sources, table_sources);
    // EventBridge's `source` of each CloudTrail event source (aws.s3 for s3.amazonaws.com).
    let bus_sources: BTreeSet<String> = flow_list(&block, "source")
        .into_iter()
        .map(String::from)
        .collect();
    let expected: BTreeSet<String> = table_sources
        .iter()
        .map(|s| format!("aws.{}", s.trim_end_matches(".amazonaws.com")))
        .collect();
    assert_eq!(bus_sources, expected);
}

#[test]
fn the_check_sees_a_missing_call() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let cut = template.replacen("            - ModifyVpcAttribute\n", "", 1);
    assert_ne!(cut, template, "the sample edit found nothing to remove");
    let names: BTreeSet<&str> = list_under(&rule_block(&cut), "eventName")
        .into_iter()
        .collect();
    assert!(!names.contains("ModifyVpcAttribute"));
    assert_eq!(names.len() + 1, WATCHED_CALLS.len());
}
