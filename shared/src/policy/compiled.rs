//! Statements prepared for evaluation: patterns lower-cased where IAM folds case, condition
//! clauses parsed once, and each element evaluated three-valued.

use super::condition::{has_variable, unescape, Clause};
use super::context::{root_arn, Caller, Principal, RequestContext};
use super::glob;
use super::model::{Effect, PolicyDocument, PrincipalKind, Principals, Statement};
use super::tri::Tri;
use super::values::Partition;

/// A pattern list ready to match; patterns holding a policy variable are unknown.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone)]
pub(crate) struct CompiledPatterns {
    pub(crate) negated: bool,
    pub(crate) known: Vec<String>,
    pub(crate) unknown: Vec<String>,
}

impl CompiledPatterns {
    fn new(values: &[String], negated: bool, variables: bool, fold: bool) -> Self {
        let mut known = Vec::with_capacity(values.len());
        let mut unknown = Vec::new();
        for v in values {
            if variables && has_variable(v) {
                unknown.push(v.clone());
            } else {
                let v = if variables { unescape(v) } else { v.clone() };
                known.push(if fold { v.to_ascii_lowercase() } else { v });
            }
        }
        CompiledPatterns {
            negated,
            known,
            unknown,
        }
    }

    /// Combine "does any pattern match" (given for the known ones) with negation.
    pub(crate) fn verdict(&self, any_known: bool) -> Tri {
        let listed = if any_known {
            Tri::Yes
        } else if self.unknown.is_empty() {
            Tri::No
        } else {
            Tri::Unknown
        };
        if self.negated {
            match listed {
                Tri::Yes => Tri::No,
                Tri::No => Tri::Yes,
                Tri::Unknown => Tri::Unknown,
            }
        } else {
            listed
        }
    }
}

/// One statement, ready to evaluate.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    pub(crate) index: usize,
    pub(crate) label: String,
    pub(crate) effect: Effect,
    pub(crate) principal: Principals,
    pub(crate) action: CompiledPatterns,
    pub(crate) resource: CompiledPatterns,
    pub(crate) clauses: Vec<Clause>,
}

impl CompiledStatement {
    fn new(st: &Statement, variables: bool) -> Self {
        CompiledStatement {
            index: st.index,
            label: st.label(),
            effect: st.effect,
            principal: st.principal.clone(),
            action: CompiledPatterns::new(&st.action.values, st.action.negated, false, true),
            resource: CompiledPatterns::new(
                &st.resource.values,
                st.resource.negated,
                variables,
                false,
            ),
            clauses: st
                .conditions
                .iter()
                .map(|c| Clause::new(&c.operator, &c.key, &c.values, variables))
                .collect(),
        }
    }

    /// Action element against a lower-cased action name.
    pub(crate) fn action_tri(&self, action_lc: &str) -> Tri {
        self.action.verdict(
            self.action
                .known
                .iter()
                .any(|p| glob::matches(p, action_lc, true)),
        )
    }

    /// Resource element against an ARN (case-sensitive).
    pub(crate) fn resource_tri(&self, resource: &str) -> Tri {
        self.resource.verdict(
            self.resource
                .known
                .iter()
                .any(|p| glob::matches(p, resource, false)),
        )
    }

    /// Principal / NotPrincipal element against a principal, with IAM's matching rules.
    pub(crate) fn principal_tri(&self, p: &Principal) -> Tri {
        principal_matches(&self.principal, &p.caller, self.effect)
    }

    /// For a Deny with `NotPrincipal` that lists part, not all, of the caller's chain (its
    /// account, its role, its session or user ARN): the chain's ARNs it lacks. AWS documents
    /// that such a deny *might* apply. Empty otherwise.
    pub(crate) fn not_principal_partial(
        &self,
        caller: &Caller,
        partition: Partition,
    ) -> Vec<String> {
        if self.effect != Effect::Deny || !self.principal.negated || self.principal.any {
            return Vec::new();
        }
        let chain = chain(&self.principal, caller, partition);
        let listed = chain.iter().filter(|(_, l)| *l).count();
        if listed == 0 || listed == chain.len() {
            return Vec::new();
        }
        chain
            .into_iter()
            .filter(|(_, l)| !*l)
            .map(|(arn, _)| arn)
            .collect()
    }

