//! The dimensions of the request space and their values.

use super::super::catalog::S3Action;
use super::super::context::Principal;
use super::super::values::TlsVersion;

/// What a dimension ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DimKind {
    ActionResource,
    Principal,
    Network,
    Transport,
    Fixed,
    /// Any other condition key (lower-cased).
    Free(String),
}

/// The role a principal value plays in the questions.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalClass {
    /// The probe role session of the bucket's own account.
    SameAccount,
    OtherAccount,
    Anonymous,
    Root,
    Service,
    ViaService,
    /// A principal the caller asked for (its ARN pattern, as given in
    /// [`Scope::configured_principals`](super::Scope)).
    Configured(String),
    /// A principal the policy names.
    Named,
}

/// Whose endpoint a request came through, as the scope sees it.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointOwner {
    /// The bucket owner's account (or the approved endpoints' owner, when another).
    Account,
    /// Another account of the bucket owner's organization.
    Organization,
    /// An account outside it.
    Foreign,
}

/// Extra facts about a dimension value, for restricting questions and describing answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Info {
    ActionResource {
        class: usize,
        resource: String,
        object: bool,
    },
    Principal {
        principal: Principal,
        class: PrincipalClass,
    },
    Network {
        approved: bool,
        /// Who owns the endpoint (`None`: the public internet).
        owner: Option<EndpointOwner>,
        /// The hypothesis about an unknown fact (the bucket owner's organization or OU path)
        /// this value assumes, named for the reader; `None`: assumes nothing.
        hypothesis: Option<String>,
        /// Through an access point (else directly to the bucket).
        access_point: bool,
        /// The VPC endpoint (`None`: the public internet).
        endpoint: Option<String>,
        vpc: Option<String>,
        /// The endpoint's VPC is known, approved or unknown-but-fresh; false when an endpoint
        /// of unknown home is paired with a VPC id the policy names (possible, not assumed).
        plausible: bool,
    },
    Transport {
        tls: Option<TlsVersion>,
    },
    /// A time of evaluation: `now`, or a later instant at a boundary the policy names.
    Time {
        now: bool,
        at: f64,
    },
    Plain,
}

/// One value of a dimension.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DimValue {
    pub(crate) label: String,
    /// Condition keys (lower-cased) this value sets.
    pub(crate) keys: Vec<(String, Vec<String>)>,
    pub(crate) info: Info,
}

impl DimValue {
    pub(crate) fn lookup(&self, key_lc: &str) -> Option<&[String]> {
        self.keys
            .iter()
            .find(|(k, _)| k == key_lc)
            .map(|(_, v)| v.as_slice())
    }
}

/// One dimension.
#[derive(Debug, Clone)]
pub(crate) struct Dim {
    pub(crate) kind: DimKind,
    pub(crate) values: Vec<DimValue>,
}

/// A class of S3 actions the policy's patterns cannot tell apart.
#[derive(Debug, Clone)]
pub(crate) struct ActionClass {
    pub(crate) actions: Vec<&'static S3Action>,
}

impl ActionClass {
    /// A representative: a well-known action if the class has one.
    pub(crate) fn representative(&self) -> &'static str {
        const PREFERRED: [&str; 6] = [
            "s3:getobject",
            "s3:putobject",
            "s3:listbucket",
            "s3:deleteobject",
            "s3:getbucketpolicy",
            "s3:putbucketpolicy",
        ];
        for p in PREFERRED {
            if let Some(a) = self.actions.iter().find(|a| a.name_lc == p) {
                return &a.name;
            }
        }
        self.actions
            .first()
            .map(|a| a.name.as_str())
            .unwrap_or("s3:*")
    }

    pub(crate) fn label(&self) -> String {
        match self.actions.len() {
            0 | 1 => self.representative().to_string(),
            n => format!("{} (+{} alike)", self.representative(), n - 1),
        }
    }
}

/// Why the space could not be built (the policy needs too many request variants, or the
/// action catalog did not load): every verdict that needs the space fails closed.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TooComplex(pub String);
