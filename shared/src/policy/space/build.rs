//! Building the space: the dimensions of one policy and, for every statement and value, whether
//! the statement matches (certainly, possibly).

use std::collections::HashMap;

use super::super::catalog::{self, S3Action};
use super::super::compiled::CompiledPolicy;
use super::super::condition::Clause;
use super::super::date::format_date;
use super::super::date::parse_date;
use super::super::glob;
use super::super::keys::{
    key_home, KeyHome, CURRENT_TIME, EPOCH_TIME, RESOURCE_ACCOUNT, S3_RESOURCE_ACCOUNT,
};
use super::super::model::Effect;
use super::super::operator::Family;
use super::super::tri::Tri;
use super::super::witness::witnesses;
use super::dims::{ActionClass, Dim, DimKind, DimValue, Info, TooComplex};
use super::{set_bit, KeyClauses, Scope, Space, MAX_DIM_VALUES};

/// Fresh identifiers that no policy constant uses.
pub(super) struct Fresh<'a> {
    used: &'a [String],
    counter: u64,
}

impl Fresh<'_> {
    pub(super) fn account(&mut self) -> String {
        loop {
            self.counter += 1;
            let id = format!("{:012}", 987_600_000_000u64 + self.counter);
            if !self.used.iter().any(|u| u.contains(&id)) {
                return id;
            }
        }
    }

    pub(super) fn id(&mut self, prefix: &str) -> String {
        loop {
            self.counter += 1;
            let id = super::synthetic::synthetic_id(prefix, self.counter);
            if !self.used.iter().any(|u| u == &id) {
                return id;
            }
        }
    }
}

pub(super) struct Builder {
    pub(super) policy: CompiledPolicy,
    pub(super) scope: Scope,
    /// Clauses by lower-cased key, in order of first appearance.
    pub(super) by_key: Vec<KeyClauses>,
    constants: Vec<String>,
    actions: &'static [S3Action],
}

impl Builder {
    /// Fails when the embedded S3 action catalog does not load (fail closed: an empty catalog
    /// would make every "is every action denied" question pass vacuously).
    pub(super) fn new(policy: CompiledPolicy, scope: Scope) -> Result<Self, TooComplex> {
        let actions = catalog::bucket_actions()
            .map_err(|e| TooComplex(format!("the S3 action catalog did not load: {e}")))?;
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
        Ok(Builder {
            policy,
            scope,
            by_key,
            constants,
            actions,
        })
    }

    /// The account id that stands for "the bucket's own account": the given one, or the fresh
    /// one the space would use.
    pub(super) fn account(&self) -> String {
        match &self.scope.account_id {
            Some(a) => a.clone(),
            None => Fresh {
                used: &self.constants,
                counter: 0,
            }
            .account(),
        }
    }

    pub(super) fn uses_key(&self, key_lc: &str) -> bool {
        self.by_key.iter().any(|(k, _, _)| k == key_lc)
    }

    pub(super) fn clauses_of(&self, key_lc: &str) -> Vec<&Clause> {
        self.by_key
            .iter()
            .filter(|(k, _, _)| k == key_lc)
            .flat_map(|(_, _, list)| list.iter())
            .filter_map(|&(si, ci)| self.policy.statements.get(si)?.clauses.get(ci))
            .collect()
    }

