//! The two Config rule handlers, generic over the ports. Each notification reads only what its
//! rules need (docs/COST.md): a bucket change, what its configuration item lacks and the
//! region's S3 endpoints; a VPC, endpoint, route table or security group change, that VPC's
//! facts; a periodic sweep, the region's facts once. Every invocation logs one line per
//! evaluated resource and one summary line (JSON under `AWS_LAMBDA_LOG_FORMAT=JSON`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use thiserror::Error;

use crate::export::securityhub::{sync, HubScope, SecurityHubPort};
use crate::export::Located;
use crate::facts::BucketObservation;
use crate::ports::{
    mutes_in_force, AccountReader, AwsError, BucketReader, CallCounter, ErrorKind, MuteSource,
    NetworkReader, OrgPolicySource,
};
use crate::rules::network::evaluate_vpc;
use crate::rules::{Compliance, Evaluation, ParamError, EC2_VPC, S3_BUCKET};
use crate::FunctionError;

use super::port::{report, ConfigPort};
pub use super::regional::Warm;
use super::regional::{bucket_inventory, bucket_observation, Buckets};
use super::{
    ConfigEvaluation, ConfigItem, ConfigRuleEvent, EventError, Invocation, ResourceType, RuleEvent,
    Timestamp,
};

/// Why an invocation fails. Lambda reports [`HandlerError::error_type`] as `errorType` and
/// retries the invocation; [`HandlerError::is_transient`] says whether a retry can help.
#[derive(Debug, Error)]
pub enum HandlerError {
    /// The event is unusable.
    #[error("invalid rule event: {0}")]
    Event(EventError),
    /// A rule parameter is invalid (until the rule is fixed).
    #[error(transparent)]
    Param(ParamError),
    /// An AWS call failed in a way that leaves nothing to evaluate: the invocation fails loudly
    /// rather than losing an evaluation.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl FunctionError for HandlerError {
    /// What failed, as an operator reads it in Lambda's `errorType`; transient failures are
    /// `VpceGuard.Transient.*`.
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "VpceGuard.InvalidEvent",
            HandlerError::Param(_) => "VpceGuard.InvalidParameter",
            // What Config rejects is evaluations: the rules' own name for it.
            HandlerError::Aws(e) if e.kind == ErrorKind::Rejected => {
                "VpceGuard.Transient.EvaluationsRejected"
            }
            HandlerError::Aws(e) => e.error_type(),
        }
    }
}

impl From<EventError> for HandlerError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::Param(p) => HandlerError::Param(p),
            other => HandlerError::Event(other),
        }
    }
}

impl HandlerError {
    /// A retry may succeed (throttling, an unreachable endpoint, evaluations Config rejected).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, HandlerError::Aws(e) if e.is_transient())
    }
}

/// What one invocation did (the function's response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerOutput {
    pub evaluations: usize,
    pub put_evaluations_calls: usize,
    pub compliance: BTreeMap<String, Compliance>,
    /// AWS calls this invocation made, by `service:Operation` (Config calls included).
    pub api_calls: BTreeMap<String, u64>,
    /// The EMF lines the invocation wrote (`metrics`): findings by rule and status, resources by
    /// compliance, calls by operation.
    #[serde(skip)]
    pub metrics: Vec<String>,
}

/// Everything a handler needs from AWS: any adapter with these ports (the calls it made are
/// [`CallCounter::api_calls`]).
pub trait Ports:
    BucketReader
    + AccountReader
    + NetworkReader
    + ConfigPort
    + OrgPolicySource
    + MuteSource
    + SecurityHubPort
    + CallCounter
{
}

impl<T> Ports for T where
    T: BucketReader
        + AccountReader
        + NetworkReader
        + ConfigPort
        + OrgPolicySource
        + MuteSource
        + SecurityHubPort
        + CallCounter
{
}

/// Bucket reads in flight at once.
const CONCURRENCY: usize = 16;

/// One invocation's bookkeeping: time, calls, logs.
struct Tracker {
    rule: &'static str,
    started: Instant,
    before: BTreeMap<String, u64>,
}

impl Tracker {
    fn start<P: Ports>(p: &P, rule: &'static str) -> Tracker {
        Tracker {
            rule,
            started: Instant::now(),
            before: p.api_calls(),
        }
    }

