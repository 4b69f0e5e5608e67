//! CloudWatch Embedded Metric Format (EMF): each function writes its figures as JSON log lines
//! that CloudWatch Logs turns into metrics in the `vpce-guard` namespace — no API call, no
//! extra permission. Every record has the dimension `Function` (the Lambda function's name, so
//! that two stacks do not mix) and one more set of dimensions per figure (docs/OPERATIONS.md
//! lists them; the template's dashboard reads them):
//!
//! | metric | dimensions | written by |
//! |---|---|---|
//! | `Evaluations` | `Function`, `Rule`, `Status` | the Config rules, the change watcher |
//! | `Resources` | `Function`, `Compliance` | the Config rules, the change watcher |
//! | `AwsCalls` | `Function`, `Operation` | the Config rules, the change watcher, route usage |
//! | `Remediations` | `Function`, `Outcome` | the remediator |
//! | `Notifications` | `Function`, `Kind` | the Slack notifier (`Kind`: `sent`, `digested`, `quiet`) |
//! | `CloudTrailRecords` | `Function` | the route-usage function |
//! | `RouteUsageAggregates` | `Function` | the route-usage function |

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::rules::{Compliance, Finding};

/// The namespace of every metric.
pub(crate) const NAMESPACE: &str = "vpce-guard";

/// A set of dimensions other than `Function`, as (name, value).
type Dims = Vec<(&'static str, String)>;

/// One function's figures for one invocation, then written as EMF lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Emf {
    function: String,
    timestamp_ms: i64,
    /// (metric, dimensions other than `Function`) → count.
    counts: BTreeMap<(&'static str, Dims), f64>,
}

impl Emf {
    /// Figures of `function` (its Lambda name), at `now` (seconds since the epoch).
    pub(crate) fn new(function: &str, now: f64) -> Emf {
        Emf {
            function: function.to_string(),
            timestamp_ms: (now * 1000.0) as i64,
            counts: BTreeMap::new(),
        }
    }

    /// Add `n` to a count.
    pub(crate) fn count(&mut self, metric: &'static str, dims: Dims, n: f64) -> &mut Emf {
        *self.counts.entry((metric, dims)).or_insert(0.0) += n;
        self
    }

    /// Each finding by rule and status (`Evaluations`), and the resource by compliance
    /// (`Resources`).
    pub(crate) fn evaluation(&mut self, compliance: Compliance, findings: &[Finding]) -> &mut Emf {
        for f in findings {
            self.count(
                "Evaluations",
                vec![
                    ("Rule", f.rule.as_str().to_string()),
                    ("Status", f.status.as_str().to_string()),
                ],
                1.0,
            );
        }
        self.count(
            "Resources",
            vec![("Compliance", compliance.as_str().to_string())],
            1.0,
        )
    }

    /// AWS calls by operation (`service:Operation`).
    pub(crate) fn calls(&mut self, calls: &BTreeMap<String, u64>) -> &mut Emf {
        for (op, n) in calls {
            self.count("AwsCalls", vec![("Operation", op.clone())], *n as f64);
        }
        self
    }

    /// The EMF lines: one JSON object per set of dimension values, all its metrics in it.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut by_dims: BTreeMap<&Dims, Vec<(&'static str, f64)>> = BTreeMap::new();
        for ((metric, dims), n) in &self.counts {
            by_dims.entry(dims).or_default().push((metric, *n));
        }
        by_dims
            .into_iter()
            .map(|(dims, metrics)| {
                let mut names = vec![json!("Function")];
                names.extend(dims.iter().map(|(k, _)| json!(k)));
                let mut o = Map::new();
                o.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": self.timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": NAMESPACE,
                            "Dimensions": [names],
                            "Metrics": metrics
                                .iter()
                                .map(|(m, _)| json!({"Name": m, "Unit": "Count"}))
                                .collect::<Vec<_>>(),
                        }],
                    }),
                );
                o.insert("Function".into(), json!(self.function));
                for (k, v) in dims {
                    o.insert((*k).to_string(), json!(v));
                }
                for (m, n) in metrics {
                    o.insert((*m).to_string(), json!(n));
                }
                Value::Object(o).to_string()
            })
            .collect()
    }

    /// Write the lines to standard output, where Lambda sends them to CloudWatch Logs.
    pub(crate) fn emit(&self) {
        for l in self.lines() {
            println!("{l}");
        }
    }
}

/// Calls made since `before` (counters of `ports::CallCounter`).
pub(crate) fn calls_since(
    before: &BTreeMap<String, u64>,
    after: BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .into_iter()
        .map(|(k, v)| {
            let b = before.get(&k).copied().unwrap_or(0);
            (k, v - b.min(v))
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// The function's name as Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`), else `fallback`.
pub(crate) fn function_name(fallback: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::rules::{RuleId, Status};

    #[test]
    fn one_record_per_dimension_values_in_the_emf_shape() {
        let mut e = Emf::new("stack-BucketRuleFunction-x", 1_795_824_000.0);
        e.evaluation(
            Compliance::NonCompliant,
            &[
                Finding::new(RuleId::S3VpceDeny, Status::Fail, "x"),
                Finding::new(RuleId::S3Tls, Status::Pass, "y"),
            ],
        );
        e.evaluation(
            Compliance::NonCompliant,
            &[Finding::new(RuleId::S3VpceDeny, Status::Fail, "x")],
        );
        e.calls(&BTreeMap::from([("s3:GetBucketPolicy".to_string(), 3)]));
        let lines: Vec<Value> = e
            .lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        let deny = lines.iter().find(|l| l["Rule"] == "S3-VPCE-DENY").unwrap();
        assert_eq!(
            deny,
            &json!({
                "_aws": {"Timestamp": 1_795_824_000_000i64, "CloudWatchMetrics": [{
                    "Namespace": "vpce-guard",
                    "Dimensions": [["Function", "Rule", "Status"]],
                    "Metrics": [{"Name": "Evaluations", "Unit": "Count"}]}]},
                "Function": "stack-BucketRuleFunction-x",
                "Rule": "S3-VPCE-DENY", "Status": "FAIL", "Evaluations": 2.0
            })
        );
        let resources = lines
            .iter()
            .find(|l| l["Compliance"] == "NON_COMPLIANT")
            .unwrap();
        assert_eq!(resources["Resources"], 2.0);
        let calls = lines
            .iter()
            .find(|l| l["Operation"] == "s3:GetBucketPolicy")
            .unwrap();
        assert_eq!(calls["AwsCalls"], 3.0);
    }
}
