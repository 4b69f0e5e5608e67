//! The two Config rule handlers, generic over the ports: parse the event, gather facts (from
//! the configuration item first, AWS only for what it lacks), evaluate, report.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::aws::{AccountReader, AwsError, BucketReader, NetworkReader};
use crate::facts::{AccountFacts, BucketObservation, NetworkFacts};
use crate::rules::bucket::{evaluate_bucket, region_view};
use crate::rules::network::evaluate_vpc;
use crate::rules::BucketParams;

use super::port::{report, ConfigPort, MAX_KEYS};
use super::{
    parse_event, ConfigEvaluation, ConfigItem, EventError, Invocation, PartialBucket, RuleEvent,
    EC2_ROUTE_TABLE, EC2_SECURITY_GROUP, EC2_VPC, EC2_VPC_ENDPOINT, S3_BUCKET,
};

/// Why an invocation fails (Lambda reports it; Config retries the invocation).
#[derive(Debug, Error)]
pub enum HandlerError {
    /// The event or a rule parameter is invalid: permanent.
    #[error("invalid rule event: {0}")]
    Event(#[from] EventError),
    /// An AWS call failed in a way that leaves nothing to evaluate: transient or not, the
    /// invocation fails loudly rather than losing an evaluation.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerOutput {
    pub evaluations: usize,
    pub put_evaluations_calls: usize,
    pub compliance: BTreeMap<String, String>,
    /// AWS calls this invocation made (S3, EC2, STS; Config calls included).
    pub api_calls: BTreeMap<String, u64>,
}

/// Everything a handler needs from AWS.
pub trait Ports: BucketReader + AccountReader + NetworkReader + ConfigPort {
    /// Calls made so far (cumulative over a warm function's invocations).
    fn api_calls(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
}

impl Ports for crate::aws::clients::AwsClients {
    fn api_calls(&self) -> BTreeMap<String, u64> {
        self.calls.snapshot()
    }
}

/// Calls made since `before`.
fn delta(before: &BTreeMap<String, u64>, after: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .into_iter()
        .map(|(k, v)| {
            let b = before.get(&k).copied().unwrap_or(0);
            (k, v - b.min(v))
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}

const CONCURRENCY: usize = 16;

fn now_iso(now: f64) -> String {
    crate::policy::condition::format_date(now)
}

async fn finish<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    evals: Vec<ConfigEvaluation>,
    before: &BTreeMap<String, u64>,
) -> Result<HandlerOutput, HandlerError> {
    let calls = report(p, &evals, &ev.result_token, ev.test_mode()).await?;
    Ok(HandlerOutput {
        api_calls: delta(before, p.api_calls()),
        evaluations: evals.len(),
        put_evaluations_calls: calls,
        compliance: evals
            .iter()
            .map(|e| (e.resource_id.clone(), e.compliance.as_str().to_string()))
            .collect(),
    })
}

/// The item of an oversized notification, fetched from Config's history; the notification's
/// capture time stands in when the item has none.
async fn oversized_item<P: Ports>(
    p: &P,
    resource_type: &str,
    resource_id: &str,
    capture_time: &Option<String>,
) -> Result<Option<ConfigItem>, HandlerError> {
    let mut item = p.latest_item(resource_type, resource_id).await?;
    if let Some(i) = item.as_mut().filter(|i| i.capture_time.is_none()) {
        i.capture_time = capture_time.clone();
    }
    Ok(item)
}

async fn account<P: Ports>(p: &P, hint: Option<&str>) -> Result<AccountFacts, HandlerError> {
    let id = match hint {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => p.account_id().await?,
    };
    Ok(AccountFacts {
        public_access_block: p.account_public_access_block(&id).await,
        account_id: Some(id),
    })
}

/// Complete a bucket's facts: AWS is called only for what the item lacks.
async fn bucket_observation<P: Ports>(p: &P, partial: PartialBucket) -> BucketObservation {
    let (name, region) = (partial.name.clone(), partial.region.clone());
    let policy = match &partial.policy {
        Some(f) => Some(f.clone()),
        None => p.read_policy(&name, &region).await,
    };
    let pab = match &partial.public_access_block {
        Some(f) => Some(f.clone()),
        None => p.read_public_access_block(&name, &region).await,
    };
    let own = match &partial.ownership {
        Some(f) => Some(f.clone()),
        None => p.read_ownership(&name, &region).await,
    };
    match (policy, pab, own) {
        (Some(policy), Some(public_access_block), Some(ownership)) => {
            BucketObservation::Exists(crate::facts::BucketFacts {
                name,
                region,
                policy,
                public_access_block,
                ownership,
            })
        }
        _ => BucketObservation::Deleted { name, region },
    }
}

fn network_ref<'a>(
    nets: &'a BTreeMap<String, Result<NetworkFacts, AwsError>>,
    region: &str,
) -> Result<&'a NetworkFacts, String> {
    match nets.get(region) {
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(e.to_string()),
        None => Err(format!("the network of {region} was not read")),
    }
}

/// Evaluate bucket items (read from Config) and buckets Config did not return (read directly).
async fn evaluate_buckets<P: Ports>(
    p: &P,
    params: &BucketParams,
    account: &AccountFacts,
    items: Vec<ConfigItem>,
    ordering: Option<&str>,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let mut regions: BTreeSet<String> = BTreeSet::new();
    for i in &items {
        if let Some(r) = &i.region {
            regions.insert(r.clone());
        }
    }
    let mut nets: BTreeMap<String, Result<NetworkFacts, AwsError>> = BTreeMap::new();
    for r in regions {
        let n = p.network(&r).await;
        if let Err(e) = &n {
            if e.is_transient() || e.is_fatal() {
                return Err(e.clone().into());
            }
        }
        nets.insert(r, n);
    }
    let nets = &nets;
    let evals: Vec<ConfigEvaluation> = stream::iter(items)
        .map(|item| async move {
            let ts = ordering
                .map(str::to_string)
                .or_else(|| item.capture_time.clone())
                .unwrap_or_else(|| now_iso(now));
            if item.is_deleted() {
                return ConfigEvaluation::not_applicable(
                    S3_BUCKET,
                    &item.resource_id,
                    "the bucket no longer exists",
                    &ts,
                );
            }
            let partial = item.bucket_facts();
            let region = partial.region.clone();
            let obs = bucket_observation(p, partial).await;
            let view = network_ref(nets, &region).map(region_view);
            let e = evaluate_bucket(
                &obs,
                account,
                view.as_ref().map_err(String::as_str),
                params,
                now,
            );
            ConfigEvaluation::new(S3_BUCKET, &item.resource_id, &e, &ts)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    Ok(evals)
}

/// The bucket rule (`AWS::S3::Bucket`).
pub async fn handle_bucket_rule<P: Ports>(
    p: &P,
    event: &Value,
    now: f64,
) -> Result<HandlerOutput, HandlerError> {
    let before = p.api_calls();
    let ev = parse_event(event)?;
    let account_hint = event.get("accountId").and_then(Value::as_str);
    let evals = match &ev.invocation {
        Invocation::Change { item } => {
            change_bucket(p, &ev, (**item).clone(), account_hint, now).await?
        }
        Invocation::Oversized {
            resource_type,
            resource_id,
            capture_time,
        } => match oversized_item(p, resource_type, resource_id, capture_time).await? {
            Some(item) => change_bucket(p, &ev, item, account_hint, now).await?,
            None => vec![ConfigEvaluation::not_applicable(
                resource_type,
                resource_id,
                "AWS Config has no configuration item for the resource",
                capture_time.as_deref().unwrap_or(&now_iso(now)),
            )],
        },
        Invocation::Scheduled { notification_time } => {
            let ts = notification_time.clone().unwrap_or_else(|| now_iso(now));
            sweep_buckets(p, &ev, account_hint, &ts, now).await?
        }
    };
    finish(p, &ev, evals, &before).await
}

async fn change_bucket<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    item: ConfigItem,
    account_hint: Option<&str>,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let ts = item.capture_time.clone().unwrap_or_else(|| now_iso(now));
    if item.resource_type != S3_BUCKET {
        return Ok(Vec::new());
    }
    if ev.event_left_scope {
        return Ok(vec![ConfigEvaluation::not_applicable(
            S3_BUCKET,
            &item.resource_id,
            "the bucket left the rule's scope",
            &ts,
        )]);
    }
    if item.is_deleted() {
        return Ok(vec![ConfigEvaluation::not_applicable(
            S3_BUCKET,
            &item.resource_id,
            "the bucket no longer exists",
            &ts,
        )]);
    }
    let acct = account(p, item.account_id.as_deref().or(account_hint)).await?;
    evaluate_buckets(p, &ev.params, &acct, vec![item], None, now).await
}

/// A periodic sweep from Config's own inventory: `ListDiscoveredResources`, then
/// `BatchGetResourceConfig` 100 at a time; direct reads for what Config did not return;
/// resources evaluated before that are gone become `NOT_APPLICABLE`.
async fn sweep_buckets<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    account_hint: Option<&str>,
    ts: &str,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let discovered = p.list_discovered(S3_BUCKET).await?;
    let live: Vec<String> = discovered
        .iter()
        .filter(|d| !d.deleted)
        .map(|d| d.resource_id.clone())
        .collect();
    let mut evals: Vec<ConfigEvaluation> = discovered
        .iter()
        .filter(|d| d.deleted)
        .map(|d| {
            ConfigEvaluation::not_applicable(
                S3_BUCKET,
                &d.resource_id,
                "the bucket no longer exists",
                ts,
            )
        })
        .collect();
    let mut items = Vec::with_capacity(live.len());
    let mut unrecorded = Vec::new();
    for chunk in live.chunks(MAX_KEYS) {
        let (got, missing) = p.batch_items(S3_BUCKET, chunk).await?;
        let returned: BTreeSet<String> = got.iter().map(|i| i.resource_id.clone()).collect();
        items.extend(got);
        unrecorded.extend(missing);
        unrecorded.extend(chunk.iter().filter(|id| !returned.contains(*id)).cloned());
    }
    unrecorded.sort();
    unrecorded.dedup();
    // Buckets Config did not return: read directly (region first).
    for id in unrecorded {
        if items.iter().any(|i| i.resource_id == id) {
            continue;
        }
        match p.bucket_region(&id).await? {
            Some(region) => items.push(ConfigItem::bare(S3_BUCKET, &id, Some(region), None)),
            None => evals.push(ConfigEvaluation::not_applicable(
                S3_BUCKET,
                &id,
                "the bucket no longer exists",
                ts,
            )),
        }
    }
    let acct = account(p, account_hint).await?;
    evals.extend(evaluate_buckets(p, &ev.params, &acct, items, Some(ts), now).await?);
    mark_vanished(p, ev, S3_BUCKET, &mut evals, ts).await?;
    Ok(evals)
}

/// Resources this rule evaluated before that are not evaluated now: `NOT_APPLICABLE`.
async fn mark_vanished<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    resource_type: &str,
    evals: &mut Vec<ConfigEvaluation>,
    ts: &str,
) -> Result<(), HandlerError> {
    let Some(rule) = ev.rule_name.as_deref() else {
        return Ok(());
    };
    let seen: BTreeSet<String> = evals.iter().map(|e| e.resource_id.clone()).collect();
    for (t, id) in p.evaluated_resources(rule).await? {
        if t == resource_type && !seen.contains(&id) {
            evals.push(ConfigEvaluation::not_applicable(
                resource_type,
                &id,
                "the resource no longer exists",
                ts,
            ));
        }
    }
    Ok(())
}

