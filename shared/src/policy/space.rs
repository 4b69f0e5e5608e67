//! The finite, exhaustive space of request contexts for one bucket policy, and the search for
//! a context that no `Deny` statement covers.
//!
//! A context takes one value from each *dimension* (action × resource, principal × signature,
//! network origin, transport, fixed keys, and one dimension for every other condition key the
//! policy tests). Every element of a statement and every condition clause reads exactly one
//! dimension, so for each statement and each dimension value the engine precomputes whether
//! the statement can match (three-valued: `must` = certainly, `may` = possibly). Finding a
//! request that is not denied is then a search over bit sets of statements: at each dimension
//! the set of Deny statements still able to match shrinks, values leading to the same (or a
//! larger) set are skipped, and an empty set is a counter-example.

use std::collections::HashMap;

use super::catalog::{self, S3Action};
use super::compiled::{account_of_principal, CompiledPolicy, CompiledStatement};
use super::condition::{format_date, ip_from, parse_date, Cidr, Clause, Family};
use super::context::{Caller, Principal, Signature};
use super::glob;
use super::model::{Effect, PolicyDocument, PrincipalKind};
use super::tri::Tri;

/// Largest number of values one dimension may have before the engine gives up (fail closed).
const MAX_DIM_VALUES: usize = 20_000;
/// Largest product of principal attribute variants.
const MAX_VARIANTS: usize = 512;

/// What the analysis is asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub bucket: String,
    /// The bucket owner's account; `None` means unknown (a fresh id is used).
    pub account_id: Option<String>,
    pub approved_vpce: Vec<String>,
    pub approved_vpc: Vec<String>,
    /// ARN patterns (ArnLike against `aws:PrincipalArn`) whose requests may bypass the deny.
    pub exempt_principals: Vec<String>,
    /// The guard's own principals besides AWS Config's recorder role.
    pub guard_principals: Vec<String>,
    /// `RequireTlsVersion` (1.2, 1.3, …).
    pub require_tls_version: Option<f64>,
    /// The account's S3 gateway endpoints and their VPCs, when known (account mode).
    pub account_endpoints: Vec<(String, String)>,
    /// Evaluation time, seconds since the epoch (`aws:CurrentTime`).
    pub now: f64,
    /// `aws:ResourceAccount` when it is not the bucket owner's account (endpoint policies are
    /// asked about other accounts' buckets).
    pub resource_account: Option<String>,
}

impl Scope {
    /// A scope for `bucket` with nothing approved, exempt or known yet.
    pub fn new(bucket: &str, account_id: Option<String>, now: f64) -> Scope {
        Scope {
            bucket: bucket.to_string(),
            account_id,
            approved_vpce: Vec::new(),
            approved_vpc: Vec::new(),
            exempt_principals: Vec::new(),
            guard_principals: Vec::new(),
            require_tls_version: None,
            account_endpoints: Vec::new(),
            now,
            resource_account: None,
        }
    }
}

/// What a dimension ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimKind {
    ActionResource,
    Principal,
    Network,
    Transport,
    Fixed,
    /// Any other condition key (lower-cased).
    Free(String),
}

/// The role a principal value plays in the questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalClass {
    /// The probe role session of the bucket's own account.
    SameAccount,
    OtherAccount,
    Anonymous,
    Root,
    Service,
    ViaService,
    /// A configured exempt principal (its pattern).
    Exempt(String),
    /// A guard principal (its ARN).
    Guard(String),
    /// A principal the policy names.
    Named,
}

/// Extra facts about a dimension value, for restricting questions and describing answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Info {
    ActionResource {
        class: usize,
        resource: String,
        object: bool,
    },
    Principal {
        principal: Principal,
        class: PrincipalClass,
    },
    Network {
        approved: bool,
        /// Through a VPC endpoint (false: the public internet).
        endpoint: bool,
        /// The endpoint's VPC is known, approved or unknown-but-fresh; false when an endpoint
        /// of unknown home is paired with a VPC id the policy names (possible, not assumed).
        plausible: bool,
    },
    Transport {
        tls: Option<f64>,
    },
    Plain,
}

/// One value of a dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct DimValue {
    pub label: String,
    /// Condition keys (lower-cased) this value sets.
    pub keys: Vec<(String, Vec<String>)>,
    pub info: Info,
}

impl DimValue {
    fn lookup(&self, key_lc: &str) -> Option<&[String]> {
        self.keys
            .iter()
            .find(|(k, _)| k == key_lc)
            .map(|(_, v)| v.as_slice())
    }
}

/// One dimension.
#[derive(Debug, Clone)]
pub struct Dim {
    pub kind: DimKind,
    pub values: Vec<DimValue>,
}

/// A class of S3 actions the policy's patterns cannot tell apart.
#[derive(Debug, Clone)]
pub struct ActionClass {
    pub actions: Vec<&'static S3Action>,
}

impl ActionClass {
    /// A representative: a well-known action if the class has one.
    fn representative(&self) -> &'static str {
        const PREFERRED: [&str; 6] = [
            "s3:getobject",
            "s3:putobject",
            "s3:listbucket",
            "s3:deleteobject",
            "s3:getbucketpolicy",
            "s3:putbucketpolicy",
        ];
        for p in PREFERRED {
            if let Some(a) = self.actions.iter().find(|a| a.name_lc == p) {
                return &a.name;
            }
        }
        self.actions
            .first()
            .map(|a| a.name.as_str())
            .unwrap_or("s3:*")
    }

    fn label(&self) -> String {
        match self.actions.len() {
            0 | 1 => self.representative().to_string(),
            n => format!("{} (+{} alike)", self.representative(), n - 1),
        }
    }
}

/// Why the space could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooComplex(pub String);

/// Where each condition key is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyHome {
    Network,
    Transport,
    /// Set by AWS from the principal.
    PrincipalDerived,
    /// Varies among principals of one kind (organization, tags, user id…).
    PrincipalAttr,
    /// Set by AWS for service principals only.
    ServiceAttr,
    Fixed,
    Free,
}

