//! Unit tests of the space and its question API.

use super::*;
use crate::policy::context::Caller;

const NOW: f64 = 1_795_000_000.0;

fn space(policy: &str, approved: &[&str]) -> Space {
    let doc = PolicyDocument::parse(policy).unwrap();
    let scope = Scope {
        approved_vpce: approved.iter().map(|s| s.to_string()).collect(),
        ..Scope::new("b", Some("111122223333".into()), NOW)
    };
    Space::new(&doc, &scope).unwrap()
}

const SEED: &str = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;

#[test]
fn the_seed_policy_denies_every_other_origin_but_not_plain_http() {
    let s = space(SEED, &["vpce-1a2b3c4d"]);
    assert!(matches!(
        s.is_denied(&Question::all().origins(|o| !o.approved)),
        Coverage::Denied
    ));
    match s.is_denied(&Question::all().transports(|t| t == Transport::PlainHttp)) {
        Coverage::Gap(w) => {
            assert!(
                w.describe().starts_with("plain HTTP via vpce-1a2b3c4d"),
                "{}",
                w.describe()
            );
            // The witness is a real request that the concrete evaluator does not deny.
            let ctx = w.context().unwrap();
            let d = s.policy.evaluate(&ctx, Partition::Aws);
            assert!(d.denied_by.is_empty(), "{d:?}");
        }
        other => panic!("expected a gap, got {other:?}"),
    }
    assert!(matches!(
        s.reach(&Question::all().origins(|o| o.approved)),
        Reach::Open
    ));
}

#[test]
fn a_deny_written_for_ipv4_alone_leaves_ipv6_through() {
    let p = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}]}"#;
    let s = space(p, &["vpce-1a2b3c4d"]);
    let q = Question::all()
        .origins(|o| o.is_public())
        .actions(|a| a.object);
    match s.is_denied(&q) {
        Coverage::Gap(w) => assert!(w.describe().contains("over IPv6"), "{}", w.describe()),
        other => panic!("expected an IPv6 gap, got {other:?}"),
    }
}

#[test]
fn a_vpc_id_on_source_vpce_is_no_endpoint_to_try() {
    let p = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpc-1a2b3c4d"}}}]}"#;
    let s = space(p, &["vpce-1a2b3c4d"]);
    // Every request is denied, through any endpoint: no endpoint can carry `vpc-…`.
    assert!(matches!(s.is_denied(&Question::all()), Coverage::Denied));
}

#[test]
fn a_partial_not_principal_chain_might_deny() {
    // Only the role is listed: its sessions are not excluded for certain.
    let p = r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#;
    let s = space(p, &["vpce-1a2b3c4d"]);
    let app = |p: &PrincipalView<'_>| matches!(p.caller(), Caller::RoleSession { role_arn, .. } if role_arn == "arn:aws:iam::111122223333:role/App");
    // Deny rules: not denied.
    assert!(matches!(
        s.is_denied(&Question::all().principals(app)),
        Coverage::Gap(_)
    ));
    // Reach: possibly denied, naming what to add.
    match s.reach(&Question::all().principals(app)) {
        Reach::MaybeDenied { add, .. } => {
            assert!(
                add.contains(&"arn:aws:iam::111122223333:root".to_string()),
                "{add:?}"
            );
            assert!(
                add.iter().any(|a| a.contains(":assumed-role/App/")),
                "{add:?}"
            );
        }
        other => panic!("expected maybe-denied, got {other:?}"),
    }
}

#[test]
fn a_dated_deny_holds_until_its_date() {
    let p = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"},"DateLessThan":{"aws:CurrentTime":"2099-01-01T00:00:00Z"}}}]}"#;
    let s = space(p, &["vpce-1a2b3c4d"]);
    let q = Question::all().transports(|t| t == Transport::PlainHttp);
    assert!(matches!(s.is_denied(&q), Coverage::Denied));
    let until = s.denied_until(&q).unwrap();
    assert_eq!(
        crate::policy::date::format_date(until),
        "2099-01-01T00:00:00Z"
    );
}