/// The network rule: triggered by VPC, endpoint, route table and security group changes,
/// evaluating the VPC.
pub async fn handle_network_rule<P: Ports>(
    p: &P,
    event: &Value,
    region_hint: Option<&str>,
    now: f64,
) -> Result<HandlerOutput, HandlerError> {
    let before = p.api_calls();
    let ev = parse_event(event)?;
    let account_hint = event.get("accountId").and_then(Value::as_str);
    let evals = match &ev.invocation {
        Invocation::Change { item } => {
            change_network(p, &ev, (**item).clone(), region_hint, account_hint, now).await?
        }
        // A VPC's summary already names the VPC; other types need the item for its `vpcId`.
        Invocation::Oversized {
            resource_type,
            resource_id,
            capture_time,
        } if resource_type == EC2_VPC => {
            let item = ConfigItem::bare(EC2_VPC, resource_id, None, capture_time.clone());
            change_network(p, &ev, item, region_hint, account_hint, now).await?
        }
        Invocation::Oversized {
            resource_type,
            resource_id,
            capture_time,
        } => match oversized_item(p, resource_type, resource_id, capture_time).await? {
            Some(item) => change_network(p, &ev, item, region_hint, account_hint, now).await?,
            None => Vec::new(),
        },
        Invocation::Scheduled { notification_time } => {
            let ts = notification_time.clone().unwrap_or_else(|| now_iso(now));
            let region = region_hint.ok_or(EventError::MissingField("awsRegion"))?;
            let net = p.network(region).await?;
            let mut evals: Vec<ConfigEvaluation> = net
                .vpcs
                .iter()
                .map(|v| {
                    ConfigEvaluation::new(
                        EC2_VPC,
                        &v.id,
                        &evaluate_vpc(v, &net, account_hint, &ev.params.disabled_rules, now),
                        &ts,
                    )
                })
                .collect();
            mark_vanished(p, &ev, EC2_VPC, &mut evals, &ts).await?;
            evals
        }
    };
    finish(p, &ev, evals, &before).await
}

