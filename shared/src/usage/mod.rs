//! Route usage: is the private route actually used? The requests CloudTrail recorded to the
//! guarded buckets, sorted by the route they took (RULES.md, "Route usage").
//!
//! The analysis is pure and streaming: [`Analysis::feed`] takes the bytes of one file (a
//! CloudTrail log file, an EventBridge event, or an array of either), reads its records one at
//! a time and folds each into per-bucket counts and per-aggregate findings (bucket, principal,
//! source, hour); memory grows with the number of aggregates, never with the number of
//! records. [`Analysis::report`] gives the `route-usage` JSON. [`athena`] writes the same
//! analysis as Athena SQL and reads its CSV result back.

pub mod athena;
mod record;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::policy::glob::arn_matches;
pub use record::NotCloudTrail;
use record::{for_each_record, Record};

/// The `eventSource` of S3.
const S3_SOURCE: &str = "s3.amazonaws.com";
/// The `errorCode` of a request an endpoint policy refused (network activity events).
const VPCE_ACCESS_DENIED: &str = "VpceAccessDenied";
/// User agents of requests the AWS console makes for a signed-in user: the console's own
/// route, not the client's (CloudTrail writes `[S3Console/0.4, aws-internal/3 …]`).
const CONSOLE_AGENTS: [&str; 3] = ["S3Console", "AWS Internal", "console.amazonaws.com"];
/// The path of the service-linked roles (their sessions are AWS acting for the account).
const SERVICE_ROLE_PATH: &str = ":role/aws-service-role/";

/// What counts as guarded and approved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageOptions {
    /// The guarded buckets; empty: every bucket the records name.
    pub buckets: BTreeSet<String>,
    /// Approved endpoint ids (`vpce-…`): the listed ones and those of approved VPCs.
    pub approved_vpces: BTreeSet<String>,
    /// Accounts whose every endpoint is approved (`ApprovedEndpointScope` `account`: the
    /// bucket owner; `organization`: the organization's accounts), judged on the record's
    /// `vpcEndpointAccountId` (CloudTrail 1.09 and later; absent, only the id can approve).
    pub approved_owners: BTreeSet<String>,
    /// Principals whose requests are not judged (`ArnLike` patterns on the principal ARN, as
    /// the bucket rule's `ExemptPrincipalArns`).
    pub exempt_principals: Vec<String>,
}

/// The route a data event took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Approved,
    Public,
    OtherEndpoint,
}

/// Why a data event is not judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exclusion {
    /// An AWS service made the call (`AWSService`, `invokedBy`, a service source address, a
    /// service-linked role's session).
    Service,
    /// The console made it (its user agent, or an AWS-owned endpoint id).
    Console,
    /// A configured principal.
    Exempt,
}

/// The `route-usage` JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    pub buckets: Vec<BucketUsage>,
    pub endpoint_denials: Vec<EndpointDenial>,
}

/// One guarded bucket's requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketUsage {
    pub bucket: String,
    /// Data events after exclusions: `via_approved_endpoint + public_route + other_endpoint`.
    pub requests: u64,
    /// Data events not judged (AWS services, the console, configured principals).
    pub excluded: u64,
    pub via_approved_endpoint: u64,
    pub public_route: u64,
    pub other_endpoint: u64,
    /// Network activity events naming this bucket that an endpoint policy refused.
    pub endpoint_policy_denied: u64,
    /// One per bucket, principal, source and hour of the requests that took an unapproved
    /// route.
    pub findings: Vec<RouteFinding>,
}

/// The requests of one principal from one source within one hour that did not come through
/// an approved endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFinding {
    pub principal: String,
    pub source_ip: String,
    pub ipv6: bool,
    pub event_names: Vec<String>,
    pub count: u64,
    /// How many were refused (`AccessDenied`): the deny works, a client is misconfigured.
    pub denied: u64,
    pub first_seen: String,
    pub last_seen: String,
}

/// Requests an endpoint policy refused, per endpoint, principal account and bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDenial {
    pub vpc_endpoint_id: String,
    pub principal_account: String,
    /// The bucket when the record names one (records of outside principals are redacted).
    pub bucket: Option<String>,
    pub event_names: Vec<String>,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
}

impl UsageReport {
    /// True when some request took an unapproved route (exit status 1).
    pub fn has_findings(&self) -> bool {
        self.buckets.iter().any(|b| !b.findings.is_empty())
    }

