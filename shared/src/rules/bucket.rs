//! The bucket rules (`AWS::S3::Bucket`) that read the bucket policy, decided by searching the
//! request-context space of the policy (see docs/ENGINE.md).

use crate::facts::{
    AccountFacts, BucketObservation, Endpoint, Fact, NetworkFacts, ObjectOwnership,
    PublicAccessBlock,
};
use crate::policy::context::{Caller, Signature};
use crate::policy::date::format_date;
use crate::policy::glob;
use crate::policy::model::PolicyDocument;
use crate::policy::space::{
    Coverage, OriginView, PrincipalClass, PrincipalView, Question, Reach, Scope, Space, Transport,
    Witness,
};
use crate::policy::values::TlsVersion;

use super::guard::GuardKind;
use super::params::Partition;
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

/// The account's S3 endpoints (gateway and interface) in the bucket's region (account mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionView {
    pub region: String,
    /// Every S3 endpoint of the account in the region, gateway or interface, with its VPC.
    pub endpoints: Vec<(String, String)>,
    /// Those that are `available`: the only ones a request can go through.
    pub available: Vec<String>,
}

/// What account mode knows besides the bucket: its region's S3 gateway endpoints, or why they
/// could not be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountMode<'a> {
    pub view: &'a RegionView,
    /// The region's endpoints could not be read: `S3-VPCE-REACHABLE` FAILs with this reason.
    pub network_error: Option<&'a str>,
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
                f.clone()
            }
        })
        .collect()
}

/// The bucket rules for one policy text (`None`: no policy) as account mode judges it, with
/// the region's available approved endpoints known: what remediation asks before and after a
/// merge. Block Public Access and Object Ownership are not policy settings: `NOT_APPLICABLE`.
/// `Err` when the text is not a valid policy.
pub fn check_policy_in_account(
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
    };
    let na = |r| Finding::new(r, Status::NotApplicable, "not a bucket policy setting");
    Ok(bucket_findings(
        bucket,
        state,
        params,
        Some(AccountMode {
            view: &view,
            network_error: None,
        }),
        now,
        na(RuleId::S3PublicAccessBlock),
        na(RuleId::S3AclsDisabled),
    ))
}

/// The eight findings that read the bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyFindings {
    pub vpce_deny: Finding,
    pub vpce_known: Finding,
    pub reachable: Finding,
    pub tls: Finding,
    pub sigv4: Finding,
    pub tls_version: Finding,
    pub public_grant: Finding,
    pub guard_access: Finding,
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
    let na = |r| {
        Finding::new(
            r,
            Status::NotApplicable,
            "needs account facts; not checked by check-policy",
        )
    };
    let findings = bucket_findings(
        bucket,
        PolicyState::Present(doc),
        params,
        None,
        now,
        na(RuleId::S3PublicAccessBlock),
        na(RuleId::S3AclsDisabled),
    );
    Evaluation::new(bucket, findings)
}

