//! The questions rules ask of a [`Space`], in the project's own types, and their answers.
//!
//! A [`Question`] narrows the request contexts by what rules talk about — the action, the
//! principal, the network origin, the transport — and never by dimension index or key string.
//! The answers carry a [`Witness`]: one concrete request context, which can describe itself,
//! name the Deny statement closest to covering it, and become a
//! [`RequestContext`](crate::policy::RequestContext) for the concrete evaluator.

use super::super::catalog::S3Action;
#[cfg(any(test, feature = "testing"))]
use super::super::context::RequestContext;
use super::super::context::{Caller, Principal, Signature};
use super::super::model::Effect;
use super::super::tri::Tri;
use super::super::values::TlsVersion;
use super::dims::{DimKind, EndpointOwner, Info, PrincipalClass};
use super::{Choice, Mode, Selection, Space};

/// An action class paired with a resource.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionView<'a> {
    /// Every action of the class (the policy's patterns cannot tell them apart).
    pub(crate) actions: &'a [&'static S3Action],
    /// The resource is an object ARN (else the bucket ARN).
    pub(crate) object: bool,
    /// Part of what a filter sees; no rule's filter looks at it yet.
    #[allow(dead_code)]
    pub(crate) resource: &'a str,
}

impl ActionView<'_> {
    /// Is `action` (any case) one of the class's actions?
    pub(crate) fn includes(&self, action: &str) -> bool {
        self.actions
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(action))
    }
}

/// A principal value: who asks, how it signs, and the principal-scoped keys it carries.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrincipalView<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) class: &'a PrincipalClass,
    /// Part of what a filter sees; no rule's filter looks at it yet.
    #[allow(dead_code)]
    pub(crate) label: &'a str,
    keys: &'a [(String, Vec<String>)],
}

impl<'a> PrincipalView<'a> {
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn caller(&self) -> &'a Caller {
        &self.principal.caller
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn signature(&self) -> Signature {
        self.principal.signature
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn via_service(&self) -> bool {
        self.principal.via_service
    }

    /// The values of a principal-scoped key (a [`keys`](crate::policy::keys) constant).
    pub(crate) fn attr(&self, key: &str) -> Option<&'a [String]> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// A network origin.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct OriginView<'a> {
    /// Through an approved endpoint or an endpoint of an approved VPC.
    pub approved: bool,
    /// The endpoint (`None`: the public internet).
    pub(crate) endpoint: Option<&'a str>,
    /// Part of what a filter sees; no rule's filter looks at it yet.
    #[allow(dead_code)]
    pub(crate) vpc: Option<&'a str>,
    /// The endpoint's VPC is known, approved or fresh (false: an endpoint of unknown home
    /// paired with a VPC the policy names — possible, not assumed).
    pub(crate) plausible: bool,
    /// Who owns the endpoint (`None`: the public internet).
    pub(crate) owner: Option<EndpointOwner>,
    /// The unknown fact this origin assumes (the bucket owner's organization), if any.
    pub(crate) hypothesis: Option<&'a str>,
    /// Through an access point (else directly to the bucket).
    pub(crate) access_point: bool,
}

impl<'a> OriginView<'a> {
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn is_public(&self) -> bool {
        self.endpoint.is_none()
    }

    /// The view of a network value (`None`: not a network value).
    fn of(info: &'a Info) -> Option<OriginView<'a>> {
        match info {
            Info::Network {
                approved,
                owner,
                hypothesis,
                access_point,
                endpoint,
                vpc,
                plausible,
            } => Some(OriginView {
                approved: *approved,
                endpoint: endpoint.as_deref(),
                vpc: vpc.as_deref(),
                plausible: *plausible,
                owner: *owner,
                hypothesis: hypothesis.as_deref(),
                access_point: *access_point,
            }),
            _ => None,
        }
    }
}

/// How a request travels.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tls(TlsVersion),
    PlainHttp,
}

type ActionFilter<'a> = Option<Box<dyn Fn(&ActionView<'_>) -> bool + 'a>>;
type PrincipalFilter<'a> = Option<Box<dyn Fn(&PrincipalView<'_>) -> bool + 'a>>;
type OriginFilter<'a> = Option<Box<dyn Fn(&OriginView<'_>) -> bool + 'a>>;
type TransportFilter<'a> = Option<Box<dyn Fn(&Transport) -> bool + 'a>>;
/// A key the request carries freely (no fact sets it): its value, `None` when absent.
type FreeKeyFilter<'a> = (String, Box<dyn Fn(Option<&str>) -> bool + 'a>);