    /// Sorted as the JSON is written: buckets by name, findings by first request, then
    /// principal and source; denials by endpoint, account, bucket.
    pub(crate) fn normalize(&mut self) {
        self.buckets.sort_by(|a, b| a.bucket.cmp(&b.bucket));
        for b in &mut self.buckets {
            for f in &mut b.findings {
                f.event_names.sort();
                f.event_names.dedup();
            }
            b.findings.sort_by(|x, y| {
                (&x.first_seen, &x.principal, &x.source_ip, &x.last_seen).cmp(&(
                    &y.first_seen,
                    &y.principal,
                    &y.source_ip,
                    &y.last_seen,
                ))
            });
        }
        for d in &mut self.endpoint_denials {
            d.event_names.sort();
            d.event_names.dedup();
        }
        self.endpoint_denials.sort_by(|x, y| {
            (
                &x.vpc_endpoint_id,
                &x.principal_account,
                &x.bucket,
                &x.first_seen,
            )
                .cmp(&(
                    &y.vpc_endpoint_id,
                    &y.principal_account,
                    &y.bucket,
                    &y.first_seen,
                ))
        });
    }

    /// Adds the listed buckets that no record named (zero requests: no traffic seen).
    pub(crate) fn include_listed(&mut self, listed: &BTreeSet<String>) {
        for name in listed {
            if !self.buckets.iter().any(|b| &b.bucket == name) {
                self.buckets.push(BucketUsage {
                    bucket: name.clone(),
                    ..BucketUsage::default()
                });
            }
        }
    }
}

/// A finding being counted.
#[derive(Debug, Clone)]
struct FindingAgg {
    principal: String,
    source_ip: String,
    event_names: Vec<String>,
    count: u64,
    denied: u64,
    first_seen: String,
    last_seen: String,
}

/// A bucket being counted; findings keyed by `principal \0 source \0 hour`.
#[derive(Debug, Clone, Default)]
struct BucketAgg {
    excluded: u64,
    approved: u64,
    public: u64,
    other: u64,
    endpoint_policy_denied: u64,
    findings: HashMap<String, FindingAgg>,
}

/// A denial being counted; keyed by `endpoint \0 account \0 bucket`.
#[derive(Debug, Clone)]
struct DenialAgg {
    vpc_endpoint_id: String,
    principal_account: String,
    bucket: Option<String>,
    event_names: Vec<String>,
    count: u64,
    first_seen: String,
    last_seen: String,
}

/// What the records add up to.
#[derive(Debug, Clone, Default)]
struct Aggregates {
    buckets: HashMap<String, BucketAgg>,
    denials: HashMap<String, DenialAgg>,
}

/// The running analysis: feed it files, then take the report.
#[derive(Debug, Clone)]
pub struct Analysis {
    opts: UsageOptions,
    agg: Aggregates,
    /// Reused to build aggregate keys without allocating per record.
    key: String,
    records: u64,
}

impl Analysis {
    pub fn new(opts: UsageOptions) -> Self {
        Analysis {
            opts,
            agg: Aggregates::default(),
            key: String::new(),
            records: 0,
        }
    }

    /// Reads every record of one file into the analysis; returns how many records it held.
    /// A file is read whole before any of it counts: on [`NotCloudTrail`] the analysis is
    /// left as it was.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<u64, NotCloudTrail> {
        let mut staged = Aggregates::default();
        let opts = &self.opts;
        let key = &mut self.key;
        let n = for_each_record(bytes, &mut |r: &Record<'_>| staged.add(opts, key, r))?;
        if self.agg.buckets.is_empty() && self.agg.denials.is_empty() {
            self.agg = staged;
        } else {
            self.agg.merge(staged);
        }
        self.records += n;
        Ok(n)
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The report: every bucket seen (and every listed one), sorted.
    pub fn report(self) -> UsageReport {
        let mut out = self.agg.into_report();
        out.include_listed(&self.opts.buckets);
        out.normalize();
        out
    }
}

impl Aggregates {
    fn merge(&mut self, other: Aggregates) {
        for (name, b) in other.buckets {
            let mine = self.buckets.entry(name).or_default();
            mine.excluded += b.excluded;
            mine.approved += b.approved;
            mine.public += b.public;
            mine.other += b.other;
            mine.endpoint_policy_denied += b.endpoint_policy_denied;
            for (k, f) in b.findings {
                match mine.findings.get_mut(&k) {
                    None => {
                        mine.findings.insert(k, f);
                    }
                    Some(m) => {
                        m.count += f.count;
                        m.denied += f.denied;
                        for n in &f.event_names {
                            note_name(&mut m.event_names, n);
                        }
                        seen(&mut m.first_seen, &mut m.last_seen, &f.first_seen);
                        seen(&mut m.first_seen, &mut m.last_seen, &f.last_seen);
                    }
                }
            }
        }
        for (k, d) in other.denials {
            match self.denials.get_mut(&k) {
                None => {
                    self.denials.insert(k, d);
                }
                Some(m) => {
                    m.count += d.count;
                    for n in &d.event_names {
                        note_name(&mut m.event_names, n);
                    }
                    seen(&mut m.first_seen, &mut m.last_seen, &d.first_seen);
                    seen(&mut m.first_seen, &mut m.last_seen, &d.last_seen);
                }
            }
        }
    }

