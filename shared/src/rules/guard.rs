//! The S3 actions the guard's own principals and AWS Config call on a bucket from outside its
//! VPC, each with the step that needs it. `S3-GUARD-ACCESS` asks that these are not denied, and
//! the deny the product writes exempts each principal for these actions only (RULES.md,
//! "Exemptions"): an exemption for `s3:*` would let anyone who can create a role matching it
//! read and write the bucket from the internet.

use super::params::Partition;
use super::BucketParams;

/// Who calls an action.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardKind {
    /// The evaluating functions and the scanner (`GuardPrincipalArns`, `--guard-principal`).
    Guard,
    /// The remediator (`RemediatorPrincipalArns`, `--remediator-principal`).
    Remediator,
    /// AWS Config's configuration recorder.
    ConfigRecorder,
}

/// One action and why it is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GuardAction {
    pub(crate) action: &'static str,
    pub(crate) needed_by: &'static str,
}

const fn a(action: &'static str, needed_by: &'static str) -> GuardAction {
    GuardAction { action, needed_by }
}

/// The bucket reads of the rules, the change watcher and `scan` (shared/src/aws/s3.rs).
pub(crate) const GUARD_READS: [GuardAction; 4] = [
    a(
        "s3:GetBucketPolicy",
        "every policy rule (S3-VPCE-*, S3-TLS, S3-SIGV4, S3-NO-PUBLIC-GRANT, S3-GUARD-ACCESS)",
    ),
    a(
        "s3:GetBucketPublicAccessBlock",
        "S3-PUBLIC-ACCESS-BLOCK (GetPublicAccessBlock on the bucket)",
    ),
    a(
        "s3:GetBucketOwnershipControls",
        "S3-ACLS-DISABLED (GetBucketOwnershipControls)",
    ),
    a(
        "s3:GetBucketLocation",
        "finding the bucket's region (scan, change watcher, remediator)",
    ),
];

/// What the remediator calls besides [`GUARD_READS`] (shared/src/aws/policy_store.rs).
pub(crate) const REMEDIATOR_ACTIONS: [GuardAction; 3] = [
    a(
        "s3:GetBucketTagging",
        "the remediator's `vpce-guard:exempt` tag check",
    ),
    a(
        "s3:PutBucketPolicy",
        "the remediator's write, its restore on a failed verification, and rollback",
    ),
    a(
        "s3:DeleteBucketPolicy",
        "rollback to a bucket that had no policy, and the restore of one",
    ),
];

/// The bucket reads AWS Config's recorder makes for an `AWS::S3::Bucket` configuration item (its
/// configuration and supplementary configuration: ACL, policy, public access block, ownership,
/// versioning, logging, notifications, lifecycle, encryption, website, CORS, replication,
/// acceleration, requester pays, Object Lock, tags), as the recorder's managed policies
/// (AWSConfigServiceRolePolicy, AWS_ConfigRole) grant them.
pub(crate) const CONFIG_READS: [GuardAction; 17] = [
    a("s3:GetBucketAcl", "Config: AccessControlList"),
    a("s3:GetBucketPolicy", "Config: BucketPolicy"),
    a(
        "s3:GetBucketPublicAccessBlock",
        "Config: PublicAccessBlockConfiguration",
    ),
    a("s3:GetBucketOwnershipControls", "Config: OwnershipControls"),
    a("s3:GetBucketLocation", "Config: the bucket's region"),
    a("s3:GetBucketTagging", "Config: tags"),
    a(
        "s3:GetBucketVersioning",
        "Config: BucketVersioningConfiguration",
    ),
    a("s3:GetBucketLogging", "Config: BucketLoggingConfiguration"),
    a(
        "s3:GetBucketNotification",
        "Config: BucketNotificationConfiguration",
    ),
    a(
        "s3:GetLifecycleConfiguration",
        "Config: LifecycleConfiguration",
    ),
    a(
        "s3:GetEncryptionConfiguration",
        "Config: ServerSideEncryptionConfiguration",
    ),
    a("s3:GetBucketWebsite", "Config: BucketWebsiteConfiguration"),
    a("s3:GetBucketCORS", "Config: CrossOriginConfiguration"),
    a(
        "s3:GetReplicationConfiguration",
        "Config: ReplicationConfiguration",
    ),
    a(
        "s3:GetAccelerateConfiguration",
        "Config: BucketAccelerateConfiguration",
    ),
    a(
        "s3:GetBucketRequestPayment",
        "Config: IsRequesterPaysEnabled",
    ),
    a(
        "s3:GetBucketObjectLockConfiguration",
        "Config: ObjectLockConfiguration",
    ),
];