fn key_home(k: &str) -> KeyHome {
    match k {
        "aws:sourcevpce" | "aws:sourcevpc" | "aws:vpcsourceip" | "aws:sourceip" => KeyHome::Network,
        "aws:securetransport" | "s3:tlsversion" => KeyHome::Transport,
        "aws:principalarn"
        | "aws:principalaccount"
        | "aws:principalisawsservice"
        | "aws:viaawsservice"
        | "aws:principalservicename"
        | "aws:principaltype"
        | "s3:signatureversion" => KeyHome::PrincipalDerived,
        "aws:principalorgid"
        | "aws:principalorgpaths"
        | "aws:userid"
        | "aws:username"
        | "aws:multifactorauthpresent"
        | "aws:multifactorauthage"
        | "aws:sourceidentity" => KeyHome::PrincipalAttr,
        k if k.starts_with("aws:principaltag/") => KeyHome::PrincipalAttr,
        "aws:sourceaccount" | "aws:sourcearn" | "aws:sourceorgid" | "aws:sourceorgpaths" => {
            KeyHome::ServiceAttr
        }
        "aws:currenttime" | "aws:epochtime" | "aws:resourceaccount" | "s3:resourceaccount" => {
            KeyHome::Fixed
        }
        _ => KeyHome::Free,
    }
}

/// A condition key (lower-cased, as written) and its clauses (statement, clause).
type KeyClauses = (String, String, Vec<(usize, usize)>);

/// Principal-scoped keys: a label and the keys set.
type Variant = (String, Vec<(String, Vec<String>)>);

/// A fixed-width bit set over statements, stored flat.
type Words = Vec<u64>;

/// The space of request contexts of one policy, with the precomputed statement sets.
#[derive(Debug)]
pub struct Space {
    pub policy: CompiledPolicy,
    pub scope: Scope,
    /// The account id used for "same account" (the given one, or a fresh one).
    pub account: String,
    pub dims: Vec<Dim>,
    pub classes: Vec<ActionClass>,
    words: usize,
    /// `must[d][v * words .. (v + 1) * words]`: statements that certainly match value v of d.
    must: Vec<Words>,
    /// Likewise for "possibly match".
    may: Vec<Words>,
    deny_mask: Words,
    has_unknown: bool,
    pub actres: usize,
    pub principal: usize,
    pub network: usize,
    pub transport: usize,
}

/// A restriction of the space: the allowed value indices of each dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(pub Vec<Vec<usize>>);

/// A context: one value index per dimension.
pub type Choice = Vec<usize>;

impl Space {
    /// Build the space of every statement, for questions about what is allowed.
    pub fn with_all_statements(doc: &PolicyDocument, scope: &Scope) -> Result<Space, TooComplex> {
        Builder::new(CompiledPolicy::new(doc), scope.clone()).build()
    }

    /// Search `sel` for a context that some Allow statement possibly matches and no Deny
    /// statement certainly matches (fail closed: "possibly allowed" counts as allowed).
    pub fn find_allowed(&self, sel: &Selection) -> Option<(usize, Choice)> {
        for (i, st) in self.policy.statements.iter().enumerate() {
            if st.effect != Effect::Allow {
                continue;
            }
            let mut one = sel.clone();
            for (d, allowed) in one.0.iter_mut().enumerate() {
                allowed.retain(|&v| self.tri(i, d, v) != Tri::No);
            }
            if let Some(c) = self.find_undenied(&one, false) {
                return Some((i, c));
            }
        }
        None
    }

    /// Build the space for the bucket rules, which read Deny statements and grants to everyone.
    pub fn new(doc: &PolicyDocument, scope: &Scope) -> Result<Space, TooComplex> {
        let mut policy = CompiledPolicy::new(doc);
        // No rule reads an Allow statement that names specific principals: bucket rules ask
        // what is denied, and S3-NO-PUBLIC-GRANT only looks at grants to everyone. Leaving them
        // out keeps the space small (a 20 KB policy is mostly such grants).
        policy.statements.retain(|st| {
            st.effect == Effect::Deny || st.principal.negated || st.principal.names_everyone()
        });
        Builder::new(policy, scope.clone()).build()
    }

    /// Every value of every dimension.
    pub fn select_all(&self) -> Selection {
        Selection(
            self.dims
                .iter()
                .map(|d| (0..d.values.len()).collect())
                .collect(),
        )
    }

    /// Keep only the values of dimension `dim` that satisfy `keep`.
    pub fn restrict(&self, sel: &mut Selection, dim: usize, keep: impl Fn(&DimValue) -> bool) {
        if let (Some(allowed), Some(d)) = (sel.0.get_mut(dim), self.dims.get(dim)) {
            allowed.retain(|&i| d.values.get(i).is_some_and(&keep));
        }
    }

    /// True when some statement has an element the engine cannot evaluate.
    pub fn has_unknown(&self) -> bool {
        self.has_unknown
    }

    fn col(&self, may: bool, d: usize, v: usize) -> &[u64] {
        let all = if may { &self.may } else { &self.must };
        all.get(d)
            .and_then(|w| w.get(v * self.words..(v + 1) * self.words))
            .unwrap_or(&[])
    }

    /// Search `sel` for a context that no Deny statement matches. With `may`, a statement
    /// counts as matching when it possibly matches (so "not denied" is certain); without, only
    /// when it certainly matches.
    pub fn find_undenied(&self, sel: &Selection, may: bool) -> Option<Choice> {
        if sel.0.iter().any(|s| s.is_empty()) {
            return None;
        }
        let mut choice = vec![0usize; self.dims.len()];
        if self.dfs(sel, may, 0, &self.deny_mask, &mut choice) {
            Some(choice)
        } else {
            None
        }
    }

    fn dfs(
        &self,
        sel: &Selection,
        may: bool,
        level: usize,
        alive: &[u64],
        choice: &mut Choice,
    ) -> bool {
        if alive.iter().all(|w| *w == 0) {
            for (d, allowed) in sel.0.iter().enumerate().skip(level) {
                if let (Some(c), Some(first)) = (choice.get_mut(d), allowed.first()) {
                    *c = *first;
                }
            }
            return true;
        }
        let Some(allowed) = sel.0.get(level) else {
            return false;
        };
        let mut explored: Vec<Words> = Vec::new();
        for &v in allowed {
            let col = self.col(may, level, v);
            let next: Words = alive.iter().zip(col).map(|(a, c)| a & c).collect();
            // A set containing one already explored without success cannot succeed either:
            // every completion is denied by a statement of the smaller set.
            if explored
                .iter()
                .any(|e| e.iter().zip(&next).all(|(e, n)| e & !n == 0))
            {
                continue;
            }
            if self.dfs(sel, may, level + 1, &next, choice) {
                if let Some(c) = choice.get_mut(level) {
                    *c = v;
                }
                return true;
            }
            explored.push(next);
        }
        false
    }