    pub(super) fn build(self) -> Result<Space, TooComplex> {
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
        let network = self.network_dim(&account, &mut fresh)?;
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
        let mut partial: Vec<u64> = Vec::new();
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
        // Each clause's home, once (not per dimension value).
        let homes: Vec<Vec<KeyHome>> = self
            .policy
            .statements
            .iter()
            .map(|st| st.clauses.iter().map(|c| key_home(&c.key_lc)).collect())
            .collect();
        for dim in dims.iter() {
            let mut mu = vec![0u64; dim.values.len() * words];
            let mut ma = vec![0u64; dim.values.len() * words];
            // Per statement, the clauses this dimension decides: the same for all its values.
            let decided: Vec<Vec<usize>> = homes
                .iter()
                .zip(&self.policy.statements)
                .map(|(hs, st)| {
                    hs.iter()
                        .zip(&st.clauses)
                        .enumerate()
                        .filter(|(_, (home, c))| match &dim.kind {
                            DimKind::Principal => matches!(
                                home,
                                KeyHome::PrincipalDerived
                                    | KeyHome::PrincipalAttr
                                    | KeyHome::ServiceAttr
                            ),
                            DimKind::Network => **home == KeyHome::Network,
                            DimKind::Transport => **home == KeyHome::Transport,
                            DimKind::Fixed => **home == KeyHome::Fixed,
                            DimKind::Free(k) => **home == KeyHome::Free && *k == c.key_lc,
                            _ => false,
                        })
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect();
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
                            // A Deny whose NotPrincipal lists part of the caller's chain might
                            // apply: recorded apart (its principal verdict is "does not match").
                            let mut part = st.effect == Effect::Deny
                                && !st
                                    .not_principal_partial(&principal.caller, self.scope.partition)
                                    .is_empty();
                            let clauses = decided.get(si).map(Vec::as_slice).unwrap_or(&[]);
                            for c in clauses.iter().filter_map(|&ci| st.clauses.get(ci)) {
                                if t == Tri::No {
                                    break;
                                }
                                let e = c.eval(v.lookup(&c.key_lc));
                                t = t.and(e);
                                part = part && e.may();
                            }
                            if part {
                                if partial.is_empty() {
                                    partial = vec![0u64; dim.values.len() * words];
                                }
                                let off = vi * words;
                                if !set_bit(
                                    partial.get_mut(off..off + words).unwrap_or(&mut []),
                                    si,
                                ) {
                                    return Err(TooComplex(
                                        "internal error: statement set out of range".into(),
                                    ));
                                }
                            }
                            t
                        }
                        _ => {
                            let mut t = Tri::Yes;
                            let clauses = decided.get(si).map(Vec::as_slice).unwrap_or(&[]);
                            for c in clauses.iter().filter_map(|&ci| st.clauses.get(ci)) {
                                if t == Tri::No {
                                    break;
                                }
                                t = t.and(c.eval(v.lookup(&c.key_lc)));
                            }
                            t
                        }
                    };
                    let off = vi * words;
                    let range = off..off + words;
                    let ok = (!t.must()
                        || set_bit(mu.get_mut(range.clone()).unwrap_or(&mut []), si))
                        && (!t.may() || set_bit(ma.get_mut(range).unwrap_or(&mut []), si));
                    if !ok {
                        return Err(TooComplex(
                            "internal error: statement set out of range".into(),
                        ));
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
            if st.effect == Effect::Deny && !set_bit(&mut deny_mask, si) {
                return Err(TooComplex(
                    "internal error: statement set out of range".into(),
                ));
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
            partial,
            deny_mask,
            has_unknown,
            actres: 0,
            principal: 1,
            network: 2,
            transport: 3,
            fixed: 4,
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
        for a in self.actions {
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
        let bucket_arn = format!("arn:{}:s3:::{}", self.scope.partition, self.scope.bucket);
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
    fn transport_dim(&self) -> Dim {
        use crate::policy::values::TlsVersion;
        let mut tls = vec![TlsVersion::V1_2, TlsVersion::V1_3];
        if let Some(v) = self.scope.require_tls_version {
            for below in TlsVersion::ALL {
                if below < v && !tls.contains(&below) {
                    tls.push(below);
                }
            }
        }
        let mut values: Vec<DimValue> = tls
            .into_iter()
            .map(|t| DimValue {
                label: format!("TLS {t}"),
                keys: vec![
                    ("aws:securetransport".into(), vec!["true".into()]),
                    ("s3:tlsversion".into(), vec![t.to_string()]),
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

    /// The time of evaluation, and a later instant at each time boundary the policy names
    /// (for "denied until" questions).
    fn fixed_dim(&self, account: &str) -> Dim {
        let now = self.scope.now;
        let resource_account = self
            .scope
            .resource_account
            .clone()
            .unwrap_or_else(|| account.to_string());
        let mut times: Vec<(bool, f64)> = vec![(true, now)];
        let mut later: Vec<f64> = Vec::new();
        for key in [CURRENT_TIME, EPOCH_TIME] {
            for c in self.clauses_of(key) {
                for raw in &c.raw_values {
                    let at = match c.operator.map(|o| o.family()) {
                        Some(Family::Date) => parse_date(raw),
                        Some(Family::Numeric) => raw.trim().parse::<f64>().ok(),
                        _ => None,
                    };
                    if let Some(at) = at.filter(|a| *a > now && a.is_finite()) {
                        for t in [at.floor(), at.floor() + 1.0] {
                            if t > now && !later.contains(&t) {
                                later.push(t);
                            }
                        }
                    }
                }
            }
        }
        later.sort_by(|a, b| a.total_cmp(b));
        times.extend(later.into_iter().map(|t| (false, t)));
        Dim {
            kind: DimKind::Fixed,
            values: times
                .into_iter()
                .map(|(is_now, at)| DimValue {
                    label: if is_now {
                        String::new()
                    } else {
                        format!("at {}", format_date(at))
                    },
                    keys: vec![
                        (CURRENT_TIME.into(), vec![format_date(at)]),
                        (EPOCH_TIME.into(), vec![format!("{}", at.floor() as i64)]),
                        (RESOURCE_ACCOUNT.into(), vec![resource_account.clone()]),
                        (S3_RESOURCE_ACCOUNT.into(), vec![resource_account.clone()]),
                    ],
                    info: Info::Time { now: is_now, at },
                })
                .collect(),
        }
    }
}