    fn add(&mut self, opts: &UsageOptions, key: &mut String, r: &Record<'_>) {
        if r.event_source != S3_SOURCE {
            return;
        }
        match r.event_category.as_deref() {
            Some("Data") => self.add_data_event(opts, key, r),
            Some("NetworkActivity") if r.error_code.as_deref() == Some(VPCE_ACCESS_DENIED) => {
                self.add_endpoint_denial(opts, key, r)
            }
            _ => {}
        }
    }

    fn add_data_event(&mut self, opts: &UsageOptions, key: &mut String, r: &Record<'_>) {
        let Some(bucket) = r.bucket() else { return };
        if !opts.buckets.is_empty() && !opts.buckets.contains(bucket) {
            return;
        }
        let agg = match self.buckets.get_mut(bucket) {
            Some(a) => a,
            None => self.buckets.entry(bucket.to_string()).or_default(),
        };
        let principal = principal_of(r);
        if exclusion(opts, r, &principal).is_some() {
            agg.excluded += 1;
            return;
        }
        let route = route_of(opts, r);
        match route {
            Route::Approved => {
                agg.approved += 1;
                return;
            }
            Route::Public => agg.public += 1,
            Route::OtherEndpoint => agg.other += 1,
        }
        let source = r.source_ip_address.as_deref().unwrap_or("");
        let time = &*r.event_time;
        key.clear();
        key.push_str(&principal);
        key.push('\0');
        key.push_str(source);
        key.push('\0');
        key.push_str(hour(time));
        let denied = is_denied(r);
        let f = match agg.findings.get_mut(key.as_str()) {
            Some(f) => f,
            None => agg
                .findings
                .entry(key.clone())
                .or_insert_with(|| FindingAgg {
                    principal: principal.to_string(),
                    source_ip: source.to_string(),
                    event_names: Vec::new(),
                    count: 0,
                    denied: 0,
                    first_seen: time.to_string(),
                    last_seen: time.to_string(),
                }),
        };
        f.count += 1;
        if denied {
            f.denied += 1;
        }
        note_name(&mut f.event_names, &r.event_name);
        seen(&mut f.first_seen, &mut f.last_seen, time);
    }

    fn add_endpoint_denial(&mut self, opts: &UsageOptions, key: &mut String, r: &Record<'_>) {
        let endpoint = r.vpc_endpoint_id.as_deref().unwrap_or("");
        let account = r
            .user_identity
            .as_ref()
            .and_then(|u| u.account_id.as_deref())
            .unwrap_or("");
        let bucket = r.bucket();
        if let Some(b) = bucket {
            if opts.buckets.is_empty() || opts.buckets.contains(b) {
                let agg = match self.buckets.get_mut(b) {
                    Some(a) => a,
                    None => self.buckets.entry(b.to_string()).or_default(),
                };
                agg.endpoint_policy_denied += 1;
            }
        }
        key.clear();
        key.push_str(endpoint);
        key.push('\0');
        key.push_str(account);
        key.push('\0');
        key.push_str(bucket.unwrap_or("\u{1}"));
        let time = &*r.event_time;
        let d = match self.denials.get_mut(key.as_str()) {
            Some(d) => d,
            None => self
                .denials
                .entry(key.clone())
                .or_insert_with(|| DenialAgg {
                    vpc_endpoint_id: endpoint.to_string(),
                    principal_account: account.to_string(),
                    bucket: bucket.map(str::to_string),
                    event_names: Vec::new(),
                    count: 0,
                    first_seen: time.to_string(),
                    last_seen: time.to_string(),
                }),
        };
        d.count += 1;
        note_name(&mut d.event_names, &r.event_name);
        seen(&mut d.first_seen, &mut d.last_seen, time);
    }

