//! Hostile policy input (issue 12, point 2, a first part): each answered with a clear error or a
//! clear finding, never a panic, a hang or a PASS it cannot justify.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vpce_guard::policy::{PolicyDocument, PolicyError};
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::{BucketParams, RuleId, Status};

const B: &str = "amzn-s3-demo-bucket";
const NOW: f64 = 1_795_000_000.0;

fn params() -> BucketParams {
    BucketParams {
        approved_vpce: vec!["vpce-1a2b3c4d".into()],
        account_id: Some("111122223333".into()),
        ..Default::default()
    }
}

/// Parse, and when the grammar accepts it, judge; never longer than a second.
fn judge(text: &str) -> Result<Vec<(RuleId, Status)>, PolicyError> {
    let t = Instant::now();
    let out = PolicyDocument::parse(text).map(|doc| {
        check_policy(B, &doc, &params(), NOW)
            .findings
            .iter()
            .map(|f| (f.rule, f.status))
            .collect()
    });
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    out
}

fn deny(condition: Value) -> Value {
    json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
           "Resource": [format!("arn:aws:s3:::{B}"), format!("arn:aws:s3:::{B}/*")],
           "Condition": condition})
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn vpce_deny_status(text: &str) -> Status {
    let got = judge(text).unwrap();
    got.iter()
        .find(|(r, _)| *r == RuleId::S3VpceDeny)
        .map(|(_, s)| *s)
        .unwrap()
}

#[test]
fn nesting_far_beyond_any_policy_is_an_error_not_a_stack_overflow() {
    // 100,000 levels: over S3's 20 KB limit, refused before JSON parsing.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(judge(&deep), Err(PolicyError::TooLarge { .. })));
    // 9,000 levels inside 20 KB: serde_json's recursion limit answers.
    let deep = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":{}{}}}",
        "[".repeat(9_000),
        "]".repeat(9_000)
    );
    assert!(
        matches!(judge(&deep), Err(PolicyError::NotJson(_))),
        "{:?}",
        judge(&deep)
    );
}

#[test]
fn enormous_arrays_and_documents_are_refused_by_size() {
    let many: Vec<Value> = (0..200_000)
        .map(|i| json!(format!("vpce-{i:08x}")))
        .collect();
    let text = doc(json!([deny(
        json!({"StringNotEquals": {"aws:SourceVpce": many}})
    )]));
    assert!(matches!(judge(&text), Err(PolicyError::TooLarge { .. })));
}

#[test]
fn wrong_types_empty_and_null_elements_are_errors_naming_the_element() {
    for bad in [
        json!([{"Effect": 1, "Principal": "*", "Action": "s3:*", "Resource": "*"}]),
        json!([{"Effect": "Deny", "Principal": "*", "Action": 7, "Resource": "*"}]),
        json!([{"Effect": "Deny", "Principal": "*", "Action": null, "Resource": "*"}]),
        json!([null]),
        json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                "Condition": {"StringEquals": null}}]),
    ] {
        let text = doc(bad.clone());
        assert!(judge(&text).is_err(), "accepted: {bad}");
    }
}

#[test]
fn a_boolean_where_a_string_belongs_is_read_as_iam_reads_it() {
    // IAM takes JSON booleans and numbers in condition values as their text.
    let text = doc(json!([deny(
        json!({"Bool": {"aws:SecureTransport": false}})
    )]));
    let got = judge(&text).unwrap();
    assert!(got.contains(&(RuleId::S3Tls, Status::Pass)), "{got:?}");
    let text = doc(json!([deny(
        json!({"StringNotEquals": {"aws:SourceVpce": true}})
    )]));
    assert_eq!(
        vpce_deny_status(&text),
        Status::Pass,
        "a deny of every endpoint but `true`"
    );
}

#[test]
fn an_empty_action_list_denies_nothing() {
    let mut st = deny(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}));
    st["Action"] = json!([]);
    match judge(&doc(json!([st]))) {
        Err(_) => {}
        Ok(f) => assert!(f.contains(&(RuleId::S3VpceDeny, Status::Fail)), "{f:?}"),
    }
}

#[test]
fn unknown_operators_and_keys_never_pass() {
    // An operator IAM does not know: every policy rule FAILs, naming it.
    let text = doc(json!([deny(
        json!({"StringNotEqualsMaybe": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
    )]));
    let doc_ = PolicyDocument::parse(&text).unwrap();
    let e = check_policy(B, &doc_, &params(), NOW);
    // The rules that rest on the deny FAIL; "no public grant" still holds (no Allow at all).
    let deny_rules = [
        RuleId::S3VpceDeny,
        RuleId::S3VpceKnown,
        RuleId::S3VpceReachable,
        RuleId::S3Tls,
    ];
    for f in e.findings.iter().filter(|f| deny_rules.contains(&f.rule)) {
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.reason.contains("StringNotEqualsMaybe"), "{f:?}");
    }
    // A key nobody sends: the deny's condition never holds for real requests, so it denies
    // nothing and the rule FAILs rather than PASSes.
    let text = doc(json!([deny(
        json!({"StringNotEquals": {"aws:NoSuchKey": "x"}})
    )]));
    assert_ne!(vpce_deny_status(&text), Status::Pass);
}

#[test]
fn unicode_and_nul_in_sids_and_arns_are_judged_like_any_text() {
    let mut st = deny(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}));
    st["Sid"] = json!("Deny\u{0}Outside\u{1F512}");
    assert_eq!(vpce_deny_status(&doc(json!([st.clone()]))), Status::Pass);
    // A principal ARN with a NUL and non-ASCII: no panic; a Deny on it alone denies nobody else.
    st["Principal"] = json!({"AWS": "arn:aws:iam::111122223333:role/\u{0}é"});
    assert_ne!(vpce_deny_status(&doc(json!([st]))), Status::Pass);
}

#[test]
fn a_key_written_twice_is_refused_naming_it() {
    // The author surely meant both conditions; a parser would keep one of them silently.
    let text = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
        "Action": "s3:*", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}"#;
    let err = judge(text).unwrap_err();
    assert_eq!(err, PolicyError::DuplicateKey("Condition".into()));
    assert!(
        err.to_string().contains("`Condition` appears twice"),
        "{err}"
    );
    // Nested too, and the same key in two different objects is fine.
    let text = doc(json!([deny(
        json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
    )]))
    .replace(
        "\"aws:SourceVpce\":\"vpce-1a2b3c4d\"",
        "\"aws:SourceVpce\":\"vpce-1a2b3c4d\",\"aws:SourceVpce\":\"vpce-99999999\"",
    );
    assert_eq!(
        judge(&text).unwrap_err(),
        PolicyError::DuplicateKey("aws:SourceVpce".into())
    );
    let two = doc(json!([
        deny(json!({"Bool": {"aws:SecureTransport": "false"}})),
        deny(json!({"Bool": {"aws:SecureTransport": "false"}}))
    ]));
    assert!(judge(&two).is_ok());
}
