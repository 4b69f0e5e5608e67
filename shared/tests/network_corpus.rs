//! The network-rule corpus (`tests/cases/network/`): a VPC's facts in, the five network
//! findings out, like the policy corpus for the bucket rules. Each case gives the expected
//! status of every network rule (the registry's list) and, where it matters, a piece of the
//! reason. Runs on the library alone, without the AWS SDK (`--no-default-features`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use vpce_guard::facts::NetworkFacts;
use vpce_guard::rules::network::evaluate_vpc;
use vpce_guard::rules::RuleId;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkCase {
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    source: String,
    account_id: Option<String>,
    vpc: String,
    facts: NetworkFacts,
    /// Rule id → status, for every network rule.
    expected: BTreeMap<String, String>,
    /// Rule id → a piece of its reason.
    #[serde(default)]
    reason_contains: BTreeMap<String, String>,
}

/// 2026-12-01T00:00:00Z, for `aws:CurrentTime`.
const NOW: f64 = 1_796_083_200.0;

fn check(name: &str, case: &NetworkCase) -> Vec<String> {
    let mut out = Vec::new();
    let Some(vpc) = case.facts.vpcs.iter().find(|v| v.id == case.vpc) else {
        return vec![format!("{name}: the facts have no VPC {}", case.vpc)];
    };
    let eval = evaluate_vpc(vpc, &case.facts, case.account_id.as_deref(), &[], NOW);
    for rule in RuleId::NETWORK {
        let Some(want) = case.expected.get(rule.as_str()) else {
            out.push(format!("{name}: no expected status for {rule}"));
            continue;
        };
        let Some(got) = eval.findings.iter().find(|f| f.rule == rule) else {
            out.push(format!("{name}: no finding for {rule}"));
            continue;
        };
        if got.status.as_str() != want {
            out.push(format!(
                "{name}: {rule} is {} ({}), expected {want}",
                got.status.as_str(),
                got.reason
            ));
        }
        if let Some(part) = case.reason_contains.get(rule.as_str()) {
            if !got.reason.contains(part.as_str()) {
                out.push(format!(
                    "{name}: {rule}'s reason `{}` lacks `{part}`",
                    got.reason
                ));
            }
        }
    }
    for id in case.expected.keys().chain(case.reason_contains.keys()) {
        if !RuleId::NETWORK.iter().any(|r| r.as_str() == id) {
            out.push(format!("{name}: `{id}` is not a network rule"));
        }
    }
    out
}

#[test]
fn every_network_case_gives_the_expected_statuses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/network");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "only {} network cases", files.len());
    let mut failures = Vec::new();
    let mut seen: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case: NetworkCase = match serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: not a valid case: {e}"));
                continue;
            }
        };
        for (rule, status) in &case.expected {
            seen.entry(rule.clone()).or_default().insert(status.clone());
        }
        failures.extend(check(&name, &case));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The corpus shows each rule passing and not passing.
    for rule in RuleId::NETWORK {
        let statuses = seen.get(rule.as_str()).cloned().unwrap_or_default();
        assert!(
            statuses.contains("PASS") && statuses.len() >= 2,
            "{rule}: the corpus only shows {statuses:?}"
        );
    }
}

#[test]
fn a_wrong_expectation_is_reported() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/network");
    let text = std::fs::read_to_string(dir.join("001-reference.json")).unwrap();
    let mut case: NetworkCase = serde_json::from_str(&text).unwrap();
    case.expected.insert("NET-DNS".into(), "FAIL".into());
    let problems = check("001-reference.json", &case);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("NET-DNS is PASS"), "{problems:?}");
}
