//! What the bucket evaluations share: across the invocations of one container ([`Warm`]: the
//! recorder role, the long settings) and within one invocation ([`Buckets`]: the account, each
//! region's S3 endpoints), each read at most once and only when a bucket needs it. The bucket
//! rule and the change watcher both evaluate buckets with these reads.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::OnceCell;

use crate::facts::{AccountFacts, BucketObservation, Fact, PublicAccessBlock};
use crate::ports::{
    AccountReader, AwsError, BucketReader, NetworkReader, OrgLayer, OrgPolicySource,
};
use crate::rules::bucket::{evaluate_bucket, RegionView};
use crate::rules::params::LongSettings;
use crate::rules::{BucketParams, Evaluation};

use super::port::{ConfigPort, MAX_KEYS};
use super::{ConfigItem, PartialBucket, ResourceType};

/// What a function keeps between the invocations of one container: AWS Config's recorder
/// role, read on the first invocation that evaluates a bucket (not at init: init stays fast).
#[derive(Debug, Default)]
pub struct Warm {
    recorder_role: OnceCell<Option<String>>,
    /// The long settings read from SSM at init (empty: none configured).
    long_settings: LongSettings,
    /// The organization layer of the account, with when it was read (kept for
    /// [`ORG_LAYER_TTL`]; a failed read is not kept).
    org_layer: tokio::sync::Mutex<Option<(std::time::Instant, String, Option<OrgLayer>)>>,
    /// The account's organization when no source is configured (`DescribeOrganization`).
    organization: OnceCell<Option<String>>,
}

/// How long a warm container keeps the organization layer (RCPs change rarely; a new RCP
/// reaches the verdicts within this time, or at once in a new container).
pub(crate) const ORG_LAYER_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The organization layer as an evaluation uses it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrgState {
    /// No source configured, or the account is the management account (RCPs do not apply).
    None,
    Known(OrgLayer),
    /// The source is configured but could not be read.
    Unreadable(String),
}

impl Warm {
    /// A container whose init read these long settings (`aws::ssm::load_long_settings`).
    pub fn with_long_settings(long_settings: LongSettings) -> Warm {
        Warm {
            long_settings,
            ..Warm::default()
        }
    }

    /// The organization layer of `account`, read through the source at most once per
    /// [`ORG_LAYER_TTL`]. The management account's resources are not subject to RCPs.
    pub(crate) async fn org_layer<P: OrgPolicySource>(&self, p: &P, account: &str) -> OrgState {
        let mut cached = self.org_layer.lock().await;
        let fresh = match cached.as_ref() {
            Some((at, acct, layer)) if acct == account && at.elapsed() < ORG_LAYER_TTL => {
                Some(layer.clone())
            }
            _ => None,
        };
        let layer = match fresh {
            Some(l) => l,
            None => match p.org_layer(account).await {
                Ok(l) => {
                    *cached = Some((std::time::Instant::now(), account.to_string(), l.clone()));
                    l
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the organization's RCPs: deny rules judge the bucket policy alone");
                    return OrgState::Unreadable(e.to_string());
                }
            },
        };
        match layer {
            None => OrgState::None,
            Some(l) if !l.applies_to(account) => {
                tracing::info!(
                    account,
                    "the management account: RCPs do not apply to its resources"
                );
                OrgState::None
            }
            Some(l) => OrgState::Known(l),
        }
    }

    /// The account's organization, from its own `DescribeOrganization`, read once per
    /// container; a failed read is logged, not kept, and leaves it unknown (the rules then judge
    /// the organization keys with hypotheses).
    pub(crate) async fn organization<P: OrgPolicySource>(&self, p: &P) -> Option<String> {
        if let Some(org) = self.organization.get() {
            return org.clone();
        }
        match p.organization().await {
            Ok(org) => {
                let id = org.map(|(id, _)| id).filter(|id| !id.is_empty());
                let _ = self.organization.set(id.clone());
                id
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the account's organization: policies keyed on it are judged with hypotheses");
                None
            }
        }
    }

    /// The role, read once; a failed read is logged, not cached, and leaves `None` (the rules
    /// then use Config's service-linked role).
    pub(crate) async fn recorder_role<P: ConfigPort>(&self, p: &P) -> Option<String> {
        if let Some(role) = self.recorder_role.get() {
            return role.clone();
        }
        match p.recorder_role().await {
            Ok(role) => {
                let _ = self.recorder_role.set(role.clone());
                role
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read AWS Config's recorder role: S3-GUARD-ACCESS checks the service-linked role");
                None
            }
        }
    }
}