    /// The statements (of `effect`) that match a context, certainly or possibly.
    pub fn matching(&self, choice: &Choice, may: bool, effect: Effect) -> Vec<usize> {
        let mut set: Words = vec![u64::MAX; self.words];
        for (d, &v) in choice.iter().enumerate() {
            for (s, c) in set.iter_mut().zip(self.col(may, d, v)) {
                *s &= c;
            }
        }
        self.policy
            .statements
            .iter()
            .enumerate()
            .filter(|(i, st)| st.effect == effect && bit(&set, *i))
            .map(|(i, _)| i)
            .collect()
    }

    /// Does statement `s` match value `v` of dimension `d` (three-valued)?
    pub fn tri(&self, s: usize, d: usize, v: usize) -> Tri {
        match (bit(self.col(false, d, v), s), bit(self.col(true, d, v), s)) {
            (true, _) => Tri::Yes,
            (false, true) => Tri::Unknown,
            _ => Tri::No,
        }
    }

    pub fn value(&self, d: usize, v: usize) -> Option<&DimValue> {
        self.dims.get(d).and_then(|dim| dim.values.get(v))
    }

    /// A one-line description of a context: transport, origin, action and resource, principal.
    pub fn describe(&self, choice: &Choice) -> String {
        let label = |d: usize| {
            choice
                .get(d)
                .and_then(|&v| self.value(d, v))
                .map(|v| v.label.clone())
                .unwrap_or_default()
        };
        let mut s = format!(
            "{} {}: {} by {}",
            label(self.transport),
            label(self.network),
            label(self.actres),
            label(self.principal)
        );
        let extra: Vec<String> = self
            .dims
            .iter()
            .enumerate()
            .filter(|(_, dim)| matches!(dim.kind, DimKind::Free(_)))
            .map(|(d, _)| label(d))
            .filter(|l| !l.is_empty())
            .collect();
        if !extra.is_empty() {
            s.push_str(", with ");
            s.push_str(&extra.join(", "));
        }
        s
    }

    /// The Deny statement that comes closest to covering a context, and what does not match.
    pub fn closest_deny(&self, choice: &Choice) -> Option<String> {
        let mut best: Option<(usize, usize, usize)> = None; // (misses, statement, first missing dim)
        for (i, st) in self.policy.statements.iter().enumerate() {
            if st.effect != Effect::Deny {
                continue;
            }
            let missing: Vec<usize> = choice
                .iter()
                .enumerate()
                .filter(|(d, &v)| self.tri(i, *d, v) != Tri::Yes)
                .map(|(d, _)| d)
                .collect();
            if let Some(&first) = missing.first() {
                if best.is_none_or(|(m, _, _)| missing.len() < m) {
                    best = Some((missing.len(), i, first));
                }
            }
        }
        let (_, s, d) = best?;
        let st = self.policy.statements.get(s)?;
        let v = self.value(d, *choice.get(d)?)?;
        Some(format!(
            "closest Deny statement {}: {}",
            st.label,
            self.why_not(st, d, v)
        ))
    }

    /// Which element of a statement fails for a dimension value.
    fn why_not(&self, st: &CompiledStatement, d: usize, v: &DimValue) -> String {
        let kind = self.dims.get(d).map(|x| &x.kind);
        match (&v.info, kind) {
            (
                Info::ActionResource {
                    class, resource, ..
                },
                _,
            ) => {
                let action = self
                    .classes
                    .get(*class)
                    .map(|c| c.representative())
                    .unwrap_or("s3:*");
                if st.action_tri(&action.to_ascii_lowercase()) != Tri::Yes {
                    let el = if st.action.negated {
                        "NotAction"
                    } else {
                        "Action"
                    };
                    return format!("its `{el}` does not cover {action}");
                }
                let el = if st.resource.negated {
                    "NotResource"
                } else {
                    "Resource"
                };
                format!("its `{el}` does not cover {resource}")
            }
            (Info::Principal { principal, .. }, _) => {
                if st.principal_tri(principal) != Tri::Yes {
                    let el = if st.principal.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    };
                    return format!("its `{el}` does not cover {}", v.label);
                }
                self.failing_clause(st, v)
            }
            _ => self.failing_clause(st, v),
        }
    }

    fn failing_clause(&self, st: &CompiledStatement, v: &DimValue) -> String {
        for c in &st.clauses {
            let home = self.home_of(&c.key_lc);
            let here = v.keys.iter().any(|(k, _)| *k == c.key_lc) || home_matches(&home, &v.info);
            if !here {
                continue;
            }
            match c.eval(v.lookup(&c.key_lc)) {
                Tri::Yes => {}
                Tri::No => {
                    return format!(
                        "its condition `{}` on `{}` does not hold{}",
                        c.operator_name,
                        c.key,
                        if v.lookup(&c.key_lc).is_none() {
                            " (the key is absent)"
                        } else {
                            ""
                        }
                    )
                }
                Tri::Unknown => {
                    return format!(
                        "condition `{}` on `{}` cannot be evaluated ({})",
                        c.operator_name,
                        c.key,
                        c.why.clone().unwrap_or_default()
                    )
                }
            }
        }
        "a condition does not hold".to_string()
    }

    fn home_of(&self, key_lc: &str) -> KeyHome {
        key_home(key_lc)
    }

    /// Why statements cannot be evaluated, for "cannot evaluate" findings.
    pub fn unknown_reasons(&self, statements: &[usize]) -> Vec<String> {
        statements
            .iter()
            .filter_map(|&i| self.policy.statements.get(i))
            .filter_map(|s| s.unknown_reason())
            .collect()
    }

    /// The action class an action belongs to.
    pub fn class_of(&self, action: &str) -> Option<usize> {
        let lc = action.to_ascii_lowercase();
        self.classes
            .iter()
            .position(|c| c.actions.iter().any(|a| a.name_lc == lc))
    }
}

