//! Seed a realistic demo account into a moto server (`demo-account URL`): two regions, a
//! reference VPC, a VPC with the default endpoint policy and a NAT path, and buckets that are
//! private, half-private, open, public and unreachable. Used by `scripts/demo`.

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::json;
use vpce_guard_tests::seed::{locked_endpoint_policy, private_bucket_policy, Seed, MOTO_ACCOUNT};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(endpoint) = std::env::args().nth(1) else {
        eprintln!("usage: demo-account http://127.0.0.1:PORT");
        std::process::exit(2);
    };
    let seed = Seed::new(&endpoint, "us-east-1").await;

    // us-east-1: the reference setup.
    let prod = seed.vpc("us-east-1", "10.0.0.0/16", true, true).await;
    let vpce = seed
        .gateway_endpoint(
            &prod,
            &[&prod.route_table_id],
            Some(&locked_endpoint_policy(MOTO_ACCOUNT)),
        )
        .await;
    seed.bucket(
        "acme-prod-data",
        "us-east-1",
        Some(&private_bucket_policy("acme-prod-data", &vpce)),
        true,
        Some(ObjectOwnership::BucketOwnerEnforced),
    )
    .await;
    // A deny that lists some action prefixes only: multipart uploads and restores slip through.
    let partial = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*",
        "Action": ["s3:Get*", "s3:Put*", "s3:List*", "s3:Delete*"],
        "Resource": ["arn:aws:s3:::acme-analytics", "arn:aws:s3:::acme-analytics/*"],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}]});
    seed.bucket(
        "acme-analytics",
        "us-east-1",
        Some(&partial.to_string()),
        true,
        Some(ObjectOwnership::BucketOwnerEnforced),
    )
    .await;
    seed.bucket(
        "acme-build-logs",
        "us-east-1",
        None,
        false,
        Some(ObjectOwnership::ObjectWriter),
    )
    .await;
    let public = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::acme-public-site/*"}]});
    seed.bucket(
        "acme-public-site",
        "us-east-1",
        Some(&public.to_string()),
        false,
        None,
    )
    .await;

    // eu-west-1: an endpoint with the default allow-all policy and a NAT path.
    let eu = seed.vpc("eu-west-1", "10.1.0.0/16", true, false).await;
    seed.gateway_endpoint(&eu, &[&eu.route_table_id], None)
        .await;
    seed.nat_default_route(&eu).await;
    // Its policy names the us-east-1 endpoint: gateway endpoints serve only their own region.
    seed.bucket(
        "acme-eu-archive",
        "eu-west-1",
        Some(&private_bucket_policy("acme-eu-archive", &vpce)),
        true,
        Some(ObjectOwnership::BucketOwnerEnforced),
    )
    .await;
    eprintln!("demo account seeded: 5 buckets, 2 regions (us-east-1, eu-west-1)");
}