/// What the bucket evaluations of one invocation share, each read at most once and only when
/// a bucket needs it: the account (its id; its Block Public Access only for a bucket whose own
/// settings do not turn all four on), each region's S3 endpoints, Config's recorder role. The
/// change watcher evaluates buckets with the same reads.
pub(crate) struct Buckets<'a, P> {
    pub(crate) p: &'a P,
    warm: &'a Warm,
    params: BucketParams,
    account_id: String,
    account_block: OnceCell<Fact<PublicAccessBlock>>,
    views: BTreeMap<String, Result<RegionView, String>>,
}

impl<'a, P: BucketReader + AccountReader + NetworkReader + ConfigPort + OrgPolicySource>
    Buckets<'a, P>
{
    /// The account id (from the hint, else STS), the regions' S3 endpoints and the recorder
    /// role, concurrently. A region whose endpoints cannot be read is kept as its error (the
    /// rules then FAIL what depends on it), unless the failure is transient or fatal.
    pub(crate) async fn load(
        p: &'a P,
        warm: &'a Warm,
        params: &BucketParams,
        account_hint: Option<&str>,
        regions: BTreeSet<String>,
    ) -> Result<Buckets<'a, P>, AwsError> {
        let account_id = match account_hint.filter(|a| !a.is_empty()) {
            Some(a) => a.to_string(),
            None => p.account_id().await?,
        };
        let views = async {
            let mut views = BTreeMap::new();
            for region in regions {
                let view = match p.s3_endpoints(&region).await {
                    Ok(endpoints) => Ok(RegionView::from_endpoints(&region, &endpoints)),
                    Err(e) if e.is_transient() || e.is_fatal() => return Err(e),
                    Err(e) => Err(e.to_string()),
                };
                views.insert(region, view);
            }
            Ok(views)
        };
        let (config_role, views, org) =
            tokio::join!(warm.recorder_role(p), views, warm.org_layer(p, &account_id));
        let mut params = BucketParams {
            config_role,
            ..warm.long_settings.apply(params)
        };
        match org {
            OrgState::None => {}
            OrgState::Known(layer) => layer.apply(&mut params),
            OrgState::Unreadable(why) => params.rcp_unreadable = Some(why),
        }
        Ok(Buckets {
            views: views?,
            p,
            warm,
            params,
            account_id,
            account_block: OnceCell::new(),
        })
    }

    /// The account this invocation judges.
    pub(crate) fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The parameters in force (with Config's recorder role).
    pub(crate) fn params(&self) -> &BucketParams {
        &self.params
    }

    /// The S3 endpoints view of a region that was loaded.
    pub(crate) fn view(&self, region: &str) -> Option<&Result<RegionView, String>> {
        self.views.get(region)
    }

    /// The account facts a bucket needs: Block Public Access at account level is read (once)
    /// only when the bucket's own settings leave one of the four off.
    pub(crate) async fn account(&self, bucket_block: &Fact<PublicAccessBlock>) -> AccountFacts {
        let all_on = matches!(bucket_block, Fact::Known(b) if b.missing().is_empty());
        // Not read: the bucket's own settings already decide S3-PUBLIC-ACCESS-BLOCK.
        let public_access_block = if all_on {
            Fact::NotConfigured
        } else {
            self.account_block
                .get_or_init(|| self.p.account_public_access_block(&self.account_id))
                .await
                .clone()
        };
        AccountFacts {
            account_id: Some(self.account_id.clone()),
            public_access_block,
        }
    }

    /// Judge one observed bucket by the bucket rules.
    pub(crate) async fn assess(&self, obs: BucketObservation, now: f64) -> Evaluation {
        let (account, region) = match &obs {
            BucketObservation::Exists(f) => (
                self.account(&f.public_access_block).await,
                f.region.as_str(),
            ),
            // Gone: NOT_APPLICABLE whatever the account says.
            BucketObservation::Deleted { region, .. } => (
                AccountFacts {
                    account_id: Some(self.account_id.clone()),
                    public_access_block: Fact::NotConfigured,
                },
                region.as_str(),
            ),
        };
        let view = match self.views.get(region) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("the network of {region} was not read")),
        };
        // A policy keyed on the endpoint owner's organization needs the account's own: asked
        // only then (`DescribeOrganization`, once per container), when no source gave it.
        let with_org;
        let params = match &obs {
            BucketObservation::Exists(f)
                if self.params.org_id.is_none()
                    && matches!(&f.policy, Fact::Known(t) if names_organization(t)) =>
            {
                match self.warm.organization(self.p).await {
                    Some(org) => {
                        with_org = BucketParams {
                            org_id: Some(org),
                            ..self.params.clone()
                        };
                        &with_org
                    }
                    None => &self.params,
                }
            }
            _ => &self.params,
        };
        evaluate_bucket(
            &obs,
            &account,
            view.as_ref().map(|v| *v).map_err(String::as_str),
            params,
            now,
        )
    }
}

