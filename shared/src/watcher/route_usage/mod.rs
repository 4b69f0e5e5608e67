//! Route usage, live: S3 data events (and the network activity events an endpoint policy
//! refused) that EventBridge delivers from CloudTrail, batched by SQS, folded by the same
//! [`Analysis`] as the offline path, and published as `vpce-guard Route Usage` events, one per
//! aggregate (bucket, principal, source, hour), for the Slack notifier.
//!
//! A batch costs no AWS call but the `PutEvents` of its aggregates: the approved endpoints and
//! accounts are settled once per container.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::events::{RouteUsageDetail, ROUTE_USAGE_DETAIL_TYPE};
use crate::facts::Endpoint;
use crate::ports::events::publish;
use crate::ports::{AwsError, ErrorKind, EventPublisher, NetworkReader, OutEvent};
use crate::rules::params::{
    split_list, BucketParams, EndpointScope, LongSettings, ParamError, Partition,
};
use crate::usage::{Analysis, UsageOptions, UsageReport};

/// The function's configuration (its environment, validated like the rules' parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteUsageSettings {
    /// `APPROVED_VPCE_IDS`, `APPROVED_VPC_IDS`, `EXEMPT_PRINCIPAL_ARNS`,
    /// `APPROVED_ENDPOINT_SCOPE`: the stack's parameters, as the rules read them.
    params: BucketParams,
    /// `ROUTE_USAGE_BUCKETS`: the guarded buckets; empty: every bucket the events name.
    buckets: BTreeSet<String>,
    /// `EVENT_BUS_NAME`; `None`: the default bus.
    bus: Option<String>,
}

impl RouteUsageSettings {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ParamError> {
        let params = BucketParams::from_env(&get)?;
        let buckets: BTreeSet<String> = split_list(&get("ROUTE_USAGE_BUCKETS").unwrap_or_default())
            .into_iter()
            .collect();
        if let Some(bad) = buckets.iter().find(|b| !is_bucket_name(b)) {
            return Err(ParamError {
                param: "RouteUsageBuckets",
                flag: "ROUTE_USAGE_BUCKETS",
                value: bad.clone(),
                why: "not a bucket name (3 to 63 of a-z, 0-9, `.` and `-`)".into(),
            });
        }
        Ok(RouteUsageSettings {
            params,
            buckets,
            bus: get("EVENT_BUS_NAME").filter(|b| !b.trim().is_empty()),
        })
    }

    /// The lists kept in SSM parameters (`*_PARAMETER`), added.
    pub fn with_long_settings(mut self, long: &LongSettings) -> Self {
        self.params = long.apply(&self.params);
        self
    }
}

/// S3's naming rules, as far as they matter here (3 to 63 of `a-z 0-9 . -`).
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

/// What a warm container judges with: the settings and what they resolve to.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteUsageContext {
    settings: RouteUsageSettings,
    /// The S3 endpoints of `APPROVED_VPC_IDS`, read from EC2 at init.
    vpc_endpoints: BTreeSet<String>,
    /// The organization's accounts (`APPROVED_ENDPOINT_SCOPE` `organization`), read at init;
    /// `None` when they could not be read: only the account's own endpoints and the listed
    /// ones then count (fail closed: more findings, never fewer).
    org_accounts: Option<BTreeSet<String>>,
}

impl RouteUsageContext {
    /// Resolve the approved VPCs' endpoints once (one `DescribeVpcEndpoints` in `region`, and
    /// none when no VPC is listed). A VPC listed without an S3 endpoint approves nothing; it
    /// is logged.
    pub async fn load<N: NetworkReader>(
        net: &N,
        settings: RouteUsageSettings,
        region: &str,
    ) -> Result<RouteUsageContext, AwsError> {
        let mut vpc_endpoints = BTreeSet::new();
        if !settings.params.approved_vpc.is_empty() {
            let endpoints = net.s3_endpoints(region).await?;
            for vpc in &settings.params.approved_vpc {
                let ids: Vec<&Endpoint> = endpoints.iter().filter(|e| &e.vpc_id == vpc).collect();
                if ids.is_empty() {
                    tracing::warn!(vpc = %vpc, region = %region, "an approved VPC without an S3 endpoint: it approves nothing");
                }
                vpc_endpoints.extend(ids.into_iter().map(|e| e.id.clone()));
            }
        }
        Ok(RouteUsageContext::new(settings, vpc_endpoints, None))
    }

