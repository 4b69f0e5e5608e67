//! `scan --aggregator`: every account and region an AWS Config aggregator covers, from the one
//! account that owns it, with one set of credentials.
//!
//! Buckets come from the aggregator 100 a call (`ListAggregateDiscoveredResources`,
//! `BatchGetAggregateResourceConfig`), each item's policy and Block Public Access included.
//! What an item lacks, the account's Block Public Access and the network are read in the
//! account itself: the caller's own account directly, another account through
//! `--assume-role-name` when given. An account that cannot be read is judged from the
//! aggregator alone: its Block Public Access from `AWS::S3::AccountPublicAccessBlock` items,
//! its network from the EC2 items Config records (`config::network`), and what neither
//! carries is unreadable: the rules that need it say so ("no access to account …", "no
//! network facts for account …") instead of judging. An account whose role cannot be assumed
//! is listed with its error, and the report is marked incomplete.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::topology::{sweep_network, RegionNetwork};
use super::{RegionalEvaluation, ScanOptions, ScanReport};
use crate::config::network::{network_from_items, NetworkItems, NETWORK_TYPES};
use crate::config::port::{AggregateResource, AggregatorReader, MAX_KEYS};
use crate::config::regional::bucket_observation;
use crate::config::{ConfigItem, PartialBucket, ResourceType};
use crate::facts::{AccountFacts, BucketObservation, Fact, NetworkFacts, PublicAccessBlock};
use crate::ports::{AccountAccess, AccountReader, ApiCalls, AwsError, BucketReader, NetworkReader};
use crate::rules::admission::EndpointAdmission;
use crate::rules::bucket::{evaluate_bucket_admitting, region_view};
use crate::rules::network::evaluate_vpc;
use crate::rules::Compliance;

/// Accounts judged at once (each one's buckets are read `--concurrency` at a time).
const ACCOUNTS_AT_ONCE: usize = 4;

/// Which aggregator, and how to reach the other accounts.
#[derive(Debug, Clone, Default)]
pub struct AggregatorOptions {
    pub name: String,
    /// A role of this name in each account (`--assume-role-name`); `None`: other accounts are
    /// judged from the aggregator's items alone.
    pub role_name: Option<String>,
}

/// One account of an aggregated sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account: String,
    pub buckets: usize,
    pub non_compliant_buckets: usize,
    pub vpcs: usize,
    pub non_compliant_vpcs: usize,
    /// How the account's own facts were read: `direct` (the caller's account), `assumed-role`,
    /// or `none` (only what the aggregator's items carry).
    pub access: String,
    /// Why the account could not be read (its buckets are then judged from the items alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sweep through an aggregator. `Err` only when the aggregator itself cannot be read.
