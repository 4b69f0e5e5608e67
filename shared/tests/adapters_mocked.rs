//! The S3 adapter's error mapping with `aws-smithy-mocks`: what moto cannot produce
//! (AccessDenied, throttling) becomes a clear fact, a FAIL with its reason, or a retry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::get_bucket_ownership_controls::{
    GetBucketOwnershipControlsError, GetBucketOwnershipControlsOutput,
};
use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
use aws_sdk_s3::operation::get_public_access_block::{
    GetPublicAccessBlockError, GetPublicAccessBlockOutput,
};
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use vpce_guard::aws::s3::{BucketCalls, DENIED_HINT};
use vpce_guard::facts::{AccountFacts, BucketObservation, Fact, NetworkFacts};
use vpce_guard::ports::ApiCalls;
use vpce_guard::rules::bucket::{evaluate_bucket, region_view};
use vpce_guard::rules::{BucketParams, RuleId, Status};

fn err(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn pab_ok() -> Rule {
    mock!(Client::get_public_access_block)
        .then_output(|| GetPublicAccessBlockOutput::builder().build())
}

fn ownership_missing() -> Rule {
    mock!(Client::get_bucket_ownership_controls).then_error(|| {
        GetBucketOwnershipControlsError::generic(err("OwnershipControlsNotFoundError", "not found"))
    })
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |b| b
        .retry_config(RetryConfig::standard().with_max_attempts(3)))
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn access_denied_reading_the_policy_fails_every_policy_rule_with_the_reason() {
    let policy = mock!(Client::get_bucket_policy)
        .then_error(|| GetBucketPolicyError::generic(err("AccessDenied", "Access Denied")));
    let (pab, own) = (pab_ok(), ownership_missing());
    let c = client(&[&policy, &pab, &own]);
    let calls = ApiCalls::default();
    let obs = run(BucketCalls {
        client: &c,
        calls: &calls,
    }
    .facts("private-bucket", "us-east-1"));
    let BucketObservation::Exists(facts) = &obs else {
        panic!("{obs:?}")
    };
    let Fact::Unreadable(why) = &facts.policy else {
        panic!("{:?}", facts.policy)
    };
    assert!(
        why.contains("s3:GetBucketPolicy was denied (AccessDenied)"),
        "{why}"
    );
    assert!(why.contains(DENIED_HINT));

    let account = AccountFacts {
        account_id: Some("111122223333".into()),
        public_access_block: Fact::NotConfigured,
    };
    let net = NetworkFacts {
        region: "us-east-1".into(),
        ..NetworkFacts::default()
    };
    let view = region_view(&net);
    let e = evaluate_bucket(&obs, &account, Ok(&view), &BucketParams::default(), 1.8e9);
    for f in &e.findings {
        match f.rule {
            RuleId::S3TlsVersion => assert_eq!(f.status, Status::NotApplicable),
            RuleId::S3PublicAccessBlock | RuleId::S3AclsDisabled => {
                assert_eq!(f.status, Status::Fail)
            }
            RuleId::S3VpceReachable => assert_eq!(f.status, Status::Fail),
            _ => {
                assert_eq!(f.status, Status::Fail, "{f:?}");
                assert!(f.reason.contains("AccessDenied"), "{f:?}");
            }
        }
    }
    assert_eq!(e.compliance.as_str(), "NON_COMPLIANT", "never a wrong PASS");
}

#[test]
fn no_such_bucket_policy_means_no_policy() {
    let policy = mock!(Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(err(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        ))
    });
    let (pab, own) = (pab_ok(), ownership_missing());
    let c = client(&[&policy, &pab, &own]);
    let calls = ApiCalls::default();
    let obs = run(BucketCalls {
        client: &c,
        calls: &calls,
    }
    .facts("b", "us-east-1"));
    let BucketObservation::Exists(facts) = obs else {
        panic!()
    };
    assert_eq!(facts.policy, Fact::NotConfigured);
    assert_eq!(facts.ownership, Fact::NotConfigured);
    assert_eq!(
        calls.total_with_prefix("s3:"),
        3,
        "three S3 calls per bucket"
    );
}

#[test]
fn throttling_is_retried_by_the_sdk() {
    let text = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let policy = mock!(Client::get_bucket_policy)
        .sequence()
        .error(|| {
            GetBucketPolicyError::generic(err("SlowDown", "Please reduce your request rate."))
        })
        .times(2)
        .output(move || GetBucketPolicyOutput::builder().policy(text).build())
        .build();
    let (pab, own) = (pab_ok(), ownership_missing());
    let c = client(&[&policy, &pab, &own]);
    let calls = ApiCalls::default();
    let obs = run(BucketCalls {
        client: &c,
        calls: &calls,
    }
    .facts("b", "us-east-1"));
    let BucketObservation::Exists(facts) = obs else {
        panic!()
    };
    assert_eq!(facts.policy, Fact::Known(text.to_string()));
    assert_eq!(
        policy.num_calls(),
        3,
        "two throttled attempts, then success"
    );
}

#[test]
fn throttling_that_persists_is_a_clear_unreadable_fact() {
    let policy = mock!(Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(err("SlowDown", "Please reduce your request rate."))
    });
    let (pab, own) = (pab_ok(), ownership_missing());
    let c = client(&[&policy, &pab, &own]);
    let calls = ApiCalls::default();
    let obs = run(BucketCalls {
        client: &c,
        calls: &calls,
    }
    .facts("b", "us-east-1"));
    let BucketObservation::Exists(facts) = obs else {
        panic!()
    };
    let Fact::Unreadable(why) = facts.policy else {
        panic!()
    };
    assert!(why.contains("SlowDown"), "{why}");
    assert_eq!(policy.num_calls(), 3, "the SDK retried up to its limit");
}

#[test]
fn a_bucket_deleted_mid_sweep_is_not_applicable() {
    let policy = mock!(Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(err("NoSuchBucket", "The specified bucket does not exist"))
    });
    let pab = mock!(Client::get_public_access_block)
        .then_error(|| GetPublicAccessBlockError::generic(err("NoSuchBucket", "gone")));
    let own = mock!(Client::get_bucket_ownership_controls)
        .then_output(|| GetBucketOwnershipControlsOutput::builder().build());
    let c = client(&[&policy, &pab, &own]);
    let calls = ApiCalls::default();
    let obs = run(BucketCalls {
        client: &c,
        calls: &calls,
    }
    .facts("gone-bucket", "us-east-1"));
    assert!(matches!(obs, BucketObservation::Deleted { .. }), "{obs:?}");
    let account = AccountFacts {
        account_id: None,
        public_access_block: Fact::NotConfigured,
    };
    let e = evaluate_bucket(
        &obs,
        &account,
        Err("not read"),
        &BucketParams::default(),
        1.8e9,
    );
    assert_eq!(e.compliance.as_str(), "NOT_APPLICABLE");
    assert!(e.findings.iter().all(|f| f.status == Status::NotApplicable));
}
