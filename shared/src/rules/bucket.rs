//! The bucket rules (`AWS::S3::Bucket`) that read the bucket policy, decided by searching the
//! request-context space of the policy (see docs/ENGINE.md).

use crate::facts::{AccountFacts, BucketObservation, Fact, NetworkFacts, PublicAccessBlock};
use crate::policy::context::{Caller, Signature};
use crate::policy::glob;
use crate::policy::model::{Effect, PolicyDocument};
use crate::policy::space::{Choice, Info, PrincipalClass, Scope, Selection, Space};

use super::{BucketParams, Evaluation, Finding, RuleId, Status};

/// What is known of a bucket's policy.
#[derive(Debug, Clone, Copy)]
pub enum PolicyState<'a> {
    /// The bucket has no policy (`NoSuchBucketPolicy`).
    Missing,
    /// The policy could not be read; the text says which call failed and why.
    Unreadable(&'a str),
    /// The policy text is not a valid policy document.
    Invalid(&'a str),
    Present(&'a PolicyDocument),
}

/// The account's S3 gateway endpoints in the bucket's region (account mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionView {
    pub region: String,
    /// Every S3 gateway endpoint of the account in the region, with its VPC.
    pub endpoints: Vec<(String, String)>,
    /// Those that are `available`: the only ones a request can go through.
    pub available: Vec<String>,
}

/// The configuration reads the guard principals and AWS Config's recorder make.
const GUARD_ACTIONS: [&str; 5] = [
    "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
    "s3:GetBucketLocation",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketOwnershipControls",
];

/// The findings of the policy rules, in catalog order, with `S3-PUBLIC-ACCESS-BLOCK` and
/// `S3-ACLS-DISABLED` supplied by the caller (they need account facts).
pub fn bucket_findings(
    bucket: &str,
    policy: PolicyState<'_>,
    params: &BucketParams,
    view: Option<&RegionView>,
    now: f64,
    public_access_block: Finding,
    acls_disabled: Finding,
) -> Vec<Finding> {
    let p = policy_findings(bucket, policy, params, view, now);
    let mut out = Vec::with_capacity(RuleId::BUCKET.len());
    for rule in RuleId::BUCKET {
        let f = match rule {
            RuleId::S3PublicAccessBlock => public_access_block.clone(),
            RuleId::S3AclsDisabled => acls_disabled.clone(),
            r => p.iter().find(|f| f.rule == r).cloned().unwrap_or_else(|| {
                Finding::new(r, Status::Fail, "internal error: rule not evaluated")
            }),
        };
        out.push(f);
    }
    out
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

/// The eight policy rules, in catalog order.
pub fn policy_findings(
    bucket: &str,
    policy: PolicyState<'_>,
    params: &BucketParams,
    view: Option<&RegionView>,
    now: f64,
) -> Vec<Finding> {
    let doc = match policy {
        PolicyState::Present(doc) => doc,
        PolicyState::Missing => return no_policy(params),
        PolicyState::Unreadable(why) | PolicyState::Invalid(why) => {
            return all_fail(params, why);
        }
    };
    let scope = Scope {
        approved_vpce: params.approved_vpce.clone(),
        approved_vpc: params.approved_vpc.clone(),
        exempt_principals: params.exempt_principals.clone(),
        guard_principals: params.guard_principals.clone(),
        require_tls_version: params.require_tls_version,
        account_endpoints: view.map(|v| v.endpoints.clone()).unwrap_or_default(),
        ..Scope::new(bucket, params.account_id.clone(), now)
    };
    let space = match Space::new(doc, &scope) {
        Ok(s) => s,
        Err(e) => return all_fail(params, &format!("cannot evaluate the policy: {}", e.0)),
    };
    let q = Questions {
        space: &space,
        params,
        view,
    };
    vec![
        q.vpce_deny(false),
        q.vpce_deny(true),
        q.reachable(),
        q.tls(),
        q.sigv4(),
        q.tls_version(),
        q.public_grant(),
        q.guard_access(),
    ]
}

/// The bucket rules that read the policy (all but the two that need account facts).
fn policy_rules() -> impl Iterator<Item = RuleId> {
    RuleId::BUCKET
        .into_iter()
        .filter(|r| !matches!(r, RuleId::S3PublicAccessBlock | RuleId::S3AclsDisabled))
}

fn no_policy(params: &BucketParams) -> Vec<Finding> {
    policy_rules()
        .map(|r| match r {
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
                    format!("no bucket policy: requests over TLS below {v:.1} are not denied"),
                ),
                None => Finding::new(r, Status::NotApplicable, "RequireTlsVersion is not set"),
            },
            _ => Finding::new(r, Status::Pass, "no bucket policy"),
        })
        .collect()
}

