//! Request contexts: who asks, for what, with which condition keys — and the concrete
//! evaluation of a policy against one of them.

use super::keys;
use super::values::Partition;

/// How a request was signed.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Signature {
    SigV4,
    SigV2,
    Unsigned,
}

impl Signature {
    pub(crate) fn key_value(self) -> Option<&'static str> {
        match self {
            Signature::SigV4 => Some("AWS4-HMAC-SHA256"),
            Signature::SigV2 => Some("AWS"),
            Signature::Unsigned => None,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Signature::SigV4 => "SigV4",
            Signature::SigV2 => "SigV2",
            Signature::Unsigned => "unsigned",
        }
    }
}

/// The kind of caller.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Caller {
    Anonymous,
    /// The account's root user.
    Root {
        account: String,
        partition: Partition,
    },
    /// An IAM user (or another principal known only by its ARN).
    User {
        account: String,
        arn: String,
    },
    /// A session of an IAM role.
    RoleSession {
        account: String,
        role_arn: String,
        session_arn: String,
    },
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service {
        name: String,
    },
    /// An S3 canonical user id (CloudFront origin access identities).
    CanonicalUser {
        id: String,
    },
}

impl Caller {
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn account(&self) -> Option<&str> {
        match self {
            Caller::Root { account, .. }
            | Caller::User { account, .. }
            | Caller::RoleSession { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The principal's own ARN (a role session's is the assumed-role session ARN).
    pub(crate) fn own_arn(&self) -> Option<String> {
        match self {
            Caller::Root { account, partition } => Some(root_arn(*partition, account)),
            Caller::User { arn, .. } => Some(arn.clone()),
            Caller::RoleSession { session_arn, .. } => Some(session_arn.clone()),
            _ => None,
        }
    }

    /// `aws:PrincipalArn`: a role session's is the role ARN.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn principal_arn(&self) -> Option<String> {
        match self {
            Caller::Root { account, partition } => Some(root_arn(*partition, account)),
            Caller::User { arn, .. } => Some(arn.clone()),
            Caller::RoleSession { role_arn, .. } => Some(role_arn.clone()),
            _ => None,
        }
    }

    pub(crate) fn principal_type(&self) -> &'static str {
        match self {
            Caller::Anonymous => "Anonymous",
            Caller::Root { .. } => "Account",
            Caller::User { .. } | Caller::CanonicalUser { .. } => "User",
            Caller::RoleSession { .. } => "AssumedRole",
            Caller::Service { .. } => "Service",
        }
    }

    /// Build a caller from a principal ARN (`…:root`, `…:user/…`, `…:role/…`,
    /// `…:assumed-role/…/…`); a role becomes a session of it.
    pub(crate) fn from_arn(arn: &str) -> Option<Caller> {
        let parts = super::glob::arn_parts(arn)?;
        let [_, partition, service, _, account, resource] = parts;
        let account = account.to_string();
        if service == "iam" && resource == "root" {
            return Some(Caller::Root {
                account,
                partition: Partition::parse(partition).unwrap_or_default(),
            });
        }
        if service == "iam" {
            if let Some(path) = resource.strip_prefix("role/") {
                let name = path.rsplit('/').next().unwrap_or(path);
                return Some(Caller::RoleSession {
                    session_arn: format!(
                        "arn:{partition}:sts::{account}:assumed-role/{name}/vpce-guard-probe"
                    ),
                    role_arn: arn.to_string(),
                    account,
                });
            }
        }
        if service == "sts" {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or(rest);
                return Some(Caller::RoleSession {
                    role_arn: format!("arn:{partition}:iam::{account}:role/{role}"),
                    session_arn: arn.to_string(),
                    account,
                });
            }
        }
        Some(Caller::User {
            account,
            arn: arn.to_string(),
        })
    }
}

/// `arn:<partition>:iam::<account>:root`.
pub(crate) fn root_arn(partition: Partition, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The principal part of a request context.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Principal {
    pub caller: Caller,
    pub signature: Signature,
    /// `aws:ViaAWSService`: an AWS service made the request with the caller's credentials.
    pub via_service: bool,
}

impl Principal {
    /// The condition keys AWS sets for this principal, lower-cased.
    pub(crate) fn keys(&self) -> Vec<(String, Vec<String>)> {
        let mut k: Vec<(String, Vec<String>)> = Vec::with_capacity(8);
        let is_service = matches!(self.caller, Caller::Service { .. });
        k.push((
            keys::PRINCIPAL_IS_AWS_SERVICE.into(),
            vec![is_service.to_string()],
        ));
        k.push((
            keys::VIA_AWS_SERVICE.into(),
            vec![self.via_service.to_string()],
        ));
        if let Some(a) = self.caller.principal_arn() {
            k.push((keys::PRINCIPAL_ARN.into(), vec![a]));
        }
        if let Some(a) = self.caller.account() {
            k.push((keys::PRINCIPAL_ACCOUNT.into(), vec![a.to_string()]));
        }
        if let Caller::Service { name } = &self.caller {
            k.push((keys::PRINCIPAL_SERVICE_NAME.into(), vec![name.clone()]));
        }
        if self.caller != Caller::Anonymous {
            k.push((
                keys::PRINCIPAL_TYPE.into(),
                vec![self.caller.principal_type().to_string()],
            ));
        }
        if let Some(v) = self.signature.key_value() {
            k.push((keys::SIGNATURE_VERSION.into(), vec![v.to_string()]));
        }
        k
    }
}

/// One concrete request.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequestContext {
    /// `s3:GetObject`.
    pub action: String,
    /// `arn:aws:s3:::bucket/key`.
    pub resource: String,
    pub principal: Principal,
    /// Every other condition key (lower-cased) and its values.
    pub keys: Vec<(String, Vec<String>)>,
}
