//! The condition keys the engine knows by name, where each is set, and which values AWS can
//! give it. Every other module names keys through these constants (lower-cased: keys are
//! case-insensitive).

pub(crate) const SOURCE_VPCE: &str = "aws:sourcevpce";
pub(crate) const SOURCE_VPC: &str = "aws:sourcevpc";
pub(crate) const VPC_SOURCE_IP: &str = "aws:vpcsourceip";
pub(crate) const SOURCE_IP: &str = "aws:sourceip";
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
        SOURCE_VPCE | SOURCE_VPC | VPC_SOURCE_IP | SOURCE_IP => KeyHome::Network,
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

/// Can AWS set `key` (lower-cased) to `value`? AWS sets `aws:SourceVpce` only to an endpoint
/// id, `aws:SourceVpc` only to a VPC id and `aws:PrincipalAccount` only to a 12-digit account
/// id: a constant of another shape can never match, so it is no request value to try.
pub(crate) fn well_formed(key: &str, value: &str) -> bool {
    match key {
        SOURCE_VPCE => value.to_ascii_lowercase().starts_with("vpce-"),
        SOURCE_VPC => value.to_ascii_lowercase().starts_with("vpc-"),
        PRINCIPAL_ACCOUNT => is_account_id(value),
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
    }
}
