//! AWS Organizations: the organization layer of one account — its organization, its OU path
//! and the resource control policies (RCPs) that apply to its resources — read from the
//! organization-policy source the deployment names (a read-only role in the management
//! account, or the delegated administrator for policy management).

use super::AwsError;
use crate::policy::Rcp;
use crate::rules::BucketParams;

/// What the organization-policy source tells about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgLayer {
    /// The organization (`o-…`).
    pub org_id: String,
    /// Its management account: RCPs do not apply to that account's resources.
    pub management_account: String,
    /// The account's OU path, `o-…/r-…/ou-…/` down to its parent.
    pub path: String,
    /// The RCPs attached to the account, to each OU above it and to the root.
    pub rcps: Vec<Rcp>,
}

impl OrgLayer {
    /// Do the RCPs apply to `account`'s resources? Not in the management account's.
    pub(crate) fn applies_to(&self, account: &str) -> bool {
        self.management_account != account
    }

    /// Judge with this layer: its RCPs, and the organization and OU path it names.
    pub(crate) fn apply(self, params: &mut BucketParams) {
        params.org_id = Some(self.org_id);
        params.org_path = Some(self.path);
        params.rcps = self.rcps;
    }
}

/// Port: the organization layer of an account.
#[allow(async_fn_in_trait)]
pub trait OrgPolicySource {
    /// `Ok(None)`: no organization-policy source is configured (no RCP layer).
    async fn org_layer(&self, account: &str) -> Result<Option<OrgLayer>, AwsError>;

    /// The caller's organization and its management account, as `DescribeOrganization`
    /// answers any member account; `Ok(None)`: the account is in no organization.
    async fn organization(&self) -> Result<Option<(String, String)>, AwsError>;
}
