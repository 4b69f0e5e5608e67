//! The reference policies the demo account, the seeders and the in-memory account write: a
//! private bucket's policy and a locked-down endpoint policy (RULES.md's reference examples).

use serde_json::json;

/// The reference bucket policy of RULES.md plus a TLS deny.
pub fn private_bucket_policy(bucket: &str, vpce: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
             "Condition": {"StringNotEquals": {"aws:sourceVpce": vpce}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]
    })
    .to_string()
}

/// The reference endpoint policy: deny principals outside the account, allow the account's
/// buckets only.
pub fn locked_endpoint_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyOtherAccounts", "Effect": "Deny", "NotPrincipal": {"AWS": account},
             "Action": "*", "Resource": "*"},
            {"Sid": "AllowOwnBuckets", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
             "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceAccount": account}}}
        ]
    })
    .to_string()
}