    /// Log the outcome (one line per evaluation and a summary, or the failure) and build the
    /// response.
    fn finish<P: Ports>(
        self,
        p: &P,
        event: &ConfigRuleEvent,
        outcome: Result<(Vec<ConfigEvaluation>, usize), HandlerError>,
    ) -> Result<HandlerOutput, HandlerError> {
        let api_calls = crate::metrics::calls_since(&self.before, p.api_calls());
        let aws_calls: u64 = api_calls.values().sum();
        let calls_json = serde_json::to_string(&api_calls).unwrap_or_default();
        let duration_ms = self.started.elapsed().as_millis() as u64;
        let notification = event
            .rule_event()
            .map(|e| e.invocation.notification_type().as_str())
            .unwrap_or("unknown");
        let rule = self.rule;
        let mut emf = crate::metrics::Emf::new(
            &crate::metrics::function_name(rule),
            crate::now_epoch_seconds(),
        );
        emf.calls(&api_calls);
        match outcome {
            Ok((evals, put_evaluations_calls)) => {
                for e in &evals {
                    emf.evaluation(e.compliance, &e.findings);
                }
                let metrics = emf.lines();
                emf.emit();
                for e in &evals {
                    let failing: Vec<&str> = e.failing_rules.iter().map(|r| r.as_str()).collect();
                    tracing::info!(
                        rule,
                        resource_type = e.resource_type.as_str(),
                        resource = e.resource_id.as_str(),
                        compliance = e.compliance.as_str(),
                        failing_rules = failing.join(",").as_str(),
                        "evaluation"
                    );
                }
                let resources: BTreeSet<&str> =
                    evals.iter().map(|e| e.resource_id.as_str()).collect();
                tracing::info!(
                    rule,
                    notification,
                    resources = resources.len() as u64,
                    evaluations_sent = evals.len() as u64,
                    put_evaluations_calls = put_evaluations_calls as u64,
                    aws_calls,
                    api_calls = calls_json.as_str(),
                    duration_ms,
                    "invocation"
                );
                Ok(HandlerOutput {
                    evaluations: evals.len(),
                    put_evaluations_calls,
                    compliance: evals
                        .iter()
                        .map(|e| (e.resource_id.clone(), e.compliance))
                        .collect(),
                    api_calls,
                    metrics,
                })
            }
            Err(e) => {
                emf.emit();
                tracing::error!(
                    rule,
                    notification,
                    error_type = e.error_type(),
                    transient = e.is_transient(),
                    error = %e,
                    aws_calls,
                    api_calls = calls_json.as_str(),
                    duration_ms,
                    "invocation failed"
                );
                Err(e)
            }
        }
    }
}

/// Evaluate, then report: the evaluations and the number of `PutEvaluations` calls.
async fn evaluate_and_report<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    evaluated: Result<Vec<ConfigEvaluation>, HandlerError>,
    kind: ResourceType,
    now: f64,
) -> Result<(Vec<ConfigEvaluation>, usize), HandlerError> {
    let mut evals = evaluated?;
    // The mute list in force now (a muted resource is NOT_APPLICABLE, with the reason).
    if !evals.is_empty() {
        let mutes = mutes_in_force(p).await;
        for e in &mut evals {
            e.apply_mutes(&mutes, now);
        }
    }
    let calls = report(p, &evals, &ev.result_token, ev.test_mode()).await?;
    // Security Hub, when on: one finding per failing or warning rule, resolved when it passes.
    if let Some(region) = p.security_hub_region() {
        to_security_hub(p, ev, &evals, kind, &region, now).await?;
    }
    Ok((evals, calls))
}