#[test]
fn partitions_shape_the_bucket_arn() {
    let p = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws-cn:s3:::b","arn:aws-cn:s3:::b/*"],"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;
    let doc = PolicyDocument::parse(p).unwrap();
    let mut scope = Scope {
        approved_vpce: vec!["vpce-1a2b3c4d".into()],
        ..Scope::new("b", Some("111122223333".into()), NOW)
    };
    let aws = Space::new(&doc, &scope).unwrap();
    assert!(matches!(
        aws.is_denied(&Question::all().origins(|o| !o.approved)),
        Coverage::Gap(_)
    ));
    scope.partition = Partition::AwsCn;
    let cn = Space::new(&doc, &scope).unwrap();
    assert!(matches!(
        cn.is_denied(&Question::all().origins(|o| !o.approved)),
        Coverage::Denied
    ));
}

/// Every network value is a request AWS could send: a public request carries no endpoint key;
/// an endpoint request carries its owner, whose VPC ARN names that owner, and an OU path inside
/// the owner's organization; the approved endpoints belong to the approved owner.
#[test]
fn network_keys_are_coherent_with_the_origin() {
    use super::super::keys::{
        SOURCE_IP, SOURCE_VPC, SOURCE_VPCE, SOURCE_VPC_ARN, VPCE_ACCOUNT, VPCE_ORG_ID,
        VPCE_ORG_PATHS, VPC_SOURCE_IP,
    };
    let policies = [
        SEED,
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEqualsIfExists":{"aws:VpceAccount":["111122223333","999988887777"],"aws:VpceOrgID":"o-a1b2c3d4e5"},"ForAnyValue:StringNotLike":{"aws:VpceOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-1*/"},"ArnNotLike":{"aws:SourceVpcArn":"arn:aws:ec2:*:111122223333:vpc/*"}}}]}"#,
    ];
    for (p, vpce_account, org) in [
        (policies[0], None, None),
        (policies[1], None, None),
        (policies[1], Some("444455556666"), Some("o-a1b2c3d4e5")),
    ] {
        let doc = PolicyDocument::parse(p).unwrap();
        let scope = Scope {
            approved_vpce: vec!["vpce-1a2b3c4d".into()],
            vpce_account: vpce_account.map(str::to_string),
            org_id: org.map(str::to_string),
            ..Scope::new("b", Some("111122223333".into()), NOW)
        };
        let s = Space::new(&doc, &scope).unwrap();
        let net = &s.dims[s.network];
        assert!(net.values.len() > 4);
        for v in &net.values {
            let one = |k: &str| v.lookup(k).and_then(|x| x.first()).cloned();
            let Info::Network {
                endpoint, approved, ..
            } = &v.info
            else {
                panic!("{v:?}");
            };
            match endpoint {
                None => {
                    assert!(one(SOURCE_IP).is_some(), "{v:?}");
                    for k in [
                        SOURCE_VPCE,
                        SOURCE_VPC,
                        SOURCE_VPC_ARN,
                        VPC_SOURCE_IP,
                        VPCE_ACCOUNT,
                        VPCE_ORG_ID,
                        VPCE_ORG_PATHS,
                    ] {
                        assert!(one(k).is_none(), "a public request with {k}: {v:?}");
                    }
                }
                Some(e) => {
                    assert!(one(SOURCE_IP).is_none(), "{v:?}");
                    assert_eq!(one(SOURCE_VPCE).as_ref(), Some(e));
                    let owner = one(VPCE_ACCOUNT).unwrap();
                    let vpc = one(SOURCE_VPC).unwrap();
                    assert!(
                        one(SOURCE_VPC_ARN)
                            .unwrap()
                            .ends_with(&format!(":{owner}:vpc/{vpc}")),
                        "{v:?}"
                    );
                    match (one(VPCE_ORG_ID), one(VPCE_ORG_PATHS)) {
                        (Some(o), Some(path)) => {
                            assert!(path.starts_with(&format!("{o}/")), "{v:?}")
                        }
                        (None, None) => {}
                        other => panic!("an OU path without its organization: {other:?}"),
                    }
                    if e == "vpce-1a2b3c4d" {
                        assert!(*approved);
                        assert_eq!(owner, vpce_account.unwrap_or("111122223333"), "{v:?}");
                    }
                    if let Some(o) = org {
                        if owner == "111122223333" {
                            assert_eq!(one(VPCE_ORG_ID).as_deref(), Some(o), "{v:?}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_dual_stack_endpoint_carries_ipv6_clients_too() {
    use super::super::keys::VPC_SOURCE_IP;
    let doc = PolicyDocument::parse(SEED).unwrap();
    let ips = |ipv6: Vec<String>| -> Vec<String> {
        let scope = Scope {
            approved_vpce: vec!["vpce-1a2b3c4d".into()],
            ipv6_endpoints: ipv6,
            ..Scope::new("b", Some("111122223333".into()), NOW)
        };
        let s = Space::new(&doc, &scope).unwrap();
        s.dims[s.network]
            .values
            .iter()
            .filter(|v| matches!(&v.info, Info::Network { endpoint: Some(e), .. } if e == "vpce-1a2b3c4d"))
            .filter_map(|v| v.lookup(VPC_SOURCE_IP).and_then(|x| x.first()).cloned())
            .collect()
    };
    assert!(ips(Vec::new()).iter().all(|ip| !ip.contains(':')));
    assert!(ips(vec!["vpce-1a2b3c4d".into()])
        .iter()
        .any(|ip| ip.contains(':')));
}

#[test]
fn access_point_keys_come_only_through_an_access_point() {
    use super::super::keys::{ACCESS_POINT_ACCOUNT, ACCESS_POINT_ARN, ACCESS_POINT_NETWORK_ORIGIN};
    let s = space(
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:AccessPointNetworkOrigin":"VPC"}}}]}"#,
        &["vpce-1a2b3c4d"],
    );
    let net = &s.dims[s.network];
    let mut through = 0;
    for v in &net.values {
        let Info::Network {
            endpoint,
            access_point,
            ..
        } = &v.info
        else {
            panic!("{v:?}");
        };
        let origin = v.lookup(ACCESS_POINT_NETWORK_ORIGIN).and_then(|x| x.first());
        if *access_point {
            through += 1;
            assert!(v.lookup(ACCESS_POINT_ARN).is_some() && v.lookup(ACCESS_POINT_ACCOUNT).is_some());
            assert!(
                endpoint.is_some() || origin.map(String::as_str) == Some("Internet"),
                "a public request through a VPC-origin access point: {v:?}"
            );
        } else {
            assert!(origin.is_none() && v.lookup(ACCESS_POINT_ARN).is_none(), "{v:?}");
        }
    }
    assert!(through > 0);
}
