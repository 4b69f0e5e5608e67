//! The bucket rules (`AWS::S3::Bucket`) that read the bucket policy, decided by searching the
//! request-context space of the policy (see docs/ENGINE.md).

use std::cell::RefCell;

use crate::facts::{AccountFacts, BucketObservation, Fact};
use crate::policy::layers::effective;
use crate::policy::model::PolicyDocument;
use crate::policy::space::{Scope, Space};

use super::admission::{asked, every, Admission, EndpointAdmission};
use super::guard::GuardKind;
pub(crate) use super::guard::{config_service_linked_role, guard_list};
use super::params::Partition;
pub(crate) use super::questions::writer_denied;
use super::questions::{sigv4_status, Questions};
pub use super::region::{region_view, RegionView};
pub(crate) use super::settings::{acls_disabled_finding, public_access_block_finding};
use super::{BucketParams, Evaluation, Finding, RuleId, Status};

/// What is known of a bucket's policy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PolicyState<'a> {
    /// The bucket has no policy (`NoSuchBucketPolicy`).
    Missing,
    /// The policy could not be read; the text says which call failed and why.
    Unreadable(&'a str),
    /// The policy text is not a valid policy document.
    Invalid(&'a str),
    Present(&'a PolicyDocument),
}

/// What account mode knows besides the bucket: its region's S3 gateway endpoints, or why they
/// could not be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountMode<'a> {
    pub(crate) view: &'a RegionView,
    /// The region's endpoints could not be read: `S3-VPCE-REACHABLE` FAILs with this reason.
    pub(crate) network_error: Option<&'a str>,
    /// Where to put which of the view's endpoints the policy admits (a sweep's network
    /// section), asked of the same policy space as the rules; `None`: not asked.
    pub(crate) admission: Option<&'a RefCell<Vec<EndpointAdmission>>>,
}

/// The findings of the bucket rules, in catalog order, each computed once, with
/// `S3-PUBLIC-ACCESS-BLOCK` and `S3-ACLS-DISABLED` supplied by the caller (they need account
/// facts). Disabled rules are `NOT_APPLICABLE` and not evaluated.
pub(crate) fn bucket_findings(
    bucket: &str,
    policy: PolicyState<'_>,
    params: &BucketParams,
    account: Option<AccountMode<'_>>,
    now: f64,
    public_access_block: Finding,
    acls_disabled: Finding,
) -> Vec<Finding> {
    let p = policy_findings(bucket, policy, params, account, now);
    RuleId::BUCKET
        .into_iter()
        .map(|rule| {
            let f = match rule {
                RuleId::S3VpceDeny => &p.vpce_deny,
                RuleId::S3VpceKnown => &p.vpce_known,
                RuleId::S3VpceReachable => &p.reachable,
                RuleId::S3Tls => &p.tls,
                RuleId::S3SigV4 => &p.sigv4,
                RuleId::S3TlsVersion => &p.tls_version,
                RuleId::S3NoPublicGrant => &p.public_grant,
                RuleId::S3PublicAccessBlock => &public_access_block,
                RuleId::S3AclsDisabled => &acls_disabled,
                RuleId::S3GuardAccess => &p.guard_access,
                // Network rules are not bucket rules (never in RuleId::BUCKET).
                RuleId::NetS3Gateway
                | RuleId::NetEndpointPolicy
                | RuleId::NetRoutes
                | RuleId::NetDns
                | RuleId::NetSgEgress => return Finding::disabled(rule),
            };
            if params.is_disabled(rule) {
                Finding::disabled(rule)
            } else {
                match &params.rcp_unreadable {
                    Some(why) => unread_rcps(f.clone(), why),
                    None => f.clone(),
                }
            }
        })
        .collect()
}

/// A finding when the organization-policy source could not be read (RULES.md, "The
/// organization layer"). RCPs only add denies, so the deny rules' verdicts on the bucket policy
/// alone can only err towards FAIL, and their reasons say so. `S3-VPCE-REACHABLE` and
/// `S3-GUARD-ACCESS` cannot be confirmed: an unread RCP could deny those requests.
fn unread_rcps(mut f: Finding, why: &str) -> Finding {
    let note = format!("the organization's RCPs could not be read ({why})");
    match f.rule {
        RuleId::S3VpceReachable | RuleId::S3GuardAccess => {
            if f.status == Status::Pass {
                f.status = Status::Warn;
                f.reason = format!(
                    "not confirmed: {}; {note}, and one could deny them",
                    f.reason
                );
            } else {
                f.reason = format!("{}; {note}", f.reason);
            }
        }
        RuleId::S3VpceDeny
        | RuleId::S3VpceKnown
        | RuleId::S3Tls
        | RuleId::S3SigV4
        | RuleId::S3TlsVersion
        | RuleId::S3NoPublicGrant => {
            if f.status != Status::NotApplicable {
                f.reason = format!("{}; judged on the bucket policy alone: {note}", f.reason);
            }
        }
        RuleId::S3PublicAccessBlock
        | RuleId::S3AclsDisabled
        | RuleId::NetS3Gateway
        | RuleId::NetEndpointPolicy
        | RuleId::NetRoutes
        | RuleId::NetDns
        | RuleId::NetSgEgress => {}
    }
    f
}

/// The bucket rules for one policy text (`None`: no policy) as account mode judges it, with
/// the region's available approved endpoints known: what remediation asks before and after a
/// merge. Block Public Access and Object Ownership are not policy settings: `NOT_APPLICABLE`.
/// `Err` when the text is not a valid policy.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn check_policy_in_account(
    bucket: &str,
    region: &str,
    policy: Option<&str>,
    params: &BucketParams,
    available_endpoints: &[String],
    now: f64,
) -> Result<Vec<Finding>, String> {
    let parsed;
    let state = match policy {
        None => PolicyState::Missing,
        Some(text) => {
            parsed = PolicyDocument::parse(text).map_err(|e| e.to_string())?;
            PolicyState::Present(&parsed)
        }
    };
    let view = RegionView {
        region: region.to_string(),
        endpoints: Vec::new(),
        available: available_endpoints.to_vec(),
        ipv6: Vec::new(),
        owners: Vec::new(),
    };
    let na = |r| Finding::new(r, Status::NotApplicable, "not a bucket policy setting");
    Ok(bucket_findings(
        bucket,
        state,
        params,
        Some(AccountMode {
            view: &view,
            network_error: None,
            admission: None,
        }),
        now,
        na(RuleId::S3PublicAccessBlock),
        na(RuleId::S3AclsDisabled),
    ))
}

