#![allow(clippy::unwrap_used)]

use super::*;
use crate::facts::{AccountFacts, BucketFacts, BucketObservation, Fact};
use crate::rules::bucket::evaluate_bucket_admitting;
use crate::rules::BucketParams;

const ACCOUNT: &str = "111122223333";

fn view() -> RegionView {
    RegionView {
        region: "eu-west-1".into(),
        endpoints: vec![
            ("vpce-0aaa".into(), "vpc-1".into()),
            ("vpce-0bbb".into(), "vpc-2".into()),
        ],
        available: vec!["vpce-0aaa".into(), "vpce-0bbb".into()],
        ipv6: vec![],
        owners: vec![],
    }
}

fn bucket(policy: Fact<String>) -> BucketObservation {
    BucketObservation::Exists(BucketFacts {
        name: "data".into(),
        region: "eu-west-1".into(),
        policy,
        public_access_block: Fact::NotConfigured,
        ownership: Fact::NotConfigured,
    })
}

fn account() -> AccountFacts {
    AccountFacts {
        account_id: Some(ACCOUNT.into()),
        public_access_block: Fact::NotConfigured,
    }
}

fn admission(policy: Fact<String>) -> Vec<(String, Admission)> {
    evaluate_bucket_admitting(
        &bucket(policy),
        &account(),
        Ok(&view()),
        &BucketParams::default(),
        1.7e9,
    )
    .1
    .into_iter()
    .map(|a| (a.endpoint, a.admission))
    .collect()
}

fn deny_unless(endpoints: &str) -> Fact<String> {
    Fact::Known(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"OnlyVpce","Effect":"Deny","Principal":"*",
        "Action":"s3:*","Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"],
        "Condition":{{"StringNotEquals":{{"aws:SourceVpce":{endpoints}}}}}}}]}}"#
    ))
}

#[test]
fn a_deny_naming_one_endpoint_admits_that_endpoint_only() {
    assert_eq!(
        admission(deny_unless(r#""vpce-0aaa""#)),
        vec![
            ("vpce-0aaa".to_string(), Admission::Admits),
            ("vpce-0bbb".to_string(), Admission::Denies)
        ]
    );
    assert_eq!(
        admission(deny_unless(r#"["vpce-0aaa","vpce-0bbb"]"#)),
        vec![
            ("vpce-0aaa".to_string(), Admission::Admits),
            ("vpce-0bbb".to_string(), Admission::Admits)
        ]
    );
}

#[test]
fn no_policy_admits_every_endpoint_and_a_bad_one_claims_nothing() {
    assert!(admission(Fact::NotConfigured)
        .iter()
        .all(|(_, a)| *a == Admission::Admits));
    assert!(admission(Fact::Unreadable("AccessDenied".into()))
        .iter()
        .all(|(_, a)| *a == Admission::Unknown));
    assert!(admission(Fact::Known("{not json".into()))
        .iter()
        .all(|(_, a)| *a == Admission::Unknown));
    let gone = BucketObservation::Deleted {
        name: "data".into(),
        region: "eu-west-1".into(),
    };
    let (e, admitted) = evaluate_bucket_admitting(
        &gone,
        &account(),
        Ok(&view()),
        &BucketParams::default(),
        0.0,
    );
    assert!(admitted.is_empty());
    assert_eq!(e.compliance, crate::rules::Compliance::NotApplicable);
    // Without the network, nothing is claimed.
    let (_, admitted) = evaluate_bucket_admitting(
        &bucket(Fact::NotConfigured),
        &account(),
        Err("AccessDenied"),
        &BucketParams::default(),
        0.0,
    );
    assert!(admitted.is_empty());
}

#[test]
fn admission_does_not_change_the_verdict() {
    for p in [
        deny_unless(r#""vpce-0aaa""#),
        Fact::NotConfigured,
        Fact::Known("{".into()),
    ] {
        let (e, _) = evaluate_bucket_admitting(
            &bucket(p.clone()),
            &account(),
            Ok(&view()),
            &BucketParams::default(),
            1.7e9,
        );
        let plain = crate::rules::bucket::evaluate_bucket(
            &bucket(p),
            &account(),
            Ok(&view()),
            &BucketParams::default(),
            1.7e9,
        );
        assert_eq!(e, plain);
    }
}

#[test]
fn a_deny_of_everything_admits_no_endpoint() {
    let all = Fact::Known(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
        "Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]}]}"#
            .into(),
    );
    assert!(admission(all).iter().all(|(_, a)| *a == Admission::Denies));
}