async fn change_network<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    item: ConfigItem,
    region_hint: Option<&str>,
    account_hint: Option<&str>,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let ts = item.capture_time.clone().unwrap_or_else(|| now_iso(now));
    if ![
        EC2_VPC,
        EC2_VPC_ENDPOINT,
        EC2_ROUTE_TABLE,
        EC2_SECURITY_GROUP,
    ]
    .contains(&item.resource_type.as_str())
    {
        return Ok(Vec::new());
    }
    let Some(vpc_id) = item.vpc_id() else {
        return Ok(Vec::new());
    };
    if item.resource_type == EC2_VPC && (ev.event_left_scope || item.is_deleted()) {
        let why = if ev.event_left_scope {
            "the VPC left the rule's scope"
        } else {
            "the VPC no longer exists"
        };
        return Ok(vec![ConfigEvaluation::not_applicable(
            EC2_VPC, &vpc_id, why, &ts,
        )]);
    }
    let region = item
        .region
        .clone()
        .or_else(|| region_hint.map(str::to_string))
        .ok_or(EventError::MissingField("awsRegion"))?;
    let net = p.network(&region).await?;
    let acct = item.account_id.as_deref().or(account_hint);
    Ok(vec![match net.vpcs.iter().find(|v| v.id == vpc_id) {
        Some(v) => ConfigEvaluation::new(
            EC2_VPC,
            &vpc_id,
            &evaluate_vpc(v, &net, acct, &ev.params.disabled_rules, now),
            &ts,
        ),
        None => ConfigEvaluation::not_applicable(EC2_VPC, &vpc_id, "the VPC no longer exists", &ts),
    }])
}