/// The evaluations reported to Config, in Security Hub too (`export::securityhub`). A sweep
/// stands for every resource of its type in the region (open findings of resources it did not
/// judge are archived); a change, for the resources it judged.
async fn to_security_hub<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    evals: &[ConfigEvaluation],
    kind: ResourceType,
    region: &str,
    now: f64,
) -> Result<(), HandlerError> {
    let whole = matches!(ev.invocation, Invocation::Scheduled { .. });
    let judged: Vec<Evaluation> = evals
        .iter()
        .filter(|e| e.resource_type == kind)
        .map(ConfigEvaluation::evaluation)
        .collect();
    if judged.is_empty() && !whole {
        return Ok(());
    }
    let account = match ev.account_id.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.to_string(),
        None => p.account_id().await?,
    };
    let now_text = Timestamp::from_epoch_seconds(now).to_rfc3339();
    let resource_type = if kind == ResourceType::S3Bucket {
        S3_BUCKET
    } else {
        EC2_VPC
    };
    let located: Vec<Located> = judged
        .iter()
        .map(|e| Located {
            evaluation: e,
            resource_type,
            account: Some(&account),
            region: Some(region),
            partition: None,
        })
        .collect();
    let scope = HubScope {
        account: &account,
        region,
        resource_type,
        whole,
    };
    let s = sync(p, &located, scope, &now_text).await?;
    tracing::info!(
        resource_type,
        imported = s.imported,
        resolved = s.resolved,
        suppressed = s.suppressed,
        unsuppressed = s.unsuppressed,
        batch_import_calls = s.import_calls,
        "Security Hub in step"
    );
    Ok(())
}

/// The item of an oversized notification, fetched from Config's history; the notification's
/// capture time stands in when the item has none.
async fn oversized_item<P: Ports>(
    p: &P,
    resource_type: &ResourceType,
    resource_id: &str,
    capture_time: Option<Timestamp>,
) -> Result<Option<ConfigItem>, HandlerError> {
    let mut item = p.latest_item(resource_type, resource_id).await?;
    if let Some(i) = item.as_mut().filter(|i| i.capture_time.is_none()) {
        i.capture_time = capture_time;
    }
    Ok(item)
}

/// Resources this rule evaluated before that are not evaluated now: `NOT_APPLICABLE`.
async fn mark_vanished<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    resource_type: ResourceType,
    evals: &mut Vec<ConfigEvaluation>,
    ts: Timestamp,
) -> Result<(), HandlerError> {
    let Some(rule) = ev.rule_name.as_deref() else {
        return Ok(());
    };
    let seen: BTreeSet<String> = evals.iter().map(|e| e.resource_id.clone()).collect();
    for (t, id) in p.evaluated_resources(rule).await? {
        if t == resource_type && !seen.contains(&id) {
            evals.push(ConfigEvaluation::not_applicable(
                resource_type.clone(),
                &id,
                "the resource no longer exists",
                ts,
            ));
        }
    }
    Ok(())
}

// ----- The bucket rule -----------------------------------------------------------------------

/// The bucket rule (`AWS::S3::Bucket`).
pub async fn handle_bucket_rule<P: Ports>(
    p: &P,
    warm: &Warm,
    event: &ConfigRuleEvent,
    now: f64,
) -> Result<HandlerOutput, HandlerError> {
    let tracker = Tracker::start(p, "bucket-rule");
    let outcome = match event.rule_event() {
        Ok(ev) => {
            evaluate_and_report(
                p,
                ev,
                bucket_rule(p, warm, ev, now).await,
                ResourceType::S3Bucket,
                now,
            )
            .await
        }
        Err(e) => Err(e.into()),
    };
    tracker.finish(p, event, outcome)
}

async fn bucket_rule<P: Ports>(
    p: &P,
    warm: &Warm,
    ev: &RuleEvent,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let now_ts = Timestamp::from_epoch_seconds(now);
    match &ev.invocation {
        Invocation::Change { item } => change_bucket(p, warm, ev, item, now).await,
        Invocation::Oversized {
            resource_type,
            resource_id,
            capture_time,
            ..
        } => {
            if *resource_type != ResourceType::S3Bucket {
                return Ok(Vec::new());
            }
            let ts = capture_time.unwrap_or(now_ts);
            if ev.event_left_scope {
                return Ok(vec![left_scope(resource_id, ts)]);
            }
            match oversized_item(p, resource_type, resource_id, *capture_time).await? {
                Some(item) => change_bucket(p, warm, ev, &item, now).await,
                None => Ok(vec![ConfigEvaluation::not_applicable(
                    ResourceType::S3Bucket,
                    resource_id,
                    "AWS Config has no configuration item for the resource",
                    ts,
                )]),
            }
        }
        Invocation::Scheduled { notification_time } => {
            sweep_buckets(p, warm, ev, notification_time.unwrap_or(now_ts), now).await
        }
    }
}

