//! The network rule run as Lambda runs it: the built binary against a local Runtime API, EC2 in
//! moto, Config's `PutEvaluations` in a recording endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use vpce_guard::policy::date::parse_date;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::recorder::ConfigRecorder;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::{locked_endpoint_policy, Seed, SeededVpc, MOTO_ACCOUNT};
use vpce_guard_tests::{edit_invoking_event, function_env, sample_event};

const REGION: &str = "us-east-1";
const TIMEOUT: Duration = Duration::from_secs(120);

use vpce_guard_tests::block_on as run;

struct Harness {
    _moto: Moto,
    recorder: ConfigRecorder,
    lambda: LambdaRuntime,
    good: SeededVpc,
    bad: SeededVpc,
}

/// A reference VPC and one without an endpoint.
fn harness() -> Harness {
    let moto = Moto::start();
    let (good, bad) = run(async {
        let seed = Seed::new(&moto.endpoint(), REGION).await;
        let good = seed.vpc(REGION, "10.10.0.0/16", true, true).await;
        seed.gateway_endpoint(
            &good,
            &[&good.route_table_id],
            Some(&locked_endpoint_policy(MOTO_ACCOUNT)),
        )
        .await;
        let bad = seed.vpc(REGION, "10.20.0.0/16", true, true).await;
        (good, bad)
    });
    let recorder = ConfigRecorder::start(moto.port);
    let lambda = LambdaRuntime::start(
        Path::new(env!("CARGO_BIN_EXE_network-rule")),
        &function_env(&moto, &recorder, REGION),
    );
    Harness {
        _moto: moto,
        recorder,
        lambda,
        good,
        bad,
    }
}

fn vpc_change(vpc: &str, status: &str) -> Value {
    let mut ev = sample_event("network-rule-change-vpc.json");
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItem"]["resourceId"] = json!(vpc);
        inv["configurationItem"]["configuration"]["vpcId"] = json!(vpc);
        inv["configurationItem"]["configurationItemStatus"] = json!(status);
    });
    ev
}

fn last_evaluations(h: &Harness) -> Vec<Value> {
    let puts = h.recorder.with(|r| r.put_evaluations());
    puts.last()
        .map(|p| p["Evaluations"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[test]
fn vpc_and_route_table_changes_evaluate_the_vpc() {
    let mut h = harness();
    h.lambda
        .invoke(&vpc_change(&h.good.vpc_id, "OK"), TIMEOUT)
        .unwrap();
    let e = last_evaluations(&h);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["ComplianceResourceType"], "AWS::EC2::VPC");
    assert_eq!(e[0]["ComplianceResourceId"], h.good.vpc_id.as_str());
    assert_eq!(e[0]["ComplianceType"], "COMPLIANT");
    assert!(
        e[0].get("Annotation").is_none(),
        "nothing to say: omitted: {}",
        e[0]
    );
    assert_eq!(
        e[0]["OrderingTimestamp"].as_f64(),
        parse_date("2026-11-27T10:30:00.000Z")
    );

    let mut rt = sample_event("network-rule-change-route-table.json");
    edit_invoking_event(&mut rt, |inv| {
        inv["configurationItem"]["resourceId"] = json!(h.bad.route_table_id);
        inv["configurationItem"]["configuration"]["vpcId"] = json!(h.bad.vpc_id);
    });
    h.lambda.invoke(&rt, TIMEOUT).unwrap();
    let e = last_evaluations(&h);
    assert_eq!(e[0]["ComplianceResourceId"], h.bad.vpc_id.as_str());
    assert_eq!(e[0]["ComplianceType"], "NON_COMPLIANT");
    assert!(
        e[0]["Annotation"]
            .as_str()
            .unwrap()
            .starts_with("NET-S3-GATEWAY: "),
        "{}",
        e[0]
    );

    h.lambda
        .invoke(
            &vpc_change("vpc-0deadbeef0000000", "ResourceDeleted"),
            TIMEOUT,
        )
        .unwrap();
    let e = last_evaluations(&h);
    assert_eq!(e[0]["ComplianceType"], "NOT_APPLICABLE");

    // One log line per evaluated VPC and one summary per invocation: that VPC's facts only.
    let logs = h.lambda.json_logs_when(
        |l| {
            l.iter()
                .filter(|x| x["fields"]["message"] == "invocation")
                .count()
                >= 3
        },
        TIMEOUT,
    );
    let summaries: Vec<&Value> = logs
        .iter()
        .filter(|l| l["fields"]["message"] == "invocation")
        .map(|l| &l["fields"])
        .collect();
    assert_eq!(summaries.len(), 3, "{logs:#?}");
    assert_eq!(summaries[0]["rule"], "network-rule");
    assert_eq!(summaries[0]["aws_calls"], 9, "{}", summaries[0]);
    assert_eq!(summaries[1]["aws_calls"], 9, "{}", summaries[1]);
    assert_eq!(summaries[2]["aws_calls"], 1, "{}", summaries[2]);
    let bad = logs
        .iter()
        .find(|l| {
            l["fields"]["message"] == "evaluation" && l["fields"]["compliance"] == "NON_COMPLIANT"
        })
        .unwrap();
    assert_eq!(bad["fields"]["resource"], h.bad.vpc_id.as_str());
    assert!(bad["fields"]["failing_rules"]
        .as_str()
        .unwrap()
        .starts_with("NET-S3-GATEWAY"));
}

#[test]
fn oversized_and_periodic_notifications() {
    let mut h = harness();
    let mut ev = sample_event("network-rule-oversized.json");
    edit_invoking_event(&mut ev, |inv| {
        inv["configurationItemSummary"]["resourceId"] = json!(h.good.vpc_id)
    });
    h.lambda.invoke(&ev, TIMEOUT).unwrap();
    let e = last_evaluations(&h);
    assert_eq!(e[0]["ComplianceResourceId"], h.good.vpc_id.as_str());
    assert_eq!(e[0]["ComplianceType"], "COMPLIANT");

    h.recorder.with(|r| {
        r.previously_evaluated = vec![("AWS::EC2::VPC".into(), "vpc-0gone0000000000".into())]
    });
    let out = h
        .lambda
        .invoke(&sample_event("network-rule-periodic.json"), TIMEOUT)
        .unwrap();
    let e = last_evaluations(&h);
    // moto's default VPC, the two seeded ones, and the vanished one.
    assert_eq!(e.len(), 4, "{out}");
    let by_id = |id: &str| {
        e.iter().find(|x| x["ComplianceResourceId"] == id).unwrap()["ComplianceType"].clone()
    };
    assert_eq!(by_id(&h.good.vpc_id), "COMPLIANT");
    assert_eq!(by_id(&h.bad.vpc_id), "NON_COMPLIANT");
    assert_eq!(by_id("vpc-0gone0000000000"), "NOT_APPLICABLE");
    let ts = parse_date("2026-11-27T12:00:00.000Z");
    assert!(e.iter().all(|x| x["OrderingTimestamp"].as_f64() == ts));
}
