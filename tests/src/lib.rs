//! Shared helpers of the end-to-end and corpus tests: the case corpus, a moto server per test,
//! and seeding through the real SDK.

#![allow(clippy::panic)]

pub mod cases;
pub mod moto;
pub mod seed;

use vpce_guard::rules::Evaluation;
use vpce_guard::scan::{RegionalEvaluation, ScanReport};

/// `RULE=STATUS` for every finding, in order: compact to assert on.
pub fn statuses(e: &Evaluation) -> Vec<String> {
    e.findings
        .iter()
        .map(|f| format!("{}={}", f.rule.as_str(), f.status.as_str()))
        .collect()
}

/// The evaluation of one resource of a report.
pub fn find<'a>(report: &'a ScanReport, resource: &str) -> &'a RegionalEvaluation {
    report
        .buckets
        .iter()
        .chain(&report.vpcs)
        .find(|e| e.evaluation.resource == resource)
        .unwrap_or_else(|| panic!("{resource} is not in the report: {report:#?}"))
}

/// The reason of one rule's finding.
pub fn reason<'a>(e: &'a Evaluation, rule: &str) -> &'a str {
    e.findings
        .iter()
        .find(|f| f.rule.as_str() == rule)
        .map(|f| f.reason.as_str())
        .unwrap_or("")
}