    /// The whole statement against one concrete request.
    pub(crate) fn matches(&self, ctx: &RequestContext) -> Tri {
        let mut t = self
            .action_tri(&ctx.action.to_ascii_lowercase())
            .and(self.resource_tri(&ctx.resource))
            .and(self.principal_tri(&ctx.principal));
        if t == Tri::No {
            return t;
        }
        let derived = ctx.principal.keys();
        for c in &self.clauses {
            if t == Tri::No {
                break;
            }
            let v = ctx
                .keys
                .iter()
                .chain(derived.iter())
                .find(|(k, _)| *k == c.key_lc)
                .map(|(_, v)| v.as_slice());
            t = t.and(c.eval(v));
        }
        t
    }

    /// Why part of this statement cannot be evaluated, if it cannot.
    pub(crate) fn unknown_reason(&self) -> Option<String> {
        if let Some(c) = self.clauses.iter().find_map(|c| c.why.clone()) {
            return Some(format!("statement {}: {c}", self.label));
        }
        self.resource.unknown.first().map(|r| {
            format!(
                "statement {}: policy variable in `Resource` `{r}`",
                self.label
            )
        })
    }
}

/// The caller's chain as a `NotPrincipal` must list it to exclude the caller for certain, each
/// element with whether the element lists it: a role session's account, role and session; a
/// user's account and user; the root's account; a service or canonical user itself.
fn chain(pr: &Principals, caller: &Caller, partition: Partition) -> Vec<(String, bool)> {
    let aws = |f: &dyn Fn(&str) -> bool| {
        pr.entries
            .iter()
            .any(|(k, v)| *k == PrincipalKind::Aws && f(v))
    };
    let account_listed = |acct: &str| aws(&|v| account_of_principal(v) == Some(acct));
    match caller {
        Caller::Anonymous => Vec::new(),
        Caller::Root { account, .. } => {
            vec![(root_arn(partition, account), account_listed(account))]
        }
        Caller::User { account, arn } => vec![
            (root_arn(partition, account), account_listed(account)),
            (arn.clone(), aws(&|v| v == arn)),
        ],
        Caller::RoleSession {
            account,
            role_arn,
            session_arn,
        } => vec![
            (root_arn(partition, account), account_listed(account)),
            (role_arn.clone(), aws(&|v| v == role_arn)),
            (session_arn.clone(), aws(&|v| v == session_arn)),
        ],
        Caller::Service { name } => vec![(
            name.clone(),
            pr.entries
                .iter()
                .any(|(k, v)| *k == PrincipalKind::Service && v.eq_ignore_ascii_case(name)),
        )],
        Caller::CanonicalUser { id } => vec![(
            id.clone(),
            pr.entries
                .iter()
                .any(|(k, v)| *k == PrincipalKind::CanonicalUser && v == id),
        )],
    }
}