    /// Does the scope need the organization's accounts (`organization`)?
    pub fn needs_org_accounts(&self) -> bool {
        self.settings.params.approved_endpoint_scope == EndpointScope::Organization
    }

    /// The organization's accounts, as Organizations' `ListAccounts` answered (it does in the
    /// management or delegated administrator account only). When it did not, the account's
    /// own endpoints and the listed ones count, and a warning says so: fail closed, more
    /// findings rather than fewer.
    pub fn with_org_accounts(mut self, accounts: Result<Vec<String>, AwsError>) -> Self {
        match accounts {
            Ok(a) => self.org_accounts = Some(a.into_iter().collect()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the organization's accounts: only the account's own endpoints and the listed ones count as approved");
            }
        }
        self
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn new(
        settings: RouteUsageSettings,
        vpc_endpoints: BTreeSet<String>,
        org_accounts: Option<BTreeSet<String>>,
    ) -> RouteUsageContext {
        RouteUsageContext {
            settings,
            vpc_endpoints,
            org_accounts,
        }
    }

    /// The analysis options for the events of `account`. As the rules read them: with no
    /// endpoint listed, every endpoint of the account is approved (judged on the record's
    /// `vpcEndpointAccountId`).
    pub(crate) fn options(&self, account: &str) -> UsageOptions {
        let p = &self.settings.params;
        let approved_vpces: BTreeSet<String> = p
            .approved_vpce
            .iter()
            .chain(&self.vpc_endpoints)
            .cloned()
            .collect();
        let mut approved_owners = BTreeSet::new();
        match p.approved_endpoint_scope {
            EndpointScope::Endpoints => {
                if approved_vpces.is_empty() {
                    approved_owners.insert(account.to_string());
                }
            }
            EndpointScope::Account => {
                approved_owners.insert(account.to_string());
            }
            EndpointScope::Organization => {
                approved_owners.insert(account.to_string());
                approved_owners.extend(self.org_accounts.iter().flatten().cloned());
            }
        }
        UsageOptions {
            buckets: self.settings.buckets.clone(),
            approved_vpces,
            approved_owners,
            exempt_principals: p.exempt_principals.clone(),
        }
    }
}

/// What one batch did (logged).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RouteUsageSummary {
    pub records: usize,
    /// CloudTrail records read (one per message from EventBridge).
    pub(crate) cloudtrail_records: u64,
    pub(crate) aggregates: usize,
    pub(crate) put_events_calls: usize,
    pub failed: usize,
}

/// The envelope's account and region: whose events these are.
#[derive(Deserialize)]
struct Origin {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[allow(dead_code)]
    detail: IgnoredAny,
}