fn home_matches(home: &KeyHome, info: &Info) -> bool {
    matches!(
        (home, info),
        (KeyHome::Network, Info::Network { .. })
            | (KeyHome::Transport, Info::Transport { .. })
            | (KeyHome::PrincipalDerived, Info::Principal { .. })
            | (KeyHome::PrincipalAttr, Info::Principal { .. })
            | (KeyHome::ServiceAttr, Info::Principal { .. })
    )
}

fn bit(words: &[u64], i: usize) -> bool {
    words
        .get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

fn set_bit(words: &mut [u64], i: usize) {
    if let Some(w) = words.get_mut(i / 64) {
        *w |= 1u64 << (i % 64);
    }
}

/// Fresh identifiers that no policy constant uses.
struct Fresh<'a> {
    used: &'a [String],
    counter: u64,
}

impl Fresh<'_> {
    fn account(&mut self) -> String {
        loop {
            self.counter += 1;
            let id = format!("{:012}", 987_600_000_000u64 + self.counter);
            if !self.used.iter().any(|u| u.contains(&id)) {
                return id;
            }
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        loop {
            self.counter += 1;
            let id = format!("{prefix}0ffe{:013x}", self.counter);
            if !self.used.iter().any(|u| u == &id) {
                return id;
            }
        }
    }
}

struct Builder {
    policy: CompiledPolicy,
    scope: Scope,
    /// Clauses by lower-cased key, in order of first appearance.
    by_key: Vec<KeyClauses>,
    constants: Vec<String>,
}

impl Builder {
    fn new(policy: CompiledPolicy, scope: Scope) -> Self {
        let mut by_key: Vec<KeyClauses> = Vec::new();
        let mut constants = Vec::new();
        for (si, st) in policy.statements.iter().enumerate() {
            for (ci, c) in st.clauses.iter().enumerate() {
                match by_key.iter_mut().find(|(k, _, _)| *k == c.key_lc) {
                    Some((_, _, list)) => list.push((si, ci)),
                    None => by_key.push((c.key_lc.clone(), c.key.clone(), vec![(si, ci)])),
                }
                constants.extend(c.raw_values.iter().cloned());
            }
            constants.extend(st.principal.entries.iter().map(|(_, v)| v.clone()));
            constants.extend(st.resource.known.iter().cloned());
        }
        Builder {
            policy,
            scope,
            by_key,
            constants,
        }
    }

    fn uses_key(&self, key_lc: &str) -> bool {
        self.by_key.iter().any(|(k, _, _)| k == key_lc)
    }

    fn clauses_of(&self, key_lc: &str) -> Vec<&Clause> {
        self.by_key
            .iter()
            .filter(|(k, _, _)| k == key_lc)
            .flat_map(|(_, _, list)| list.iter())
            .filter_map(|&(si, ci)| self.policy.statements.get(si)?.clauses.get(ci))
            .collect()
    }

    fn build(self) -> Result<Space, TooComplex> {
        let used = self.constants.clone();
        let mut fresh = Fresh {
            used: &used,
            counter: 0,
        };
        let account = match &self.scope.account_id {
            Some(a) => a.clone(),
            None => fresh.account(),
        };
        let (classes, actres) = self.action_resource_dim();
        let principal = self.principal_dim(&account, &mut fresh)?;
        let network = self.network_dim(&mut fresh)?;
        let transport = self.transport_dim();
        let fixed = self.fixed_dim(&account);
        let mut dims = vec![actres, principal, network, transport, fixed];
        for (key_lc, key, _) in &self.by_key {
            if key_home(key_lc) == KeyHome::Free {
                let clauses = self.clauses_of(key_lc);
                let mut values = vec![DimValue {
                    label: String::new(),
                    keys: Vec::new(),
                    info: Info::Plain,
                }];
                for w in witnesses(&clauses, "vpce-guard-fresh-value") {
                    values.push(DimValue {
                        label: format!("{key}={w}"),
                        keys: vec![(key_lc.clone(), vec![w])],
                        info: Info::Plain,
                    });
                }
                dims.push(Dim {
                    kind: DimKind::Free(key_lc.clone()),
                    values,
                });
            }
        }
        for d in &dims {
            if d.values.len() > MAX_DIM_VALUES {
                return Err(TooComplex(format!(
                    "the policy needs {} request variants in one dimension (limit {MAX_DIM_VALUES})",
                    d.values.len()
                )));
            }
        }
        let n = self.policy.statements.len();
        let words = n.div_ceil(64).max(1);
        let mut must = Vec::with_capacity(dims.len());
        let mut may = Vec::with_capacity(dims.len());
        let mut has_unknown = false;
        // Per statement: action verdict per class, resource verdict per resource.
        let resources: Vec<String> = {
            let mut r: Vec<String> = Vec::new();
            for v in &dims[0].values {
                if let Info::ActionResource { resource, .. } = &v.info {
                    if !r.contains(resource) {
                        r.push(resource.clone());
                    }
                }
            }
            r
        };
        let action_t: Vec<Vec<Tri>> = self
            .policy
            .statements
            .iter()
            .map(|st| {
                classes
                    .iter()
                    .map(|c| match c.actions.first() {
                        Some(a) => st.action_tri(&a.name_lc),
                        None => Tri::No,
                    })
                    .collect()
            })
            .collect();
        let resource_t: Vec<Vec<Tri>> = self
            .policy
            .statements
            .iter()
            .map(|st| resources.iter().map(|r| st.resource_tri(r)).collect())
            .collect();
        for dim in dims.iter() {
            let mut mu = vec![0u64; dim.values.len() * words];
            let mut ma = vec![0u64; dim.values.len() * words];
            for (vi, v) in dim.values.iter().enumerate() {
                let ri = match &v.info {
                    Info::ActionResource { resource, .. } => {
                        resources.iter().position(|r| r == resource)
                    }
                    _ => None,
                };
                for (si, st) in self.policy.statements.iter().enumerate() {
                    let t = match &v.info {
                        Info::ActionResource { class, .. } => {
                            let a = action_t
                                .get(si)
                                .and_then(|x| x.get(*class))
                                .copied()
                                .unwrap_or(Tri::No);
                            let r = ri
                                .and_then(|ri| resource_t.get(si).and_then(|x| x.get(ri)))
                                .copied()
                                .unwrap_or(Tri::No);
                            a.and(r)
                        }
                        Info::Principal { principal, .. } => {
                            let mut t = st.principal_tri(principal);
                            for c in &st.clauses {
                                if t == Tri::No {
                                    break;
                                }
                                if matches!(
                                    key_home(&c.key_lc),
                                    KeyHome::PrincipalDerived
                                        | KeyHome::PrincipalAttr
                                        | KeyHome::ServiceAttr
                                ) {
                                    t = t.and(c.eval(v.lookup(&c.key_lc)));
                                }
                            }
                            t
                        }
                        _ => {
                            let mut t = Tri::Yes;
                            for c in &st.clauses {
                                if t == Tri::No {
                                    break;
                                }
                                let home = key_home(&c.key_lc);
                                let mine = match &dim.kind {
                                    DimKind::Network => home == KeyHome::Network,
                                    DimKind::Transport => home == KeyHome::Transport,
                                    DimKind::Fixed => home == KeyHome::Fixed,
                                    DimKind::Free(k) => home == KeyHome::Free && *k == c.key_lc,
                                    _ => false,
                                };
                                if mine {
                                    t = t.and(c.eval(v.lookup(&c.key_lc)));
                                }
                            }
                            t
                        }
                    };
                    let off = vi * words;
                    if t.must() {
                        set_bit(mu.get_mut(off..off + words).unwrap_or(&mut []), si);
                    }
                    if t.may() {
                        set_bit(ma.get_mut(off..off + words).unwrap_or(&mut []), si);
                    }
                    if t == Tri::Unknown {
                        has_unknown = true;
                    }
                }
            }
            must.push(mu);
            may.push(ma);
        }
        let mut deny_mask = vec![0u64; words];
        for (si, st) in self.policy.statements.iter().enumerate() {
            if st.effect == Effect::Deny {
                set_bit(&mut deny_mask, si);
            }
        }
        Ok(Space {
            policy: self.policy,
            scope: self.scope,
            account,
            dims,
            classes,
            words,
            must,
            may,
            deny_mask,
            has_unknown,
            actres: 0,
            principal: 1,
            network: 2,
            transport: 3,
        })
    }

