//! The principal dimension: who can ask, signed how, with which principal-scoped keys.

use super::super::compiled::account_of_principal;
use super::super::context::{Caller, Principal, Signature};
use super::super::glob;
use super::super::keys::{
    key_home, well_formed, KeyHome, PRINCIPAL_ACCOUNT, PRINCIPAL_ARN, PRINCIPAL_SERVICE_NAME,
};
use super::super::model::PrincipalKind;
use super::super::witness::witnesses;
use super::build::{Builder, Fresh};
use super::dims::{Dim, DimKind, DimValue, Info, PrincipalClass, TooComplex};
use super::{Variant, MAX_VARIANTS};

impl Builder {
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
            glob::fill(parts[1], self.scope.partition.as_str(), 'x'),
            glob::fill(parts[2], "iam", 'x'),
            glob::fill(parts[3], "", 'x'),
            acct,
            glob::fill(parts[5], "x", 'x')
        );
        Caller::from_arn(&arn)
    }

    pub(super) fn principal_dim(
        &self,
        account: &str,
        fresh: &mut Fresh,
    ) -> Result<Dim, TooComplex> {
        let partition = self.scope.partition;
        let probe = |acct: &str| Caller::RoleSession {
            account: acct.to_string(),
            role_arn: format!("arn:{partition}:iam::{acct}:role/vpce-guard-probe-role"),
            session_arn: format!(
                "arn:{partition}:sts::{acct}:assumed-role/vpce-guard-probe-role/vpce-guard-probe"
            ),
        };
        let same = probe(account);
        let other_acct = fresh.account();
        let other = probe(&other_acct);
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
                    partition,
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
        for (pattern, label) in &self.scope.configured_principals {
            if let Some(c) = self.caller_from_pattern(pattern, account) {
                bases.push((
                    c,
                    false,
                    PrincipalClass::Configured(pattern.clone()),
                    label.clone(),
                ));
            }
        }
        let mut named: Vec<(Caller, String)> = Vec::new();
        let name_account = |acct: &str, named: &mut Vec<(Caller, String)>| {
            named.push((probe(acct), format!("a role session of account {acct}")));
            named.push((
                Caller::Root {
                    account: acct.to_string(),
                    partition,
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
                                    format!("a session of role {v} ({session_arn})")
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
        for c in self.clauses_of(PRINCIPAL_ARN) {
            for v in &c.raw_values {
                // A wildcard account matches the bucket's account and others: a witness in each
                // (a deny naming the bucket's account must not hide the other accounts).
                let wild_account =
                    glob::arn_parts(v).is_some_and(|parts| glob::is_pattern(parts[4]));
                let mut accounts = vec![account];
                if wild_account {
                    accounts.push(other_acct.as_str());
                }
                for caller in accounts
                    .into_iter()
                    .filter_map(|a| self.caller_from_pattern(v, a))
                {
                    // Name the principal as the policy writes it (a pattern stays a pattern).
                    let label = match &caller {
                        Caller::RoleSession { role_arn, .. } if glob::is_pattern(v) => {
                            format!("a session of role {v} (e.g. {role_arn})")
                        }
                        Caller::RoleSession { role_arn, .. } => {
                            format!("a session of role {role_arn}")
                        }
                        _ => caller.principal_arn().unwrap_or_else(|| v.clone()),
                    };
                    named.push((caller, label));
                }
            }
        }
        for c in self.clauses_of(PRINCIPAL_ACCOUNT) {
            for v in &c.raw_values {
                // AWS sets aws:PrincipalAccount only to a 12-digit id: a pattern becomes one.
                let acct = fill_account(v);
                if well_formed(PRINCIPAL_ACCOUNT, &acct) {
                    name_account(&acct, &mut named);
                }
            }
        }
        for c in self.clauses_of(PRINCIPAL_SERVICE_NAME) {
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
    pub(super) fn variants(&self, home: KeyHome) -> Result<Vec<Variant>, TooComplex> {
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
}

/// A 12-digit account id matching a value or pattern of `aws:PrincipalAccount`, when one can
/// (the first `*` takes the digits needed; `?` a digit).
fn fill_account(v: &str) -> String {
    let fixed = v.chars().filter(|c| *c != '*').count();
    let star = "0".repeat(12usize.saturating_sub(fixed));
    let mut out = String::new();
    let mut first = true;
    for ch in v.chars() {
        match ch {
            '*' if first => {
                out.push_str(&star);
                first = false;
            }
            '*' => {}
            '?' => out.push('0'),
            c => out.push(c),
        }
    }
    out
}