pub async fn scan_aggregator<R>(
    r: &R,
    calls: &ApiCalls,
    opts: &ScanOptions,
    agg: &AggregatorOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ScanReport, AwsError>
where
    R: BucketReader + AccountReader + NetworkReader + AggregatorReader + AccountAccess,
{
    let own: String = r.account_id().await?;
    let wanted_regions: BTreeSet<&str> = opts.regions.iter().map(String::as_str).collect();
    let wanted_buckets: BTreeSet<&str> = opts.buckets.iter().map(String::as_str).collect();
    let listed: Vec<AggregateResource> = r
        .aggregate_discovered(&agg.name, &ResourceType::S3Bucket, None)
        .await?
        .into_iter()
        .filter(|k| wanted_regions.is_empty() || wanted_regions.contains(k.region.as_str()))
        .filter(|k| wanted_buckets.is_empty() || wanted_buckets.contains(k.resource_id.as_str()))
        .collect();

    // Items 100 at a time; what the aggregator cannot return is read in the account, if it can.
    let mut by_account: BTreeMap<String, AccountWork> = BTreeMap::new();
    for chunk in listed.chunks(MAX_KEYS) {
        let (items, unprocessed) = r
            .aggregate_items(&agg.name, &ResourceType::S3Bucket, chunk)
            .await?;
        let returned: BTreeSet<(String, String)> = items
            .iter()
            .map(|i| {
                (
                    i.account_id.clone().unwrap_or_default(),
                    i.resource_id.clone(),
                )
            })
            .collect();
        for item in items.into_iter().filter(|i| !i.is_deleted()) {
            let account = item.account_id.clone().unwrap_or_default();
            by_account.entry(account).or_default().items.push(item);
        }
        for k in unprocessed.into_iter().chain(
            chunk
                .iter()
                .filter(|k| !returned.contains(&(k.account.clone(), k.resource_id.clone())))
                .cloned(),
        ) {
            let w = by_account.entry(k.account.clone()).or_default();
            if !w.bare.contains(&k) {
                w.bare.push(k);
            }
        }
    }
    let total: usize = by_account.values().map(AccountWork::len).sum();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
    };

    // The account-level Block Public Access of the accounts that cannot be read, from the
    // aggregator too (read once, by the first such account).
    let blocks: tokio::sync::OnceCell<BTreeMap<String, PublicAccessBlock>> =
        tokio::sync::OnceCell::new();
    // Accounts a few at a time (each one's buckets `--concurrency` at a time).
    let (own, blocks, tick) = (&own, &blocks, &tick);
    let mut judged: Vec<Judged> = stream::iter(by_account)
        .map(|(account, work)| async move {
            if &account == own {
                return judge_account(Some(r), &account, work, opts, "direct", tick).await;
            }
            // Another account: through its role when one is named, else from the items alone.
            let entered = match &agg.role_name {
                None => Err((
                    format!(
                        "no access to account {account}: only the aggregator's items were read (pass --assume-role-name to read its network and what the items lack)"
                    ),
                    None,
                )),
                Some(role) => r.enter(&account, role).await.map_err(|e| {
                    (
                        format!("no access to account {account}: {e}"),
                        Some(e.to_string()),
                    )
                }),
            };
            match entered {
                Ok(reader) => {
                    judge_account(Some(&reader), &account, work, opts, "assumed-role", tick).await
                }
                Err((why, error)) => {
                    let known = blocks
                        .get_or_init(|| account_blocks(r, &agg.name))
                        .await;
                    let mut work = work.without_access(&why);
                    work.account_block = known.get(&account).copied();
                    // The network from the aggregator's EC2 items, region by region.
                    for region in work.regions(opts) {
                        let n = aggregate_network(r, &agg.name, &account, &region).await;
                        work.networks.insert(region, n);
                    }
                    let mut j =
                        judge_account(None::<&R>, &account, work, opts, "none", tick).await;
                    j.summary.error = error;
                    j
                }
            }
        })
        .buffer_unordered(ACCOUNTS_AT_ONCE)
        .collect()
        .await;
    judged.sort_by(|a, b| a.summary.account.cmp(&b.summary.account));
    let mut report = ScanReport {
        buckets: Vec::new(),
        vpcs: Vec::new(),
        api_calls: BTreeMap::new(),
        sources: BTreeMap::new(),
        accounts: Vec::new(),
        incomplete: false,
        network: Vec::new(),
    };
    for j in judged {
        report.incomplete |= j.summary.error.is_some();
        report.buckets.extend(j.buckets);
        report.vpcs.extend(j.vpcs);
        report.network.extend(j.network);
        report.accounts.push(j.summary);
    }
    report.buckets.sort_by(|a, b| {
        (&a.account, &a.evaluation.resource).cmp(&(&b.account, &b.evaluation.resource))
    });
    report.api_calls = calls.snapshot();
    Ok(report)
}

/// One account's share of the aggregator's answer.
#[derive(Debug, Default)]
struct AccountWork {
    items: Vec<ConfigItem>,
    /// Buckets the aggregator listed but did not return.
    bare: Vec<AggregateResource>,
    /// Set when the account cannot be read: why.
    no_access: Option<String>,
    /// The account's Block Public Access as the aggregator has it (for an account that
    /// cannot be read).
    account_block: Option<PublicAccessBlock>,
    /// Each region's network as the aggregator's items give it (for an account that cannot
    /// be read).
    networks: BTreeMap<String, Result<NetworkFacts, String>>,
}

impl AccountWork {
    fn len(&self) -> usize {
        self.items.len() + self.bare.len()
    }

