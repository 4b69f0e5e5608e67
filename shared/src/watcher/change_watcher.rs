//! The change watcher's handler: one CloudTrail record in, the resources it touched evaluated
//! with the Config rules' own code, one `vpce-guard Finding` event per resource out.
//!
//! What each kind of call costs is in docs/COST.md; a change to one bucket or one VPC costs
//! the same whatever the number of VPCs.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::config::port::ConfigPort;
use crate::config::regional::{bucket_observation, Buckets, Warm};
use crate::config::{PartialBucket, ResourceType};
use crate::events::{
    finding_id, FindingDetail, Trigger, FINDING_DETAIL_TYPE, FINDING_SCHEMA_VERSION,
};
use crate::facts::Fact;
use crate::ports::events::{publish, EventPublisher, OutEvent};
use crate::ports::{
    mutes_in_force, AccountReader, AwsError, BucketReader, CallCounter, ErrorKind, MuteSource,
    NetworkLocator, NetworkReader, OrgPolicySource,
};
use crate::remedy::{deny_outside_vpce, deny_plain_http, GuardExemptions};
use crate::rules::network::evaluate_vpc;
use crate::rules::params::Partition;
use crate::rules::{BucketParams, Compliance, Evaluation, ParamError, RuleId, Status};

use super::{classify, Classified, Target, WatcherEvent, CLOUDTRAIL_DETAIL_TYPE};

/// Buckets evaluated at once.
const CONCURRENCY: usize = 8;

/// The watcher's settings, from the environment.
#[derive(Debug, Clone, Default)]
pub struct WatcherSettings {
    /// The bucket rule's parameters (the same as the Config rule's).
    pub(crate) params: BucketParams,
    /// `EVENT_BUS_NAME`; `None`: the default bus.
    pub(crate) bus: Option<String>,
    /// `ORGANIZATION_POLICY_ROLE_ARN`: the organization-policy source; `None`: no RCP layer.
    pub(crate) org_policy_role: Option<String>,
}

impl WatcherSettings {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ParamError> {
        let params = BucketParams::from_env(&get)?;
        Ok(WatcherSettings {
            params,
            bus: get("EVENT_BUS_NAME").filter(|b| !b.trim().is_empty()),
            org_policy_role: get("ORGANIZATION_POLICY_ROLE_ARN").filter(|r| !r.trim().is_empty()),
        })
    }

    /// The role the watcher assumes to read the organization's RCPs, if any.
    pub fn org_policy_role(&self) -> Option<String> {
        self.org_policy_role.clone()
    }
}

