//! The full `check-policy` evaluation (parse, build the context space, all bucket rules) of the
//! committed fixtures (written by `scripts/gen-bench-policy`): the reference setup's
//! one-statement policy, a 20 KB policy (S3's maximum size; target under 1 ms) and a 20 KB
//! policy made only of Deny statements with wildcards and ranges on several keys (endpoint ids,
//! source IPs, principal ARNs, `s3:prefix`; target under 5 ms).
//! Run: `cargo bench -p vpce-guard-shared --no-default-features --bench check_policy` (the
//! engine without the AWS SDK, which the bench does not need).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::BucketParams;

const REFERENCE: &str = include_str!("fixtures/reference.json");
const POLICY_20KB: &str = include_str!("fixtures/policy-20kb.json");
const DENIES_20KB: &str = include_str!("fixtures/denies-20kb.json");

fn params() -> BucketParams {
    BucketParams {
        approved_vpce: vec!["vpce-1a2b3c4d".into(), "vpce-0a1b2c3d4e5f60718".into()],
        exempt_principals: vec![
            "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/*".into(),
        ],
        account_id: Some("111122223333".into()),
        ..Default::default()
    }
}

fn full_check(text: &str, params: &BucketParams) -> usize {
    match PolicyDocument::parse(text) {
        Ok(doc) => check_policy("amzn-s3-demo-bucket", &doc, params, 1_795_000_000.0)
            .findings
            .len(),
        Err(_) => 0,
    }
}

fn bench(c: &mut Criterion) {
    let p = params();
    assert!(POLICY_20KB.len() > 19 * 1024, "the 20 KB fixture shrank");
    assert!(
        DENIES_20KB.len() > 19 * 1024 && DENIES_20KB.len() < 20 * 1024,
        "the 20 KB deny fixture is not just under 20 KB"
    );
    for (name, text) in [("policy-20kb", POLICY_20KB), ("denies-20kb", DENIES_20KB)] {
        assert_eq!(full_check(text, &p), 10, "{name} does not parse");
    }
    let mut g = c.benchmark_group("check_policy");
    g.bench_function("reference_1_statement", |b| {
        b.iter(|| full_check(black_box(REFERENCE), &p))
    });
    g.bench_function("policy_20kb", |b| {
        b.iter(|| full_check(black_box(POLICY_20KB), &p))
    });
    g.bench_function("denies_20kb", |b| {
        b.iter(|| full_check(black_box(DENIES_20KB), &p))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
