//! A sweep of an account: read the facts through the ports (network once per region, account
//! facts once, three S3 calls per bucket, with bounded concurrency), evaluate every bucket and
//! VPC, and report with the API-call counts.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::facts::{BucketObservation, NetworkFacts};
use crate::ports::{AccountReader, ApiCalls, AwsError, BucketReader, NetworkReader};
use crate::rules::bucket::{evaluate_bucket, region_view};
use crate::rules::network::evaluate_vpc;
use crate::rules::{BucketParams, Compliance, Evaluation};

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
}

/// An evaluation with the region of its resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionalEvaluation {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub region: String,
}

/// The sweep's result: the JSON of `vpce-guard scan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub buckets: Vec<RegionalEvaluation>,
    pub vpcs: Vec<RegionalEvaluation>,
    pub api_calls: BTreeMap<String, u64>,
}

impl ScanReport {
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
    R: BucketReader + AccountReader + NetworkReader,
{
    let account_id = r.account_id().await?;
    let account = crate::facts::AccountFacts {
        public_access_block: r.account_public_access_block(&account_id).await,
        account_id: Some(account_id),
    };

    // Which buckets, in which regions.
    let mut targets: Vec<(String, Option<String>)> = Vec::new();
    if opts.buckets.is_empty() {
        for region in &opts.regions {
            for b in r.list_buckets(Some(region)).await? {
                targets.push((b.name, b.region));
            }
        }
    } else {
        for b in &opts.buckets {
            targets.push((b.clone(), None));
        }
    }
    let located: Vec<(String, Option<String>)> = stream::iter(targets)
        .map(|(name, region)| async move {
            match region {
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
    let mut buckets: Vec<RegionalEvaluation> = stream::iter(selected)
        .map(|(name, region)| {
            let account = &account;
            let networks = &networks;
            let done = &done;
            async move {
                let obs = match &region {
                    None => BucketObservation::Deleted {
                        name: name.clone(),
                        region: String::new(),
                    },
                    Some(reg) => r.bucket_facts(&name, reg).await,
                };
                let reg = region.unwrap_or_default();
                let view = match networks.get(&reg) {
                    Some(Ok(n)) => Ok(region_view(n)),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("the region's network was not read".to_string()),
                };
                let evaluation = evaluate_bucket(
                    &obs,
                    account,
                    view.as_ref().map_err(String::as_str),
                    &opts.params,
                    opts.now,
                );
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                RegionalEvaluation {
                    evaluation,
                    region: reg,
                }
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
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
    })
}
