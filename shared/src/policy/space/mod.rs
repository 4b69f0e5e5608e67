//! The finite, exhaustive space of request contexts for one policy, and the search for a context
//! that no `Deny` statement covers.
//!
//! A context takes one value from each *dimension* (action × resource, principal × signature,
//! network origin, transport, fixed keys, and one dimension for every other condition key the
//! policy tests). Every element of a statement and every condition clause reads exactly one
//! dimension, so for each statement and each dimension value the engine precomputes whether
//! the statement can match (three-valued: `must` = certainly, `may` = possibly). Finding a
//! request that is not denied is then a search over bit sets of statements: at each dimension
//! the set of Deny statements still able to match shrinks, values leading to the same (or a
//! larger) set are skipped, and an empty set is a counter-example.
//!
//! Modules: [`dims`] (what a dimension is), `build` (the builder and the statement sets),
//! `principals` and `network` (those two dimensions), `explain` (describing a context and the
//! closest Deny), [`question`] (the typed questions rules ask, and their answers).

mod build;
pub(crate) mod dims;
mod explain;
mod network;
mod principals;
pub(crate) mod question;
pub(crate) mod synthetic;

use super::compiled::CompiledPolicy;
use super::model::{Effect, PolicyDocument};
use super::tri::Tri;
use super::values::{EndpointScope, Partition, TlsVersion};

pub(crate) use dims::{EndpointOwner, PrincipalClass, TooComplex};
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) use question::{
    Coverage, OriginView, PrincipalView, Question, Reach, Transport, Witness,
};
/// An action class as a question's filter sees it (the tests' questions name it).
#[cfg(feature = "testing")]
pub use question::ActionView;

use build::Builder;
use dims::{ActionClass, Dim, Info};

/// Largest number of values one dimension may have before the engine gives up (fail closed).
const MAX_DIM_VALUES: usize = 20_000;
/// Largest product of principal attribute variants.
const MAX_VARIANTS: usize = 512;

/// What the analysis is asked about.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scope {
    pub bucket: String,
    /// The bucket's partition (its ARNs and its principals' ARNs).
    pub partition: Partition,
    /// The bucket owner's account; `None` means unknown (a fresh id is used).
    pub account_id: Option<String>,
    pub approved_vpce: Vec<String>,
    pub approved_vpc: Vec<String>,
    /// Principals the caller wants enumerated (ARN patterns, as `aws:PrincipalArn` ArnLike):
    /// each becomes a [`PrincipalClass::Configured`] value. The engine gives them no meaning;
    /// the rules decide which are exemptions and which are the guard's.
    /// Each is `(pattern, label)`; the label names the principal in descriptions.
    pub configured_principals: Vec<(String, String)>,
    /// `RequireTlsVersion`: TLS versions below it are enumerated too.
    pub require_tls_version: Option<TlsVersion>,
    /// The account's S3 gateway endpoints and their VPCs, when known (account mode).
    pub account_endpoints: Vec<(String, String)>,
    /// Evaluation time, seconds since the epoch (`aws:CurrentTime`).
    pub now: f64,
    /// `aws:ResourceAccount` when it is not the bucket owner's account (endpoint policies are
    /// asked about other accounts' buckets).
    pub resource_account: Option<String>,
    /// The bucket's region, when known (the region in `aws:SourceVpcArn`).
    pub region: Option<String>,
    /// The account that owns the approved endpoints (`--approved-vpce-account`: a shared
    /// VPC's network account); `None`: the bucket owner's account.
    pub vpce_account: Option<String>,
    /// The bucket owner's organization and OU path, when known (`--org-id`, `--org-path`);
    /// unknown and named by the policy, each value the policy names is a hypothesis.
    pub org_id: Option<String>,
    pub org_path: Option<String>,
    /// `ApprovedEndpointScope`.
    pub endpoint_scope: EndpointScope,
    /// Endpoints that carry IPv6 (`dualstack`, `ipv6`): their requests may come from an IPv6
    /// `aws:VpcSourceIp` too.
    pub ipv6_endpoints: Vec<String>,
}