/// The eight findings that read the bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyFindings {
    pub(crate) vpce_deny: Finding,
    pub(crate) vpce_known: Finding,
    pub(crate) reachable: Finding,
    pub(crate) tls: Finding,
    pub(crate) sigv4: Finding,
    pub(crate) tls_version: Finding,
    pub(crate) public_grant: Finding,
    pub(crate) guard_access: Finding,
}

impl PolicyFindings {
    /// Each policy rule's finding from one function of its id.
    fn from_fn(mut f: impl FnMut(RuleId) -> Finding) -> PolicyFindings {
        PolicyFindings {
            vpce_deny: f(RuleId::S3VpceDeny),
            vpce_known: f(RuleId::S3VpceKnown),
            reachable: f(RuleId::S3VpceReachable),
            tls: f(RuleId::S3Tls),
            sigv4: f(RuleId::S3SigV4),
            tls_version: f(RuleId::S3TlsVersion),
            public_grant: f(RuleId::S3NoPublicGrant),
            guard_access: f(RuleId::S3GuardAccess),
        }
    }
}

/// `vpce-guard check-policy`: the policy alone; rules that need account facts are
/// `NOT_APPLICABLE`.
pub fn check_policy(
    bucket: &str,
    doc: &PolicyDocument,
    params: &BucketParams,
    now: f64,
) -> Evaluation {
    policy_alone(bucket, PolicyState::Present(doc), params, now)
}

/// The bucket rules on a policy without account facts (`check-policy`, `check-iac`).
fn policy_alone(
    bucket: &str,
    state: PolicyState<'_>,
    params: &BucketParams,
    now: f64,
) -> Evaluation {
    let na = |r| {
        Finding::new(
            r,
            Status::NotApplicable,
            "needs account facts; not checked by check-policy",
        )
    };
    let findings = bucket_findings(
        bucket,
        state,
        params,
        None,
        now,
        na(RuleId::S3PublicAccessBlock),
        na(RuleId::S3AclsDisabled),
    );
    Evaluation::new(bucket, findings)
}

