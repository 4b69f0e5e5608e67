//! The bucket rules judged from the bucket's and the account's settings, not from the policy:
//! `S3-PUBLIC-ACCESS-BLOCK` and `S3-ACLS-DISABLED`.

use crate::facts::{Fact, ObjectOwnership, PublicAccessBlock};

use super::{Finding, RuleId, Status};

/// `S3-PUBLIC-ACCESS-BLOCK`: all four settings on, at bucket or account level.
pub(crate) fn public_access_block_finding(
    bucket: &Fact<PublicAccessBlock>,
    account: &Fact<PublicAccessBlock>,
) -> Finding {
    let rule = RuleId::S3PublicAccessBlock;
    let mut unreadable = Vec::new();
    let mut effective = PublicAccessBlock::default();
    for (level, fact) in [("bucket", bucket), ("account", account)] {
        match fact {
            Fact::Known(p) => effective = effective.or(*p),
            Fact::NotConfigured => {}
            Fact::Unreadable(why) => unreadable.push(format!("{level} level: {why}")),
        }
    }
    let missing = effective.missing();
    if missing.is_empty() {
        return Finding::new(
            rule,
            Status::Pass,
            "all four Block Public Access settings are on",
        );
    }
    let mut reason = format!(
        "Block Public Access is off at bucket and account level: {}",
        missing.join(", ")
    );
    if !unreadable.is_empty() {
        reason.push_str(&format!("; could not read {}", unreadable.join("; ")));
    }
    Finding::new(rule, Status::Fail, reason)
}

/// `S3-ACLS-DISABLED`: Object Ownership is `BucketOwnerEnforced`.
pub(crate) fn acls_disabled_finding(ownership: &Fact<ObjectOwnership>) -> Finding {
    let rule = RuleId::S3AclsDisabled;
    match ownership {
        Fact::Known(ObjectOwnership::BucketOwnerEnforced) => Finding::new(
            rule,
            Status::Pass,
            "Object Ownership is BucketOwnerEnforced: ACLs are disabled",
        ),
        Fact::Known(o) => Finding::new(
            rule,
            Status::Fail,
            format!("Object Ownership is {o}: ACLs still grant access; set BucketOwnerEnforced"),
        ),
        Fact::NotConfigured => Finding::new(
            rule,
            Status::Fail,
            "no Object Ownership controls: ACLs are enabled; set BucketOwnerEnforced",
        ),
        Fact::Unreadable(why) => Finding::new(
            rule,
            Status::Fail,
            format!("cannot read Object Ownership: {why}"),
        ),
    }
}
