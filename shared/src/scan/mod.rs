//! A sweep of an account: read the facts through the ports (network once per region, account
//! facts once; buckets either with three S3 calls each, or from AWS Config's inventory 100 at a
//! time with S3 only for what an item lacks, with bounded concurrency), evaluate every bucket
//! and VPC, and report with the API-call counts.

pub mod aggregate;
pub mod html;
pub mod topology;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::config::port::ConfigPort;
use crate::config::regional::{bucket_inventory, bucket_observation};
use crate::config::{ConfigItem, ResourceType};
use crate::facts::{BucketObservation, NetworkFacts};
use crate::ports::{AccountReader, ApiCalls, AwsError, BucketReader, ErrorKind, NetworkReader};
use crate::rules::admission::EndpointAdmission;
use crate::rules::bucket::{evaluate_bucket_admitting, region_view};
use crate::rules::network::evaluate_vpc;
use crate::rules::{BucketParams, Compliance, Evaluation};

/// Where a sweep reads the buckets of a region from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    /// S3 directly: three calls per bucket (policy, Block Public Access, Object Ownership).
    #[default]
    Api,
    /// AWS Config's inventory: two Config calls per 100 buckets, S3 only for what an item
    /// lacks. A region whose recorder does not record buckets is an error.
    Config,
    /// Config where the region's recorder records buckets and is recording, else S3.
    Auto,
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Regions whose buckets and VPCs are evaluated.
    pub regions: Vec<String>,
    /// Only these buckets (any region); empty: every bucket of the regions.
    pub buckets: Vec<String>,
    pub params: BucketParams,
    /// Bound on concurrent bucket reads.
    pub concurrency: usize,
    pub now: f64,
    pub source: ScanSource,
}

/// An evaluation with the region of its resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionalEvaluation {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub region: String,
    /// The resource's account (an aggregated sweep only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// The sweep's result: the JSON of `vpce-guard scan` (read back by `vpce-guard report`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub buckets: Vec<RegionalEvaluation>,
    pub vpcs: Vec<RegionalEvaluation>,
    #[serde(default)]
    pub api_calls: BTreeMap<String, u64>,
    /// Where each region's buckets were read from (`api` or `config`); absent for a plain
    /// `--source api` sweep.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, ScanSource>,
    /// Per account (an aggregated sweep only): counts, how it was read, and its error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<aggregate::AccountSummary>,
    /// True when an account could not be read: the report is not complete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// Per region (and account): VPCs, route tables, S3 endpoints and which buckets admit each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<topology::RegionNetwork>,
}

impl ScanReport {
    /// The sweep as OCSF Compliance Findings (`scan --format ocsf`): every bucket, then every
    /// VPC, one event per evaluated rule; `own_account` for resources without one (a direct
    /// sweep), `now` the sweep's time in seconds since the epoch.
    pub fn ocsf_events(&self, own_account: Option<&str>, now: f64) -> Vec<serde_json::Value> {
        use crate::export::{ocsf::compliance_findings, Located};
        use crate::rules::{EC2_VPC, S3_BUCKET};
        let time_ms = (now * 1000.0) as i64;
        fn located<'a>(
            e: &'a RegionalEvaluation,
            resource_type: &'static str,
            own_account: Option<&'a str>,
        ) -> Located<'a> {
            Located {
                evaluation: &e.evaluation,
                resource_type,
                account: e.account.as_deref().or(own_account),
                region: Some(e.region.as_str()),
                partition: None,
            }
        }
        let buckets = self
            .buckets
            .iter()
            .map(|e| located(e, S3_BUCKET, own_account));
        let vpcs = self.vpcs.iter().map(|e| located(e, EC2_VPC, own_account));
        buckets
            .chain(vpcs)
            .flat_map(|r| compliance_findings(&r, r.evaluation.muted.is_some(), time_ms))
            .collect()
    }

    /// Apply a mute list to every bucket and VPC, and count the accounts' non-compliant
    /// resources again (a muted resource is `NOT_APPLICABLE`, so no longer counted).
    pub fn mute(&mut self, mutes: &crate::rules::mute::MuteList, now: f64) {
        for e in self.buckets.iter_mut().chain(self.vpcs.iter_mut()) {
            mutes.apply(&mut e.evaluation, now);
        }
        let count = |v: &[RegionalEvaluation], account: &str| {
            v.iter()
                .filter(|e| {
                    e.account.as_deref() == Some(account)
                        && e.evaluation.compliance == Compliance::NonCompliant
                })
                .count()
        };
        for a in &mut self.accounts {
            a.non_compliant_buckets = count(&self.buckets, &a.account);
            a.non_compliant_vpcs = count(&self.vpcs, &a.account);
        }
    }

    /// True when any bucket or VPC is non-compliant.
    pub fn non_compliant(&self) -> bool {
        self.buckets
            .iter()
            .chain(&self.vpcs)
            .any(|e| e.evaluation.compliance == Compliance::NonCompliant)
    }
}