impl Scope {
    /// A scope for `bucket` with nothing approved, exempt or known yet.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn new(bucket: &str, account_id: Option<String>, now: f64) -> Scope {
        Scope {
            bucket: bucket.to_string(),
            partition: Partition::Aws,
            account_id,
            approved_vpce: Vec::new(),
            approved_vpc: Vec::new(),
            configured_principals: Vec::new(),
            require_tls_version: None,
            account_endpoints: Vec::new(),
            now,
            resource_account: None,
            region: None,
            vpce_account: None,
            org_id: None,
            org_path: None,
            endpoint_scope: EndpointScope::Endpoints,
            ipv6_endpoints: Vec::new(),
        }
    }
}

/// A condition key (lower-cased, as written) and its clauses (statement, clause).
type KeyClauses = (String, String, Vec<(usize, usize)>);

/// Principal-scoped keys: a label and the keys set.
type Variant = (String, Vec<(String, Vec<String>)>);

/// A fixed-width bit set over statements, stored flat.
type Words = Vec<u64>;

/// How a statement counts as matching during a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Only when it certainly matches.
    Must,
    /// When it possibly matches (so "not denied" is certain).
    May,
    /// Possibly, and a `NotPrincipal` Deny that lists part of the caller's chain counts as
    /// possibly matching that caller too.
    MayOrPartial,
}

/// The space of request contexts of one policy, with the precomputed statement sets.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) policy: CompiledPolicy,
    pub(crate) scope: Scope,
    /// The account id used for "same account" (the given one, or a fresh one).
    pub(crate) account: String,
    pub(crate) dims: Vec<Dim>,
    pub(crate) classes: Vec<ActionClass>,
    words: usize,
    /// `must[d][v * words .. (v + 1) * words]`: statements that certainly match value v of d.
    must: Vec<Words>,
    /// Likewise for "possibly match".
    may: Vec<Words>,
    /// Principal dimension only: Deny statements whose `NotPrincipal` lists part of the
    /// value's chain (the deny *might* apply).
    partial: Words,
    deny_mask: Words,
    has_unknown: bool,
    pub(crate) actres: usize,
    pub(crate) principal: usize,
    pub(crate) network: usize,
    pub(crate) transport: usize,
    pub(crate) fixed: usize,
}

/// A restriction of the space: the allowed value indices of each dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection(pub(crate) Vec<Vec<usize>>);

/// A context: one value index per dimension.
pub(crate) type Choice = Vec<usize>;

impl Space {
    /// The space of every statement, for questions about what is allowed (endpoint policies).
    pub(crate) fn with_all_statements(
        doc: &PolicyDocument,
        scope: &Scope,
    ) -> Result<Space, TooComplex> {
        Builder::new(CompiledPolicy::new(doc), scope.clone())?.build()
    }

