#![allow(clippy::unwrap_used)]

use super::*;
use crate::rules::Finding;
use crate::scan::topology::{EndpointNode, PolicyVerdict, RouteTableNode, VpcNode};

fn bucket(name: &str, fail: Option<RuleId>) -> RegionalEvaluation {
    let findings = RuleId::BUCKET
        .iter()
        .map(|r| {
            if Some(*r) == fail {
                Finding::new(
                    *r,
                    Status::Fail,
                    "e.g. s3:GetObject from 203.0.113.9 <public>",
                )
            } else {
                Finding::new(*r, Status::Pass, "ok")
            }
        })
        .collect();
    RegionalEvaluation {
        evaluation: Evaluation::new(name, findings),
        region: "eu-west-1".into(),
        account: None,
    }
}

fn report() -> ScanReport {
    ScanReport {
        buckets: vec![
            bucket("private-data", None),
            bucket("open<script>", Some(RuleId::S3VpceDeny)),
        ],
        vpcs: vec![],
        api_calls: BTreeMap::new(),
        sources: BTreeMap::new(),
        accounts: vec![],
        incomplete: false,
        network: vec![RegionNetwork {
            region: "eu-west-1".into(),
            account: None,
            error: None,
            vpcs: vec![VpcNode {
                id: "vpc-1".into(),
                route_tables: vec![RouteTableNode {
                    id: "rtb-1".into(),
                    main: true,
                    subnets: vec!["subnet-1".into()],
                    s3_endpoints: vec!["vpce-1".into()],
                    default_route: None,
                }],
                endpoints: vec![EndpointNode {
                    id: "vpce-1".into(),
                    endpoint_type: "Gateway".into(),
                    state: "available".into(),
                    ip_address_type: None,
                    owner: None,
                    policy: PolicyVerdict {
                        status: Status::Fail,
                        reason: "the default allow-all policy".into(),
                    },
                    route_tables: vec!["rtb-1".into()],
                    admitted_by: vec!["private-data".into(), "open<script>".into()],
                    denied_by: vec![],
                    unknown: BTreeMap::new(),
                }],
            }],
        }],
    }
}

#[test]
fn the_report_counts_draws_and_explains() {
    let html = report_html(&report(), None, 1.7e9);
    assert!(html.contains(
        r#"data-buckets="2" data-private="1" data-not-private="1" data-failing-rules="1""#
    ));
    // One matrix row per bucket, the failing one first.
    let matrix = html
        .split("<table class=\"matrix\" id=\"matrix\">")
        .nth(1)
        .unwrap();
    let body = matrix.split("<tbody>").nth(1).unwrap();
    let body = body.split("</tbody>").next().unwrap();
    assert_eq!(body.matches("<tr>").count(), 2);
    assert!(body.find("open&lt;script&gt;").unwrap() < body.find("private-data").unwrap());
    // The failing rule with its counter-example and fix.
    assert_eq!(html.matches("<article class=\"failure\"").count(), 1);
    assert!(html.contains("e.g. s3:GetObject from 203.0.113.9 &lt;public&gt;"));
    assert!(html.contains(&esc(remediation(RuleId::S3VpceDeny))));
    // Diagram: 4 columns, an edge per route and admission.
    assert_eq!(html.matches("<svg").count(), 1);
    assert_eq!(html.matches("<path ").count(), 1 + 1 + 2);
    // An admission the engine cannot decide is a dotted edge.
    let mut r = report();
    r.network[0].vpcs[0].endpoints[0]
        .unknown
        .insert("private-data".into(), "AccessDenied".into());
    let dotted = report_html(&r, None, 0.0);
    assert_eq!(dotted.matches("stroke-dasharray=\"1 3\"").count(), 1);
    assert_eq!(html.matches("stroke-dasharray=\"1 3\"").count(), 0);
    // Never unescaped input, never an external asset or a script.
    assert!(!html.contains("open<script>"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("src="));
    assert!(!html.contains("href=\"http"));
}

#[test]
fn a_region_without_network_facts_says_so() {
    let mut r = report();
    r.network[0].vpcs.clear();
    r.network[0].error = Some("AccessDenied <ec2>".into());
    let html = report_html(&r, None, 0.0);
    assert!(html.contains("The network could not be read: AccessDenied &lt;ec2&gt;"));
    assert!(html.contains("No S3 endpoint in this region"));
    r.network.clear();
    let html = report_html(&r, None, 0.0);
    assert!(html.contains("was not part of the sweep"));
}

#[test]
fn the_scan_json_reads_back_into_the_same_report() {
    let r = report();
    let json = serde_json::to_string(&r).unwrap();
    let back: ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}