/// `check-policy` of a policy some of whose values a template leaves unresolved (`vpce-guard
/// check-iac`). `Ok(readings)`: the same policy under each reading of its unresolved values;
/// every rule takes its worst verdict over the readings, and a rule whose verdict differs says
/// it depends on them (fail closed exactly where they change the verdict). `Err(why)`: the
/// policy cannot be known at all, and every policy rule FAILs with the reason.
pub fn check_policy_readings(
    bucket: &str,
    readings: Result<&[PolicyDocument], &str>,
    params: &BucketParams,
    now: f64,
) -> Evaluation {
    let docs = match readings {
        Err(why) => return policy_alone(bucket, PolicyState::Invalid(why), params, now),
        Ok(docs) => docs,
    };
    let mut evals = docs.iter().map(|d| check_policy(bucket, d, params, now));
    let Some(first) = evals.next() else {
        return check_policy_readings(bucket, Err("no reading of the policy"), params, now);
    };
    let rank = |s: Status| match s {
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Pass => 1,
        Status::NotApplicable => 0,
    };
    let mut findings = first.findings;
    for other in evals {
        for (f, o) in findings.iter_mut().zip(other.findings) {
            if f.status != o.status {
                let worst = if rank(o.status) > rank(f.status) {
                    o
                } else {
                    f.clone()
                };
                *f = worst;
                if !f.reason.ends_with(UNRESOLVED_NOTE) {
                    f.reason.push_str(UNRESOLVED_NOTE);
                }
            }
        }
    }
    Evaluation::new(bucket, findings)
}

/// What a rule whose verdict depends on unresolved template values says.
const UNRESOLVED_NOTE: &str =
    " (the verdict depends on a value the template leaves unresolved: judged at its worst)";

/// The eight policy rules. Disabled rules are not evaluated.
pub(crate) fn policy_findings(
    bucket: &str,
    policy: PolicyState<'_>,
    params: &BucketParams,
    account: Option<AccountMode<'_>>,
    now: f64,
) -> PolicyFindings {
    let layered;
    let doc = match policy {
        PolicyState::Present(doc) if params.rcps.is_empty() => doc,
        // The organization layer: the bucket policy and the RCPs together.
        PolicyState::Present(doc) => {
            layered = effective(Some(doc), &params.rcps);
            &layered
        }
        PolicyState::Missing if params.rcps.is_empty() => {
            admit(account, |v| every(v, Admission::Admits, None));
            return PolicyFindings::from_fn(|r| no_policy(r, params));
        }
        PolicyState::Missing => {
            layered = effective(None, &params.rcps);
            &layered
        }
        PolicyState::Unreadable(why) | PolicyState::Invalid(why) => {
            admit(account, |v| every(v, Admission::Unknown, Some(why)));
            return PolicyFindings::from_fn(|r| all_fail(r, params, why));
        }
    };
    let view = account.map(|a| a.view);
    let (scope, guards, exempt) = rule_scope(bucket, doc, params, view, now);
    let space = match Space::new(doc, &scope) {
        Ok(s) => s,
        Err(e) => {
            let why = format!("cannot evaluate the policy: {}", e.0);
            admit(account, |v| every(v, Admission::Unknown, Some(&why)));
            return PolicyFindings::from_fn(|r| all_fail(r, params, &why));
        }
    };
    let q = Questions {
        space: &space,
        params,
        view,
        exempt: &exempt,
        guards: &guards,
    };
    admit(account, |v| asked(&q, v));
    PolicyFindings::from_fn(|rule| {
        if params.is_disabled(rule) {
            return Finding::disabled(rule);
        }
        match rule {
            RuleId::S3VpceDeny => q.vpce_deny(false),
            RuleId::S3VpceKnown => q.vpce_deny(true),
            RuleId::S3VpceReachable => match account.and_then(|a| a.network_error) {
                Some(why) => Finding::new(
                    rule,
                    Status::Fail,
                    format!("cannot read the network of {}: {why}", scope_region(view)),
                ),
                None => q.reachable(),
            },
            RuleId::S3Tls => q.tls(),
            RuleId::S3SigV4 => q.sigv4(),
            RuleId::S3TlsVersion => q.tls_version(),
            RuleId::S3NoPublicGrant => q.public_grant(),
            RuleId::S3GuardAccess => q.guard_access(),
            // Account settings, judged by the caller from account facts.
            RuleId::S3PublicAccessBlock | RuleId::S3AclsDisabled => Finding::new(
                rule,
                Status::NotApplicable,
                "not a policy setting: judged from the account's facts",
            ),
            RuleId::NetS3Gateway
            | RuleId::NetEndpointPolicy
            | RuleId::NetRoutes
            | RuleId::NetDns
            | RuleId::NetSgEgress => Finding::disabled(rule),
        }
    })
}