/// What `S3-GUARD-ACCESS` asks of AWS Config's recorder: the reads the rules' own verdicts rest
/// on (Config records the policy, the public access block and the ownership the rules judge).
/// The deny the product writes exempts the recorder for all of [`CONFIG_READS`].
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const CONFIG_CHECKED: [&str; 5] = [
    "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
    "s3:GetBucketLocation",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketOwnershipControls",
];

impl GuardKind {
    /// The actions a principal of this kind calls (deduplicated, in catalog order).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn actions(self) -> Vec<&'static str> {
        let list: Vec<&'static str> = match self {
            GuardKind::Guard => GUARD_READS.iter().map(|g| g.action).collect(),
            GuardKind::Remediator => GUARD_READS
                .iter()
                .chain(REMEDIATOR_ACTIONS.iter())
                .map(|g| g.action)
                .collect(),
            GuardKind::ConfigRecorder => CONFIG_READS.iter().map(|g| g.action).collect(),
        };
        let mut out = Vec::new();
        for x in list {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }

    /// The actions `S3-GUARD-ACCESS` checks for a principal of this kind.
    pub(crate) fn checked_actions(self) -> Vec<&'static str> {
        match self {
            GuardKind::ConfigRecorder => CONFIG_CHECKED.to_vec(),
            other => other.actions(),
        }
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn label(self) -> &'static str {
        match self {
            GuardKind::Guard => "guard principal",
            GuardKind::Remediator => "remediator principal",
            GuardKind::ConfigRecorder => "AWS Config's recorder",
        }
    }
}

/// Is an ARN pattern a wildcard pattern (`*` or `?`) rather than one exact ARN?
pub use crate::policy::glob::is_pattern;

/// The principals `S3-GUARD-ACCESS` asks about, with the actions each calls: AWS Config's
/// recorder, the guard's principals, and the remediator's (which are guard principals too: a
/// principal in both lists is judged as the remediator, whose actions include the guard's).
pub(crate) fn guard_list(params: &BucketParams, config_role: String) -> Vec<(String, GuardKind)> {
    let mut guards: Vec<(String, GuardKind)> = vec![(config_role, GuardKind::ConfigRecorder)];
    let mut add = |arn: &String, kind: GuardKind| match guards.iter_mut().find(|(g, _)| g == arn) {
        Some(entry) if kind == GuardKind::Remediator => entry.1 = kind,
        Some(_) => {}
        None => guards.push((arn.clone(), kind)),
    };
    for g in &params.guard_principals {
        add(g, GuardKind::Guard);
    }
    for g in &params.remediator_principals {
        add(g, GuardKind::Remediator);
    }
    guards
}

/// AWS Config's service-linked recorder role in `account`.
pub(crate) fn config_service_linked_role(partition: Partition, account: &str) -> String {
    format!(
        "arn:{partition}:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_an_s3_bucket_action_with_a_reason() {
        for g in GUARD_READS
            .iter()
            .chain(REMEDIATOR_ACTIONS.iter())
            .chain(CONFIG_READS.iter())
        {
            assert!(g.action.starts_with("s3:"), "{}", g.action);
            assert!(!g.action.contains('*'), "{}", g.action);
            assert!(!g.needed_by.is_empty(), "{}", g.action);
        }
    }

    #[test]
    fn the_remediator_reads_what_the_guard_reads_and_writes_the_policy() {
        let r = GuardKind::Remediator.actions();
        for g in GuardKind::Guard.actions() {
            assert!(r.contains(&g));
        }
        assert!(r.contains(&"s3:PutBucketPolicy"));
        assert!(r.contains(&"s3:DeleteBucketPolicy"));
        assert!(!GuardKind::Guard.actions().contains(&"s3:PutBucketPolicy"));
        assert!(!GuardKind::ConfigRecorder
            .actions()
            .contains(&"s3:PutBucketPolicy"));
        for c in CONFIG_CHECKED {
            assert!(GuardKind::ConfigRecorder.actions().contains(&c));
        }
    }

    #[test]
    fn patterns_are_told_from_exact_arns() {
        assert!(is_pattern("arn:aws:iam::111122223333:role/vpce-guard/*"));
        assert!(is_pattern("arn:aws:iam::111122223333:role/app-?"));
        assert!(!is_pattern(
            "arn:aws:iam::111122223333:role/vpce-guard/BucketRule"
        ));
    }
}
