//! The remediator function's handler, generic over the ports: which bucket an event asks
//! about, the configuration from the environment, and one remediation published as a
//! `vpce-guard Remediation` event.

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::events::{
    read_detail, ComplianceChangeDetail, FindingDetail, ManualRequest,
    CONFIG_COMPLIANCE_DETAIL_TYPE, FINDING_DETAIL_TYPE, REMEDIATION_DETAIL_TYPE, S3_BUCKET,
};
use crate::ports::events::{publish, EventPublisher, OutEvent};
use crate::ports::policy_store::{CallerIdentity, PolicyStore};
use crate::ports::roles::{expand_exact, RoleLister};
use crate::ports::{
    mutes_in_force, AccountReader, AwsError, BucketReader, MuteSource, NetworkReader,
    OrgPolicySource,
};
use crate::rules::bucket::RegionView;
use crate::rules::mute::MuteState;
use crate::rules::params::Partition;
use crate::rules::Compliance;
use crate::rules::{BucketParams, ParamError};

use super::apply::{may_write, remediate, Mode, Outcome, RemediationEvent, Trigger};
use super::history::HistoryStore;
use super::RemedyInput;

/// What fails an invocation.
#[derive(Debug, Error)]
pub enum RemediatorError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("the event is not one the remediator takes: {0}")]
    Event(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The remediation itself failed (the bucket keeps its previous policy).
    #[error("remediation of `{bucket}` failed: {reason}")]
    Failed { bucket: String, reason: String },
}

impl crate::FunctionError for RemediatorError {
    /// Lambda's `errorType`, by cause (was the Rust type's name): a payload or configuration
    /// that cannot work, an AWS failure (`VpceGuard.Transient.*` when a retry can help), or a
    /// remediation that failed and left the bucket's policy as it was.
    fn error_type(&self) -> &'static str {
        match self {
            RemediatorError::Config(_) => "VpceGuard.InvalidConfiguration",
            RemediatorError::Param(_) => "VpceGuard.InvalidParameter",
            RemediatorError::Event(_) => "VpceGuard.InvalidEvent",
            RemediatorError::Aws(e) => e.error_type(),
            RemediatorError::Failed { .. } => "VpceGuard.RemediationFailed",
        }
    }
}

/// The remediator's configuration (environment variables the template sets).
#[derive(Debug, Clone, PartialEq)]
pub struct RemediatorSettings {
    /// `REMEDIATION_MODE`: `Disabled`, `DryRun` (default) or `Enforce`.
    pub(crate) mode: Mode,
    /// `APPROVED_VPCE_IDS`, `EXEMPT_PRINCIPAL_ARNS`, `GUARD_PRINCIPAL_ARNS`, `REQUIRE_SIGV4`,
    /// `REQUIRE_TLS_VERSION`, `DISABLED_RULES`: the bucket rule's parameters.
    pub params: BucketParams,
    /// `EVENT_BUS_NAME` (empty: the default bus).
    pub(crate) bus: Option<String>,
    /// `BUCKET_RULE_NAME`: the Config rule whose compliance changes trigger a remediation.
    pub(crate) bucket_rule_name: Option<String>,
    /// `CALLER_PRINCIPAL_ARN`: the function's own role ARN (`aws:PrincipalArn`, with the role's
    /// path, which STS does not report); empty: derived from `GetCallerIdentity`.
    pub(crate) caller_principal_arn: Option<String>,
    /// `HISTORY_TABLE_NAME`: the stack's remediation history table (empty: nothing recorded,
    /// which the template never does).
    pub history_table: Option<String>,
    /// `HISTORY_RETENTION_DAYS` (default 400): how long a record is kept.
    pub history_retention_days: u32,
    /// `ORGANIZATION_POLICY_ROLE_ARN`: the organization-policy source (the RCPs the plan and
    /// the writer guard rail judge); `None`: no RCP layer.
    pub org_policy_role: Option<String>,
}

