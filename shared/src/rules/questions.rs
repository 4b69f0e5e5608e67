//! The questions the policy rules ask the engine: each bucket rule that reads the policy is a
//! method of [`Questions`], over the request-context space of one policy (docs/ENGINE.md).

use crate::policy::context::{Caller, Signature};
use crate::policy::date::format_date;
use crate::policy::glob;
use crate::policy::layers::is_service_linked;
use crate::policy::model::PolicyDocument;
use crate::policy::space::EndpointOwner;
use crate::policy::space::{
    Coverage, OriginView, PrincipalClass, PrincipalView, Question, Reach, Scope, Space, Transport,
    Witness,
};
use crate::policy::values::{EndpointScope, TlsVersion};

use super::guard::GuardKind;
use super::region::RegionView;
use super::{BucketParams, Finding, RuleId, Status};

pub(crate) fn sigv4_status(params: &BucketParams) -> Status {
    if params.require_sigv4 {
        Status::Fail
    } else {
        Status::Warn
    }
}

pub(crate) struct Questions<'a> {
    pub(crate) space: &'a Space,
    pub(crate) params: &'a BucketParams,
    pub(crate) view: Option<&'a RegionView>,
    /// Principals the rules accept as exemptions: configured ones, the guard's, Config's.
    pub(crate) exempt: &'a [String],
    /// The guard's principals and AWS Config's recorder role, checked by `S3-GUARD-ACCESS`,
    /// each with its kind (which says the actions it calls).
    pub(crate) guards: &'a [(String, GuardKind)],
}