/// A set of request contexts, narrowed by predicates in the project's own types.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Default)]
pub(crate) struct Question<'a> {
    action: ActionFilter<'a>,
    principal: PrincipalFilter<'a>,
    origin: OriginFilter<'a>,
    transport: TransportFilter<'a>,
    free: Vec<FreeKeyFilter<'a>>,
}

impl std::fmt::Debug for Question<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Question")
            .field("action", &self.action.is_some())
            .field("principal", &self.principal.is_some())
            .field("origin", &self.origin.is_some())
            .field("transport", &self.transport.is_some())
            .field(
                "free",
                &self.free.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'a> Question<'a> {
    /// Every request context (at the time of evaluation).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn all() -> Self {
        Question::default()
    }

    pub(crate) fn actions(mut self, f: impl Fn(&ActionView<'_>) -> bool + 'a) -> Self {
        self.action = Some(Box::new(move |v: &ActionView<'_>| f(v)));
        self
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn principals(mut self, f: impl Fn(&PrincipalView<'_>) -> bool + 'a) -> Self {
        self.principal = Some(Box::new(move |v: &PrincipalView<'_>| f(v)));
        self
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn origins(mut self, f: impl Fn(&OriginView<'_>) -> bool + 'a) -> Self {
        self.origin = Some(Box::new(move |v: &OriginView<'_>| f(v)));
        self
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn transports(mut self, f: impl Fn(Transport) -> bool + 'a) -> Self {
        self.transport = Some(Box::new(move |t: &Transport| f(*t)));
        self
    }

    /// Only contexts whose value of a key no fact sets (say `aws:ResourceOrgID` of another
    /// account's bucket) passes `f` (`None`: the key is absent).
    pub(crate) fn free_key(mut self, key: &str, f: impl Fn(Option<&str>) -> bool + 'a) -> Self {
        self.free.push((key.to_ascii_lowercase(), Box::new(f)));
        self
    }
}

/// Is every context of a question denied?
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug)]
pub(crate) enum Coverage<'s> {
    Denied,
    /// A context that is certainly not denied.
    Gap(Witness<'s>),
    /// Only statements the engine cannot evaluate stand between a context and a gap.
    Undecided(Vec<String>),
}

/// Can some context of a question get through?
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug)]
pub(crate) enum Reach<'s> {
    /// A context that is certainly not denied.
    Open,
    /// Only a `NotPrincipal` Deny that lists part of the caller's chain denies the witness:
    /// AWS says such a deny *might* apply. `add` names the ARNs that would complete the chain.
    MaybeDenied {
        witness: Witness<'s>,
        add: Vec<String>,
    },
    /// Only statements the engine cannot evaluate deny every context.
    Undecided(String),
    /// Every context is denied (the witness is one, with its statements).
    Denied(Witness<'s>),
}

/// One concrete request context of a space.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone)]
pub(crate) struct Witness<'s> {
    space: &'s Space,
    choice: Choice,
}

impl Space {
    fn select(&self, q: &Question<'_>) -> Selection {
        let mut sel = self.select_all();
        for (d, dim) in self.dims.iter().enumerate() {
            let Some(allowed) = sel.0.get_mut(d) else {
                continue;
            };
            allowed.retain(|&i| {
                let Some(v) = dim.values.get(i) else {
                    return false;
                };
                match (&dim.kind, &v.info) {
                    (
                        DimKind::ActionResource,
                        Info::ActionResource {
                            class,
                            resource,
                            object,
                        },
                    ) => q.action.as_ref().is_none_or(|f| {
                        let actions = self
                            .classes
                            .get(*class)
                            .map(|c| c.actions.as_slice())
                            .unwrap_or(&[]);
                        f(&ActionView {
                            actions,
                            object: *object,
                            resource,
                        })
                    }),
                    (DimKind::Principal, Info::Principal { principal, class }) => {
                        q.principal.as_ref().is_none_or(|f| {
                            f(&PrincipalView {
                                principal,
                                class,
                                label: &v.label,
                                keys: &v.keys,
                            })
                        })
                    }
                    (DimKind::Network, info @ Info::Network { .. }) => {
                        q.origin.as_ref().is_none_or(|f| OriginView::of(info).is_some_and(|o| f(&o)))
                    }
                    (DimKind::Free(key), _) => {
                        q.free.iter().filter(|(k, _)| k == key).all(|(_, f)| {
                            let value = v
                                .keys
                                .iter()
                                .find(|(k, _)| k == key)
                                .and_then(|(_, vals)| vals.first())
                                .map(String::as_str);
                            f(value)
                        })
                    }
                    (DimKind::Transport, Info::Transport { tls }) => {
                        q.transport.as_ref().is_none_or(|f| {
                            f(&match tls {
                                Some(t) => Transport::Tls(*t),
                                None => Transport::PlainHttp,
                            })
                        })
                    }
                    _ => true,
                }
            });
        }
        sel
    }

    fn witness(&self, choice: Choice) -> Witness<'_> {
        Witness {
            space: self,
            choice,
        }
    }

    fn coverage_of(&self, sel: &Selection) -> Coverage<'_> {
        if let Some(c) = self.find_undenied(sel, Mode::May) {
            return Coverage::Gap(self.witness(c));
        }
        if self.has_unknown() {
            if let Some(c) = self.find_undenied(sel, Mode::Must) {
                let may = self.matching(&c, Mode::May, Effect::Deny);
                let must = self.matching(&c, Mode::Must, Effect::Deny);
                let undecided: Vec<usize> = may.into_iter().filter(|i| !must.contains(i)).collect();
                let mut reasons = self.unknown_reasons(&undecided);
                if reasons.is_empty() {
                    reasons.push("a statement cannot be evaluated".into());
                }
                return Coverage::Undecided(reasons);
            }
        }
        Coverage::Denied
    }

    /// The hypotheses about unknown facts (the bucket owner's organization) that the origins
    /// `f` accepts stand on, each once, in enumeration order; `[None]` when they assume none.
    pub(crate) fn origin_hypotheses(
        &self,
        f: impl Fn(&OriginView<'_>) -> bool,
    ) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = Vec::new();
        if let Some(d) = self.dims.get(self.network) {
            for v in &d.values {
                if let Some(view) = OriginView::of(&v.info) {
                    let h = view.hypothesis.map(str::to_string);
                    if f(&view) && !out.contains(&h) {
                        out.push(h);
                    }
                }
            }
        }
        if out.is_empty() {
            out.push(None);
        }
        out
    }

    /// The condition keys of the policy that are neither global condition keys nor S3's
    /// (`keys::is_known_key`): each lower-cased, as the policy writes it, and with the values
    /// its dimension takes (`None`: absent).
    pub(crate) fn unknown_keys(&self) -> Vec<(String, String, Vec<Option<String>>)> {
        let mut out = Vec::new();
        for d in &self.dims {
            if let DimKind::Free(k) = &d.kind {
                if super::super::keys::is_known_key(k) {
                    continue;
                }
                let values = d
                    .values
                    .iter()
                    .map(|v| v.lookup(k).and_then(|x| x.first().cloned()))
                    .collect();
                // As the policy writes it: values are labelled `Key=value`.
                let written = d
                    .values
                    .iter()
                    .find_map(|v| v.label.split_once('=').map(|(k, _)| k.to_string()))
                    .unwrap_or_else(|| k.clone());
                out.push((k.clone(), written, values));
            }
        }
        out
    }

    /// Is there a network origin that `f` accepts?
    pub(crate) fn has_origin(&self, f: impl Fn(&OriginView<'_>) -> bool) -> bool {
        self.dims.get(self.network).is_some_and(|d| {
            d.values
                .iter()
                .any(|v| OriginView::of(&v.info).is_some_and(|o| f(&o)))
        })
    }

    /// Is every context of `q` explicitly denied? A `NotPrincipal` Deny that lists only part
    /// of a caller's chain counts as not denying that caller.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn is_denied(&self, q: &Question<'_>) -> Coverage<'_> {
        self.coverage_of(&self.select(q))
    }

    /// When every context of `q` is denied now, the earliest later time (seconds since the
    /// epoch) at which one no longer is: a deny limited by a date in the policy.
    pub(crate) fn denied_until(&self, q: &Question<'_>) -> Option<f64> {
        let base = self.select(q);
        let dim = self.dims.get(self.fixed)?;
        let mut later: Vec<(f64, usize)> = dim
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v.info {
                Info::Time { now: false, at } => Some((at, i)),
                _ => None,
            })
            .collect();
        later.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, i) in later {
            let mut sel = base.clone();
            if let Some(f) = sel.0.get_mut(self.fixed) {
                *f = vec![i];
            }
            if self.find_undenied(&sel, Mode::May).is_some() {
                return Some(at);
            }
        }
        None
    }

    /// Can some context of `q` get through? A `NotPrincipal` Deny that lists part of a
    /// caller's chain counts as possibly denying it.
    pub(crate) fn reach(&self, q: &Question<'_>) -> Reach<'_> {
        let sel = self.select(q);
        if self.find_undenied(&sel, Mode::MayOrPartial).is_some() {
            return Reach::Open;
        }
        if let Some(c) = self.find_undenied(&sel, Mode::May) {
            let w = self.witness(c);
            let add = w.missing_chain();
            return Reach::MaybeDenied { witness: w, add };
        }
        if self.find_undenied(&sel, Mode::Must).is_some() {
            let all: Vec<usize> = (0..self.policy.statements.len()).collect();
            return Reach::Undecided(self.unknown_reasons(&all).join("; "));
        }
        let sample: Choice = sel
            .0
            .iter()
            .map(|a| a.first().copied().unwrap_or(0))
            .collect();
        Reach::Denied(self.witness(sample))
    }

    /// The principals of `q` that some context escapes the denies with, labelled by `label`
    /// (principals it gives no label are skipped), each label once, in enumeration order.
    /// A policy without a Deny statement has none.
    pub(crate) fn escaping_principals(
        &self,
        q: &Question<'_>,
        label: impl Fn(&PrincipalView<'_>) -> Option<String>,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if !self.has_deny() {
            return out;
        }
        let sel = self.select(q);
        let Some(dim) = self.dims.get(self.principal) else {
            return out;
        };
        let allowed = sel.0.get(self.principal).cloned().unwrap_or_default();
        for i in allowed {
            let Some(v) = dim.values.get(i) else {
                continue;
            };
            let Info::Principal { principal, class } = &v.info else {
                continue;
            };
            let view = PrincipalView {
                principal,
                class,
                label: &v.label,
                keys: &v.keys,
            };
            let Some(l) = label(&view) else {
                continue;
            };
            if out.contains(&l) {
                continue;
            }
            let mut one = sel.clone();
            if let Some(p) = one.0.get_mut(self.principal) {
                *p = vec![i];
            }
            if self.find_undenied(&one, Mode::Must).is_some() {
                out.push(l);
            }
        }
        out
    }

    /// A context of `q` that some Allow statement possibly matches and no Deny statement
    /// certainly matches (fail closed: "possibly allowed" counts as allowed).
    pub(crate) fn find_allowed(&self, q: &Question<'_>) -> Option<Witness<'_>> {
        let sel = self.select(q);
        for (i, st) in self.policy.statements.iter().enumerate() {
            if st.effect != Effect::Allow {
                continue;
            }
            let mut one = sel.clone();
            for (d, allowed) in one.0.iter_mut().enumerate() {
                allowed.retain(|&v| self.tri(i, d, v) != Tri::No);
            }
            if let Some(c) = self.find_undenied(&one, Mode::Must) {
                return Some(self.witness(c));
            }
        }
        None
    }

    /// The first Allow statement that grants everyone (`"*"`, `{"AWS": "*"}` or
    /// `NotPrincipal`) and possibly matches a context of `q`: its label, whether it is a
    /// `NotPrincipal` grant, and the context.
    pub(crate) fn public_grant(&self, q: &Question<'_>) -> Option<(String, bool, Witness<'_>)> {
        let sel = self.select(q);
        for (i, st) in self.policy.statements.iter().enumerate() {
            if st.effect != Effect::Allow
                || !(st.principal.negated || st.principal.names_everyone())
            {
                continue;
            }
            // The statement can match when every dimension has a value it possibly matches.
            let mut witness: Choice = Vec::with_capacity(sel.0.len());
            for (d, allowed) in sel.0.iter().enumerate() {
                match allowed.iter().find(|&&v| self.tri(i, d, v) != Tri::No) {
                    Some(&v) => witness.push(v),
                    None => break,
                }
            }
            if witness.len() == sel.0.len() {
                return Some((
                    st.label.clone(),
                    st.principal.negated,
                    self.witness(witness),
                ));
            }
        }
        None
    }
}

impl<'s> Witness<'s> {
    /// A one-line description: transport, origin, action and resource, principal.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn describe(&self) -> String {
        self.space.describe(&self.choice)
    }

    /// The Deny statement that comes closest to covering the context, and what does not match.
    pub(crate) fn closest_deny(&self) -> Option<String> {
        self.space.closest_deny(&self.choice)
    }

    /// Labels of the Deny statements that certainly match the context.
    pub(crate) fn denied_by(&self) -> Vec<String> {
        self.space
            .matching(&self.choice, Mode::Must, Effect::Deny)
            .into_iter()
            .filter_map(|i| self.space.policy.statements.get(i).map(|s| s.label.clone()))
            .collect()
    }

    /// The principal of the context.
    pub(crate) fn principal(&self) -> Option<PrincipalView<'s>> {
        let v = self.space.value(
            self.space.principal,
            *self.choice.get(self.space.principal)?,
        )?;
        match &v.info {
            Info::Principal { principal, class } => Some(PrincipalView {
                principal,
                class,
                label: &v.label,
                keys: &v.keys,
            }),
            _ => None,
        }
    }

    /// The ARNs a partial `NotPrincipal` chain lacks for this context's caller, over the Deny
    /// statements that might apply to it.
    pub(crate) fn missing_chain(&self) -> Vec<String> {
        let s = self.space;
        let Some(p) = self.principal() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for st in &s.policy.statements {
            if st.effect != Effect::Deny {
                continue;
            }
            for arn in st.not_principal_partial(p.caller(), s.scope.partition) {
                if !out.contains(&arn) {
                    out.push(arn);
                }
            }
        }
        out
    }

    /// The concrete request this context stands for, for the concrete evaluator.
    #[cfg(any(test, feature = "testing"))]
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn context(&self) -> Option<RequestContext> {
        let s = self.space;
        let mut action = None;
        let mut resource = None;
        let mut principal = None;
        let mut keys: Vec<(String, Vec<String>)> = Vec::new();
        for (d, &v) in self.choice.iter().enumerate() {
            let val = s.value(d, v)?;
            match &val.info {
                Info::ActionResource {
                    class, resource: r, ..
                } => {
                    action = Some(s.classes.get(*class)?.representative().to_string());
                    resource = Some(r.clone());
                }
                Info::Principal { principal: p, .. } => {
                    principal = Some(p.clone());
                    // Principal-scoped attribute keys; the derived ones come from the caller.
                    let derived = p.keys();
                    for (k, vals) in &val.keys {
                        if !derived.iter().any(|(dk, _)| dk == k) {
                            keys.push((k.clone(), vals.clone()));
                        }
                    }
                }
                _ => keys.extend(val.keys.iter().cloned()),
            }
        }
        Some(RequestContext {
            action: action?,
            resource: resource?,
            principal: principal?,
            keys,
        })
    }
}
