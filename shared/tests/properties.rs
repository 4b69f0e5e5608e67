//! Property tests: the parser and the engine never panic, and adding a Deny statement never
//! turns `S3-VPCE-DENY` from PASS to FAIL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{json, Value};
use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::{BucketParams, RuleId, Status};

const BUCKET: &str = "amzn-s3-demo-bucket";
const NOW: f64 = 1_795_000_000.0;

fn params() -> BucketParams {
    BucketParams {
        approved_vpce: vec!["vpce-1a2b3c4d".into()],
        approved_vpc: vec!["vpc-0a1b2c3d".into()],
        exempt_principals: vec!["arn:aws:iam::111122223333:role/Admin*".into()],
        account_id: Some("111122223333".into()),
        ..Default::default()
    }
}

/// Arbitrary JSON, biased towards the names and values policies use.
fn arb_json() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringNotEquals",
        "StringLike",
        "ForAnyValue:StringNotLike",
        "NumericLessThan",
        "DateGreaterThan",
        "IpAddress",
        "Null",
        "Bool",
        "ArnNotLike",
        "aws:SourceVpce",
        "aws:SourceVpc",
        "aws:SecureTransport",
        "s3:TlsVersion",
        "aws:SourceIp",
        "aws:PrincipalArn",
        "aws:CurrentTime",
        "x",
    ]);
    let strings = prop::sample::select(vec![
        "2012-10-17",
        "2008-10-17",
        "Allow",
        "Deny",
        "*",
        "s3:*",
        "s3:Get*",
        "s3:PutObject",
        "arn:aws:s3:::amzn-s3-demo-bucket",
        "arn:aws:s3:::amzn-s3-demo-bucket/*",
        "vpce-1a2b3c4d",
        "vpce-*",
        "vpc-0a1b2c3d",
        "true",
        "false",
        "1.2",
        "10.0.0.0/8",
        "2020-01-01T00:00:00Z",
        "111122223333",
        "arn:aws:iam::111122223333:role/Admin",
        "${aws:username}",
        "",
        "not a number",
        "::1/200",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        strings.prop_map(|s| Value::String(s.to_string())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A statement from the constructs the engine supports.
fn arb_statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop::sample::select(vec!["Allow", "Deny"]).boxed(),
    };
    let principal = prop::sample::select(vec![
        json!("*"),
        json!({"AWS": "*"}),
        json!({"AWS": "111122223333"}),
        json!({"AWS": "arn:aws:iam::111122223333:role/Admin"}),
        json!({"AWS": "arn:aws:iam::444455556666:root"}),
        json!({"Service": "logging.s3.amazonaws.com"}),
    ]);
    let not_principal = prop::sample::select(vec![
        None,
        Some(json!({"AWS": ["arn:aws:iam::111122223333:role/Admin"]})),
        Some(json!({"AWS": ["arn:aws:sts::111122223333:assumed-role/Admin/s", "111122223333"]})),
    ]);
    let action = prop::sample::select(vec![
        ("Action", json!("*")),
        ("Action", json!("s3:*")),
        ("Action", json!(["s3:Get*", "s3:Put*"])),
        ("Action", json!("s3:PutObject")),
        ("Action", json!(["s3:List*", "s3:Delete*"])),
        ("NotAction", json!("s3:GetObject")),
    ]);
    let resource = prop::sample::select(vec![
        ("Resource", json!("*")),
        (
            "Resource",
            json!([
                "arn:aws:s3:::amzn-s3-demo-bucket",
                "arn:aws:s3:::amzn-s3-demo-bucket/*"
            ]),
        ),
        ("Resource", json!("arn:aws:s3:::amzn-s3-demo-bucket/*")),
        ("Resource", json!("arn:aws:s3:::amzn-s3-demo-bucket/logs/*")),
        (
            "NotResource",
            json!("arn:aws:s3:::amzn-s3-demo-bucket/public/*"),
        ),
    ]);
    let condition = prop::collection::vec(
        prop::sample::select(vec![
            ("StringNotEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d")),
            (
                "StringNotEquals",
                "aws:sourcevpce",
                json!(["vpce-1a2b3c4d", "vpce-0f00"]),
            ),
            ("StringEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d")),
            ("StringNotLike", "aws:SourceVpce", json!("vpce-1a*")),
            (
                "StringNotEqualsIfExists",
                "aws:SourceVpc",
                json!("vpc-0a1b2c3d"),
            ),
            (
                "ForAnyValue:StringNotEquals",
                "aws:SourceVpce",
                json!("vpce-1a2b3c4d"),
            ),
            ("Null", "aws:SourceVpce", json!("true")),
            ("Bool", "aws:SecureTransport", json!(false)),
            ("Bool", "aws:PrincipalIsAWSService", json!("false")),
            (
                "ArnNotLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::*:role/Admin*"),
            ),
            (
                "StringNotEquals",
                "aws:PrincipalAccount",
                json!("111122223333"),
            ),
            ("NotIpAddress", "aws:SourceIp", json!("192.0.2.0/24")),
            ("NumericLessThan", "s3:TlsVersion", json!(1.2)),
            (
                "DateGreaterThan",
                "aws:CurrentTime",
                json!("2020-01-01T00:00:00Z"),
            ),
            ("StringNotEquals", "aws:PrincipalOrgID", json!("o-abc123")),
            ("StringEquals", "s3:x-amz-acl", json!("public-read")),
        ]),
        0..3,
    );
    (
        effect,
        principal,
        not_principal,
        action,
        resource,
        condition,
    )
        .prop_map(
            |(effect, principal, not_principal, (ak, av), (rk, rv), conds)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(effect));
                match not_principal {
                    Some(np) => st.insert("NotPrincipal".into(), np),
                    None => st.insert("Principal".into(), principal),
                };
                st.insert(ak.into(), av);
                st.insert(rk.into(), rv);
                if !conds.is_empty() {
                    let mut c = serde_json::Map::new();
                    for (op, key, val) in conds {
                        let block = c.entry(op.to_string()).or_insert_with(|| json!({}));
                        if let Value::Object(b) = block {
                            b.insert(key.to_string(), val);
                        }
                    }
                    st.insert("Condition".into(), Value::Object(c));
                }
                Value::Object(st)
            },
        )
}

