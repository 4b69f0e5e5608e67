//! Property tests: the parser and the engine never panic, every evaluation is well-formed (one
//! finding per bucket rule in catalog order, annotation within 256 characters, compliance
//! consistent with the statuses) and a stated share of the generated documents reaches the
//! engine; adding a Deny statement never turns `S3-VPCE-DENY` from PASS to FAIL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{json, Value};
use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::{BucketParams, Compliance, Evaluation, RuleId, Status};

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

/// A valid document with perturbations: each mutation sets one element of a statement (three
/// times in four) or of the document to arbitrary JSON, or deletes it. Without mutations (a
/// third of the cases) the document is valid; some mutations keep it valid (a `Sid`, a
/// `Version` AWS accepts), the others exercise the parser's errors.
fn arb_perturbed_document() -> impl Strategy<Value = Value> {
    let version = prop_oneof![
        3 => Just(json!("2012-10-17")),
        1 => Just(json!("2008-10-17")),
        1 => arb_json()
    ];
    let mutation = (
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.25),
        prop::sample::select(vec![
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "Version",
            "Statement",
            "Id",
        ]),
        arb_json(),
        any::<bool>(),
    );
    (
        prop::collection::vec(arb_statement(None), 1..4),
        prop::option::weighted(0.8, version),
        prop::collection::vec(mutation, 0..3),
    )
        .prop_map(|(mut statements, version, mutations)| {
            let mut doc = serde_json::Map::new();
            if let Some(v) = version {
                doc.insert("Version".into(), v);
            }
            for (at, top_level, key, value, remove) in &mutations {
                if *top_level {
                    continue;
                }
                let i = at.index(statements.len());
                if let Value::Object(m) = &mut statements[i] {
                    if *remove {
                        m.remove(*key);
                    } else {
                        m.insert(key.to_string(), value.clone());
                    }
                }
            }
            doc.insert("Statement".into(), Value::Array(statements));
            for (_, top_level, key, value, remove) in mutations {
                if top_level {
                    if remove {
                        doc.remove(key);
                    } else {
                        doc.insert(key.to_string(), value);
                    }
                }
            }
            Value::Object(doc)
        })
}

/// What every evaluation `check_policy` returns must satisfy: one finding per bucket rule in
/// catalog order, an annotation of at most 256 characters that starts with the first FAIL
/// (else the first WARN, else is empty), NON_COMPLIANT exactly when some rule FAILs.
fn well_formed(eval: &Evaluation) -> Result<(), TestCaseError> {
    let rules: Vec<RuleId> = eval.findings.iter().map(|f| f.rule).collect();
    prop_assert_eq!(&rules[..], &RuleId::BUCKET[..]);
    prop_assert!(
        eval.annotation.chars().count() <= 256,
        "annotation of {} characters",
        eval.annotation.chars().count()
    );
    let first = |s: Status| eval.findings.iter().find(|f| f.status == s);
    let some_fail = first(Status::Fail).is_some();
    let expected = if some_fail {
        Compliance::NonCompliant
    } else {
        Compliance::Compliant
    };
    prop_assert_eq!(eval.compliance, expected, "{:?}", eval.findings);
    match first(Status::Fail).or_else(|| first(Status::Warn)) {
        Some(f) => prop_assert!(
            eval.annotation.starts_with(&format!("{}: ", f.rule)),
            "annotation {:?} does not start with {}",
            eval.annotation,
            f.rule
        ),
        None => prop_assert_eq!(eval.annotation.as_str(), ""),
    }
    Ok(())
}

/// Run `test` on `cases` generated values with an explicit runner (so that the caller can count
/// what the cases reached); panics with the minimal failing value.
fn run_cases<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Parse, and when it parses evaluate and check the evaluation: `Ok(true)` when the document
/// reached the engine. A rejected document must say why.
fn parse_and_check(doc: Value) -> Result<bool, TestCaseError> {
    match PolicyDocument::parse(&doc.to_string()) {
        Ok(doc) => {
            well_formed(&check_policy(BUCKET, &doc, &params(), NOW))?;
            Ok(true)
        }
        Err(e) => {
            prop_assert!(
                !e.to_string().trim().is_empty(),
                "a parse error without a message"
            );
            Ok(false)
        }
    }
}

const CASES: u32 = 256;

/// The parser never panics on arbitrary JSON (or on valid documents with arbitrary JSON in
/// any element), and every document it accepts goes through the engine, which never panics and
/// returns a well-formed evaluation. Enough of the cases must reach the engine to mean something.
#[test]
fn parser_and_engine_never_panic() {
    let total = AtomicU32::new(0);
    let evaluated = AtomicU32::new(0);
    let strategy = prop_oneof![1 => arb_json(), 3 => arb_perturbed_document()];
    run_cases(CASES, strategy, |v| {
        total.fetch_add(1, Ordering::Relaxed);
        if parse_and_check(v)? {
            evaluated.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let (total, evaluated) = (total.into_inner(), evaluated.into_inner());
    eprintln!("parser_and_engine_never_panic: {evaluated} of {total} documents evaluated");
    assert!(total >= CASES, "{total} cases run");
    assert!(
        evaluated * 5 >= total,
        "only {evaluated} of {total} generated documents parsed and reached the engine"
    );
    assert!(
        evaluated < total,
        "every generated document parsed: the parser's errors were never exercised"
    );
}

/// A statement of the supported constructs always parses and evaluates; next to a junk
/// statement, or with a junk `Version`, the document either is rejected or evaluates well-formed.
#[test]
fn statement_shaped_json_never_panics() {
    let junk = prop_oneof![
        2 => arb_json(),
        1 => prop::sample::select(vec!["2012-10-17", "2008-10-17"]).prop_map(|v| json!(v)),
        1 => arb_statement(None),
    ];
    // Per shape: [alone, next to junk, with a junk Version]: (documents, evaluated).
    let counts: [(AtomicU32, AtomicU32); 3] = Default::default();
    run_cases(CASES, (arb_statement(None), junk), |(st, junk)| {
        let alone = json!({"Version": "2012-10-17", "Statement": [st.clone()]});
        let docs = [
            alone,
            json!({"Statement": [st.clone(), junk.clone()]}),
            json!({"Statement": st, "Version": junk}),
        ];
        for (i, doc) in docs.into_iter().enumerate() {
            counts[i].0.fetch_add(1, Ordering::Relaxed);
            let reached = parse_and_check(doc.clone())?;
            if i == 0 {
                prop_assert!(reached, "a supported statement was rejected: {}", doc);
            }
            if reached {
                counts[i].1.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    let counts = counts.map(|(n, e)| (n.into_inner(), e.into_inner()));
    eprintln!("statement_shaped_json_never_panics: (documents, evaluated) alone / next to junk / junk Version: {counts:?}");
    for (shape, (n, e)) in ["alone", "next to junk", "with a junk Version"]
        .iter()
        .zip(counts)
    {
        assert!(n >= CASES, "{shape}: {n} documents");
        assert!(
            e * 10 >= n,
            "{shape}: only {e} of {n} documents reached the engine"
        );
    }
    let (n, e) = counts[0];
    assert_eq!(e, n, "every statement alone reaches the engine");
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