    fn action_resource_dim(&self) -> (Vec<ActionClass>, Dim) {
        // Distinct action patterns of the policy; an action's class is the set it matches.
        let mut patterns: Vec<&str> = Vec::new();
        for st in &self.policy.statements {
            for p in &st.action.known {
                if !patterns.contains(&p.as_str()) {
                    patterns.push(p);
                }
            }
        }
        let mut index: HashMap<(Vec<bool>, bool, bool), usize> = HashMap::new();
        let mut classes: Vec<ActionClass> = Vec::new();
        for a in catalog::bucket_actions() {
            let sig: Vec<bool> = patterns
                .iter()
                .map(|p| glob::matches(p, &a.name_lc, true))
                .collect();
            let key = (sig, a.bucket, a.object);
            let i = *index.entry(key).or_insert_with(|| {
                classes.push(ActionClass {
                    actions: Vec::new(),
                });
                classes.len() - 1
            });
            if let Some(c) = classes.get_mut(i) {
                c.actions.push(a);
            }
        }
        let bucket_arn = format!("arn:aws:s3:::{}", self.scope.bucket);
        let template = format!("{bucket_arn}/*");
        let mut objects = vec![format!("{bucket_arn}/vpce-guard-probe")];
        let mut object_patterns: Vec<&str> = Vec::new();
        for st in &self.policy.statements {
            for p in &st.resource.known {
                if !object_patterns.contains(&p.as_str()) {
                    object_patterns.push(p);
                }
            }
        }
        let push = |o: String, objects: &mut Vec<String>| {
            if o.starts_with(&format!("{bucket_arn}/")) && !objects.contains(&o) {
                objects.push(o);
            }
        };
        for p in &object_patterns {
            if let Some(w) = glob::intersect(p, &template, false, 'z') {
                push(w, &mut objects);
            }
            let filled = glob::fill(p, "zz9", 'z');
            if glob::matches(&template, &filled, false) {
                push(filled, &mut objects);
            }
        }
        // Overlaps of two object patterns.
        for (i, a) in object_patterns.iter().enumerate() {
            for b in object_patterns.iter().skip(i + 1) {
                // An overlap some candidate already lies in needs no new witness.
                if objects
                    .iter()
                    .any(|o| glob::matches(a, o, false) && glob::matches(b, o, false))
                {
                    continue;
                }
                if let Some(ab) = glob::intersect(a, b, false, 'z') {
                    if let Some(w) = glob::intersect(&ab, &template, false, 'z') {
                        push(w, &mut objects);
                    }
                }
            }
        }
        // Keep one object per class of keys the policy's resource patterns cannot tell apart.
        let mut seen: Vec<Vec<Tri>> = Vec::new();
        objects.retain(|o| {
            let sig: Vec<Tri> = self
                .policy
                .statements
                .iter()
                .map(|st| st.resource_tri(o))
                .collect();
            if seen.contains(&sig) {
                false
            } else {
                seen.push(sig);
                true
            }
        });
        let mut values = Vec::new();
        for (ci, c) in classes.iter().enumerate() {
            let Some(first) = c.actions.first() else {
                continue;
            };
            if first.bucket {
                values.push(DimValue {
                    label: format!("{} on {bucket_arn}", c.label()),
                    keys: Vec::new(),
                    info: Info::ActionResource {
                        class: ci,
                        resource: bucket_arn.clone(),
                        object: false,
                    },
                });
            }
            if first.object {
                for o in &objects {
                    values.push(DimValue {
                        label: format!("{} on {o}", c.label()),
                        keys: Vec::new(),
                        info: Info::ActionResource {
                            class: ci,
                            resource: o.clone(),
                            object: true,
                        },
                    });
                }
            }
        }
        (
            classes,
            Dim {
                kind: DimKind::ActionResource,
                values,
            },
        )
    }

    /// Witness principals for an ARN pattern: wildcards in the account become the bucket's
    /// account when it fits, other wildcards a filler.
    fn caller_from_pattern(&self, pattern: &str, account: &str) -> Option<Caller> {
        let parts = glob::arn_parts(pattern)?;
        let acct = if glob::is_pattern(parts[4]) {
            if glob::matches(parts[4], account, false) {
                account.to_string()
            } else {
                glob::fill(parts[4], "", '0')
            }
        } else {
            parts[4].to_string()
        };
        let arn = format!(
            "{}:{}:{}:{}:{}:{}",
            parts[0],
            glob::fill(parts[1], "aws", 'x'),
            glob::fill(parts[2], "iam", 'x'),
            glob::fill(parts[3], "", 'x'),
            acct,
            glob::fill(parts[5], "x", 'x')
        );
        Caller::from_arn(&arn)
    }