fn all_fail(params: &BucketParams, why: &str) -> Vec<Finding> {
    policy_rules()
        .map(|r| {
            if r == RuleId::S3TlsVersion && params.require_tls_version.is_none() {
                Finding::new(r, Status::NotApplicable, "RequireTlsVersion is not set")
            } else {
                Finding::new(r, Status::Fail, why)
            }
        })
        .collect()
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
}

/// The outcome of "can some context of a selection get through?".
enum Reach {
    /// A context that is certainly not denied.
    Open,
    /// Only statements the engine cannot evaluate deny every context.
    Undecided(String),
    Denied,
}

/// The outcome of "is every context of a selection denied?".
enum Coverage {
    Denied,
    /// A context that is certainly not denied.
    Gap(Choice),
    /// Only statements the engine cannot evaluate stand between a context and a gap.
    Undecided(Vec<String>),
}

impl Questions<'_> {
    fn net(&self) -> usize {
        self.space.network
    }

    fn coverage(&self, sel: &Selection) -> Coverage {
        let s = self.space;
        if let Some(c) = s.find_undenied(sel, true) {
            return Coverage::Gap(c);
        }
        if s.has_unknown() {
            if let Some(c) = s.find_undenied(sel, false) {
                let may = s.matching(&c, true, Effect::Deny);
                let must = s.matching(&c, false, Effect::Deny);
                let undecided: Vec<usize> = may.into_iter().filter(|i| !must.contains(i)).collect();
                let mut reasons = s.unknown_reasons(&undecided);
                if reasons.is_empty() {
                    reasons.push("a statement cannot be evaluated".into());
                }
                return Coverage::Undecided(reasons);
            }
        }
        Coverage::Denied
    }

    fn reach(&self, sel: &Selection) -> Reach {
        let s = self.space;
        if s.find_undenied(sel, true).is_some() {
            Reach::Open
        } else if s.find_undenied(sel, false).is_some() {
            let all: Vec<usize> = (0..s.policy.statements.len()).collect();
            Reach::Undecided(s.unknown_reasons(&all).join("; "))
        } else {
            Reach::Denied
        }
    }

    fn gap_reason(&self, c: &Choice) -> String {
        let mut r = format!("not denied: {}", self.space.describe(c));
        match self.space.closest_deny(c) {
            Some(why) => {
                r.push_str("; ");
                r.push_str(&why);
            }
            None => r.push_str("; the policy has no Deny statement"),
        }
        r
    }

    /// Label of an allowed exemption, if the principal value is one.
    fn allowed_exemption(&self, info: &Info) -> Option<String> {
        let Info::Principal { principal, class } = info else {
            return None;
        };
        // Configuration wins: a configured pattern names the exemption even for a request
        // that also comes via a service.
        if let Some(arn) = principal.caller.principal_arn() {
            if let Some(p) = self
                .params
                .exempt_principals
                .iter()
                .find(|p| glob::arn_matches(p, &arn))
            {
                return Some(p.clone());
            }
        }
        if matches!(principal.caller, Caller::Service { .. }) {
            return Some("AWS service principals".into());
        }
        if principal.via_service || *class == PrincipalClass::ViaService {
            return Some("requests via AWS services".into());
        }
        None
    }

    fn vpce_deny(&self, endpoints_only: bool) -> Finding {
        let rule = if endpoints_only {
            RuleId::S3VpceKnown
        } else {
            RuleId::S3VpceDeny
        };
        let s = self.space;
        let mut sel = s.select_all();
        s.restrict(&mut sel, self.net(), |v| {
            matches!(v.info, Info::Network { approved: false, endpoint, .. } if endpoint || !endpoints_only)
        });
        // Exemptions that take effect, by label, in the order principals are enumerated.
        let mut exemptions: Vec<String> = Vec::new();
        // Exemptions are what a deny leaves out; a policy that denies nothing has none.
        let denies = s
            .policy
            .statements
            .iter()
            .any(|st| st.effect == Effect::Deny);
        if let Some(dim) = s.dims.get(s.principal).filter(|_| denies) {
            for (i, v) in dim.values.iter().enumerate() {
                let Some(label) = self.allowed_exemption(&v.info) else {
                    continue;
                };
                if exemptions.contains(&label)
                    || !sel.0.get(s.principal).is_some_and(|a| a.contains(&i))
                {
                    continue;
                }
                let mut one = sel.clone();
                if let Some(p) = one.0.get_mut(s.principal) {
                    *p = vec![i];
                }
                if s.find_undenied(&one, false).is_some() {
                    exemptions.push(label);
                }
            }
        }
        s.restrict(&mut sel, s.principal, |v| {
            self.allowed_exemption(&v.info).is_none()
        });
        let scope_text = if endpoints_only {
            "every request through a non-approved endpoint"
        } else {
            "every request from outside the approved endpoints"
        };
        let mut f = match self.coverage(&sel) {
            Coverage::Gap(c) => Finding::new(rule, Status::Fail, self.gap_reason(&c)),
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
                Finding::new(rule, Status::Pass, reason)
            }
        };
        f.exemptions = exemptions;
        f
    }

    fn reachable(&self) -> Finding {
        let rule = RuleId::S3VpceReachable;
        let s = self.space;
        let approved_any = s.dims.get(s.network).is_some_and(|d| {
            d.values
                .iter()
                .any(|v| matches!(v.info, Info::Network { approved: true, .. }))
        });
        if !approved_any {
            let why = match self.view {
                Some(view) => format!(
                    "no approved, available S3 gateway endpoint in {} (gateway endpoints serve only their own region): the bucket cannot be reached privately",
                    view.region
                ),
                None => "no approved S3 gateway endpoint or VPC: the bucket cannot be reached privately".to_string(),
            };
            return Finding::new(rule, Status::Fail, why);
        }
        // In account mode only available endpoints of the bucket's own region carry requests.
        let usable = |v: &crate::policy::space::DimValue| match self.view {
            None => true,
            Some(view) => v
                .keys
                .iter()
                .find(|(k, _)| k == "aws:sourcevpce")
                .and_then(|(_, vals)| vals.first())
                .is_some_and(|e| view.available.contains(e)),
        };
        if let Some(view) = self.view {
            let any = s.dims.get(s.network).is_some_and(|d| {
                d.values
                    .iter()
                    .any(|v| matches!(v.info, Info::Network { approved: true, .. }) && usable(v))
            });
            if !any {
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!(
                        "no approved, available S3 gateway endpoint in {} (gateway endpoints serve only their own region): the bucket is locked for everyone but the root user",
                        view.region
                    ),
                );
            }
        }
        for action in ["s3:GetObject", "s3:PutObject"] {
            let Some(class) = s.class_of(action) else {
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!("cannot evaluate: {action} is missing from the action catalog"),
                );
            };
            let mut sel = s.select_all();
            s.restrict(&mut sel, s.actres, |v| matches!(v.info, Info::ActionResource { class: c, object: true, .. } if c == class));
            // Any role session of the bucket's account (the probe role, roles the policy or the
            // configuration names), signed with SigV4, not via a service.
            s.restrict(&mut sel, s.principal, |v| {
                matches!(&v.info, Info::Principal { principal, class }
                    if principal.signature == Signature::SigV4
                        && !principal.via_service
                        && !matches!(class, PrincipalClass::Guard(_))
                        && matches!(&principal.caller, Caller::RoleSession { account, .. } if *account == s.account))
            });
            s.restrict(&mut sel, s.network, |v| {
                matches!(
                    v.info,
                    Info::Network {
                        approved: true,
                        plausible: true,
                        ..
                    }
                ) && usable(v)
            });
            s.restrict(&mut sel, s.transport, |v| {
                matches!(v.info, Info::Transport { tls: Some(_) })
            });
            match self.reach(&sel) {
                Reach::Open => continue,
                Reach::Undecided(reasons) => {
                    return Finding::new(
                        rule,
                        Status::Fail,
                        format!(
                            "cannot evaluate {action} through the approved endpoints: {reasons}"
                        ),
                    )
                }
                Reach::Denied => {}
            }
            // Every such request is denied: name one and the statement that denies it.
            let sample: Choice = sel
                .0
                .iter()
                .map(|a| a.first().copied().unwrap_or(0))
                .collect();
            let by: Vec<String> = s
                .matching(&sample, false, Effect::Deny)
                .into_iter()
                .filter_map(|i| s.policy.statements.get(i).map(|st| st.label.clone()))
                .collect();
            return Finding::new(
                rule,
                Status::Fail,
                format!(
                    "{action} by a same-account role session through the approved endpoints is denied (e.g. {}{}); the bucket is locked for everyone but the root user",
                    s.describe(&sample),
                    if by.is_empty() { String::new() } else { format!(", by statement {}", by.join(", ")) }
                ),
            );
        }
        Finding::new(
            rule,
            Status::Pass,
            "a same-account role session can get and put objects through an approved endpoint",
        )
    }

    fn simple_coverage(&self, rule: RuleId, sel: &Selection, fail: Status, what: &str) -> Finding {
        match self.coverage(sel) {
            Coverage::Denied => Finding::new(rule, Status::Pass, format!("every {what} is denied")),
            Coverage::Gap(c) => Finding::new(rule, fail, self.gap_reason(&c)),
            Coverage::Undecided(r) => Finding::new(
                rule,
                Status::Fail,
                format!("cannot evaluate: {}", r.join("; ")),
            ),
        }
    }

    fn tls(&self) -> Finding {
        let s = self.space;
        let mut sel = s.select_all();
        s.restrict(&mut sel, s.transport, |v| {
            matches!(v.info, Info::Transport { tls: None })
        });
        self.simple_coverage(
            RuleId::S3Tls,
            &sel,
            Status::Fail,
            "plain-HTTP request (aws:SecureTransport false)",
        )
    }

    fn sigv4(&self) -> Finding {
        let s = self.space;
        let mut sel = s.select_all();
        s.restrict(&mut sel, s.principal, |v| {
            matches!(&v.info, Info::Principal { principal, .. } if principal.signature != Signature::SigV4)
        });
        self.simple_coverage(
            RuleId::S3SigV4,
            &sel,
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
        let s = self.space;
        let mut sel = s.select_all();
        s.restrict(
            &mut sel,
            s.transport,
            |v| matches!(v.info, Info::Transport { tls: Some(t) } if t < min),
        );
        if sel.0.get(s.transport).is_some_and(|a| a.is_empty()) {
            return Finding::new(
                rule,
                Status::Pass,
                format!("no TLS version below {min:.1} exists"),
            );
        }
        self.simple_coverage(
            rule,
            &sel,
            Status::Fail,
            &format!("request over TLS below {min:.1}"),
        )
    }

    fn public_grant(&self) -> Finding {
        let rule = RuleId::S3NoPublicGrant;
        let s = self.space;
        for (i, st) in s.policy.statements.iter().enumerate() {
            if st.effect != Effect::Allow
                || !(st.principal.negated || st.principal.names_everyone())
            {
                continue;
            }
            let mut sel = s.select_all();
            s.restrict(&mut sel, s.network, |v| {
                matches!(
                    v.info,
                    Info::Network {
                        approved: false,
                        ..
                    }
                )
            });
            // The statement can match when every dimension has a value it possibly matches.
            let mut witness: Choice = Vec::with_capacity(sel.0.len());
            for (d, allowed) in sel.0.iter().enumerate() {
                match allowed
                    .iter()
                    .find(|&&v| s.tri(i, d, v) != crate::policy::tri::Tri::No)
                {
                    Some(&v) => witness.push(v),
                    None => break,
                }
            }
            if witness.len() == sel.0.len() {
                let who = if st.principal.negated {
                    "everyone not listed in `NotPrincipal`"
                } else {
                    "everyone (`*`)"
                };
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!(
                        "statement {} allows {who} without limiting it to approved endpoints or VPCs, e.g. {}",
                        st.label,
                        s.describe(&witness)
                    ),
                );
            }
        }
        Finding::new(
            rule,
            Status::Pass,
            "no Allow statement grants everyone access from outside the approved endpoints",
        )
    }

    fn guard_access(&self) -> Finding {
        let rule = RuleId::S3GuardAccess;
        let s = self.space;
        let mut blocked: Vec<String> = Vec::new();
        let guards: Vec<String> = s
            .dims
            .get(s.principal)
            .map(|d| {
                let mut g: Vec<String> = Vec::new();
                for v in &d.values {
                    if let Info::Principal {
                        class: PrincipalClass::Guard(arn),
                        ..
                    } = &v.info
                    {
                        if !g.contains(arn) {
                            g.push(arn.clone());
                        }
                    }
                }
                g
            })
            .unwrap_or_default();
        for g in &guards {
            for action in GUARD_ACTIONS {
                let Some(class) = s.class_of(action) else {
                    continue;
                };
                let mut sel = s.select_all();
                s.restrict(&mut sel, s.actres, |v| matches!(v.info, Info::ActionResource { class: c, object: false, .. } if c == class));
                s.restrict(&mut sel, s.principal, |v| {
                    matches!(&v.info, Info::Principal { principal, class: PrincipalClass::Guard(a) } if a == g && principal.signature == Signature::SigV4)
                });
                s.restrict(&mut sel, s.network, |v| {
                    matches!(
                        v.info,
                        Info::Network {
                            endpoint: false,
                            ..
                        }
                    )
                });
                s.restrict(&mut sel, s.transport, |v| {
                    matches!(v.info, Info::Transport { tls: Some(_) })
                });
                match self.reach(&sel) {
                    Reach::Open => {}
                    Reach::Undecided(reasons) => {
                        return Finding::new(
                            rule,
                            Status::Fail,
                            format!(
                                "cannot evaluate {action} by {g} from outside the VPC: {reasons}"
                            ),
                        )
                    }
                    Reach::Denied => {
                        blocked.push(format!("{g} ({action})"));
                        break;
                    }
                }
            }
        }
        if blocked.is_empty() {
            Finding::new(rule, Status::Pass, "the guard's principals and AWS Config's recorder can read the bucket's configuration")
        } else {
            Finding::new(
                rule,
                Status::Warn,
                format!(
                    "denied from outside the VPC, so the guard or AWS Config cannot read the bucket's configuration: {}; exempt them (e.g. ArnNotLike aws:PrincipalArn) or run the guard inside the VPC",
                    blocked.join(", ")
                ),
            )
        }
    }
}

