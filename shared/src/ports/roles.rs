//! IAM roles: expanding a guard-principal pattern (`arn:aws:iam::111122223333:role/vpce-guard/*`)
//! to the roles that exist, with `iam:ListRoles` on the pattern's path prefix. The deny the
//! product writes names those roles exactly (RULES.md, "Exemptions").

use super::AwsError;
use crate::policy::glob::{arn_matches, is_pattern};

/// Port: the account's roles under a path.
#[allow(async_fn_in_trait)]
pub trait RoleLister {
    /// The ARNs of every role whose path starts with `path_prefix` (`/` for all).
    async fn role_arns(&self, path_prefix: &str) -> Result<Vec<String>, AwsError>;
}

/// The IAM path prefix to list for a role pattern: the role part's path up to its first
/// wildcard (`role/vpce-guard/*` lists `/vpce-guard/`, `role/app-*` lists `/`). `None`: not a
/// role ARN pattern.
pub(crate) fn role_path_prefix(pattern: &str) -> Option<String> {
    let parts = crate::policy::glob::arn_parts(pattern)?;
    if parts[2] != "iam" {
        return None;
    }
    let rest = parts[5].strip_prefix("role/")?;
    let upto = rest.find(['*', '?']).unwrap_or(rest.len());
    let fixed = &rest[..upto];
    let dir = match fixed.rfind('/') {
        Some(i) => &fixed[..=i],
        None => "",
    };
    Some(format!("/{dir}"))
}

/// Why a principal pattern could not be replaced by the roles it stands for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoleExpansionError {
    /// Only role ARN patterns can be listed with `iam:ListRoles`.
    #[error("{flag} `{pattern}`: only role ARN patterns (arn:…:iam::ACCOUNT:role/PATH/NAME*) can be expanded to the roles that exist")]
    NotARolePattern { flag: String, pattern: String },
    /// `iam:ListRoles` failed.
    #[error("cannot expand {flag} `{pattern}` with iam:ListRoles: {source}")]
    ListRoles {
        flag: String,
        pattern: String,
        source: AwsError,
    },
    /// Writing needs every pattern to name at least one role.
    #[error("{flag} `{pattern}` matches no role (iam:ListRoles, path prefix {prefix}): name the roles, or create them first")]
    NoMatch {
        flag: String,
        pattern: String,
        prefix: String,
    },
}

/// One principal list with every pattern replaced by the roles it matches now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Expanded {
    /// Exact ARNs: those given, then the roles the patterns matched, without duplicates.
    pub(crate) arns: Vec<String>,
    /// Each pattern with the roles it matched.
    pub(crate) patterns: Vec<(String, Vec<String>)>,
}

/// Expand the patterns of `list`; `require_match`: a pattern that matches no role is an error
/// (`remediate`: the deny would exempt nobody the user meant), else it expands to nothing.
pub(crate) async fn expand_roles<L: RoleLister>(
    lister: &L,
    list: &[String],
    flag: &str,
    require_match: bool,
) -> Result<Expanded, RoleExpansionError> {
    let mut out = Expanded::default();
    let push = |arns: &mut Vec<String>, arn: &str| {
        if !arns.iter().any(|a| a == arn) {
            arns.push(arn.to_string());
        }
    };
    for p in list {
        if !is_pattern(p) {
            push(&mut out.arns, p);
            continue;
        }
        let prefix = role_path_prefix(p).ok_or_else(|| RoleExpansionError::NotARolePattern {
            flag: flag.to_string(),
            pattern: p.clone(),
        })?;
        let roles =
            lister
                .role_arns(&prefix)
                .await
                .map_err(|source| RoleExpansionError::ListRoles {
                    flag: flag.to_string(),
                    pattern: p.clone(),
                    source,
                })?;
        let hits: Vec<String> = roles.into_iter().filter(|r| arn_matches(p, r)).collect();
        if hits.is_empty() && require_match {
            return Err(RoleExpansionError::NoMatch {
                flag: flag.to_string(),
                pattern: p.clone(),
                prefix,
            });
        }
        for h in &hits {
            push(&mut out.arns, h);
        }
        out.patterns.push((p.clone(), hits));
    }
    Ok(out)
}

/// Each of the two lists (guard, then remediator principals) that holds a pattern, with its
/// flag, replaced by the exact role ARNs `expand_roles` finds; `note` turns each pattern and
/// its roles into a line for the user (and may widen the params, as judging does).
async fn expand_lists<L: RoleLister>(
    lister: &L,
    params: &mut crate::rules::BucketParams,
    require_match: bool,
    mut note: impl FnMut(&mut crate::rules::BucketParams, &str, &str, &[String]) -> String,
) -> Result<Vec<String>, RoleExpansionError> {
    let mut notes = Vec::new();
    for (remediator, flag) in [
        (false, "--guard-principal"),
        (true, "--remediator-principal"),
    ] {
        let list = if remediator {
            &params.remediator_principals
        } else {
            &params.guard_principals
        };
        if !list.iter().any(|p| is_pattern(p)) {
            continue;
        }
        let e = expand_roles(lister, list, flag, require_match).await?;
        for (pattern, roles) in &e.patterns {
            notes.push(note(params, flag, pattern, roles));
        }
        if remediator {
            params.remediator_principals = e.arns;
        } else {
            params.guard_principals = e.arns;
        }
    }
    Ok(notes)
}