/// Handle one SQS batch of EventBridge events. A message that is not a CloudTrail event fails
/// alone (SQS retries it, then its dead-letter queue keeps it); a failed publish fails every
/// message of the batch, whose aggregates are then published again (the notifier sends one
/// message per aggregate and hour, so a retry does not post twice).
pub async fn handle<P: EventPublisher>(
    port: &P,
    ctx: &RouteUsageContext,
    event: &SqsEvent,
) -> (SqsBatchResponse, RouteUsageSummary) {
    let mut summary = RouteUsageSummary {
        records: event.records.len(),
        ..RouteUsageSummary::default()
    };
    let mut failed: Vec<String> = Vec::new();
    let mut read: Vec<String> = Vec::new();
    // One analysis per account and region (a central bus carries several).
    let mut analyses: BTreeMap<(String, String), Analysis> = BTreeMap::new();
    for r in &event.records {
        let id = r.message_id.clone().unwrap_or_default();
        let body = r.body.as_deref().unwrap_or_default();
        let origin = match serde_json::from_str::<Origin>(body) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "not an EventBridge event: left to SQS's retries and dead-letter queue");
                failed.push(id);
                continue;
            }
        };
        let key = (
            origin.account.unwrap_or_default(),
            origin.region.unwrap_or_default(),
        );
        let analysis = analyses
            .entry(key.clone())
            .or_insert_with(|| Analysis::new(ctx.options(&key.0)));
        match analysis.feed(body.as_bytes()) {
            Ok(n) => {
                summary.cloudtrail_records += n;
                read.push(id);
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "not a CloudTrail event: left to SQS's retries and dead-letter queue");
                failed.push(id);
            }
        }
    }
    let mut out = Vec::new();
    for ((account, region), analysis) in analyses {
        match events_of(&account, &region, analysis.report()) {
            Ok(mut events) => out.append(&mut events),
            Err(e) => {
                tracing::error!(error = %e, "cannot write the events");
                failed.append(&mut read);
            }
        }
    }
    summary.aggregates = out.len();
    if !out.is_empty() {
        match publish(port, ctx.settings.bus.as_deref(), &out).await {
            Ok(calls) => summary.put_events_calls = calls,
            Err(e) => {
                tracing::error!(error = %e, aggregates = out.len(), "route usage not published: the batch is retried");
                failed.append(&mut read);
            }
        }
    }
    failed.sort();
    failed.dedup();
    summary.failed = failed.len();
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    tracing::info!(summary = ?summary, "batch done");
    summary.emf(crate::now_epoch_seconds()).emit();
    (response, summary)
}

impl RouteUsageSummary {
    /// The batch's figures as EMF (`metrics`): CloudTrail records read, route-usage aggregates
    /// published, and its `events:PutEvents` calls.
    pub(crate) fn emf(&self, now: f64) -> crate::metrics::Emf {
        let mut emf = crate::metrics::Emf::new(&crate::metrics::function_name("route-usage"), now);
        emf.count(
            "CloudTrailRecords",
            Vec::new(),
            self.cloudtrail_records as f64,
        )
        .count("RouteUsageAggregates", Vec::new(), self.aggregates as f64)
        .count(
            "AwsCalls",
            vec![("Operation", "events:PutEvents".to_string())],
            self.put_events_calls as f64,
        );
        emf
    }
}

/// One event per finding and per endpoint denial.
fn events_of(account: &str, region: &str, report: UsageReport) -> Result<Vec<OutEvent>, AwsError> {
    let partition = Partition::of_region(region);
    let mut details = Vec::new();
    for b in report.buckets {
        for finding in b.findings {
            details.push((
                vec![format!("arn:{partition}:s3:::{}", b.bucket)],
                RouteUsageDetail::UnapprovedRoute {
                    account: account.to_string(),
                    region: region.to_string(),
                    bucket: b.bucket.clone(),
                    finding,
                },
            ));
        }
    }
    for denial in report.endpoint_denials {
        let mut resources = vec![format!(
            "arn:{partition}:ec2:{region}:{account}:vpc-endpoint/{}",
            denial.vpc_endpoint_id
        )];
        if let Some(b) = &denial.bucket {
            resources.push(format!("arn:{partition}:s3:::{b}"));
        }
        details.push((
            resources,
            RouteUsageDetail::EndpointPolicyDenied {
                account: account.to_string(),
                region: region.to_string(),
                denial,
            },
        ));
    }
    details
        .into_iter()
        .map(|(resources, d)| {
            let detail = serde_json::to_string(&d).map_err(|e| AwsError {
                call: "events:PutEvents",
                kind: ErrorKind::Other,
                code: None,
                message: format!("cannot serialise the route usage: {e}"),
            })?;
            Ok(OutEvent {
                detail_type: ROUTE_USAGE_DETAIL_TYPE.to_string(),
                detail,
                resources,
            })
        })
        .collect()
}