/// Why an invocation fails (EventBridge then retries it, and its dead-letter queue keeps what
/// keeps failing).
#[derive(Debug, Error)]
pub enum WatcherError {
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl crate::FunctionError for WatcherError {
    /// Lambda's `errorType`.
    fn error_type(&self) -> &'static str {
        match self {
            WatcherError::Aws(e) => e.error_type(),
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WatcherOutput {
    /// Why the event was ignored (nothing evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Each published finding: resource type, resource, compliance.
    pub(crate) findings: Vec<(String, String, Compliance)>,
    pub(crate) put_events_calls: usize,
}

/// Everything the watcher needs from AWS.
pub trait WatcherPorts:
    BucketReader
    + AccountReader
    + NetworkReader
    + NetworkLocator
    + ConfigPort
    + EventPublisher
    + OrgPolicySource
    + MuteSource
    + CallCounter
{
}
impl<T> WatcherPorts for T where
    T: BucketReader
        + AccountReader
        + NetworkReader
        + NetworkLocator
        + ConfigPort
        + EventPublisher
        + OrgPolicySource
        + MuteSource
        + CallCounter
{
}

/// The resources a call touched, resolved to names the rules evaluate.
#[derive(Debug, Default)]
struct Affected {
    /// Buckets, with the policy when it was already read to decide that they are affected.
    buckets: BTreeMap<String, Option<Fact<String>>>,
    vpcs: BTreeSet<String>,
}

/// Handle one event.
pub async fn handle<P: WatcherPorts>(
    p: &P,
    warm: &Warm,
    cfg: &WatcherSettings,
    event: &WatcherEvent,
    now: f64,
) -> Result<WatcherOutput, WatcherError> {
    let ignore = |why: String| {
        tracing::debug!(reason = %why, "event ignored");
        Ok(WatcherOutput {
            ignored: Some(why),
            ..WatcherOutput::default()
        })
    };
    if event.detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return ignore(format!(
            "detail-type `{}` is not a CloudTrail call",
            event.detail_type
        ));
    }
    let d = &event.detail;
    let target = match classify(d) {
        Classified::Handle(t) => t,
        Classified::Ignore(why) => return ignore(why),
        Classified::Unusable(why) => {
            tracing::warn!(reason = %why, event_id = ?d.event_id, "event not usable; the Config rules will catch the change when Config records it");
            return Ok(WatcherOutput {
                ignored: Some(why),
                ..WatcherOutput::default()
            });
        }
    };
    let Some(region) = d.aws_region.clone().or_else(|| event.region.clone()) else {
        let why = "the event names no region".to_string();
        tracing::warn!(reason = %why, "event not usable");
        return Ok(WatcherOutput {
            ignored: Some(why),
            ..WatcherOutput::default()
        });
    };
    let account_hint = d
        .recipient_account_id
        .clone()
        .or_else(|| event.account.clone());
    let calls_before = p.api_calls();
    let affected = affected(p, &region, &target).await?;
    let trigger = Trigger {
        event_name: d.event_name.clone().unwrap_or_default(),
        event_id: d.event_id.clone(),
        event_time: d.event_time.clone(),
        actor_arn: d.actor(),
        source_ip: d.source_ip_address.clone(),
        user_agent: d.user_agent.clone(),
    };
    let mut details = Vec::new();
    if !affected.buckets.is_empty() {
        details.extend(
            evaluate_buckets(
                p,
                warm,
                cfg,
                &region,
                account_hint.as_deref(),
                affected.buckets,
                &trigger,
                now,
            )
            .await?,
        );
    }
    let account = match account_hint {
        Some(a) => a,
        None if affected.vpcs.is_empty() => String::new(),
        None => p.account_id().await?,
    };
    for vpc in &affected.vpcs {
        let net = p.vpc_network(&region, vpc).await?;
        let e = match net.vpcs.iter().find(|v| &v.id == vpc) {
            Some(v) => evaluate_vpc(v, &net, Some(&account), &cfg.params.disabled_rules, now),
            None => Evaluation::not_applicable(
                vpc.clone(),
                &RuleId::NETWORK,
                "the VPC no longer exists",
            ),
        };
        details.push(detail(
            ResourceType::Ec2Vpc,
            &account,
            &region,
            e,
            &trigger,
            None,
        ));
    }
    // The mute list in force now: a muted resource is published NOT_APPLICABLE, with why.
    if !details.is_empty() {
        let mutes = mutes_in_force(p).await;
        for d in &mut details {
            d.apply_mutes(&mutes, now);
        }
    }
    let events: Vec<OutEvent> = details.iter().map(out_event).collect::<Result<_, _>>()?;
    let put_events_calls = publish(p, cfg.bus.as_deref(), &events).await?;
    let findings = details
        .iter()
        .map(|d| (d.resource_type.clone(), d.resource.clone(), d.compliance))
        .collect::<Vec<_>>();
    for d in &details {
        tracing::info!(
            resource_type = %d.resource_type,
            resource = %d.resource,
            compliance = d.compliance.as_str(),
            failing = ?d.failing_rules().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            event_name = %d.trigger.event_name,
            actor = ?d.trigger.actor_arn,
            "finding published"
        );
    }
    let mut emf = crate::metrics::Emf::new(&crate::metrics::function_name("change-watcher"), now);
    emf.calls(&crate::metrics::calls_since(&calls_before, p.api_calls()));
    for d in &details {
        emf.evaluation(d.compliance, &d.findings);
    }
    emf.emit();
    Ok(WatcherOutput {
        ignored: None,
        findings,
        put_events_calls,
    })
}

/// Resolve a target to buckets and VPCs, with the fewest reads that answer it.
async fn affected<P: WatcherPorts>(
    p: &P,
    region: &str,
    target: &Target,
) -> Result<Affected, AwsError> {
    let mut out = Affected::default();
    match target {
        Target::Bucket(b) => {
            out.buckets.insert(b.clone(), None);
        }
        Target::AllBuckets => {
            for b in p.list_buckets(Some(region)).await? {
                out.buckets.insert(b.name, None);
            }
        }
        Target::Vpc(v) => {
            out.vpcs.insert(v.clone());
        }
        Target::RouteTable(t) => out.vpcs.extend(p.vpc_of_route_table(region, t).await?),
        Target::RouteTableAssociation(a) => out
            .vpcs
            .extend(p.vpc_of_route_table_association(region, a).await?),
        Target::SecurityGroup(g) => out.vpcs.extend(p.vpc_of_security_group(region, g).await?),
        Target::Endpoints { ids, vpc } => {
            match vpc {
                Some(v) => {
                    out.vpcs.insert(v.clone());
                }
                None => {
                    let found = p.endpoints_by_id(region, ids).await?;
                    if found.is_empty() {
                        tracing::warn!(endpoints = ?ids, "EC2 no longer describes the endpoints: their VPC is not re-evaluated");
                    }
                    out.vpcs.extend(
                        found
                            .into_iter()
                            .map(|e| e.vpc_id)
                            .filter(|v| !v.is_empty()),
                    );
                }
            }
            out.buckets = buckets_depending_on(p, region, ids).await?;
        }
    }
    Ok(out)
}

/// The buckets of the region whose policy names one of the endpoints or keys on
/// `aws:SourceVpce` / `aws:SourceVpc` at all (their `S3-VPCE-REACHABLE` depends on which
/// endpoints exist): `ListBuckets` filtered by region, then each policy.
async fn buckets_depending_on<P: WatcherPorts>(
    p: &P,
    region: &str,
    ids: &[String],
) -> Result<BTreeMap<String, Option<Fact<String>>>, AwsError> {
    let listed = p.list_buckets(Some(region)).await?;
    let policies: Vec<(String, Option<Fact<String>>)> = stream::iter(listed)
        .map(|b| async move {
            let policy = p.read_policy(&b.name, region).await;
            (b.name, policy)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for (name, policy) in policies {
        let depends = match &policy {
            Some(Fact::Known(text)) => {
                let lower = text.to_ascii_lowercase();
                ids.iter()
                    .any(|id| lower.contains(&id.to_ascii_lowercase()))
                    || lower.contains("aws:sourcevpc")
            }
            // Unreadable: evaluated (fail closed: the rules report what could not be read).
            Some(Fact::Unreadable(_)) => true,
            // No policy, or the bucket is gone: no deny depends on an endpoint.
            Some(Fact::NotConfigured) | None => false,
        };
        if depends {
            out.insert(name, policy);
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn evaluate_buckets<P: WatcherPorts>(
    p: &P,
    warm: &Warm,
    cfg: &WatcherSettings,
    region: &str,
    account_hint: Option<&str>,
    buckets: BTreeMap<String, Option<Fact<String>>>,
    trigger: &Trigger,
    now: f64,
) -> Result<Vec<FindingDetail>, AwsError> {
    let regions = BTreeSet::from([region.to_string()]);
    let shared = Buckets::load(p, warm, &cfg.params, account_hint, regions).await?;
    let shared = &shared;
    let mut out: Vec<FindingDetail> = stream::iter(buckets)
        .map(|(name, policy)| async move {
            let partial = PartialBucket {
                name: name.clone(),
                region: region.to_string(),
                policy,
                public_access_block: None,
                ownership: None,
            };
            let obs = bucket_observation(p, partial).await;
            let e = shared.assess(obs, now).await;
            let fix = fix_for(shared, &name, region, &e);
            detail(
                ResourceType::S3Bucket,
                shared.account_id(),
                region,
                e,
                trigger,
                fix,
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    out.sort_by(|a, b| a.resource.cmp(&b.resource));
    Ok(out)
}

/// The statements the remediator would add for the failing policy rules, with the approved
/// endpoints available in the region filled in; `None` when none is missing or no endpoint is
/// available (a deny would then lock everyone out: the finding says so without a fix).
fn fix_for<P: BucketReader + AccountReader + NetworkReader + ConfigPort + OrgPolicySource>(
    shared: &Buckets<'_, P>,
    bucket: &str,
    region: &str,
    e: &Evaluation,
) -> Option<Vec<Value>> {
    let fails = |r: RuleId| {
        e.findings
            .iter()
            .any(|f| f.rule == r && f.status == Status::Fail)
    };
    let partition = Partition::of_region(region);
    let params = shared.params();
    let mut add = Vec::new();
    if fails(RuleId::S3VpceDeny) {
        let available = match shared.view(region) {
            Some(Ok(v)) => v.available.clone(),
            _ => Vec::new(),
        };
        let endpoints: Vec<String> = if params.approved_vpce.is_empty() {
            available
        } else {
            params
                .approved_vpce
                .iter()
                .filter(|e| available.contains(e))
                .cloned()
                .collect()
        };
        if !endpoints.is_empty() {
            let ex = GuardExemptions::new(
                &params.exempt_principals,
                &params.guard_principals,
                &params.remediator_principals,
                params.config_role.as_deref(),
                region,
                shared.account_id(),
            );
            // The fix names the guard's roles exactly; with a pattern configured there is no
            // safe snippet to offer (the finding still says what fails).
            if ex.check_exact().is_ok() {
                add.extend(deny_outside_vpce(bucket, partition, &endpoints, &ex));
            }
        }
    }
    if fails(RuleId::S3Tls) {
        add.push(deny_plain_http(bucket, partition));
    }
    (!add.is_empty()).then_some(add)
}

fn detail(
    kind: ResourceType,
    account: &str,
    region: &str,
    e: Evaluation,
    trigger: &Trigger,
    fix: Option<Vec<Value>>,
) -> FindingDetail {
    FindingDetail {
        schema_version: FINDING_SCHEMA_VERSION.to_string(),
        finding_id: finding_id(account, region, kind.as_str(), &e.resource, None),
        severity: e.severity(),
        resource: e.resource,
        resource_type: kind.as_str().to_string(),
        account: account.to_string(),
        region: region.to_string(),
        compliance: e.compliance,
        annotation: e.annotation,
        findings: e.findings,
        trigger: trigger.clone(),
        fix,
        muted: None,
        mute_expired: None,
    }
}

/// The ARN EventBridge lists as the event's resource.
fn resource_arn(d: &FindingDetail) -> String {
    let partition = Partition::of_region(&d.region);
    if d.resource_type == ResourceType::S3Bucket.as_str() {
        format!("arn:{partition}:s3:::{}", d.resource)
    } else {
        format!(
            "arn:{partition}:ec2:{}:{}:vpc/{}",
            d.region, d.account, d.resource
        )
    }
}

fn out_event(d: &FindingDetail) -> Result<OutEvent, AwsError> {
    let detail = serde_json::to_string(d).map_err(|e| AwsError {
        call: "events:PutEvents",
        kind: ErrorKind::Other,
        code: None,
        message: format!("cannot serialise the finding: {e}"),
    })?;
    Ok(OutEvent {
        detail_type: FINDING_DETAIL_TYPE.to_string(),
        detail,
        resources: vec![resource_arn(d)],
    })
}
