//! Values AWS puts in request contexts that the engine and the rules share: the TLS version of
//! a request and the partition of an ARN.

/// A TLS version, as `RequireTlsVersion` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// Every version, oldest first.
    pub(crate) const ALL: [TlsVersion; 4] = [
        TlsVersion::V1_0,
        TlsVersion::V1_1,
        TlsVersion::V1_2,
        TlsVersion::V1_3,
    ];

    /// As `s3:TlsVersion` carries it: `1.2`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "1.0",
            TlsVersion::V1_1 => "1.1",
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ApprovedEndpointScope`: which endpoints count as approved network origins besides the
/// listed ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EndpointScope {
    /// Only the approved endpoints (and the endpoints of approved VPCs).
    #[default]
    Endpoints,
    /// Also any endpoint the bucket owner's account owns (`aws:VpceAccount`).
    Account,
    /// Also any endpoint an account of the bucket owner's organization owns (`aws:VpceOrgID`,
    /// `aws:VpceOrgPaths`).
    Organization,
}

impl EndpointScope {
    pub(crate) const ALL: [EndpointScope; 3] = [
        EndpointScope::Endpoints,
        EndpointScope::Account,
        EndpointScope::Organization,
    ];

    /// As the parameter spells it: `endpoints`, `account`, `organization`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EndpointScope::Endpoints => "endpoints",
            EndpointScope::Account => "account",
            EndpointScope::Organization => "organization",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<EndpointScope> {
        EndpointScope::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// An AWS partition: the second field of every ARN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Partition {
    #[default]
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Partition> {
        match s.trim() {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::AwsCn),
            "aws-us-gov" => Some(Partition::AwsUsGov),
            _ => None,
        }
    }

    /// The partition a region belongs to (`cn-north-1` → `aws-cn`, `us-gov-west-1` →
    /// `aws-us-gov`, anything else → `aws`).
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