impl Questions<'_> {
    pub(crate) fn gap_reason(&self, w: &Witness<'_>) -> String {
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
    pub(crate) fn allowed_exemption(&self, p: &PrincipalView<'_>) -> Option<String> {
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
        // RCPs do not restrict service-linked roles: with an RCP layer their sessions escape
        // its denies, as AWS services' own requests do.
        if !self.params.rcps.is_empty()
            && p.caller()
                .principal_arn()
                .is_some_and(|a| is_service_linked(&a))
        {
            return Some("AWS service-linked roles (RCPs do not restrict them)".into());
        }
        if p.via_service() || *p.class == PrincipalClass::ViaService {
            return Some("requests via AWS services".into());
        }
        None
    }

    /// The PASS reason of a deny question, with the date it holds until, if one.
    pub(crate) fn pass_until(&self, q: &Question<'_>, reason: String) -> String {
        match self.space.denied_until(q) {
            Some(at) => format!(
                "{reason} until {} (a date in the policy limits the deny)",
                format_date(at)
            ),
            None => reason,
        }
    }

    pub(crate) fn coverage_finding(
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

    pub(crate) fn vpce_deny(&self, endpoints_only: bool) -> Finding {
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
            Coverage::Gap(w) => {
                let mut reason = self.gap_reason(&w);
                if let Some(wider) = self.wider_scope(endpoints_only) {
                    reason.push_str(&format!(
                        "; the policy admits every endpoint {}: ApprovedEndpointScope `{}` would accept it",
                        match wider {
                            EndpointScope::Account => "the bucket owner's account owns",
                            _ => "of the bucket owner's organization",
                        },
                        wider.as_str()
                    ));
                }
                Finding::new(rule, Status::Fail, reason)
            }
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

    /// The narrowest `ApprovedEndpointScope` wider than the configured one under which the
    /// deny question would pass: the gaps are all endpoints the scope would approve.
    fn wider_scope(&self, endpoints_only: bool) -> Option<EndpointScope> {
        let configured = self.params.approved_endpoint_scope;
        for (wider, admits) in [
            (EndpointScope::Account, &[EndpointOwner::Account][..]),
            (
                EndpointScope::Organization,
                &[EndpointOwner::Account, EndpointOwner::Organization][..],
            ),
        ] {
            if wider as u8 <= configured as u8 {
                continue;
            }
            let q = Question::all()
                .origins(move |o| {
                    !o.approved
                        && (!o.is_public() || !endpoints_only)
                        && !o.owner.is_some_and(|k| admits.contains(&k))
                })
                .principals(|p| self.allowed_exemption(p).is_none());
            if matches!(self.space.is_denied(&q), Coverage::Denied) {
                return Some(wider);
            }
        }
        None
    }

    pub(crate) fn reachable(&self) -> Finding {
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
        // A question per action, unknown-fact hypothesis and unknown-key value: any role session
        // of the bucket's account (the probe role, roles the policy or the configuration
        // names), signed with SigV4, not via a service, over TLS, through an approved endpoint.
        let question = |action: &'static str, hyp: Option<String>| {
            let account = account.clone();
            Question::all()
                .actions(move |a| a.object && a.includes(action))
                .principals(move |p| {
                    p.signature() == Signature::SigV4
                        && !p.via_service()
                        && !self.guards.iter().any(|(g, _)| matches!(p.class, PrincipalClass::Configured(c) if c == g))
                        // A service-linked role is not the bucket's own role (and RCPs do not
                        // restrict it).
                        && !p.caller().principal_arn().is_some_and(|a| is_service_linked(&a))
                        && matches!(p.caller(), Caller::RoleSession { account: a, .. } if *a == account)
                })
                .origins(move |o| approved(o) && usable(o) && o.hypothesis == hyp.as_deref())
                .transports(|t| matches!(t, Transport::Tls(_)))
        };
        let hypotheses = s.origin_hypotheses(|o| approved(o) && usable(o));
        let unknown = s.unknown_keys();
        let mut maybe: Vec<String> = Vec::new();
        let mut unconfirmed: Vec<String> = Vec::new();
        let mut open_under = 0;
        let mut denied: Vec<(Option<String>, String)> = Vec::new();
        for hyp in &hypotheses {
            let mut denied_here = None;
            for action in ["s3:GetObject", "s3:PutObject"] {
                match s.reach(&question(action, hyp.clone())) {
                    Reach::Open => {
                        // A key no AWS request carries cannot be assumed to take the value
                        // that lets the request through: try each value it may take.
                        for (key, written, values) in &unknown {
                            if unconfirmed
                                .iter()
                                .any(|u| u.contains(&format!(" {written} ")))
                            {
                                continue;
                            }
                            if let Some((v, w)) =
                                denying_value(s, key, values, || question(action, hyp.clone()))
                            {
                                let (is, why) = unknown_key_note(written, &v);
                                unconfirmed.push(format!(
                                    "{action} through the approved endpoints is denied when {is} (e.g. {}): {why}",
                                    w.describe()
                                ));
                            }
                        }
                    }
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
                        denied_here = Some(format!(
                            "{action} by a same-account role session through the approved endpoints is denied (e.g. {}{})",
                            w.describe(),
                            if by.is_empty() { String::new() } else { format!(", by statement {}", by.join(", ")) }
                        ));
                        break;
                    }
                }
            }
            match denied_here {
                Some(why) => denied.push((hyp.clone(), why)),
                None => open_under += 1,
            }
        }
        if open_under == 0 {
            let why = denied.first().map(|(_, w)| w.clone()).unwrap_or_default();
            return Finding::new(
                rule,
                Status::Fail,
                format!("{why}; the bucket is locked for everyone but the root user"),
            );
        }
        if let Some((Some(h), why)) = denied.first() {
            return Finding::new(
                rule,
                Status::Warn,
                format!(
                    "not confirmed: {why} {h}; the bucket owner's organization and OU path decide (give --org-id and --org-path; account mode reads them)"
                ),
            );
        }
        if !unconfirmed.is_empty() {
            return Finding::new(
                rule,
                Status::Warn,
                format!("not confirmed: {}", unconfirmed.join("; ")),
            );
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

    /// Does the policy let a same-account role session (SigV4, over TLS, not via a service,
    /// not the guard) get an object through `endpoint`? `Ok(true)`: some such request is
    /// certainly not denied; `Ok(false)`: every one is denied; `Err`: the engine cannot tell.
    pub(crate) fn admits(&self, endpoint: &str) -> Result<bool, String> {
        let account = self.space.account().to_string();
        if !self.space.has_origin(|o| o.endpoint == Some(endpoint)) {
            return Err(format!(
                "{endpoint} is not an endpoint of the bucket's region"
            ));
        }
        let q = Question::all()
            .actions(|a| a.object && a.includes("s3:GetObject"))
            .principals(move |p| {
                p.signature() == Signature::SigV4
                    && !p.via_service()
                    && !self
                        .guards
                        .iter()
                        .any(|(g, _)| matches!(p.class, PrincipalClass::Configured(c) if c == g))
                    && !p
                        .caller()
                        .principal_arn()
                        .is_some_and(|a| is_service_linked(&a))
                    && matches!(p.caller(), Caller::RoleSession { account: a, .. } if *a == account)
            })
            .origins(move |o| o.endpoint == Some(endpoint))
            .transports(|t| matches!(t, Transport::Tls(_)));
        match self.space.reach(&q) {
            Reach::Open => Ok(true),
            Reach::Denied(_) => Ok(false),
            Reach::MaybeDenied { witness, .. } => Err(format!(
                "may be denied (e.g. {}): a NotPrincipal deny lists part of the caller's chain",
                witness.describe()
            )),
            Reach::Undecided(why) => Err(why),
        }
    }

    pub(crate) fn tls(&self) -> Finding {
        self.coverage_finding(
            RuleId::S3Tls,
            &Question::all().transports(|t| t == Transport::PlainHttp),
            Status::Fail,
            "plain-HTTP request (aws:SecureTransport false)",
        )
    }

    pub(crate) fn sigv4(&self) -> Finding {
        self.coverage_finding(
            RuleId::S3SigV4,
            &Question::all().principals(|p| p.signature() != Signature::SigV4),
            sigv4_status(self.params),
            "SigV2 and unsigned request",
        )
    }

    pub(crate) fn tls_version(&self) -> Finding {
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

    pub(crate) fn public_grant(&self) -> Finding {
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

    pub(crate) fn guard_access(&self) -> Finding {
        let rule = RuleId::S3GuardAccess;
        let mut blocked: Vec<String> = Vec::new();
        let mut maybe: Vec<String> = Vec::new();
        let mut unconfirmed: Vec<String> = Vec::new();
        for (g, kind) in self.guards {
            match outside_access(self.space, g, &kind.checked_actions()) {
                Access::Open => {}
                Access::Unconfirmed(u) => unconfirmed.push(u),
                Access::Maybe(m) => maybe.push(m),
                Access::Blocked(b) => blocked.push(b),
                Access::Undecided(why) => return Finding::new(rule, Status::Fail, why),
            }
        }
        if blocked.is_empty() && maybe.is_empty() && unconfirmed.is_empty() {
            return Finding::new(rule, Status::Pass, "the guard's principals and AWS Config's recorder can read the bucket's configuration");
        }
        let mut parts = Vec::new();
        if !unconfirmed.is_empty() {
            parts.push(format!("not confirmed: {}", unconfirmed.join("; ")));
        }
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
    /// Open only if a key AWS may never set takes a value that lets it in.
    Unconfirmed(String),
    Undecided(String),
}

/// A key AWS never sets cannot be assumed to take the value that lets a request in: the first
/// value of `key_lc` (each it may take, `None`: absent) under which the request `q` stands for
/// is denied, with the denied request.
fn denying_value<'s, 'q>(
    space: &'s Space,
    key_lc: &str,
    values: &[Option<String>],
    q: impl Fn() -> Question<'q>,
) -> Option<(Option<String>, Witness<'s>)> {
    values.iter().find_map(|v| {
        let v2 = v.clone();
        match space.reach(&q().free_key(key_lc, move |x| x == v2.as_deref())) {
            Reach::Denied(w) => Some((v.clone(), w)),
            _ => None,
        }
    })
}

/// "`key` is `value`" (or "absent"), and why that may decide a verdict: how the reasons of
/// `S3-VPCE-REACHABLE` and `S3-GUARD-ACCESS` name an unknown key.
fn unknown_key_note(key: &str, value: &Option<String>) -> (String, String) {
    let is = match value {
        Some(v) => format!("{key} is `{v}`"),
        None => format!("{key} is absent"),
    };
    (
        is,
        format!(
            "{key} is neither a global condition key nor an S3 one, so AWS never sets it if it is misspelled"
        ),
    )
}

fn outside_access(space: &Space, principal: &str, actions: &[&'static str]) -> Access {
    let unknown = space.unknown_keys();
    for &action in actions {
        let question = || {
            Question::all()
                .actions(move |a| !a.object && a.includes(action))
                .principals(|p| {
                    matches!(p.class, PrincipalClass::Configured(c) if c == principal)
                        && p.signature() == Signature::SigV4
                })
                // The guard and Config call the bucket itself, never through an access point.
                .origins(|o| o.is_public() && !o.access_point)
                .transports(|t| matches!(t, Transport::Tls(_)))
        };
        match space.reach(&question()) {
            Reach::Open => {
                // A key AWS never sets cannot be assumed to take the value that lets it in.
                for (key_lc, key, values) in &unknown {
                    if let Some((v, _)) = denying_value(space, key_lc, values, question) {
                        let (is, why) = unknown_key_note(key, &v);
                        return Access::Unconfirmed(format!(
                            "{principal} ({action}) is denied when {is} ({why})"
                        ));
                    }
                }
            }
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
    // The RCPs deny the writer too: the guard rail judges both layers.
    let doc = if params.rcps.is_empty() {
        doc
    } else {
        crate::policy::layers::effective(Some(&doc), &params.rcps)
    };
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
        Access::Unconfirmed(u) => Some(format!("possibly denied: {u}")),
        Access::Blocked(b) => Some(format!("denied: {b}")),
        Access::Undecided(why) => Some(why),
    })
}