/// Does a policy text test the endpoint owner's organization (`aws:VpceOrgID`,
/// `aws:VpceOrgPaths`, any case)?
fn names_organization(policy: &str) -> bool {
    let lower = policy.to_ascii_lowercase();
    lower.contains("aws:vpceorgid") || lower.contains("aws:vpceorgpaths")
}

/// Complete a bucket's facts: S3 is called only for what the item lacks, concurrently.
pub(crate) async fn bucket_observation<P: BucketReader>(
    p: &P,
    partial: PartialBucket,
) -> BucketObservation {
    let (name, region) = (partial.name.clone(), partial.region.clone());
    let policy = async {
        match &partial.policy {
            Some(f) => Some(f.clone()),
            None => p.read_policy(&name, &region).await,
        }
    };
    let block = async {
        match &partial.public_access_block {
            Some(f) => Some(f.clone()),
            None => p.read_public_access_block(&name, &region).await,
        }
    };
    let ownership = async {
        match &partial.ownership {
            Some(f) => Some(f.clone()),
            None => p.read_ownership(&name, &region).await,
        }
    };
    let (policy, block, ownership) = tokio::join!(policy, block, ownership);
    BucketObservation::from_reads(&name, &region, policy, block, ownership)
}

/// A region's buckets as AWS Config's inventory has them: the items of the live ones (read
/// 100 at a time, `supplementaryConfiguration` and all) and the ids of those that are gone.
#[derive(Debug, Default)]
pub(crate) struct BucketInventory {
    /// Items to evaluate; a bucket Config listed but could not return has a bare item (its
    /// facts are then read from S3), located by a direct region read.
    pub(crate) live: Vec<ConfigItem>,
    /// Deleted buckets: listed as deleted, returned as deleted, or no longer in S3.
    pub(crate) gone: Vec<String>,
}

/// Read the inventory of `region` (`None`: the client's own): `ListDiscoveredResources`, then
/// `BatchGetResourceConfig` 100 at a time; for the buckets Config did not return, one direct
/// region read each. The periodic bucket rule and `scan --source config` share it.
pub(crate) async fn bucket_inventory<P: ConfigPort + BucketReader>(
    p: &P,
    region: Option<&str>,
) -> Result<BucketInventory, AwsError> {
    let discovered = p.list_discovered(region, &ResourceType::S3Bucket).await?;
    let listed: Vec<String> = discovered
        .iter()
        .filter(|d| !d.deleted)
        .map(|d| d.resource_id.clone())
        .collect();
    let mut gone: Vec<String> = discovered
        .iter()
        .filter(|d| d.deleted)
        .map(|d| d.resource_id.clone())
        .collect();
    let mut items = Vec::with_capacity(listed.len());
    let mut unrecorded = Vec::new();
    for chunk in listed.chunks(MAX_KEYS) {
        let (got, missing) = p
            .batch_items(region, &ResourceType::S3Bucket, chunk)
            .await?;
        let returned: BTreeSet<String> = got.iter().map(|i| i.resource_id.clone()).collect();
        items.extend(got);
        unrecorded.extend(missing);
        unrecorded.extend(chunk.iter().filter(|id| !returned.contains(*id)).cloned());
    }
    unrecorded.sort();
    unrecorded.dedup();
    for id in unrecorded {
        if items.iter().any(|i: &ConfigItem| i.resource_id == id) {
            continue;
        }
        match p.bucket_region(&id).await? {
            Some(r) => items.push(ConfigItem::bare(ResourceType::S3Bucket, &id, Some(r), None)),
            None => gone.push(id),
        }
    }
    let (deleted, live): (Vec<ConfigItem>, Vec<ConfigItem>) =
        items.into_iter().partition(ConfigItem::is_deleted);
    gone.extend(deleted.into_iter().map(|i| i.resource_id));
    Ok(BucketInventory { live, gone })
}