/// `S3-PUBLIC-ACCESS-BLOCK`: all four settings on, at bucket or account level.
pub fn public_access_block_finding(
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
pub fn acls_disabled_finding(ownership: &Fact<String>) -> Finding {
    let rule = RuleId::S3AclsDisabled;
    match ownership {
        Fact::Known(o) if o == "BucketOwnerEnforced" => Finding::new(
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
    let s3 = format!("com.amazonaws.{}.s3", net.region);
    RegionView {
        region: net.region.clone(),
        endpoints: net
            .endpoints
            .iter()
            .filter(|e| e.service_name == s3 && e.endpoint_type.eq_ignore_ascii_case("Gateway"))
            .map(|e| (e.id.clone(), e.vpc_id.clone()))
            .collect(),
        available: net.s3_gateways().map(|e| e.id.clone()).collect(),
    }
}

/// Evaluate one bucket in account mode: its facts, the account's, and its region's network.
/// Default approved endpoints: every available S3 gateway endpoint of the region.
pub fn evaluate_bucket(
    obs: &BucketObservation,
    account: &AccountFacts,
    net: Result<&NetworkFacts, &str>,
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
    let view = match net {
        Ok(n) => {
            let v = region_view(n);
            if params.approved_vpce.is_empty() {
                params.approved_vpce = v.available.clone();
            }
            v
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
    let mut findings = bucket_findings(
        &facts.name,
        state,
        &params,
        Some(&view),
        now,
        public_access_block_finding(&facts.public_access_block, &account.public_access_block),
        acls_disabled_finding(&facts.ownership),
    );
    if let Err(why) = net {
        for f in findings
            .iter_mut()
            .filter(|f| f.rule == RuleId::S3VpceReachable)
        {
            *f = Finding::new(
                RuleId::S3VpceReachable,
                Status::Fail,
                format!("cannot read the network of {}: {why}", facts.region),
            );
        }
    }
    Evaluation::new(facts.name.clone(), findings)
}