/// Sweep. `Err` only when nothing can be read at all (no credentials, endpoint unreachable,
/// the bucket list denied); per-resource problems become findings.
pub async fn scan<R>(
    r: &R,
    calls: &ApiCalls,
    opts: &ScanOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ScanReport, AwsError>
where
    R: BucketReader + AccountReader + NetworkReader + ConfigPort,
{
    let account_id = r.account_id().await?;
    let account = crate::facts::AccountFacts {
        public_access_block: r.account_public_access_block(&account_id).await,
        account_id: Some(account_id),
    };

    // Where each region's buckets come from; Config's items by bucket name.
    let mut sources: BTreeMap<String, ScanSource> = BTreeMap::new();
    let mut items: BTreeMap<String, ConfigItem> = BTreeMap::new();
    if opts.source != ScanSource::Api {
        for region in &opts.regions {
            let source = region_source(r, region, opts.source).await?;
            if source == ScanSource::Config {
                for item in bucket_inventory(r, Some(region)).await?.live {
                    items.insert(item.bucket_name(), item);
                }
            }
            sources.insert(region.clone(), source);
        }
    }

    // Which buckets, in which regions.
    let mut targets: Vec<(String, Option<String>)> = Vec::new();
    if opts.buckets.is_empty() {
        for region in &opts.regions {
            if sources.get(region) == Some(&ScanSource::Config) {
                targets.extend(
                    items
                        .iter()
                        .filter(|(_, i)| i.region.as_deref() == Some(region.as_str()))
                        .map(|(name, _)| (name.clone(), Some(region.clone()))),
                );
                continue;
            }
            for b in r.list_buckets(Some(region)).await? {
                targets.push((b.name, b.region));
            }
        }
    } else {
        for b in &opts.buckets {
            targets.push((b.clone(), None));
        }
    }
    let items = &items;
    let located: Vec<(String, Option<String>)> = stream::iter(targets)
        .map(|(name, region)| async move {
            match region.or_else(|| items.get(&name).and_then(|i| i.region.clone())) {
                Some(r) => Ok((name, Some(r))),
                None => r.bucket_region(&name).await.map(|reg| (name, reg)),
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let wanted: BTreeSet<&str> = opts.regions.iter().map(String::as_str).collect();
    let explicit = !opts.buckets.is_empty();
    let selected: Vec<(String, Option<String>)> = located
        .into_iter()
        .filter(|(_, reg)| explicit || reg.as_deref().is_some_and(|r| wanted.contains(r)))
        .collect();

    // The network of every region involved, once each, concurrently.
    let mut regions: BTreeSet<String> = opts.regions.iter().cloned().collect();
    regions.extend(selected.iter().filter_map(|(_, r)| r.clone()));
    let networks: BTreeMap<String, Result<NetworkFacts, AwsError>> = stream::iter(regions)
        .map(|region| async move {
            let n = r.network(&region).await;
            (region, n)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    if let Some(fatal) = networks
        .values()
        .find_map(|n| n.as_ref().err().filter(|e| e.is_fatal()))
    {
        return Err(fatal.clone());
    }

    // Buckets: three reads each, bounded concurrency, evaluated as they arrive.
    let total = selected.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let judged: Vec<(RegionalEvaluation, Vec<EndpointAdmission>)> = stream::iter(selected)
        .map(|(name, region)| {
            let account = &account;
            let networks = &networks;
            let done = &done;
            async move {
                let obs = match (&region, items.get(&name)) {
                    (None, _) => BucketObservation::Deleted {
                        name: name.clone(),
                        region: String::new(),
                    },
                    // Config's item, completed from S3 for what it lacks.
                    (Some(_), Some(item)) => bucket_observation(r, item.bucket_facts()).await,
                    (Some(reg), None) => r.bucket_facts(&name, reg).await,
                };
                let reg = region.unwrap_or_default();
                let view = match networks.get(&reg) {
                    Some(Ok(n)) => Ok(region_view(n)),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("the region's network was not read".to_string()),
                };
                let (evaluation, admits) = evaluate_bucket_admitting(
                    &obs,
                    account,
                    view.as_ref().map_err(String::as_str),
                    &opts.params,
                    opts.now,
                );
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                (
                    RegionalEvaluation {
                        evaluation,
                        region: reg,
                        account: None,
                    },
                    admits,
                )
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let (mut buckets, network) = topology::sweep_network(judged, &networks, None, opts.now);
    buckets.sort_by(|a, b| a.evaluation.resource.cmp(&b.evaluation.resource));

    let mut vpcs = Vec::new();
    for region in &opts.regions {
        match networks.get(region) {
            Some(Ok(net)) => {
                for v in &net.vpcs {
                    vpcs.push(RegionalEvaluation {
                        evaluation: evaluate_vpc(
                            v,
                            net,
                            account.account_id.as_deref(),
                            &opts.params.disabled_rules,
                            opts.now,
                        ),
                        region: region.clone(),
                        account: None,
                    });
                }
            }
            Some(Err(e)) => return Err(e.clone()),
            None => {}
        }
    }
    Ok(ScanReport {
        buckets,
        vpcs,
        api_calls: calls.snapshot(),
        sources,
        accounts: Vec::new(),
        incomplete: false,
        network,
    })
}

/// The source of one region's buckets. `auto`: Config when its recorder records buckets there
/// and is recording (a recorder that cannot be read falls back to S3); `config`: Config, and an
/// error when it does not record buckets there (its inventory would be empty or stale).
async fn region_source<R: ConfigPort>(
    r: &R,
    region: &str,
    wanted: ScanSource,
) -> Result<ScanSource, AwsError> {
    let records = r.records(region, &ResourceType::S3Bucket).await;
    match (wanted, records) {
        (ScanSource::Api, _) => Ok(ScanSource::Api),
        (ScanSource::Auto, Ok(true)) | (ScanSource::Config, Ok(true)) => Ok(ScanSource::Config),
        (ScanSource::Auto, _) => Ok(ScanSource::Api),
        (ScanSource::Config, Ok(false)) => Err(AwsError {
            call: "config:DescribeConfigurationRecorders",
            kind: ErrorKind::Rejected,
            code: None,
            message: format!(
                "AWS Config does not record AWS::S3::Bucket in {region} (no recorder, or it is stopped): use --source api, or --source auto to fall back per region"
            ),
        }),
        (ScanSource::Config, Err(e)) => Err(e),
    }
}