/// IAM principal matching. In `Principal`, an account matches every principal of that
/// account and a role ARN matches the role's sessions. In a Deny's `NotPrincipal`, a caller is
/// excluded only when its whole chain is listed (account and user; account, role and
/// session); when part of it is listed the deny *might* apply, and this match says it does not
/// (the deny rules count such a caller as not denied; see
/// [`CompiledStatement::not_principal_partial`]). In an Allow's `NotPrincipal`, a caller is
/// excluded by its own ARN or its account.
pub(crate) fn principal_matches(pr: &Principals, caller: &Caller, effect: Effect) -> Tri {
    if pr.any {
        return Tri::from(!pr.negated);
    }
    if pr.negated && effect == Effect::Deny {
        // Partition does not matter for whether an element is listed.
        let chain = chain(pr, caller, Partition::Aws);
        let listed = chain.iter().filter(|(_, l)| *l).count();
        return Tri::from(listed == 0);
    }
    let account = caller.account();
    let own = caller.own_arn();
    let listed = pr.entries.iter().any(|(kind, v)| match kind {
        PrincipalKind::Aws => {
            if v == "*" {
                return true;
            }
            if let Some(acct) = account_of_principal(v) {
                return account == Some(acct);
            }
            if own.as_deref() == Some(v.as_str()) {
                return true;
            }
            // A role ARN in `Principal` matches the role's sessions.
            !pr.negated && matches!(caller, Caller::RoleSession { role_arn, .. } if role_arn == v)
        }
        PrincipalKind::Service => {
            matches!(caller, Caller::Service { name } if name.eq_ignore_ascii_case(v))
        }
        PrincipalKind::CanonicalUser => {
            matches!(caller, Caller::CanonicalUser { id } if id == v)
        }
        PrincipalKind::Federated => false,
    });
    Tri::from(listed != pr.negated)
}

/// The account an `AWS` principal value names as a whole: a 12-digit id or a root ARN.
pub(crate) fn account_of_principal(v: &str) -> Option<&str> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(v);
    }
    let parts = glob::arn_parts(v)?;
    (parts[2] == "iam" && parts[5] == "root").then_some(parts[4])
}

/// A policy prepared for evaluation.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) statements: Vec<CompiledStatement>,
}

impl CompiledPolicy {
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn new(doc: &PolicyDocument) -> Self {
        let variables = doc.supports_variables();
        CompiledPolicy {
            statements: doc
                .statements
                .iter()
                .map(|s| CompiledStatement::new(s, variables))
                .collect(),
        }
    }
}

/// The answer for one request, with the statements responsible.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Deny statements that certainly match.
    pub denied_by: Vec<usize>,
    /// Allow statements that certainly match.
    pub(crate) allowed_by: Vec<usize>,
    /// Statements whose match the engine cannot decide, with why.
    pub undecided: Vec<(usize, String)>,
    /// Deny statements whose `NotPrincipal` lists only part of the caller's chain: AWS says
    /// they *might* apply.
    pub(crate) maybe_denied_by: Vec<usize>,
}

impl CompiledPolicy {
    /// Evaluate the policy against one request with IAM semantics (the policy compiled once,
    /// evaluated many times: the referee of the search in the differential tests).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn evaluate(&self, ctx: &RequestContext, partition: Partition) -> Decision {
        let mut d = Decision {
            denied_by: Vec::new(),
            allowed_by: Vec::new(),
            undecided: Vec::new(),
            maybe_denied_by: Vec::new(),
        };
        for st in &self.statements {
            match st.matches(ctx) {
                Tri::Yes => match st.effect {
                    Effect::Deny => d.denied_by.push(st.index),
                    Effect::Allow => d.allowed_by.push(st.index),
                },
                Tri::Unknown => d.undecided.push((
                    st.index,
                    st.unknown_reason()
                        .unwrap_or_else(|| "cannot evaluate".to_string()),
                )),
                Tri::No => {
                    if st.effect == Effect::Deny
                        && !st
                            .not_principal_partial(&ctx.principal.caller, partition)
                            .is_empty()
                    {
                        d.maybe_denied_by.push(st.index);
                    }
                }
            }
        }
        d
    }
}

/// Evaluate a policy against one request with IAM semantics (compiles the policy; to evaluate
/// many requests, compile once with [`CompiledPolicy::new`] and call
/// [`CompiledPolicy::evaluate`]).
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn evaluate(doc: &PolicyDocument, ctx: &RequestContext) -> Decision {
    CompiledPolicy::new(doc).evaluate(ctx, Partition::Aws)
}
