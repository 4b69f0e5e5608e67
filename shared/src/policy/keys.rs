//! The condition keys the engine knows by name, where each is set, and which values AWS can
//! give it. Every other module names keys through these constants (lower-cased: keys are
//! case-insensitive).

pub(crate) const SOURCE_VPCE: &str = "aws:sourcevpce";
pub(crate) const SOURCE_VPC: &str = "aws:sourcevpc";
pub(crate) const VPC_SOURCE_IP: &str = "aws:vpcsourceip";
pub(crate) const SOURCE_IP: &str = "aws:sourceip";
/// `arn:<partition>:ec2:<region>:<owner>:vpc/<vpc-id>` of the endpoint's VPC.
pub(crate) const SOURCE_VPC_ARN: &str = "aws:sourcevpcarn";
/// The account that owns the endpoint a request came through.
pub(crate) const VPCE_ACCOUNT: &str = "aws:vpceaccount";
/// The organization of that account (absent when it is in none).
pub(crate) const VPCE_ORG_ID: &str = "aws:vpceorgid";
/// The organization path of that account (`o-…/r-…/ou-…/`).
pub(crate) const VPCE_ORG_PATHS: &str = "aws:vpceorgpaths";
/// Access-point keys: present only for requests through an access point.
pub(crate) const ACCESS_POINT_ARN: &str = "s3:dataaccesspointarn";
pub(crate) const ACCESS_POINT_ACCOUNT: &str = "s3:dataaccesspointaccount";
pub(crate) const ACCESS_POINT_NETWORK_ORIGIN: &str = "s3:accesspointnetworkorigin";
pub(crate) const SECURE_TRANSPORT: &str = "aws:securetransport";
pub(crate) const TLS_VERSION: &str = "s3:tlsversion";
pub(crate) const PRINCIPAL_ARN: &str = "aws:principalarn";
pub(crate) const PRINCIPAL_ACCOUNT: &str = "aws:principalaccount";
pub(crate) const PRINCIPAL_IS_AWS_SERVICE: &str = "aws:principalisawsservice";
pub(crate) const VIA_AWS_SERVICE: &str = "aws:viaawsservice";
pub(crate) const PRINCIPAL_SERVICE_NAME: &str = "aws:principalservicename";
pub(crate) const PRINCIPAL_TYPE: &str = "aws:principaltype";
pub(crate) const SIGNATURE_VERSION: &str = "s3:signatureversion";
pub(crate) const PRINCIPAL_ORG_ID: &str = "aws:principalorgid";
pub(crate) const RESOURCE_ORG_ID: &str = "aws:resourceorgid";
pub(crate) const CURRENT_TIME: &str = "aws:currenttime";
pub(crate) const EPOCH_TIME: &str = "aws:epochtime";
pub(crate) const RESOURCE_ACCOUNT: &str = "aws:resourceaccount";
pub(crate) const S3_RESOURCE_ACCOUNT: &str = "s3:resourceaccount";

/// Where a condition key is evaluated: which dimension of the request space sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHome {
    Network,
    Transport,
    /// Set by AWS from the principal.
    PrincipalDerived,
    /// Varies among principals of one kind (organization, tags, user id…).
    PrincipalAttr,
    /// Set by AWS for service principals only.
    ServiceAttr,
    Fixed,
    Free,
}

pub(crate) fn key_home(k: &str) -> KeyHome {
    match k {
        // Set by AWS from the network path (the endpoint and its owner) and from the access
        // point a request came through: never free, always as the context's origin says.
        SOURCE_VPCE
        | SOURCE_VPC
        | VPC_SOURCE_IP
        | SOURCE_IP
        | SOURCE_VPC_ARN
        | VPCE_ACCOUNT
        | VPCE_ORG_ID
        | VPCE_ORG_PATHS
        | ACCESS_POINT_ARN
        | ACCESS_POINT_ACCOUNT
        | ACCESS_POINT_NETWORK_ORIGIN => KeyHome::Network,
        SECURE_TRANSPORT | TLS_VERSION => KeyHome::Transport,
        PRINCIPAL_ARN
        | PRINCIPAL_ACCOUNT
        | PRINCIPAL_IS_AWS_SERVICE
        | VIA_AWS_SERVICE
        | PRINCIPAL_SERVICE_NAME
        | PRINCIPAL_TYPE
        | SIGNATURE_VERSION => KeyHome::PrincipalDerived,
        PRINCIPAL_ORG_ID
        | "aws:principalorgpaths"
        | "aws:userid"
        | "aws:username"
        | "aws:multifactorauthpresent"
        | "aws:multifactorauthage"
        | "aws:sourceidentity" => KeyHome::PrincipalAttr,
        k if k.starts_with("aws:principaltag/") => KeyHome::PrincipalAttr,
        "aws:sourceaccount" | "aws:sourcearn" | "aws:sourceorgid" | "aws:sourceorgpaths" => {
            KeyHome::ServiceAttr
        }
        CURRENT_TIME | EPOCH_TIME | RESOURCE_ACCOUNT | S3_RESOURCE_ACCOUNT => KeyHome::Fixed,
        _ => KeyHome::Free,
    }
}