    fn into_report(self) -> UsageReport {
        UsageReport {
            buckets: self
                .buckets
                .into_iter()
                .map(|(bucket, a)| BucketUsage {
                    bucket,
                    requests: a.approved + a.public + a.other,
                    excluded: a.excluded,
                    via_approved_endpoint: a.approved,
                    public_route: a.public,
                    other_endpoint: a.other,
                    endpoint_policy_denied: a.endpoint_policy_denied,
                    findings: a
                        .findings
                        .into_values()
                        .map(|f| RouteFinding {
                            ipv6: f.source_ip.contains(':'),
                            principal: f.principal,
                            source_ip: f.source_ip,
                            event_names: f.event_names,
                            count: f.count,
                            denied: f.denied,
                            first_seen: f.first_seen,
                            last_seen: f.last_seen,
                        })
                        .collect(),
                })
                .collect(),
            endpoint_denials: self
                .denials
                .into_values()
                .map(|d| EndpointDenial {
                    vpc_endpoint_id: d.vpc_endpoint_id,
                    principal_account: d.principal_account,
                    bucket: d.bucket,
                    event_names: d.event_names,
                    count: d.count,
                    first_seen: d.first_seen,
                    last_seen: d.last_seen,
                })
                .collect(),
        }
    }
}

/// The hour an event time falls in (`2026-12-07T07`): ISO 8601 UTC as CloudTrail writes it.
pub(crate) fn hour(time: &str) -> &str {
    time.get(..13).unwrap_or(time)
}

fn note_name(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

fn seen(first: &mut String, last: &mut String, time: &str) {
    if time < first.as_str() {
        time.clone_into(first);
    }
    if time > last.as_str() {
        time.clone_into(last);
    }
}

/// The principal ARN as `aws:PrincipalArn` has it: a role session's role (the session issuer),
/// else the identity's ARN; an identity without one (an outside account, anonymous) by its
/// account, else its type.
fn principal_of<'r>(r: &'r Record<'_>) -> std::borrow::Cow<'r, str> {
    use std::borrow::Cow;
    let Some(u) = r.user_identity.as_ref() else {
        return Cow::Borrowed("unknown");
    };
    if u.kind.as_deref() == Some("AssumedRole") {
        if let Some(issuer) = u
            .session_context
            .as_ref()
            .and_then(|s| s.session_issuer.as_ref())
            .and_then(|i| i.arn.as_deref())
            .filter(|a| !a.is_empty())
        {
            return Cow::Borrowed(issuer);
        }
    }
    if let Some(arn) = u.arn.as_deref().filter(|a| !a.is_empty()) {
        return Cow::Borrowed(arn);
    }
    if let Some(account) = u.account_id.as_deref().filter(|a| !a.is_empty()) {
        return if account == "anonymous" {
            Cow::Borrowed("anonymous")
        } else {
            Cow::Owned(format!("account:{account}"))
        };
    }
    Cow::Borrowed(
        u.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("unknown"),
    )
}

/// Whether the request is not the client's own route, and why.
pub(crate) fn exclusion(opts: &UsageOptions, r: &Record<'_>, principal: &str) -> Option<Exclusion> {
    let u = r.user_identity.as_ref();
    let kind = u.and_then(|u| u.kind.as_deref());
    let invoked_by = u
        .and_then(|u| u.invoked_by.as_deref())
        .filter(|s| !s.is_empty());
    let source = r.source_ip_address.as_deref().unwrap_or("");
    if kind == Some("AWSService")
        || invoked_by.is_some()
        || source.ends_with(".amazonaws.com")
        || source == "AWS Internal"
        || principal.contains(SERVICE_ROLE_PATH)
    {
        return Some(Exclusion::Service);
    }
    let agent = r.user_agent.as_deref().unwrap_or("");
    if CONSOLE_AGENTS.iter().any(|c| agent.contains(c)) {
        return Some(Exclusion::Console);
    }
    // An endpoint id that is not an account's `vpce-…` (CloudTrail writes "AWS Internal" or a
    // service name for AWS's own): the console's or a service's network.
    if r.vpc_endpoint_id
        .as_deref()
        .is_some_and(|id| !id.is_empty() && !id.starts_with("vpce-"))
        || r.vpc_endpoint_account_id
            .as_deref()
            .is_some_and(|a| a == "AWS Internal" || a.ends_with(".amazonaws.com"))
    {
        return Some(Exclusion::Console);
    }
    if opts
        .exempt_principals
        .iter()
        .any(|p| arn_matches(p, principal))
    {
        return Some(Exclusion::Exempt);
    }
    None
}

/// The route of a data event (not excluded).
pub(crate) fn route_of(opts: &UsageOptions, r: &Record<'_>) -> Route {
    match r.vpc_endpoint_id.as_deref().filter(|s| !s.is_empty()) {
        None => Route::Public,
        Some(id) => {
            let owner_ok = r
                .vpc_endpoint_account_id
                .as_deref()
                .is_some_and(|a| opts.approved_owners.contains(a));
            if opts.approved_vpces.contains(id) || owner_ok {
                Route::Approved
            } else {
                Route::OtherEndpoint
            }
        }
    }
}

/// Refused by a policy (the bucket's, an SCP or RCP, the endpoint's).
fn is_denied(r: &Record<'_>) -> bool {
    matches!(
        r.error_code.as_deref(),
        Some("AccessDenied") | Some("VpceAccessDenied") | Some("AllAccessDisabled")
    )
}