fn left_scope(bucket: &str, ts: Timestamp) -> ConfigEvaluation {
    ConfigEvaluation::not_applicable(
        ResourceType::S3Bucket,
        bucket,
        "the bucket left the rule's scope",
        ts,
    )
}

fn gone(bucket: &str, ts: Timestamp) -> ConfigEvaluation {
    ConfigEvaluation::not_applicable(
        ResourceType::S3Bucket,
        bucket,
        "the bucket no longer exists",
        ts,
    )
}

async fn change_bucket<P: Ports>(
    p: &P,
    warm: &Warm,
    ev: &RuleEvent,
    item: &ConfigItem,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let ts = item
        .capture_time
        .unwrap_or(Timestamp::from_epoch_seconds(now));
    if item.resource_type != ResourceType::S3Bucket {
        return Ok(Vec::new());
    }
    if ev.event_left_scope {
        return Ok(vec![left_scope(&item.resource_id, ts)]);
    }
    if item.is_deleted() {
        return Ok(vec![gone(&item.resource_id, ts)]);
    }
    let regions = item.region.iter().cloned().collect();
    // The shared reads and the bucket's own, concurrently.
    let (buckets, obs) = tokio::join!(
        Buckets::prepare(p, warm, ev, item.account_id.as_deref(), regions),
        bucket_observation(p, item.bucket_facts())
    );
    Ok(vec![
        buckets?
            .evaluate_observed(&item.resource_id, obs, ts, now)
            .await,
    ])
}

/// The Config rules' side of [`Buckets`]: from a rule event, and to Config's evaluations.
impl<'a, P: BucketReader + AccountReader + NetworkReader + ConfigPort + OrgPolicySource>
    Buckets<'a, P>
{
    async fn prepare(
        p: &'a P,
        warm: &'a Warm,
        ev: &RuleEvent,
        account_hint: Option<&str>,
        regions: BTreeSet<String>,
    ) -> Result<Buckets<'a, P>, HandlerError> {
        let hint = account_hint
            .filter(|a| !a.is_empty())
            .or(ev.account_id.as_deref());
        // Boxed: the joined SDK futures are deep types (see `NetworkReader for AwsClients`).
        Ok(Box::pin(Buckets::load(p, warm, &ev.params, hint, regions)).await?)
    }

    /// Complete the item's facts (S3 only for what it lacks), then evaluate.
    async fn evaluate(&self, item: ConfigItem, ts: Timestamp, now: f64) -> ConfigEvaluation {
        if item.is_deleted() {
            return gone(&item.resource_id, ts);
        }
        let obs = bucket_observation(self.p, item.bucket_facts()).await;
        self.evaluate_observed(&item.resource_id, obs, ts, now)
            .await
    }

    async fn evaluate_observed(
        &self,
        id: &str,
        obs: BucketObservation,
        ts: Timestamp,
        now: f64,
    ) -> ConfigEvaluation {
        let e = Box::pin(self.assess(obs, now)).await;
        ConfigEvaluation::new(ResourceType::S3Bucket, id, &e, ts)
    }
}

/// A periodic sweep from Config's own inventory: `ListDiscoveredResources`, then
/// `BatchGetResourceConfig` 100 at a time; direct reads for what Config did not return;
/// resources evaluated before that are gone become `NOT_APPLICABLE`.
async fn sweep_buckets<P: Ports>(
    p: &P,
    warm: &Warm,
    ev: &RuleEvent,
    ts: Timestamp,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let inventory = bucket_inventory(p, None).await?;
    let mut evals: Vec<ConfigEvaluation> = inventory.gone.iter().map(|id| gone(id, ts)).collect();
    let live = inventory.live;
    if !live.is_empty() {
        let regions = live.iter().filter_map(|i| i.region.clone()).collect();
        let buckets = Buckets::prepare(p, warm, ev, None, regions).await?;
        let buckets = &buckets;
        let evaluated: Vec<ConfigEvaluation> = stream::iter(live)
            .map(|item| buckets.evaluate(item, ts, now))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        evals.extend(evaluated);
    }
    mark_vanished(p, ev, ResourceType::S3Bucket, &mut evals, ts).await?;
    Ok(evals)
}

// ----- The network rule ----------------------------------------------------------------------