fn deny_status(statements: &[Value]) -> Status {
    let doc = PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": statements}))
        .expect("generated policies are valid");
    let eval = check_policy(BUCKET, &doc, &params(), NOW);
    eval.findings
        .iter()
        .find(|f| f.rule == RuleId::S3VpceDeny)
        .map(|f| f.status)
        .expect("S3-VPCE-DENY is always reported")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parser_and_engine_never_panic(v in arb_json()) {
        let text = v.to_string();
        if let Ok(doc) = PolicyDocument::parse(&text) {
            let eval = check_policy(BUCKET, &doc, &params(), NOW);
            prop_assert_eq!(eval.findings.len(), RuleId::BUCKET.len());
            prop_assert!(eval.annotation.chars().count() <= 256);
        }
    }

    #[test]
    fn statement_shaped_json_never_panics(st in arb_statement(None), junk in arb_json()) {
        for doc in [json!({"Statement": [st.clone(), junk.clone()]}), json!({"Statement": st.clone(), "Version": junk})] {
            if let Ok(doc) = PolicyDocument::from_value(doc) {
                let _ = check_policy(BUCKET, &doc, &params(), NOW);
            }
        }
    }

    #[test]
    fn adding_a_deny_never_breaks_vpce_deny(
        with_reference in any::<bool>(),
        rest in prop::collection::vec(arb_statement(None), 0..4),
        extra in arb_statement(Some("Deny")),
    ) {
        // Half the policies start from the reference deny, so that many of them PASS.
        let mut base = Vec::new();
        if with_reference {
            base.push(json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}));
        }
        base.extend(rest);
        let before = deny_status(&base);
        let mut more = base.clone();
        more.push(extra.clone());
        let after = deny_status(&more);
        if before == Status::Pass {
            prop_assert_eq!(after, Status::Pass, "adding {} broke {}", extra, Value::Array(base));
        }
    }
}