/// For judging (`scan`): each guard or remediator pattern stays a configured exemption (as
/// an exempt principal: `S3-VPCE-DENY`/`S3-VPCE-KNOWN` accept it), and `S3-GUARD-ACCESS` asks
/// about the roles it matches now. Returns one line per pattern, for the user.
pub async fn expand_for_judging<L: RoleLister>(
    lister: &L,
    params: &mut crate::rules::BucketParams,
) -> Result<Vec<String>, RoleExpansionError> {
    expand_lists(lister, params, false, |params, flag, pattern, roles| {
        if !params.exempt_principals.iter().any(|p| p == pattern) {
            params.exempt_principals.push(pattern.to_string());
        }
        let matched = if roles.is_empty() {
            "matches no role".to_string()
        } else {
            roles.join(", ")
        };
        format!("{flag} {pattern}: {matched}")
    })
    .await
}

/// For writing (`remediate`): every guard or remediator pattern replaced by the roles it
/// matches now (a pattern matching none is an error); the deny then names them exactly.
/// Returns one line per pattern, for the plan.
pub async fn expand_for_writing<L: RoleLister>(
    lister: &L,
    params: &mut crate::rules::BucketParams,
) -> Result<Vec<String>, RoleExpansionError> {
    expand_exact(lister, params, true).await
}

/// [`expand_for_writing`] for the remediator function: a pattern that matches no role expands
/// to nothing (the deny then exempts no role for it, never the pattern).
pub(crate) async fn expand_exact<L: RoleLister>(
    lister: &L,
    params: &mut crate::rules::BucketParams,
    require_match: bool,
) -> Result<Vec<String>, RoleExpansionError> {
    expand_lists(lister, params, require_match, |_, flag, pattern, roles| {
        format!("{flag} {pattern} expanded to {}", roles.join(", "))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Roles(Vec<&'static str>);

    impl RoleLister for Roles {
        async fn role_arns(&self, path_prefix: &str) -> Result<Vec<String>, AwsError> {
            Ok(self
                .0
                .iter()
                .filter(|r| {
                    r.split_once(":role")
                        .is_some_and(|(_, rest)| rest.starts_with(path_prefix))
                })
                .map(|r| r.to_string())
                .collect())
        }
    }

    #[test]
    fn path_prefixes_stop_at_the_first_wildcard() {
        let p = |s| role_path_prefix(s);
        assert_eq!(
            p("arn:aws:iam::111122223333:role/vpce-guard/*").as_deref(),
            Some("/vpce-guard/")
        );
        assert_eq!(
            p("arn:aws:iam::111122223333:role/app-*").as_deref(),
            Some("/")
        );
        assert_eq!(
            p("arn:aws:iam::111122223333:role/a/b*/c").as_deref(),
            Some("/a/")
        );
        assert_eq!(p("arn:aws:iam::111122223333:user/x*"), None);
        assert_eq!(p("arn:aws:s3:::bucket*"), None);
    }

    #[tokio::test]
    async fn patterns_become_the_roles_that_exist() {
        let roles = Roles(vec![
            "arn:aws:iam::111122223333:role/vpce-guard/BucketRule",
            "arn:aws:iam::111122223333:role/vpce-guard/Watcher",
            "arn:aws:iam::111122223333:role/other/Thing",
        ]);
        let list = vec![
            "arn:aws:iam::111122223333:role/vpce-guard/*".to_string(),
            "arn:aws:iam::111122223333:role/Exact".to_string(),
        ];
        let e = expand_roles(&roles, &list, "--guard-principal", true)
            .await
            .unwrap();
        assert_eq!(
            e.arns,
            vec![
                "arn:aws:iam::111122223333:role/vpce-guard/BucketRule",
                "arn:aws:iam::111122223333:role/vpce-guard/Watcher",
                "arn:aws:iam::111122223333:role/Exact",
            ]
        );
        assert_eq!(e.patterns[0].1.len(), 2);
        let none = vec!["arn:aws:iam::111122223333:role/nobody/*".to_string()];
        let err = expand_roles(&roles, &none, "--guard-principal", true)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("matches no role"), "{err}");
        assert!(expand_roles(&roles, &none, "--guard-principal", false)
            .await
            .unwrap()
            .arns
            .is_empty());
        let user = vec!["arn:aws:iam::111122223333:user/*".to_string()];
        assert!(expand_roles(&roles, &user, "--guard-principal", true)
            .await
            .is_err());
    }
}