/// The network rule: triggered by VPC, endpoint, route table and security group changes,
/// evaluating the VPC. `region_hint`: the function's region, for items that lack one.
pub async fn handle_network_rule<P: Ports>(
    p: &P,
    event: &ConfigRuleEvent,
    region_hint: Option<&str>,
    now: f64,
) -> Result<HandlerOutput, HandlerError> {
    let tracker = Tracker::start(p, "network-rule");
    let outcome = match event.rule_event() {
        Ok(ev) => {
            evaluate_and_report(
                p,
                ev,
                network_rule(p, ev, region_hint, now).await,
                ResourceType::Ec2Vpc,
                now,
            )
            .await
        }
        Err(e) => Err(e.into()),
    };
    tracker.finish(p, event, outcome)
}

async fn network_rule<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    region_hint: Option<&str>,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    match &ev.invocation {
        Invocation::Change { item } => change_network(p, ev, item, region_hint, now).await,
        // A VPC's summary already names the VPC; other types need the item for its `vpcId`.
        Invocation::Oversized {
            resource_type: ResourceType::Ec2Vpc,
            resource_id,
            region,
            capture_time,
        } => {
            let item = ConfigItem::bare(
                ResourceType::Ec2Vpc,
                resource_id,
                region.clone(),
                *capture_time,
            );
            change_network(p, ev, &item, region_hint, now).await
        }
        Invocation::Oversized {
            resource_type,
            resource_id,
            capture_time,
            ..
        } if resource_type.triggers_network_rule() => {
            match oversized_item(p, resource_type, resource_id, *capture_time).await? {
                Some(item) => change_network(p, ev, &item, region_hint, now).await,
                None => Ok(Vec::new()),
            }
        }
        Invocation::Oversized { .. } => Ok(Vec::new()),
        Invocation::Scheduled { notification_time } => {
            let ts = notification_time.unwrap_or(Timestamp::from_epoch_seconds(now));
            let region = region_hint.ok_or(EventError::MissingField("awsRegion"))?;
            let net = p.network(region).await?;
            let account = ev.account_id.as_deref();
            let mut evals: Vec<ConfigEvaluation> = net
                .vpcs
                .iter()
                .map(|v| {
                    let e = evaluate_vpc(v, &net, account, &ev.params.disabled_rules, now);
                    ConfigEvaluation::new(ResourceType::Ec2Vpc, &v.id, &e, ts)
                })
                .collect();
            mark_vanished(p, ev, ResourceType::Ec2Vpc, &mut evals, ts).await?;
            Ok(evals)
        }
    }
}

async fn change_network<P: Ports>(
    p: &P,
    ev: &RuleEvent,
    item: &ConfigItem,
    region_hint: Option<&str>,
    now: f64,
) -> Result<Vec<ConfigEvaluation>, HandlerError> {
    let ts = item
        .capture_time
        .unwrap_or(Timestamp::from_epoch_seconds(now));
    if !item.resource_type.triggers_network_rule() {
        return Ok(Vec::new());
    }
    let Some(vpc_id) = item.vpc_id() else {
        return Ok(Vec::new());
    };
    if item.resource_type == ResourceType::Ec2Vpc && (ev.event_left_scope || item.is_deleted()) {
        let why = if ev.event_left_scope {
            "the VPC left the rule's scope"
        } else {
            "the VPC no longer exists"
        };
        return Ok(vec![ConfigEvaluation::not_applicable(
            ResourceType::Ec2Vpc,
            &vpc_id,
            why,
            ts,
        )]);
    }
    let region = item
        .region
        .clone()
        .or_else(|| region_hint.map(str::to_string))
        .ok_or(EventError::MissingField("awsRegion"))?;
    let net = p.vpc_network(&region, &vpc_id).await?;
    let account = item.account_id.as_deref().or(ev.account_id.as_deref());
    Ok(vec![match net.vpcs.iter().find(|v| v.id == vpc_id) {
        Some(v) => ConfigEvaluation::new(
            ResourceType::Ec2Vpc,
            &vpc_id,
            &evaluate_vpc(v, &net, account, &ev.params.disabled_rules, now),
            ts,
        ),
        None => ConfigEvaluation::not_applicable(
            ResourceType::Ec2Vpc,
            &vpc_id,
            "the VPC no longer exists",
            ts,
        ),
    }])
}