/// Global condition keys AWS documents (IAM User Guide, "AWS global condition context keys"),
/// lower-cased; `…/` entries are prefixes of tag keys.
const GLOBAL_KEYS: &[&str] = &[
    "aws:assumedroot",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:currenttime",
    "aws:ec2instancesourceprivateipv4",
    "aws:ec2instancesourcevpc",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:principaltag/",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:requesttag/",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:resourcetag/",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:tagkeys",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
    "aws:vpceaccount",
    "aws:vpceorgid",
    "aws:vpceorgpaths",
];

/// Amazon S3's condition keys (Service Authorization Reference, "Actions, resources, and
/// condition keys for Amazon S3"), lower-cased; `…/` entries are prefixes.
const S3_KEYS: &[&str] = &[
    "s3:accessgrantsinstancearn",
    "s3:accesspointnetworkorigin",
    "s3:authtype",
    "s3:buckettag/",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
    "s3:delimiter",
    "s3:existingjoboperation",
    "s3:existingjobpriority",
    "s3:existingobjecttag/",
    "s3:if-match",
    "s3:if-none-match",
    "s3:jobsuspendedcause",
    "s3:locationconstraint",
    "s3:max-keys",
    "s3:object-lock-legal-hold",
    "s3:object-lock-mode",
    "s3:object-lock-remaining-retention-days",
    "s3:object-lock-retain-until-date",
    "s3:objectcreationoperation",
    "s3:prefix",
    "s3:requestjoboperation",
    "s3:requestjobpriority",
    "s3:requestobjecttag/",
    "s3:requestobjecttagkeys",
    "s3:resourceaccount",
    "s3:signatureage",
    "s3:signatureversion",
    "s3:tlsversion",
    "s3:versionid",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm",
    "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location",
];

/// Is `key` (lower-cased) a global condition key or one of S3's? A key that is neither is
/// never present in an S3 request if it is a misspelling (`aws:SourceVpceId`), so the rules
/// that must show a request is *not* denied cannot assume it away (RULES.md).
pub(crate) fn is_known_key(key: &str) -> bool {
    GLOBAL_KEYS.iter().chain(S3_KEYS).any(|k| {
        if k.ends_with('/') {
            key.starts_with(k) && key.len() > k.len()
        } else {
            key == *k
        }
    })
}

/// Can AWS set `key` (lower-cased) to `value`? AWS sets `aws:SourceVpce` only to an endpoint
/// id, `aws:SourceVpc` only to a VPC id and `aws:PrincipalAccount` only to a 12-digit account
/// id: a constant of another shape can never match, so it is no request value to try.
pub(crate) fn well_formed(key: &str, value: &str) -> bool {
    match key {
        SOURCE_VPCE => value.to_ascii_lowercase().starts_with("vpce-"),
        SOURCE_VPC => value.to_ascii_lowercase().starts_with("vpc-"),
        PRINCIPAL_ACCOUNT | VPCE_ACCOUNT | ACCESS_POINT_ACCOUNT => is_account_id(value),
        VPCE_ORG_ID => value.starts_with("o-"),
        VPCE_ORG_PATHS => value.starts_with("o-") && value.ends_with('/'),
        ACCESS_POINT_NETWORK_ORIGIN => value == "Internet" || value == "VPC",
        _ => true,
    }
}

/// A 12-digit AWS account id.
pub(crate) fn is_account_id(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_have_their_key_s_shape() {
        assert!(well_formed(SOURCE_VPCE, "vpce-1a2b3c4d"));
        assert!(!well_formed(SOURCE_VPCE, "vpc-1a2b3c4d"));
        assert!(well_formed(SOURCE_VPC, "vpc-1a2b3c4d"));
        assert!(!well_formed(SOURCE_VPC, "vpce-1a2b3c4d"));
        assert!(well_formed(PRINCIPAL_ACCOUNT, "111122223333"));
        assert!(!well_formed(PRINCIPAL_ACCOUNT, "1111"));
        assert!(well_formed("aws:username", "anything"));
        assert_eq!(key_home(SOURCE_VPCE), KeyHome::Network);
        assert_eq!(key_home("aws:principaltag/team"), KeyHome::PrincipalAttr);
        assert_eq!(key_home("s3:prefix"), KeyHome::Free);
        assert_eq!(key_home(VPCE_ACCOUNT), KeyHome::Network);
        assert!(is_known_key("s3:prefix") && is_known_key("aws:principaltag/team"));
        assert!(!is_known_key("aws:sourcevpceid") && !is_known_key("aws:principaltag/"));
        assert!(well_formed(VPCE_ACCOUNT, "111122223333") && !well_formed(VPCE_ACCOUNT, "o-1"));
        assert!(well_formed(VPCE_ORG_ID, "o-a1b2c3d4e5") && !well_formed(VPCE_ORG_ID, "r-ab12"));
    }
}