    fn principal_dim(&self, account: &str, fresh: &mut Fresh) -> Result<Dim, TooComplex> {
        let probe_role = format!("arn:aws:iam::{account}:role/vpce-guard-probe-role");
        let same = Caller::RoleSession {
            account: account.to_string(),
            role_arn: probe_role,
            session_arn: format!(
                "arn:aws:sts::{account}:assumed-role/vpce-guard-probe-role/vpce-guard-probe"
            ),
        };
        let other_acct = fresh.account();
        let other = Caller::RoleSession {
            account: other_acct.clone(),
            role_arn: format!("arn:aws:iam::{other_acct}:role/vpce-guard-probe-role"),
            session_arn: format!(
                "arn:aws:sts::{other_acct}:assumed-role/vpce-guard-probe-role/vpce-guard-probe"
            ),
        };
        // (caller, via service, class, label)
        let mut bases: Vec<(Caller, bool, PrincipalClass, String)> = vec![
            (
                same.clone(),
                false,
                PrincipalClass::SameAccount,
                "a same-account role session".into(),
            ),
            (
                other,
                false,
                PrincipalClass::OtherAccount,
                format!("a role session of another account ({other_acct})"),
            ),
            (
                Caller::Anonymous,
                false,
                PrincipalClass::Anonymous,
                "anonymous".into(),
            ),
            (
                Caller::Root {
                    account: account.to_string(),
                },
                false,
                PrincipalClass::Root,
                format!("the account root ({account})"),
            ),
            (
                same,
                true,
                PrincipalClass::ViaService,
                "a same-account role session via an AWS service".into(),
            ),
        ];
        let mut services: Vec<String> = Vec::new();
        for p in &self.scope.exempt_principals {
            if let Some(c) = self.caller_from_pattern(p, account) {
                bases.push((
                    c,
                    false,
                    PrincipalClass::Exempt(p.clone()),
                    format!("exempt principal {p}"),
                ));
            }
        }
        let config_role = format!(
            "arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        );
        let mut guards = vec![config_role];
        guards.extend(self.scope.guard_principals.iter().cloned());
        for g in guards {
            if let Some(c) = self.caller_from_pattern(&g, account) {
                bases.push((
                    c,
                    false,
                    PrincipalClass::Guard(g.clone()),
                    format!("guard principal {g}"),
                ));
            }
        }
        let mut named: Vec<(Caller, String)> = Vec::new();
        let name_account = |acct: &str, named: &mut Vec<(Caller, String)>| {
            named.push((
                Caller::RoleSession {
                    account: acct.to_string(),
                    role_arn: format!("arn:aws:iam::{acct}:role/vpce-guard-probe-role"),
                    session_arn: format!(
                        "arn:aws:sts::{acct}:assumed-role/vpce-guard-probe-role/vpce-guard-probe"
                    ),
                },
                format!("a role session of account {acct}"),
            ));
            named.push((
                Caller::Root {
                    account: acct.to_string(),
                },
                format!("the root of account {acct}"),
            ));
        };
        for st in &self.policy.statements {
            for (kind, v) in &st.principal.entries {
                match kind {
                    PrincipalKind::Aws if v == "*" => {}
                    PrincipalKind::Aws => {
                        if let Some(acct) = account_of_principal(v) {
                            name_account(acct, &mut named);
                        } else if let Some(c) = Caller::from_arn(v) {
                            let label = match &c {
                                Caller::RoleSession {
                                    role_arn,
                                    session_arn,
                                    ..
                                } if role_arn == v => {
                                    format!("a session of {v} ({session_arn})")
                                }
                                _ => v.clone(),
                            };
                            named.push((c, label));
                        }
                    }
                    PrincipalKind::Service => services.push(v.clone()),
                    PrincipalKind::CanonicalUser => named.push((
                        Caller::CanonicalUser { id: v.clone() },
                        format!("canonical user {v}"),
                    )),
                    PrincipalKind::Federated => {}
                }
            }
        }
        for c in self.clauses_of("aws:principalarn") {
            for v in &c.raw_values {
                if let Some(caller) = self.caller_from_pattern(v, account) {
                    let label = match &caller {
                        Caller::RoleSession { role_arn, .. } => format!("a session of {role_arn}"),
                        _ => caller.principal_arn().unwrap_or_else(|| v.clone()),
                    };
                    named.push((caller, label));
                }
            }
        }
        for c in self.clauses_of("aws:principalaccount") {
            for v in &c.raw_values {
                let acct = glob::fill(v, "", '0');
                name_account(&acct, &mut named);
            }
        }
        for c in self.clauses_of("aws:principalservicename") {
            services.extend(c.raw_values.iter().map(|v| glob::fill(v, "x", 'x')));
        }
        services.push("vpce-guard-probe.amazonaws.com".into());
        for s in services {
            let label = format!("AWS service principal {s}");
            bases.push((
                Caller::Service { name: s },
                false,
                PrincipalClass::Service,
                label,
            ));
        }
        for (c, label) in named {
            bases.push((c, false, PrincipalClass::Named, label));
        }
        // De-duplicate: the first role a caller has wins (exempt before named, …).
        let mut unique: Vec<(Caller, bool, PrincipalClass, String)> = Vec::new();
        for b in bases {
            if !unique
                .iter()
                .any(|u| u.0 == b.0 && u.1 == b.1 && u.2 == b.2)
            {
                unique.push(b);
            }
        }
        let attr = self.variants(KeyHome::PrincipalAttr)?;
        let svc = self.variants(KeyHome::ServiceAttr)?;
        let mut values = Vec::new();
        for (caller, via, class, label) in unique {
            let sigs: &[Signature] = match (&caller, via) {
                (Caller::Anonymous, _) => &[Signature::Unsigned],
                (Caller::Service { .. }, _) | (_, true) => &[Signature::SigV4],
                _ => &[Signature::SigV4, Signature::SigV2],
            };
            let variants: &[Variant] = match caller {
                Caller::Anonymous => &[],
                Caller::Service { .. } => &svc,
                _ => &attr,
            };
            let empty = [(String::new(), Vec::new())];
            let variants = if variants.is_empty() {
                &empty[..]
            } else {
                variants
            };
            for &sig in sigs {
                for (vlabel, vkeys) in variants {
                    let p = Principal {
                        caller: caller.clone(),
                        signature: sig,
                        via_service: via,
                    };
                    let mut keys = p.keys();
                    keys.extend(vkeys.iter().cloned());
                    let mut l = if sig == Signature::Unsigned {
                        label.clone()
                    } else {
                        format!("{label} ({})", sig.label())
                    };
                    if !vlabel.is_empty() {
                        l.push_str(" with ");
                        l.push_str(vlabel);
                    }
                    values.push(DimValue {
                        label: l,
                        keys,
                        info: Info::Principal {
                            principal: p,
                            class: class.clone(),
                        },
                    });
                }
            }
        }
        Ok(Dim {
            kind: DimKind::Principal,
            values,
        })
    }

    /// The product of candidate values of the principal-scoped keys of one home.
    fn variants(&self, home: KeyHome) -> Result<Vec<Variant>, TooComplex> {
        let mut out: Vec<Variant> = vec![(String::new(), Vec::new())];
        for (key_lc, key, _) in &self.by_key {
            if key_home(key_lc) != home {
                continue;
            }
            let clauses = self.clauses_of(key_lc);
            let mut cands: Vec<Option<String>> = vec![None];
            cands.extend(
                witnesses(&clauses, "vpce-guard-fresh-value")
                    .into_iter()
                    .map(Some),
            );
            let mut next = Vec::with_capacity(out.len() * cands.len());
            for (label, keys) in &out {
                for c in &cands {
                    let mut l = label.clone();
                    let mut k = keys.clone();
                    if let Some(v) = c {
                        if !l.is_empty() {
                            l.push_str(", ");
                        }
                        l.push_str(&format!("{key}={v}"));
                        k.push((key_lc.clone(), vec![v.clone()]));
                    }
                    next.push((l, k));
                }
            }
            if next.len() > MAX_VARIANTS {
                return Err(TooComplex(format!(
                    "the principal-scoped condition keys need more than {MAX_VARIANTS} combinations"
                )));
            }
            out = next;
        }
        Ok(out)
    }

    fn network_dim(&self, fresh: &mut Fresh) -> Result<Dim, TooComplex> {
        let scope = &self.scope;
        let mut values = Vec::new();
        // Public internet.
        let mut ips = vec!["198.51.100.7".to_string()];
        for w in witnesses(&self.clauses_of("aws:sourceip"), "198.51.100.8") {
            if !ips.contains(&w) {
                ips.push(w);
            }
        }
        for ip in ips {
            values.push(DimValue {
                label: format!("from the public internet (aws:SourceIp {ip})"),
                keys: vec![("aws:sourceip".into(), vec![ip])],
                info: Info::Network {
                    approved: false,
                    endpoint: false,
                    plausible: true,
                },
            });
        }
        // Endpoints: (id, description, VPC if known).
        let mut endpoints: Vec<(String, String, Option<String>)> = Vec::new();
        let known_vpc = |e: &str| {
            scope
                .account_endpoints
                .iter()
                .find(|(id, _)| id == e)
                .map(|(_, v)| v.clone())
        };
        for e in &scope.approved_vpce {
            endpoints.push((e.clone(), "approved endpoint".into(), known_vpc(e)));
        }
        for (e, v) in &scope.account_endpoints {
            if !endpoints.iter().any(|x| x.0 == *e) {
                endpoints.push((
                    e.clone(),
                    "another endpoint of the account".into(),
                    Some(v.clone()),
                ));
            }
        }
        if scope.account_endpoints.is_empty() {
            endpoints.push((
                fresh.id("vpce-"),
                "another endpoint of the account".into(),
                None,
            ));
        }
        endpoints.push((fresh.id("vpce-"), "a foreign endpoint".into(), None));
        // AWS writes endpoint and VPC ids in lower case; case variants are the same id.
        for w in witnesses(&self.clauses_of("aws:sourcevpce"), "vpce-guard-fresh-value") {
            let w = w.to_ascii_lowercase();
            if !endpoints.iter().any(|x| x.0 == w) {
                endpoints.push((w, "an endpoint the policy names".into(), None));
            }
        }
        let mut vpcs: Vec<String> = scope.approved_vpc.clone();
        for (_, v) in &scope.account_endpoints {
            if !vpcs.contains(v) {
                vpcs.push(v.clone());
            }
        }
        for w in witnesses(&self.clauses_of("aws:sourcevpc"), "vpc-guard-fresh-value") {
            let w = w.to_ascii_lowercase();
            if !vpcs.contains(&w) {
                vpcs.push(w);
            }
        }
        let fresh_vpc = fresh.id("vpc-");
        vpcs.push(fresh_vpc.clone());
        let account_vpcs: Vec<&String> = scope.account_endpoints.iter().map(|(_, v)| v).collect();
        let mut vips = vec!["10.0.0.10".to_string()];
        for w in witnesses(&self.clauses_of("aws:vpcsourceip"), "10.0.0.11") {
            if !vips.contains(&w) {
                vips.push(w);
            }
        }
        for (e, what, vpc) in &endpoints {
            let pair: Vec<&String> = match vpc {
                Some(v) => vec![v],
                // An endpoint the account does not have cannot sit in the account's VPCs.
                None => vpcs.iter().filter(|v| !account_vpcs.contains(v)).collect(),
            };
            for v in pair {
                for ip in &vips {
                    let approved =
                        scope.approved_vpce.contains(e) || scope.approved_vpc.contains(v);
                    let show_vpc = !v.starts_with("vpc-0ffe") || self.uses_key("aws:sourcevpc");
                    values.push(DimValue {
                        label: format!(
                            "via {e} ({what}{}){}",
                            if approved && !scope.approved_vpce.contains(e) {
                                ", approved VPC"
                            } else {
                                ""
                            },
                            if show_vpc {
                                format!(" in {v}")
                            } else {
                                String::new()
                            }
                        ),
                        keys: vec![
                            ("aws:sourcevpce".into(), vec![e.clone()]),
                            ("aws:sourcevpc".into(), vec![v.clone()]),
                            ("aws:vpcsourceip".into(), vec![ip.clone()]),
                        ],
                        info: Info::Network {
                            approved,
                            endpoint: true,
                            plausible: vpc.is_some()
                                || scope.approved_vpc.contains(v)
                                || *v == fresh_vpc,
                        },
                    });
                }
            }
        }
        if values.len() > MAX_DIM_VALUES {
            return Err(TooComplex("too many network origins to enumerate".into()));
        }
        Ok(Dim {
            kind: DimKind::Network,
            values,
        })
    }

    fn transport_dim(&self) -> Dim {
        let mut tls = vec![1.2, 1.3];
        if let Some(v) = self.scope.require_tls_version {
            for below in [1.0, 1.1, 1.2] {
                if below < v && !tls.contains(&below) {
                    tls.push(below);
                }
            }
        }
        let mut values: Vec<DimValue> = tls
            .into_iter()
            .map(|t| DimValue {
                label: format!("TLS {t:.1}"),
                keys: vec![
                    ("aws:securetransport".into(), vec!["true".into()]),
                    ("s3:tlsversion".into(), vec![format!("{t:.1}")]),
                ],
                info: Info::Transport { tls: Some(t) },
            })
            .collect();
        values.push(DimValue {
            label: "plain HTTP".into(),
            keys: vec![("aws:securetransport".into(), vec!["false".into()])],
            info: Info::Transport { tls: None },
        });
        Dim {
            kind: DimKind::Transport,
            values,
        }
    }

    fn fixed_dim(&self, account: &str) -> Dim {
        let now = self.scope.now;
        let resource_account = self
            .scope
            .resource_account
            .clone()
            .unwrap_or_else(|| account.to_string());
        Dim {
            kind: DimKind::Fixed,
            values: vec![DimValue {
                label: String::new(),
                keys: vec![
                    ("aws:currenttime".into(), vec![format_date(now)]),
                    (
                        "aws:epochtime".into(),
                        vec![format!("{}", now.floor() as i64)],
                    ),
                    ("aws:resourceaccount".into(), vec![resource_account.clone()]),
                    ("s3:resourceaccount".into(), vec![resource_account]),
                ],
                info: Info::Plain,
            }],
        }
    }
}

/// Candidate request values for a key, from the clauses that test it: every constant, a
/// witness of each wildcard pattern (and of each overlap of two), both sides of every numeric,
/// date and IP boundary, and a fresh value.
pub fn witnesses(clauses: &[&Clause], fresh: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    fn add(out: &mut Vec<String>, s: String) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    let mut likes: Vec<&str> = Vec::new();
    let mut numbers: Vec<f64> = Vec::new();
    let mut dates: Vec<f64> = Vec::new();
    let mut nets: Vec<Cidr> = Vec::new();
    let mut want_fresh = false;
    for c in clauses {
        let family = c.operator.map(|o| o.family());
        for raw in &c.raw_values {
            match family {
                Some(Family::String) => {
                    let like = c
                        .operator
                        .is_some_and(|o| o.base == super::condition::Base::StringLike);
                    if like && glob::is_pattern(raw) {
                        add(&mut out, glob::fill(raw, "", 'z'));
                        add(&mut out, glob::fill(raw, "zz9", 'z'));
                        likes.push(raw);
                    } else {
                        add(&mut out, raw.clone());
                        if c.operator.is_some_and(|o| {
                            o.base == super::condition::Base::StringEqualsIgnoreCase
                        }) {
                            add(&mut out, raw.to_ascii_uppercase());
                            add(&mut out, raw.to_ascii_lowercase());
                        }
                    }
                    want_fresh = true;
                }
                Some(Family::Arn) => {
                    if glob::is_pattern(raw) {
                        add(&mut out, glob::fill(raw, "", '0'));
                        add(&mut out, glob::fill(raw, "zz9", 'z'));
                        likes.push(raw);
                    } else {
                        add(&mut out, raw.clone());
                    }
                    want_fresh = true;
                }
                Some(Family::Numeric) => {
                    if let Ok(n) = raw.trim().parse::<f64>() {
                        numbers.push(n);
                    }
                }
                Some(Family::Date) => {
                    if let Some(d) = parse_date(raw) {
                        dates.push(d);
                    }
                }
                Some(Family::Bool) => {
                    add(&mut out, "true".into());
                    add(&mut out, "false".into());
                }
                Some(Family::Ip) => {
                    if let Some(n) = Cidr::parse(raw) {
                        nets.push(n);
                    }
                }
                Some(Family::Null) => want_fresh = true,
                // An operator the engine does not know: try the raw constants and a fresh value.
                None => {
                    add(&mut out, raw.clone());
                    want_fresh = true;
                }
            }
        }
    }
    for (i, a) in likes.iter().enumerate() {
        for b in likes.iter().skip(i + 1) {
            // An overlap some candidate already lies in needs no new witness.
            if out
                .iter()
                .any(|o| glob::matches(a, o, false) && glob::matches(b, o, false))
            {
                continue;
            }
            if let Some(w) = glob::intersect(a, b, false, 'z') {
                add(&mut out, w);
            }
        }
    }
    if !numbers.is_empty() {
        numbers.sort_by(|a, b| a.total_cmp(b));
        numbers.dedup();
        let mut pts = Vec::new();
        for (i, &n) in numbers.iter().enumerate() {
            let eps = 1e-3 * n.abs().max(1.0);
            pts.extend([n - eps, n, n + eps]);
            if let Some(&m) = numbers.get(i + 1) {
                pts.push((n + m) / 2.0);
            }
        }
        for p in pts {
            add(&mut out, format_number(p));
        }
    }
    if !dates.is_empty() {
        for d in dates {
            for p in [d - 1.0, d, d + 1.0] {
                add(&mut out, format_date(p));
            }
        }
    }
    for n in nets {
        let (lo, hi, v4) = n.range();
        let max = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        add(&mut out, ip_from(lo, v4).to_string());
        add(&mut out, ip_from(hi, v4).to_string());
        if lo > 0 {
            add(&mut out, ip_from(lo - 1, v4).to_string());
        }
        if hi < max {
            add(&mut out, ip_from(hi + 1, v4).to_string());
        }
    }
    if want_fresh {
        add(&mut out, fresh.to_string());
    }
    out
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
