//! The full `check-policy` evaluation (parse, build the context space, all bucket rules) of the
//! committed fixtures: the reference setup's one-statement policy and a 20 KB policy (S3's
//! maximum size). Run: `cargo bench -p vpce-guard-shared --bench check_policy`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::BucketParams;

const REFERENCE: &str = include_str!("fixtures/reference.json");
const POLICY_20KB: &str = include_str!("fixtures/policy-20kb.json");

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
    let mut g = c.benchmark_group("check_policy");
    g.bench_function("reference_1_statement", |b| {
        b.iter(|| full_check(black_box(REFERENCE), &p))
    });
    g.bench_function("policy_20kb", |b| {
        b.iter(|| full_check(black_box(POLICY_20KB), &p))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
