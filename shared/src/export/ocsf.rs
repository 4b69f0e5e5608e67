//! OCSF Compliance Finding events (class 2003), one per resource and evaluated rule, for the
//! new Security Hub and SIEMs that ingest OCSF. The schema version is pinned
//! ([`OCSF_VERSION`]); the tests validate every line with py-ocsf-models (pinned in
//! scripts/requirements.txt) for that version.
//!
//! Mapping: `compliance.control` the rule id, `compliance.status_id` 1 Pass / 2 Warning /
//! 3 Fail; `severity_id` from docs/RULES.md "Severity" (1 Informational … 5 Critical);
//! `status_id` 1 New, or 3 Suppressed when the resource is muted; `resources[0]` the bucket or
//! VPC (`uid` its ARN, `name` its name); `finding_info.uid` the stable id of the resource and
//! rule. A rule that does not apply (disabled, or facts the mode does not have) is not a
//! finding and gives no line.

use serde_json::{json, Map, Value};

use super::{remediation, rule_doc, Located};
use crate::rules::{BucketParams, Evaluation, Finding, Status, S3_BUCKET};

/// The OCSF schema version the events follow.
pub(crate) const OCSF_VERSION: &str = "1.5.0";
/// Compliance Finding.
const CLASS_UID: u32 = 2003;
/// Findings.
const CATEGORY_UID: u32 = 2;
/// Activity 1: Create.
const ACTIVITY_ID: u32 = 1;

fn compliance_status(s: Status) -> Option<(u8, &'static str)> {
    match s {
        Status::Pass => Some((1, "Pass")),
        Status::Warn => Some((2, "Warning")),
        Status::Fail => Some((3, "Fail")),
        Status::NotApplicable => None,
    }
}

fn caption(label: &str) -> String {
    let mut c = label.to_ascii_lowercase();
    if let Some(first) = c.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    c
}

/// The events of one bucket policy checked offline (`check-policy`): no region; the account
/// and partition of its parameters.
pub fn policy_events(eval: &Evaluation, params: &BucketParams, now: f64) -> Vec<Value> {
    let r = Located {
        evaluation: eval,
        resource_type: S3_BUCKET,
        account: params.account_id.as_deref(),
        region: None,
        partition: Some(params.partition),
    };
    compliance_findings(&r, eval.muted.is_some(), (now * 1000.0) as i64)
}

/// The events of one evaluated resource, in catalog order; `time_ms`: when it was judged
/// (milliseconds since the epoch).
pub(crate) fn compliance_findings(r: &Located<'_>, muted: bool, time_ms: i64) -> Vec<Value> {
    r.evaluation
        .findings
        .iter()
        .filter_map(|f| {
            compliance_status(f.status).map(|status| event(r, f, status, muted, time_ms))
        })
        .collect()
}

fn event(r: &Located<'_>, f: &Finding, status: (u8, &str), muted: bool, time_ms: i64) -> Value {
    let severity = f.severity();
    let (status_id, status_name) = if muted { (3, "Suppressed") } else { (1, "New") };
    let spec = f.rule.spec();
    let mut resource = Map::new();
    resource.insert("uid".into(), json!(r.arn()));
    resource.insert("name".into(), json!(r.evaluation.resource));
    resource.insert("type".into(), json!(r.resource_type));
    resource.insert("cloud_partition".into(), json!(r.partition().as_str()));
    if let Some(region) = r.region {
        resource.insert("region".into(), json!(region));
    }
    let mut cloud = Map::new();
    cloud.insert("provider".into(), json!("AWS"));
    if let Some(region) = r.region {
        cloud.insert("region".into(), json!(region));
    }
    if let Some(account) = r.account {
        cloud.insert(
            "account".into(),
            json!({"uid": account, "type": "AWS Account", "type_id": 10}),
        );
    }
    let mut e = json!({
        "activity_id": ACTIVITY_ID,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
        "type_name": "Compliance Finding: Create",
        "time": time_ms,
        "severity_id": severity.ocsf_id(),
        "severity": caption(severity.as_str()),
        "status_id": status_id,
        "status": status_name,
        "message": format!("{}: {}", f.rule.as_str(), f.reason),
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": ["cloud"],
            "product": {
                "name": "vpce-guard",
                "vendor_name": "vpce-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "uid": "vpce-guard",
            },
            "event_code": f.rule.as_str(),
        },
        "finding_info": {
            "uid": r.finding_uid(f.rule),
            "title": format!("{}: {}", f.rule.as_str(), spec.judges),
            "desc": f.reason,
            "types": ["S3 network perimeter"],
        },
        "compliance": {
            "control": f.rule.as_str(),
            "status_id": status.0,
            "status": status.1,
            "standards": ["vpce-guard"],
            "desc": spec.judges,
        },
        "resources": [resource],
        "cloud": cloud,
        "unmapped": {
            "resource_compliance": r.evaluation.compliance.as_str(),
            "exemptions": f.exemptions,
        },
    });
    if matches!(f.status, Status::Fail | Status::Warn) {
        e["remediation"] = json!({
            "desc": remediation(f.rule),
            "references": [rule_doc(f.rule)],
        });
    }
    e
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::rules::RuleId;

    #[test]
    fn one_event_per_evaluated_rule_with_the_rule_as_control() {
        let eval = Evaluation::new(
            "b1",
            vec![
                Finding::new(
                    RuleId::S3VpceDeny,
                    Status::Fail,
                    "nothing denies the public route",
                ),
                Finding::new(RuleId::S3SigV4, Status::Warn, "SigV2 not denied"),
                Finding::new(RuleId::S3Tls, Status::Pass, "plain HTTP denied"),
                Finding::new(RuleId::S3TlsVersion, Status::NotApplicable, "not set"),
            ],
        );
        let r = Located {
            evaluation: &eval,
            resource_type: S3_BUCKET,
            account: Some("123456789012"),
            region: Some("cn-north-1"),
            partition: None,
        };
        let lines = compliance_findings(&r, false, 1_796_601_600_000);
        assert_eq!(lines.len(), 3, "the not-applicable rule is no finding");
        let fail = &lines[0];
        assert_eq!(fail["class_uid"], 2003);
        assert_eq!(fail["type_uid"], 200301);
        assert_eq!(fail["compliance"]["control"], "S3-VPCE-DENY");
        assert_eq!(fail["compliance"]["status_id"], 3);
        assert_eq!(fail["severity_id"], 4);
        assert_eq!(fail["severity"], "High");
        assert_eq!(fail["resources"][0]["uid"], "arn:aws-cn:s3:::b1");
        assert_eq!(fail["resources"][0]["name"], "b1");
        assert_eq!(
            fail["finding_info"]["uid"],
            "vpce-guard/123456789012/cn-north-1/s3-bucket/b1/S3-VPCE-DENY"
        );
        assert_eq!(fail["metadata"]["version"], OCSF_VERSION);
        assert!(fail["remediation"]["desc"]
            .as_str()
            .unwrap()
            .contains("aws:SourceVpce"));
        assert_eq!(lines[1]["compliance"]["status_id"], 2);
        assert_eq!(lines[1]["severity_id"], 2);
        assert_eq!(lines[2]["compliance"]["status_id"], 1);
        assert_eq!(lines[2]["severity_id"], 1);
        assert!(lines[2].get("remediation").is_none());
        // Muted: the findings keep their status, the event says suppressed.
        let muted = compliance_findings(&r, true, 0);
        assert_eq!(muted[0]["status_id"], 3);
        assert_eq!(muted[0]["compliance"]["status_id"], 3);
    }
}