impl RemediatorSettings {
    /// Read the configuration; an invalid value is an error naming it.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, RemediatorError> {
        let val = |k: &str| get(k).unwrap_or_default();
        let mode = Mode::parse(&val("REMEDIATION_MODE")).ok_or_else(|| {
            RemediatorError::Config(format!(
                "REMEDIATION_MODE `{}` must be Disabled, DryRun or Enforce",
                val("REMEDIATION_MODE")
            ))
        })?;
        let params = BucketParams::from_env(&get)?;
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        Ok(RemediatorSettings {
            mode,
            params,
            bus: nonempty("EVENT_BUS_NAME"),
            bucket_rule_name: nonempty("BUCKET_RULE_NAME"),
            caller_principal_arn: nonempty("CALLER_PRINCIPAL_ARN"),
            history_table: nonempty("HISTORY_TABLE_NAME"),
            org_policy_role: nonempty("ORGANIZATION_POLICY_ROLE_ARN"),
            history_retention_days: match nonempty("HISTORY_RETENTION_DAYS") {
                None => 400,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=36_500).contains(d))
                    .ok_or_else(|| {
                        RemediatorError::Config(format!(
                            "HISTORY_RETENTION_DAYS `{v}` must be a number of days from 1 to 36500"
                        ))
                    })?,
            },
        })
    }
}

/// What the remediator receives.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RemediatorEvent {
    Manual(ManualRequest),
    EventBridge(Box<aws_lambda_events::event::eventbridge::EventBridgeEvent<Value>>),
}

/// The bucket an event asks to remediate, its region when the event says, and the trigger;
/// `Ok(None)` for an event about something else (ignored, not an error).
pub(crate) fn bucket_of(
    ev: &RemediatorEvent,
    cfg: &RemediatorSettings,
) -> Result<Option<(String, Option<String>, Trigger)>, RemediatorError> {
    match ev {
        RemediatorEvent::Manual(m) => match m.trigger.as_str() {
            "config-remediation" => Ok(Some((m.bucket.clone(), None, Trigger::ConfigRemediation))),
            other => Err(RemediatorError::Event(format!(
                "unknown trigger `{other}` (expected `config-remediation`)"
            ))),
        },
        RemediatorEvent::EventBridge(e) => {
            let detail_type = e.detail_type.as_str();
            match detail_type {
                FINDING_DETAIL_TYPE => {
                    let f: FindingDetail =
                        read_detail(detail_type, &e.detail).map_err(RemediatorError::Event)?;
                    if !f.is_noncompliant_bucket() {
                        return Ok(None);
                    }
                    Ok(Some((f.resource, Some(f.region), Trigger::Finding)))
                }
                CONFIG_COMPLIANCE_DETAIL_TYPE => {
                    let d: ComplianceChangeDetail =
                        read_detail(detail_type, &e.detail).map_err(RemediatorError::Event)?;
                    if cfg
                        .bucket_rule_name
                        .as_ref()
                        .is_some_and(|r| *r != d.config_rule_name)
                    {
                        return Ok(None);
                    }
                    if d.resource_type != S3_BUCKET
                        || d.compliance() != Some(Compliance::NonCompliant)
                    {
                        return Ok(None);
                    }
                    Ok(Some((
                        d.resource_id,
                        d.aws_region,
                        Trigger::ConfigCompliance,
                    )))
                }
                _ => Ok(None),
            }
        }
    }
}

/// Everything the remediator needs from AWS.
pub trait RemediatorPorts:
    PolicyStore
    + CallerIdentity
    + NetworkReader
    + AccountReader
    + BucketReader
    + EventPublisher
    + RoleLister
    + OrgPolicySource
    + MuteSource
{
}

impl<T> RemediatorPorts for T where
    T: PolicyStore
        + CallerIdentity
        + NetworkReader
        + AccountReader
        + BucketReader
        + EventPublisher
        + RoleLister
        + OrgPolicySource
        + MuteSource
{
}