    /// The space for the bucket rules, which read Deny statements and grants to everyone.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn new(doc: &PolicyDocument, scope: &Scope) -> Result<Space, TooComplex> {
        Builder::new(bucket_rule_statements(doc), scope.clone())?.build()
    }

    /// The account id a space of `doc` and `scope` uses for "the bucket's own account" (the
    /// given one, or a fresh id no policy constant uses), without building the space.
    pub(crate) fn account_for(doc: &PolicyDocument, scope: &Scope) -> String {
        match &scope.account_id {
            Some(a) => a.clone(),
            None => Builder::new(bucket_rule_statements(doc), scope.clone())
                .map(|b| b.account())
                .unwrap_or_else(|_| "000000000000".to_string()),
        }
    }

    /// The account id standing for "the bucket's own account".
    pub(crate) fn account(&self) -> &str {
        &self.account
    }

    /// Does the policy hold a Deny statement?
    pub(crate) fn has_deny(&self) -> bool {
        self.policy
            .statements
            .iter()
            .any(|st| st.effect == Effect::Deny)
    }

    /// True when some statement has an element the engine cannot evaluate.
    pub(crate) fn has_unknown(&self) -> bool {
        self.has_unknown
    }

    /// Every value of every dimension, at the time of evaluation.
    pub(crate) fn select_all(&self) -> Selection {
        let mut sel = Selection(
            self.dims
                .iter()
                .map(|d| (0..d.values.len()).collect())
                .collect(),
        );
        self.restrict(&mut sel, self.fixed, |v| {
            matches!(v.info, Info::Time { now: true, .. })
        });
        sel
    }

    /// Keep only the values of dimension `dim` that satisfy `keep`.
    pub(crate) fn restrict(
        &self,
        sel: &mut Selection,
        dim: usize,
        keep: impl Fn(&dims::DimValue) -> bool,
    ) {
        if let (Some(allowed), Some(d)) = (sel.0.get_mut(dim), self.dims.get(dim)) {
            allowed.retain(|&i| d.values.get(i).is_some_and(&keep));
        }
    }

    fn col(&self, mode: Mode, d: usize, v: usize) -> std::borrow::Cow<'_, [u64]> {
        let all = if mode == Mode::Must {
            &self.must
        } else {
            &self.may
        };
        let words = all
            .get(d)
            .and_then(|w| w.get(v * self.words..(v + 1) * self.words))
            .unwrap_or(&[]);
        if mode == Mode::MayOrPartial && d == self.principal {
            if let Some(partial) = self.partial.get(v * self.words..(v + 1) * self.words) {
                return std::borrow::Cow::Owned(
                    words.iter().zip(partial).map(|(a, b)| a | b).collect(),
                );
            }
        }
        std::borrow::Cow::Borrowed(words)
    }

    /// Search `sel` for a context that no Deny statement matches (as `mode` counts matching).
    pub(crate) fn find_undenied(&self, sel: &Selection, mode: Mode) -> Option<Choice> {
        if sel.0.iter().any(|s| s.is_empty()) {
            return None;
        }
        let mut choice = vec![0usize; self.dims.len()];
        if self.dfs(sel, mode, 0, &self.deny_mask, &mut choice) {
            Some(choice)
        } else {
            None
        }
    }

    fn dfs(
        &self,
        sel: &Selection,
        mode: Mode,
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
            let col = self.col(mode, level, v);
            let next: Words = alive.iter().zip(col.iter()).map(|(a, c)| a & c).collect();
            // A set containing one already explored without success cannot succeed either:
            // every completion is denied by a statement of the smaller set.
            if explored
                .iter()
                .any(|e| e.iter().zip(&next).all(|(e, n)| e & !n == 0))
            {
                continue;
            }
            if self.dfs(sel, mode, level + 1, &next, choice) {
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
    pub(crate) fn matching(&self, choice: &Choice, mode: Mode, effect: Effect) -> Vec<usize> {
        let mut set: Words = vec![u64::MAX; self.words];
        for (d, &v) in choice.iter().enumerate() {
            for (s, c) in set.iter_mut().zip(self.col(mode, d, v).iter()) {
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
    pub(crate) fn tri(&self, s: usize, d: usize, v: usize) -> Tri {
        match (
            bit(&self.col(Mode::Must, d, v), s),
            bit(&self.col(Mode::May, d, v), s),
        ) {
            (true, _) => Tri::Yes,
            (false, true) => Tri::Unknown,
            _ => Tri::No,
        }
    }

    pub(crate) fn value(&self, d: usize, v: usize) -> Option<&dims::DimValue> {
        self.dims.get(d).and_then(|dim| dim.values.get(v))
    }

    /// Why statements cannot be evaluated, for "cannot evaluate" findings.
    pub(crate) fn unknown_reasons(&self, statements: &[usize]) -> Vec<String> {
        statements
            .iter()
            .filter_map(|&i| self.policy.statements.get(i))
            .filter_map(|s| s.unknown_reason())
            .collect()
    }
}

/// The statements the bucket rules read. No rule reads an Allow statement that names specific
/// principals: bucket rules ask what is denied, and S3-NO-PUBLIC-GRANT only looks at grants to
/// everyone. Leaving them out keeps the space small (a 20 KB policy is mostly such grants).
fn bucket_rule_statements(doc: &PolicyDocument) -> CompiledPolicy {
    let mut policy = CompiledPolicy::new(doc);
    policy.statements.retain(|st| {
        st.effect == Effect::Deny || st.principal.negated || st.principal.names_everyone()
    });
    policy
}

fn bit(words: &[u64], i: usize) -> bool {
    words
        .get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

/// Set bit `i`; `false` when the set is too short (a caller's bug, reported, never dropped).
fn set_bit(words: &mut [u64], i: usize) -> bool {
    match words.get_mut(i / 64) {
        Some(w) => {
            *w |= 1u64 << (i % 64);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