/// The eight policy rules. Disabled rules are not evaluated.
pub(crate) fn policy_findings(
    bucket: &str,
    policy: PolicyState<'_>,
    params: &BucketParams,
    account: Option<AccountMode<'_>>,
    now: f64,
) -> PolicyFindings {
    let doc = match policy {
        PolicyState::Present(doc) => doc,
        PolicyState::Missing => return PolicyFindings::from_fn(|r| no_policy(r, params)),
        PolicyState::Unreadable(why) | PolicyState::Invalid(why) => {
            return PolicyFindings::from_fn(|r| all_fail(r, params, why));
        }
    };
    let view = account.map(|a| a.view);
    // The principals the rules name: configured exemptions, the guard's, and Config's
    // recorder role. The engine enumerates them; the rules say what each one is.
    let mut scope = Scope {
        partition: params.partition,
        approved_vpce: params.approved_vpce.clone(),
        approved_vpc: params.approved_vpc.clone(),
        require_tls_version: params.require_tls_version,
        account_endpoints: view.map(|v| v.endpoints.clone()).unwrap_or_default(),
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
    let space = match Space::new(doc, &scope) {
        Ok(s) => s,
        Err(e) => {
            let why = format!("cannot evaluate the policy: {}", e.0);
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

fn sigv4_status(params: &BucketParams) -> Status {
    if params.require_sigv4 {
        Status::Fail
    } else {
        Status::Warn
    }
}

struct Questions<'a> {
    space: &'a Space,
    params: &'a BucketParams,
    view: Option<&'a RegionView>,
    /// Principals the rules accept as exemptions: configured ones, the guard's, Config's.
    exempt: &'a [String],
    /// The guard's principals and AWS Config's recorder role, checked by `S3-GUARD-ACCESS`,
    /// each with its kind (which says the actions it calls).
    guards: &'a [(String, GuardKind)],
}

/// The principals `S3-GUARD-ACCESS` asks about, with the actions each calls: AWS Config's
/// recorder, the guard's principals, and the remediator's (which are guard principals too: a
/// principal in both lists is judged as the remediator, whose actions include the guard's).
pub(crate) fn guard_list(params: &BucketParams, config_role: String) -> Vec<(String, GuardKind)> {
    let mut guards: Vec<(String, GuardKind)> = vec![(config_role, GuardKind::ConfigRecorder)];
    let mut add = |arn: &String, kind: GuardKind| match guards.iter_mut().find(|(g, _)| g == arn) {
        Some(entry) if kind == GuardKind::Remediator => entry.1 = kind,
        Some(_) => {}
        None => guards.push((arn.clone(), kind)),
    };
    for g in &params.guard_principals {
        add(g, GuardKind::Guard);
    }
    for g in &params.remediator_principals {
        add(g, GuardKind::Remediator);
    }
    guards
}

/// AWS Config's service-linked recorder role in `account`.
pub(crate) fn config_service_linked_role(partition: Partition, account: &str) -> String {
    format!(
        "arn:{partition}:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
}

impl Questions<'_> {
    fn gap_reason(&self, w: &Witness<'_>) -> String {
        let mut r = format!("not denied: {}", w.describe());
        match w.closest_deny() {
            Some(why) => {
                r.push_str("; ");
                r.push_str(&why);
            }
            None => r.push_str("; the policy has no Deny statement"),
        }
        r
    }

    /// Label of an allowed exemption, if the principal is one.
    fn allowed_exemption(&self, p: &PrincipalView<'_>) -> Option<String> {
        // Configuration wins: a configured pattern names the exemption even for a request
        // that also comes via a service.
        if let Some(arn) = p.caller().principal_arn() {
            if let Some(pattern) = self.exempt.iter().find(|x| glob::arn_matches(x, &arn)) {
                return Some(pattern.clone());
            }
        }
        if matches!(p.caller(), Caller::Service { .. }) {
            return Some("AWS service principals".into());
        }
        if p.via_service() || *p.class == PrincipalClass::ViaService {
            return Some("requests via AWS services".into());
        }
        None
    }

    /// The PASS reason of a deny question, with the date it holds until, if one.
    fn pass_until(&self, q: &Question<'_>, reason: String) -> String {
        match self.space.denied_until(q) {
            Some(at) => format!(
                "{reason} until {} (a date in the policy limits the deny)",
                format_date(at)
            ),
            None => reason,
        }
    }

    fn coverage_finding(
        &self,
        rule: RuleId,
        q: &Question<'_>,
        fail: Status,
        what: &str,
    ) -> Finding {
        match self.space.is_denied(q) {
            Coverage::Denied => Finding::new(
                rule,
                Status::Pass,
                self.pass_until(q, format!("every {what} is denied")),
            ),
            Coverage::Gap(w) => Finding::new(rule, fail, self.gap_reason(&w)),
            Coverage::Undecided(r) => Finding::new(
                rule,
                Status::Fail,
                format!("cannot evaluate: {}", r.join("; ")),
            ),
        }
    }

    fn vpce_deny(&self, endpoints_only: bool) -> Finding {
        let rule = if endpoints_only {
            RuleId::S3VpceKnown
        } else {
            RuleId::S3VpceDeny
        };
        let s = self.space;
        let origin = move |o: &OriginView<'_>| !o.approved && (!o.is_public() || !endpoints_only);
        // Exemptions that take effect, by label, in the order principals are enumerated.
        let exemptions = s.escaping_principals(&Question::all().origins(origin), |p| {
            self.allowed_exemption(p)
        });
        let q = Question::all()
            .origins(origin)
            .principals(|p| self.allowed_exemption(p).is_none());
        let scope_text = if endpoints_only {
            "every request through a non-approved endpoint"
        } else {
            "every request from outside the approved endpoints"
        };
        let mut f = match s.is_denied(&q) {
            Coverage::Gap(w) => Finding::new(rule, Status::Fail, self.gap_reason(&w)),
            Coverage::Undecided(r) => Finding::new(
                rule,
                Status::Fail,
                format!("cannot evaluate: {}", r.join("; ")),
            ),
            Coverage::Denied => {
                let mut reason = format!("{scope_text} is denied");
                if !exemptions.is_empty() {
                    reason.push_str(&format!(" (allowed exemptions: {})", exemptions.join(", ")));
                }
                Finding::new(rule, Status::Pass, self.pass_until(&q, reason))
            }
        };
        f.exemptions = exemptions;
        f
    }

    fn reachable(&self) -> Finding {
        let rule = RuleId::S3VpceReachable;
        let s = self.space;
        let approved = |o: &OriginView<'_>| o.approved && o.plausible;
        // In account mode only available endpoints of the bucket's own region carry requests.
        let usable = |o: &OriginView<'_>| match self.view {
            None => true,
            Some(view) => o
                .endpoint
                .is_some_and(|e| view.available.iter().any(|a| a == e)),
        };
        if !s.has_origin(|o| o.approved) {
            let why = match self.view {
                Some(view) => format!(
                    "no approved, available S3 gateway or interface endpoint in {} (S3 endpoints serve only their own region): the bucket cannot be reached privately",
                    view.region
                ),
                None => "no approved S3 gateway or interface endpoint or VPC: the bucket cannot be reached privately".to_string(),
            };
            return Finding::new(rule, Status::Fail, why);
        }
        if let Some(view) = self.view {
            if !s.has_origin(|o| o.approved && usable(o)) {
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!(
                        "no approved, available S3 gateway or interface endpoint in {} (S3 endpoints serve only their own region): the bucket is locked for everyone but the root user",
                        view.region
                    ),
                );
            }
        }
        let account = s.account().to_string();
        let mut maybe: Vec<String> = Vec::new();
        for action in ["s3:GetObject", "s3:PutObject"] {
            // Any role session of the bucket's account (the probe role, roles the policy or the
            // configuration names), signed with SigV4, not via a service, over TLS, through an
            // approved endpoint.
            let q = Question::all()
                .actions(move |a| a.object && a.includes(action))
                .principals(|p| {
                    p.signature() == Signature::SigV4
                        && !p.via_service()
                        && !self.guards.iter().any(|(g, _)| matches!(p.class, PrincipalClass::Configured(c) if c == g))
                        && matches!(p.caller(), Caller::RoleSession { account: a, .. } if *a == account)
                })
                .origins(|o| approved(o) && usable(o))
                .transports(|t| matches!(t, Transport::Tls(_)));
            match s.reach(&q) {
                Reach::Open => continue,
                Reach::MaybeDenied { witness, add } => {
                    maybe.push(format!(
                        "{action} may be denied (e.g. {}): a NotPrincipal deny lists only part of the caller's chain; add {}",
                        witness.describe(),
                        add.join(", ")
                    ));
                }
                Reach::Undecided(reasons) => {
                    return Finding::new(
                        rule,
                        Status::Fail,
                        format!(
                            "cannot evaluate {action} through the approved endpoints: {reasons}"
                        ),
                    )
                }
                Reach::Denied(w) => {
                    let by = w.denied_by();
                    return Finding::new(
                        rule,
                        Status::Fail,
                        format!(
                            "{action} by a same-account role session through the approved endpoints is denied (e.g. {}{}); the bucket is locked for everyone but the root user",
                            w.describe(),
                            if by.is_empty() { String::new() } else { format!(", by statement {}", by.join(", ")) }
                        ),
                    );
                }
            }
        }
        if !maybe.is_empty() {
            return Finding::new(rule, Status::Warn, maybe.join("; "));
        }
        Finding::new(
            rule,
            Status::Pass,
            "a same-account role session can get and put objects through an approved endpoint",
        )
    }

    fn tls(&self) -> Finding {
        self.coverage_finding(
            RuleId::S3Tls,
            &Question::all().transports(|t| t == Transport::PlainHttp),
            Status::Fail,
            "plain-HTTP request (aws:SecureTransport false)",
        )
    }

    fn sigv4(&self) -> Finding {
        self.coverage_finding(
            RuleId::S3SigV4,
            &Question::all().principals(|p| p.signature() != Signature::SigV4),
            sigv4_status(self.params),
            "SigV2 and unsigned request",
        )
    }

    fn tls_version(&self) -> Finding {
        let rule = RuleId::S3TlsVersion;
        let Some(min) = self.params.require_tls_version else {
            return Finding::new(
                rule,
                Status::NotApplicable,
                "RequireTlsVersion is not set (S3 itself refuses TLS below 1.2)",
            );
        };
        if min == TlsVersion::V1_0 {
            return Finding::new(
                rule,
                Status::Pass,
                format!("no TLS version below {min} exists"),
            );
        }
        self.coverage_finding(
            rule,
            &Question::all().transports(move |t| matches!(t, Transport::Tls(v) if v < min)),
            Status::Fail,
            &format!("request over TLS below {min}"),
        )
    }

    fn public_grant(&self) -> Finding {
        let rule = RuleId::S3NoPublicGrant;
        let q = Question::all().origins(|o| !o.approved);
        match self.space.public_grant(&q) {
            Some((label, negated, w)) => {
                let who = if negated {
                    "everyone not listed in `NotPrincipal`"
                } else {
                    "everyone (`*`)"
                };
                Finding::new(
                    rule,
                    Status::Fail,
                    format!(
                        "statement {label} allows {who} without limiting it to approved endpoints or VPCs, e.g. {}",
                        w.describe()
                    ),
                )
            }
            None => Finding::new(
                rule,
                Status::Pass,
                "no Allow statement grants everyone access from outside the approved endpoints",
            ),
        }
    }

    fn guard_access(&self) -> Finding {
        let rule = RuleId::S3GuardAccess;
        let mut blocked: Vec<String> = Vec::new();
        let mut maybe: Vec<String> = Vec::new();
        for (g, kind) in self.guards {
            match outside_access(self.space, g, &kind.checked_actions()) {
                Access::Open => {}
                Access::Maybe(m) => maybe.push(m),
                Access::Blocked(b) => blocked.push(b),
                Access::Undecided(why) => return Finding::new(rule, Status::Fail, why),
            }
        }
        if blocked.is_empty() && maybe.is_empty() {
            return Finding::new(rule, Status::Pass, "the guard's principals and AWS Config's recorder can read the bucket's configuration");
        }
        let mut parts = Vec::new();
        if !blocked.is_empty() {
            parts.push(format!(
                "denied from outside the VPC, so the guard or AWS Config cannot read the bucket's configuration: {}; exempt them (e.g. ArnNotLike aws:PrincipalArn) or run the guard inside the VPC",
                blocked.join(", ")
            ));
        }
        if !maybe.is_empty() {
            parts.push(format!(
                "possibly denied from outside the VPC: a NotPrincipal deny lists only part of the chain of {}",
                maybe.join(", ")
            ));
        }
        Finding::new(rule, Status::Warn, parts.join("; "))
    }
}

/// How a configured principal fares from outside the VPC (where the guard's functions and
/// Config run), signed with SigV4 over TLS.
enum Access {
    Open,
    /// `principal (action; add ARNs)`: a NotPrincipal deny names part of its chain.
    Maybe(String),
    /// `principal (action)`: denied.
    Blocked(String),
    Undecided(String),
}

fn outside_access(space: &Space, principal: &str, actions: &[&'static str]) -> Access {
    for &action in actions {
        let q = Question::all()
            .actions(move |a| !a.object && a.includes(action))
            .principals(|p| {
                matches!(p.class, PrincipalClass::Configured(c) if c == principal)
                    && p.signature() == Signature::SigV4
            })
            .origins(|o| o.is_public())
            .transports(|t| matches!(t, Transport::Tls(_)));
        match space.reach(&q) {
            Reach::Open => {}
            Reach::MaybeDenied { add, .. } => {
                return Access::Maybe(format!("{principal} ({action}; add {})", add.join(", ")))
            }
            Reach::Undecided(reasons) => {
                return Access::Undecided(format!(
                    "cannot evaluate {action} by {principal} from outside the VPC: {reasons}"
                ))
            }
            Reach::Denied(_) => return Access::Blocked(format!("{principal} ({action})")),
        }
    }
    Access::Open
}

/// What whoever writes a bucket policy must keep doing from outside the VPC: read it back,
/// and write or delete it again (verification, restore, rollback).
pub(crate) const WRITER_ACTIONS: [&str; 3] = [
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
];

/// Would `policy` deny `writer` (an `aws:PrincipalArn`) one of [`WRITER_ACTIONS`] from outside
/// the VPC? `Ok(None)`: no; `Ok(Some(why))`: yes or possibly; `Err`: the policy cannot be
/// evaluated.
pub(crate) fn writer_denied(
    bucket: &str,
    policy: &str,
    params: &BucketParams,
    writer: &str,
    now: f64,
) -> Result<Option<String>, String> {
    let doc = PolicyDocument::parse(policy).map_err(|e| e.to_string())?;
    let mut scope = Scope {
        partition: params.partition,
        approved_vpce: params.approved_vpce.clone(),
        approved_vpc: params.approved_vpc.clone(),
        ..Scope::new(bucket, params.account_id.clone(), now)
    };
    scope
        .configured_principals
        .push((writer.to_string(), format!("writer {writer}")));
    let space =
        Space::new(&doc, &scope).map_err(|e| format!("cannot evaluate the policy: {}", e.0))?;
    Ok(match outside_access(&space, writer, &WRITER_ACTIONS) {
        Access::Open => None,
        Access::Maybe(m) => Some(format!("possibly denied: {m}")),
        Access::Blocked(b) => Some(format!("denied: {b}")),
        Access::Undecided(why) => Some(why),
    })
}

/// `S3-PUBLIC-ACCESS-BLOCK`: all four settings on, at bucket or account level.
pub(crate) fn public_access_block_finding(
    bucket: &Fact<PublicAccessBlock>,
    account: &Fact<PublicAccessBlock>,
) -> Finding {
    let rule = RuleId::S3PublicAccessBlock;
    let mut unreadable = Vec::new();
    let mut effective = PublicAccessBlock::default();
    for (level, fact) in [("bucket", bucket), ("account", account)] {
        match fact {
            Fact::Known(p) => effective = effective.or(*p),
            Fact::NotConfigured => {}
            Fact::Unreadable(why) => unreadable.push(format!("{level} level: {why}")),
        }
    }
    let missing = effective.missing();
    if missing.is_empty() {
        return Finding::new(
            rule,
            Status::Pass,
            "all four Block Public Access settings are on",
        );
    }
    let mut reason = format!(
        "Block Public Access is off at bucket and account level: {}",
        missing.join(", ")
    );
    if !unreadable.is_empty() {
        reason.push_str(&format!("; could not read {}", unreadable.join("; ")));
    }
    Finding::new(rule, Status::Fail, reason)
}

/// `S3-ACLS-DISABLED`: Object Ownership is `BucketOwnerEnforced`.
pub(crate) fn acls_disabled_finding(ownership: &Fact<ObjectOwnership>) -> Finding {
    let rule = RuleId::S3AclsDisabled;
    match ownership {
        Fact::Known(ObjectOwnership::BucketOwnerEnforced) => Finding::new(
            rule,
            Status::Pass,
            "Object Ownership is BucketOwnerEnforced: ACLs are disabled",
        ),
        Fact::Known(o) => Finding::new(
            rule,
            Status::Fail,
            format!("Object Ownership is {o}: ACLs still grant access; set BucketOwnerEnforced"),
        ),
        Fact::NotConfigured => Finding::new(
            rule,
            Status::Fail,
            "no Object Ownership controls: ACLs are enabled; set BucketOwnerEnforced",
        ),
        Fact::Unreadable(why) => Finding::new(
            rule,
            Status::Fail,
            format!("cannot read Object Ownership: {why}"),
        ),
    }
}

/// The region view of the account's S3 gateway endpoints.
pub fn region_view(net: &NetworkFacts) -> RegionView {
    RegionView::from_endpoints(&net.region, &net.endpoints)
}

impl RegionView {
    /// From the region's VPC endpoints (any service: only its S3 endpoints, gateway or
    /// interface, are kept).
    pub fn from_endpoints(region: &str, endpoints: &[Endpoint]) -> RegionView {
        RegionView {
            region: region.to_string(),
            endpoints: endpoints
                .iter()
                .filter(|e| e.is_s3_endpoint_of(region))
                .map(|e| (e.id.clone(), e.vpc_id.clone()))
                .collect(),
            available: endpoints
                .iter()
                .filter(|e| e.is_available_s3_endpoint(region))
                .map(|e| e.id.clone())
                .collect(),
        }
    }
}

/// Evaluate one bucket in account mode: its facts, the account's, and its region's S3
/// endpoints (`Err`: they could not be read, and `S3-VPCE-REACHABLE` FAILs with that reason).
/// Default approved endpoints: every available S3 gateway endpoint of the region.
pub fn evaluate_bucket(
    obs: &BucketObservation,
    account: &AccountFacts,
    net: Result<&RegionView, &str>,
    params: &BucketParams,
    now: f64,
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
    let mut params = params.clone();
    if params.account_id.is_none() {
        params.account_id = account.account_id.clone();
    }
    params.partition = Partition::of_region(&facts.region);
    let view = match net {
        Ok(v) => {
            if params.approved_vpce.is_empty() {
                params.approved_vpce = v.available.clone();
            }
            v.clone()
        }
        // Without the network, no endpoint is known to carry requests (fail closed).
        Err(_) => RegionView {
            region: facts.region.clone(),
            ..RegionView::default()
        },
    };
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