/// The request-context scope the bucket rules search, with the guard's principals and the
/// principals the rules accept as exemptions.
fn rule_scope(
    bucket: &str,
    doc: &PolicyDocument,
    params: &BucketParams,
    view: Option<&RegionView>,
    now: f64,
) -> (Scope, Vec<(String, GuardKind)>, Vec<String>) {
    // The principals the rules name: configured exemptions, the guard's, and Config's
    // recorder role. The engine enumerates them; the rules say what each one is.
    let mut scope = Scope {
        partition: params.partition,
        approved_vpce: params.approved_vpce.clone(),
        approved_vpc: params.approved_vpc.clone(),
        require_tls_version: params.require_tls_version,
        account_endpoints: view.map(|v| v.endpoints.clone()).unwrap_or_default(),
        region: view.map(|v| v.region.clone()),
        ipv6_endpoints: view.map(|v| v.ipv6.clone()).unwrap_or_default(),
        vpce_account: params.approved_vpce_account.clone(),
        org_id: params.org_id.clone(),
        org_path: params.org_path.clone(),
        endpoint_scope: params.approved_endpoint_scope,
        ..Scope::new(bucket, params.account_id.clone(), now)
    };
    for p in &params.exempt_principals {
        scope
            .configured_principals
            .push((p.clone(), format!("exempt principal {p}")));
    }
    // Config's default role lives in the bucket's account (a fresh id when unknown).
    let owner = match &params.account_id {
        Some(a) => a.clone(),
        None => Space::account_for(doc, &scope),
    };
    let config_role = params
        .config_role
        .clone()
        .unwrap_or_else(|| config_service_linked_role(params.partition, &owner));
    let guards = guard_list(params, config_role);
    for (g, kind) in &guards {
        scope
            .configured_principals
            .push((g.clone(), format!("{} {g}", kind.label())));
    }
    scope.account_id = Some(owner);
    let mut exempt: Vec<String> = params.exempt_principals.clone();
    for (g, _) in &guards {
        if !exempt.contains(g) {
            exempt.push(g.clone());
        }
    }
    (scope, guards, exempt)
}

/// Fill the account mode's admission, when asked, from its view.
fn admit(account: Option<AccountMode<'_>>, f: impl FnOnce(&RegionView) -> Vec<EndpointAdmission>) {
    if let Some(AccountMode {
        view,
        admission: Some(cell),
        ..
    }) = account
    {
        *cell.borrow_mut() = f(view);
    }
}

fn scope_region(view: Option<&RegionView>) -> &str {
    view.map(|v| v.region.as_str()).unwrap_or("the region")
}

fn no_policy(r: RuleId, params: &BucketParams) -> Finding {
    match r {
        RuleId::S3VpceDeny => Finding::new(
            r,
            Status::Fail,
            "no bucket policy: nothing denies requests from outside the approved endpoints",
        ),
        RuleId::S3Tls => Finding::new(
            r,
            Status::Fail,
            "no bucket policy: plain-HTTP requests are not denied",
        ),
        RuleId::S3SigV4 => Finding::new(
            r,
            sigv4_status(params),
            "no bucket policy: SigV2 and unsigned requests are not denied",
        ),
        RuleId::S3TlsVersion => match params.require_tls_version {
            Some(v) => Finding::new(
                r,
                Status::Fail,
                format!("no bucket policy: requests over TLS below {v} are not denied"),
            ),
            None => Finding::new(r, Status::NotApplicable, "RequireTlsVersion is not set"),
        },
        RuleId::S3VpceKnown
        | RuleId::S3VpceReachable
        | RuleId::S3NoPublicGrant
        | RuleId::S3PublicAccessBlock
        | RuleId::S3AclsDisabled
        | RuleId::S3GuardAccess => Finding::new(r, Status::Pass, "no bucket policy"),
        RuleId::NetS3Gateway
        | RuleId::NetEndpointPolicy
        | RuleId::NetRoutes
        | RuleId::NetDns
        | RuleId::NetSgEgress => Finding::disabled(r),
    }
}