/// Handle one event: remediate the bucket it names and publish the Remediation event. A
/// remediation that failed fails the invocation (Lambda, SSM or EventBridge retries).
pub async fn handle<P: RemediatorPorts, H: HistoryStore>(
    p: &P,
    history: &H,
    cfg: &RemediatorSettings,
    event: &RemediatorEvent,
    now: f64,
) -> Result<Option<RemediationEvent>, RemediatorError> {
    let Some((bucket, region, trigger)) = bucket_of(event, cfg)? else {
        tracing::debug!("event ignored: not a non-compliant bucket");
        return Ok(None);
    };
    // A muted bucket is never remediated, whatever asked (an SSM run, an older event).
    if let MuteState::Muted(why) = mutes_in_force(p).await.state(&bucket, now) {
        tracing::info!(bucket = %bucket, reason = %why, "not remediated: the bucket is muted");
        return Ok(None);
    }
    let region = match region {
        Some(r) => r,
        None => p
            .bucket_region(&bucket)
            .await?
            .ok_or_else(|| RemediatorError::Failed {
                bucket: bucket.clone(),
                reason: "the bucket does not exist".into(),
            })?,
    };
    let account = p.account_id().await?;
    // The region's S3 endpoints only: one call, whatever the number of VPCs (docs/COST.md).
    let s3_endpoints = p.s3_endpoints(&region).await?;
    let available = RegionView::from_endpoints(&region, &s3_endpoints).available;
    let endpoints: Vec<String> = if cfg.params.approved_vpce.is_empty() {
        available
    } else {
        cfg.params
            .approved_vpce
            .iter()
            .filter(|e| available.contains(e))
            .cloned()
            .collect()
    };
    let caller = match &cfg.caller_principal_arn {
        Some(arn) => arn.clone(),
        None => p.caller_arn().await?,
    };
    let mut require = cfg.params.clone();
    require.partition = Partition::of_region(&region);
    // The organization layer: what the RCPs already enforce is not written, and the writer
    // must not be denied by them either. Unreadable: no write (fail closed; the next event
    // tries again).
    match p.org_layer(&account).await {
        Ok(Some(layer)) if layer.applies_to(&account) => layer.apply(&mut require),
        Ok(_) => {}
        Err(e) => {
            return Err(RemediatorError::Failed {
                bucket: bucket.clone(),
                reason: format!("cannot read the organization's RCPs, so nothing is written: {e}"),
            })
        }
    }
    // The deny names the guard's roles exactly: a pattern in the configuration (an older
    // template's `role/vpce-guard/*`) becomes the roles that exist now (iam:ListRoles).
    let notes =
        expand_exact(p, &mut require, false)
            .await
            .map_err(|e| RemediatorError::Failed {
                bucket: bucket.clone(),
                reason: e.to_string(),
            })?;
    for n in notes {
        tracing::info!(expansion = %n, "guard principal pattern expanded");
    }
    let input = RemedyInput {
        bucket: bucket.clone(),
        region,
        account,
        current: None,
        endpoints,
        exempt_principals: cfg.params.exempt_principals.clone(),
        guard_principals: require.guard_principals.clone(),
        remediator_principals: require.remediator_principals.clone(),
        config_role: cfg.params.config_role.clone(),
        require,
        caller: Some(caller),
        exempt_tag: false,
        now,
    };
    let ev = remediate(
        p,
        history,
        input,
        cfg.mode,
        trigger,
        may_write(cfg.mode, trigger),
    )
    .await;
    let mut emf = crate::metrics::Emf::new(&crate::metrics::function_name("remediator"), now);
    emf.count(
        "Remediations",
        vec![("Outcome", format!("{:?}", ev.outcome))],
        1.0,
    )
    .emit();
    tracing::info!(
        bucket = %ev.bucket,
        region = %ev.region,
        mode = ?ev.mode,
        trigger = ?ev.trigger,
        outcome = ?ev.outcome,
        reason = %ev.reason,
        // The policy before, in the log too: a second place to restore it from.
        previous_policy = %ev
            .previous_policy
            .as_ref()
            .map(serde_json::Value::to_string)
            .unwrap_or_else(|| "null".into()),
        "remediation"
    );
    let detail = serde_json::to_string(&ev).map_err(|e| RemediatorError::Failed {
        bucket: bucket.clone(),
        reason: format!("cannot render the event: {e}"),
    })?;
    let partition = Partition::of_region(&ev.region);
    publish(
        p,
        cfg.bus.as_deref(),
        &[OutEvent {
            detail_type: REMEDIATION_DETAIL_TYPE.into(),
            detail,
            resources: vec![format!("arn:{partition}:s3:::{bucket}")],
        }],
    )
    .await?;
    if ev.outcome == Outcome::Failed {
        return Err(RemediatorError::Failed {
            bucket,
            reason: ev.reason,
        });
    }
    Ok(Some(ev))
}
