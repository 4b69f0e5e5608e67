//! Descriptions of request contexts and of the statement closest to denying one.

use super::super::compiled::CompiledStatement;
use super::super::keys::{key_home, KeyHome};
use super::super::model::Effect;
use super::super::tri::Tri;
use super::dims::{DimKind, DimValue, Info};
use super::{Choice, Space};

impl Space {
    /// A one-line description of a context: transport, origin, action and resource, principal.
    pub(crate) fn describe(&self, choice: &Choice) -> String {
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
            .filter(|(_, dim)| matches!(dim.kind, DimKind::Free(_) | DimKind::Fixed))
            .map(|(d, _)| label(d))
            .filter(|l| !l.is_empty())
            .collect();
        if !extra.is_empty() {
            s.push_str(", with ");
            s.push_str(&extra.join(", "));
        }
        s
    }

    /// The dimensions of `choice` where statement `i` does not certainly match.
    fn misses<'c>(&'c self, i: usize, choice: &'c Choice) -> impl Iterator<Item = usize> + 'c {
        choice
            .iter()
            .enumerate()
            .filter(move |(d, &v)| self.tri(i, *d, v) != Tri::Yes)
            .map(|(d, _)| d)
    }

    /// The Deny statement that comes closest to covering a context, and what does not match.
    pub(crate) fn closest_deny(&self, choice: &Choice) -> Option<String> {
        let mut best: Option<(usize, usize, usize)> = None; // (misses, statement, first missing dim)
        for (i, st) in self.policy.statements.iter().enumerate() {
            if st.effect != Effect::Deny {
                continue;
            }
            let missing: Vec<usize> = self.misses(i, choice).collect();
            if let Some(&first) = missing.first() {
                if best.is_none_or(|(m, _, _)| missing.len() < m) {
                    best = Some((missing.len(), i, first));
                }
            }
        }
        let (_, s, d) = best?;
        let st = self.policy.statements.get(s)?;
        let v = self.value(d, *choice.get(d)?)?;
        let mut out = format!(
            "closest Deny statement {}: {}",
            st.label,
            self.why_not(st, d, v)
        );
        // The organization layer: say what each other RCP statement leaves open too.
        for (i, rcp) in self.policy.statements.iter().enumerate() {
            if i == s || rcp.effect != Effect::Deny || !rcp.label.starts_with("RCP ") {
                continue;
            }
            if let Some(d) = self.misses(i, choice).next() {
                if let Some(value) = choice.get(d).and_then(|&v| self.value(d, v)) {
                    out.push_str(&format!(
                        "; {} does not deny it either: {}",
                        rcp.label,
                        self.why_not(rcp, d, value)
                    ));
                }
            }
        }
        Some(out)
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
                    let missing = st.not_principal_partial(&principal.caller, self.scope.partition);
                    if !missing.is_empty() {
                        return format!(
                            "its `NotPrincipal` lists part of the chain of {} (AWS says the deny might apply; it is not certain): add {}",
                            v.label,
                            missing.join(", ")
                        );
                    }
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
            let home = key_home(&c.key_lc);
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
}

fn home_matches(home: &KeyHome, info: &Info) -> bool {
    matches!(
        (home, info),
        (KeyHome::Network, Info::Network { .. })
            | (KeyHome::Transport, Info::Transport { .. })
            | (KeyHome::PrincipalDerived, Info::Principal { .. })
            | (KeyHome::PrincipalAttr, Info::Principal { .. })
            | (KeyHome::ServiceAttr, Info::Principal { .. })
            | (KeyHome::Fixed, Info::Time { .. })
    )
}