fn all_fail(r: RuleId, params: &BucketParams, why: &str) -> Finding {
    if r == RuleId::S3TlsVersion && params.require_tls_version.is_none() {
        Finding::new(r, Status::NotApplicable, "RequireTlsVersion is not set")
    } else {
        Finding::new(r, Status::Fail, why)
    }
}

/// Account mode's parameters for a bucket of `region`: the owner from the account facts, the
/// partition from the region, the approved endpoints (default: every available S3 endpoint of
/// the region) and their owner; and the region view (empty when the network is unknown).
fn account_params(
    params: &BucketParams,
    account: &AccountFacts,
    region: &str,
    net: Result<&RegionView, &str>,
) -> (BucketParams, RegionView) {
    let mut params = params.clone();
    if params.account_id.is_none() {
        params.account_id = account.account_id.clone();
    }
    params.partition = Partition::of_region(region);
    let view = match net {
        Ok(v) => {
            if params.approved_vpce.is_empty() {
                params.approved_vpce = v.available.clone();
            }
            // Account mode takes the approved endpoints' owner from `OwnerId` (a shared VPC's
            // network account), when they all have the same one.
            if params.approved_vpce_account.is_none() {
                let mut owners: Vec<&String> = v
                    .owners
                    .iter()
                    .filter(|(e, _)| params.approved_vpce.contains(e))
                    .map(|(_, o)| o)
                    .collect();
                owners.sort();
                owners.dedup();
                if let [one] = owners.as_slice() {
                    params.approved_vpce_account = Some((*one).clone());
                }
            }
            v.clone()
        }
        // Without the network, no endpoint is known to carry requests (fail closed).
        Err(_) => RegionView {
            region: region.to_string(),
            ..RegionView::default()
        },
    };
    (params, view)
}

/// Evaluate one bucket in account mode: its facts, the account's, and its region's S3
/// endpoints (`Err`: they could not be read, and `S3-VPCE-REACHABLE` FAILs with that reason).
/// Default approved endpoints: every available S3 gateway endpoint of the region.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn evaluate_bucket(
    obs: &BucketObservation,
    account: &AccountFacts,
    net: Result<&RegionView, &str>,
    params: &BucketParams,
    now: f64,
) -> Evaluation {
    evaluate(obs, account, net, params, now, None)
}

/// [`evaluate_bucket`], and which of the region's S3 endpoints the bucket's policy admits
/// (a sweep's network section), asked of the same policy space. A deleted bucket, or a region
/// whose network is unknown, admits nothing known (empty).
pub(crate) fn evaluate_bucket_admitting(
    obs: &BucketObservation,
    account: &AccountFacts,
    net: Result<&RegionView, &str>,
    params: &BucketParams,
    now: f64,
) -> (Evaluation, Vec<EndpointAdmission>) {
    let cell = RefCell::new(Vec::new());
    let e = evaluate(obs, account, net, params, now, net.is_ok().then_some(&cell));
    (e, cell.into_inner())
}

fn evaluate(
    obs: &BucketObservation,
    account: &AccountFacts,
    net: Result<&RegionView, &str>,
    params: &BucketParams,
    now: f64,
    admission: Option<&RefCell<Vec<EndpointAdmission>>>,
) -> Evaluation {
    let facts = match obs {
        BucketObservation::Exists(f) => f,
        BucketObservation::Deleted { name, .. } => {
            return Evaluation::not_applicable(
                name.clone(),
                &RuleId::BUCKET,
                "the bucket no longer exists",
            );
        }
    };
    let (params, view) = account_params(params, account, &facts.region, net);
    let parsed;
    let invalid;
    let state = match &facts.policy {
        Fact::NotConfigured => PolicyState::Missing,
        Fact::Unreadable(why) => PolicyState::Unreadable(why),
        Fact::Known(text) => match PolicyDocument::parse(text) {
            Ok(d) => {
                parsed = d;
                PolicyState::Present(&parsed)
            }
            Err(e) => {
                invalid = format!("the bucket policy cannot be parsed: {e}");
                PolicyState::Invalid(&invalid)
            }
        },
    };
    let account_mode = AccountMode {
        view: &view,
        network_error: net.err(),
        admission,
    };
    let findings = bucket_findings(
        &facts.name,
        state,
        &params,
        Some(account_mode),
        now,
        public_access_block_finding(&facts.public_access_block, &account.public_access_block),
        acls_disabled_finding(&facts.ownership),
    );
    Evaluation::new(facts.name.clone(), findings)
}