    /// The regions judged: those of the account's buckets, and those asked for.
    fn regions(&self, opts: &ScanOptions) -> BTreeSet<String> {
        self.items
            .iter()
            .filter_map(|i| i.region.clone())
            .chain(self.bare.iter().map(|k| k.region.clone()))
            .chain(opts.regions.iter().cloned())
            .collect()
    }

    fn without_access(mut self, why: &str) -> AccountWork {
        self.no_access = Some(why.to_string());
        self
    }
}

struct Judged {
    buckets: Vec<RegionalEvaluation>,
    vpcs: Vec<RegionalEvaluation>,
    summary: AccountSummary,
    network: Vec<RegionNetwork>,
}

/// Judge one account's buckets (and, when it can be read, its VPCs in the regions it has
/// buckets in, or the regions asked for).
async fn judge_account<B>(
    reader: Option<&B>,
    account: &str,
    mut work: AccountWork,
    opts: &ScanOptions,
    access: &'static str,
    tick: &(dyn Fn() + Sync),
) -> Judged
where
    B: BucketReader + AccountReader + NetworkReader,
{
    let no_access = work.no_access.clone().unwrap_or_default();
    let mut params = opts.params.clone();
    params.account_id = Some(account.to_string());
    let account_facts = AccountFacts {
        public_access_block: match reader {
            Some(b) => b.account_public_access_block(account).await,
            None => match work.account_block {
                Some(block) => Fact::Known(block),
                None => Fact::Unreadable(no_access.clone()),
            },
        },
        account_id: Some(account.to_string()),
    };
    let mut networks = std::mem::take(&mut work.networks);
    for region in work.regions(opts) {
        if networks.contains_key(&region) {
            continue;
        }
        let n = match reader {
            Some(b) => b.network(&region).await.map_err(|e| e.to_string()),
            None => Err(no_access.clone()),
        };
        networks.insert(region, n);
    }

    // Each bucket: the item's facts, completed in the account when it can be read.
    let partials: Vec<PartialBucket> = work
        .items
        .iter()
        .map(ConfigItem::bucket_facts)
        .chain(work.bare.iter().map(|k| {
            PartialBucket {
                name: k
                    .resource_name
                    .clone()
                    .unwrap_or_else(|| k.resource_id.clone()),
                region: k.region.clone(),
                policy: None,
                public_access_block: None,
                ownership: None,
            }
        }))
        .collect();
    let (params, networks, account_facts) = (&params, &networks, &account_facts);
    let buckets: Vec<(RegionalEvaluation, Vec<EndpointAdmission>)> = stream::iter(partials)
        .map(|partial| {
            let no_access = &no_access;
            async move {
                let region = partial.region.clone();
                let obs = match reader {
                    Some(b) => bucket_observation(b, partial).await,
                    None => BucketObservation::from_reads(
                        &partial.name,
                        &partial.region,
                        Some(
                            partial
                                .policy
                                .clone()
                                .unwrap_or_else(|| Fact::Unreadable(no_access.clone())),
                        ),
                        Some(
                            partial
                                .public_access_block
                                .clone()
                                .unwrap_or_else(|| Fact::Unreadable(no_access.clone())),
                        ),
                        Some(
                            partial
                                .ownership
                                .clone()
                                .unwrap_or_else(|| Fact::Unreadable(no_access.clone())),
                        ),
                    ),
                };
                let view = match networks.get(&region) {
                    Some(Ok(n)) => Ok(region_view(n)),
                    Some(Err(e)) => Err(e.as_str()),
                    None => Err("the region's network was not read"),
                };
                let (evaluation, admits) = evaluate_bucket_admitting(
                    &obs,
                    account_facts,
                    view.as_ref().map_err(|e| *e),
                    params,
                    opts.now,
                );
                tick();
                (
                    RegionalEvaluation {
                        evaluation,
                        region,
                        account: Some(account.to_string()),
                    },
                    admits,
                )
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let (buckets, network) = sweep_network(buckets, networks, Some(account), opts.now);
    let mut vpcs = Vec::new();
    for (region, net) in networks {
        if let Ok(net) = net {
            for v in &net.vpcs {
                vpcs.push(RegionalEvaluation {
                    evaluation: evaluate_vpc(
                        v,
                        net,
                        Some(account),
                        &opts.params.disabled_rules,
                        opts.now,
                    ),
                    region: region.clone(),
                    account: Some(account.to_string()),
                });
            }
        }
    }
    let nc = |v: &[RegionalEvaluation]| {
        v.iter()
            .filter(|e| e.evaluation.compliance == Compliance::NonCompliant)
            .count()
    };
    let summary = AccountSummary {
        account: account.to_string(),
        buckets: buckets.len(),
        non_compliant_buckets: nc(&buckets),
        vpcs: vpcs.len(),
        non_compliant_vpcs: nc(&vpcs),
        access: access.to_string(),
        error: None,
    };
    Judged {
        buckets,
        vpcs,
        summary,
        network,
    }
}

/// One account's network in one region from the aggregator's EC2 items (five listings
/// filtered to the account and region, then their items 100 a call; no VPC listed, nothing
/// more is read), or why there are no network facts for it.
async fn aggregate_network<R: AggregatorReader>(
    r: &R,
    aggregator: &str,
    account: &str,
    region: &str,
) -> Result<NetworkFacts, String> {
    let unknown =
        |why: String| format!("no network facts for account {account} in {region}: {why}");
    let mut items = NetworkItems::default();
    for name in NETWORK_TYPES {
        let rt = ResourceType::parse(name);
        let listed = r
            .aggregate_discovered(aggregator, &rt, Some((account, region)))
            .await
            .map_err(|e| unknown(e.to_string()))?;
        if listed.is_empty() && rt == ResourceType::Ec2Vpc {
            break;
        }
        for chunk in listed.chunks(MAX_KEYS) {
            let (got, unprocessed) = r
                .aggregate_items(aggregator, &rt, chunk)
                .await
                .map_err(|e| unknown(e.to_string()))?;
            if let Some(k) = unprocessed.first().or_else(|| {
                chunk
                    .iter()
                    .find(|k| !got.iter().any(|i| i.resource_id == k.resource_id))
            }) {
                return Err(unknown(format!(
                    "the aggregator did not return the {name} item {}",
                    k.resource_id
                )));
            }
            if let Some(slot) = items.slot(&rt) {
                slot.extend(got);
            }
        }
    }
    network_from_items(region, &items).map_err(unknown)
}

/// Every account's Block Public Access the aggregator records
/// (`AWS::S3::AccountPublicAccessBlock`, one item per account): two calls for the whole
/// organization. An account without an item stays unknown; an aggregator that cannot say
/// leaves them all unknown (never assumed on).
async fn account_blocks<R: AggregatorReader>(
    r: &R,
    aggregator: &str,
) -> BTreeMap<String, PublicAccessBlock> {
    let rt = ResourceType::parse("AWS::S3::AccountPublicAccessBlock");
    let mut out = BTreeMap::new();
    let listed = match r.aggregate_discovered(aggregator, &rt, None).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "the aggregator's account Block Public Access items cannot be read");
            return out;
        }
    };
    for chunk in listed.chunks(MAX_KEYS) {
        let items = match r.aggregate_items(aggregator, &rt, chunk).await {
            Ok((items, _)) => items,
            Err(e) => {
                tracing::warn!(error = %e, "the aggregator's account Block Public Access items cannot be read");
                continue;
            }
        };
        for item in items {
            let account = item
                .account_id
                .clone()
                .unwrap_or_else(|| item.resource_id.clone());
            let c = crate::config::item::decode(&item.configuration);
            let flag = |k: &str| c.get(k).and_then(serde_json::Value::as_bool);
            if let (Some(a), Some(b), Some(p), Some(r)) = (
                flag("blockPublicAcls"),
                flag("ignorePublicAcls"),
                flag("blockPublicPolicy"),
                flag("restrictPublicBuckets"),
            ) {
                out.insert(
                    account,
                    PublicAccessBlock {
                        block_public_acls: a,
                        ignore_public_acls: b,
                        block_public_policy: p,
                        restrict_public_buckets: r,
                    },
                );
            }
        }
    }
    out
}
