//! Rule parameters: Config rule input parameters (comma-separated strings) and the CLI flags
//! that mirror them, validated with errors that name the parameter.

use thiserror::Error;

use super::RuleId;

pub use crate::policy::values::{EndpointScope, Partition, TlsVersion};

/// An invalid parameter, named both as Config and as the CLI spell it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid parameter `{param}` ({flag}) value `{value}`: {why}")]
pub struct ParamError {
    pub(crate) param: &'static str,
    pub(crate) flag: &'static str,
    pub(crate) value: String,
    pub why: String,
}

/// What the bucket rules need besides the facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketParams {
    /// `ApprovedVpceIds`; empty in account mode means every available S3 gateway endpoint of the
    /// account in the bucket's region.
    pub approved_vpce: Vec<String>,
    /// `ApprovedVpcIds`.
    pub approved_vpc: Vec<String>,
    /// `ExemptPrincipalArns`: ARN patterns matched with ArnLike against `aws:PrincipalArn`.
    pub exempt_principals: Vec<String>,
    /// `GuardPrincipalArns`: the guard's own principals (the evaluating functions, the
    /// scanner), checked by `S3-GUARD-ACCESS` for the reads they make.
    pub guard_principals: Vec<String>,
    /// `RemediatorPrincipalArns`: the remediator's principals, guard principals too, checked by
    /// `S3-GUARD-ACCESS` for the reads and the policy writes they make.
    pub remediator_principals: Vec<String>,
    /// `RequireSigV4`.
    pub require_sigv4: bool,
    /// `RequireTlsVersion`.
    pub require_tls_version: Option<TlsVersion>,
    /// The bucket owner's account (`--account-id`); `None`: unknown.
    pub account_id: Option<String>,
    /// `DisabledRules` / `--skip-rule`: reported `NOT_APPLICABLE`, never change compliance.
    /// One list feeds both Config rules: each rule ignores the other's ids.
    pub disabled_rules: Vec<RuleId>,
    /// The partition of the bucket's ARNs (`--partition`; in account mode, the region's).
    pub partition: Partition,
    /// AWS Config's recorder role, when known (account mode: the role the account's
    /// configuration recorder uses); `None`: the service-linked role of the bucket's account.
    pub config_role: Option<String>,
    /// `ApprovedEndpointScope` / `--approved-endpoint-scope`: which endpoints count as approved
    /// besides the listed ones (the listed ones; any of the account's; any of the
    /// organization's).
    pub approved_endpoint_scope: EndpointScope,
    /// `--approved-vpce-account`: the account that owns the approved endpoints (a shared VPC's
    /// network account); `None`: the bucket owner's.
    pub approved_vpce_account: Option<String>,
    /// `--org-id` / `--org-path`: the bucket owner's organization and OU path, when known.
    pub org_id: Option<String>,
    pub org_path: Option<String>,
    /// The resource control policies that apply to the bucket (`--rcp FILE`): judged together
    /// with its policy.
    pub rcps: Vec<crate::policy::Rcp>,
    /// The organization-policy source is configured but could not be read: deny rules judge
    /// the bucket policy alone, and the rules that must show a request is not denied WARN.
    pub rcp_unreadable: Option<String>,
}

fn err(param: &'static str, flag: &'static str, value: &str, why: impl Into<String>) -> ParamError {
    ParamError {
        param,
        flag,
        value: value.to_string(),
        why: why.into(),
    }
}

fn hex_id(v: &str, prefix: &str) -> bool {
    v.strip_prefix(prefix).is_some_and(|rest| {
        (8..=17).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// An organization id: `o-` and 10 to 32 lower-case letters or digits.
fn is_org_id(v: &str) -> bool {
    v.strip_prefix("o-").is_some_and(|r| {
        (10..=32).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// An OU path: `o-…/r-…/` then any `ou-…/`, each part lower-case letters, digits and `-`.
fn is_org_path(v: &str) -> bool {
    let Some(body) = v.strip_suffix('/') else {
        return false;
    };
    let parts: Vec<&str> = body.split('/').collect();
    parts.len() >= 2
        && parts.first().is_some_and(|o| is_org_id(o))
        && parts.get(1).is_some_and(|r| r.starts_with("r-"))
        && parts.iter().skip(2).all(|p| p.starts_with("ou-"))
        && parts.iter().all(|p| {
            p.len() > 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
        })
}

/// Split a Config-style comma-separated list; blanks are dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl BucketParams {
    /// Validate every field; the first invalid one is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        for v in &self.approved_vpce {
            if !hex_id(v, "vpce-") {
                return Err(err(
                    "ApprovedVpceIds",
                    "--approved-vpce",
                    v,
                    "expected a VPC endpoint id such as `vpce-1a2b3c4d`",
                ));
            }
        }
        for v in &self.approved_vpc {
            if !hex_id(v, "vpc-") {
                return Err(err(
                    "ApprovedVpcIds",
                    "--approved-vpc",
                    v,
                    "expected a VPC id such as `vpc-0a1b2c3d`",
                ));
            }
        }
        for (list, param, flag) in [
            (
                &self.exempt_principals,
                "ExemptPrincipalArns",
                "--exempt-principal",
            ),
            (
                &self.guard_principals,
                "GuardPrincipalArns",
                "--guard-principal",
            ),
            (
                &self.remediator_principals,
                "RemediatorPrincipalArns",
                "--remediator-principal",
            ),
        ] {
            for v in list {
                let ok = crate::policy::glob::arn_parts(v).is_some_and(|p| !p[5].is_empty());
                if !ok {
                    return Err(err(param, flag, v, "expected an IAM principal ARN pattern such as `arn:aws:iam::111122223333:role/Admin*`"));
                }
            }
        }
        for (v, param, flag) in [
            (&self.account_id, "AccountId", "--account-id"),
            (
                &self.approved_vpce_account,
                "ApprovedVpceAccount",
                "--approved-vpce-account",
            ),
        ] {
            if let Some(a) = v {
                if !crate::policy::keys::is_account_id(a) {
                    return Err(err(param, flag, a, "expected a 12-digit account id"));
                }
            }
        }
        if let Some(o) = &self.org_id {
            if !is_org_id(o) {
                return Err(err(
                    "OrgId",
                    "--org-id",
                    o,
                    "expected an organization id such as `o-a1b2c3d4e5`",
                ));
            }
        }
        if let Some(path) = &self.org_path {
            if !is_org_path(path) {
                return Err(err(
                    "OrgPath",
                    "--org-path",
                    path,
                    "expected an OU path such as `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/`",
                ));
            }
            if let Some(o) = &self.org_id {
                if !path.starts_with(&format!("{o}/")) {
                    return Err(err(
                        "OrgPath",
                        "--org-path",
                        path,
                        format!("the path must start with the organization `{o}/`"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Parse `ApprovedEndpointScope`: `endpoints` (default), `account`, `organization`.
    pub fn parse_endpoint_scope(v: &str) -> Result<EndpointScope, ParamError> {
        if v.trim().is_empty() {
            return Ok(EndpointScope::Endpoints);
        }
        EndpointScope::parse(v).ok_or_else(|| {
            err(
                "ApprovedEndpointScope",
                "--approved-endpoint-scope",
                v,
                "expected one of endpoints, account, organization",
            )
        })
    }

    /// Parse `RequireTlsVersion`: 1.0 to 1.3.
    pub fn parse_tls_version(v: &str) -> Result<TlsVersion, ParamError> {
        TlsVersion::parse(v).ok_or_else(|| {
            err(
                "RequireTlsVersion",
                "--require-tls-version",
                v,
                "expected one of 1.0, 1.1, 1.2, 1.3",
            )
        })
    }

    /// Parse `DisabledRules` / `--skip-rule` ids: any catalog id (bucket or network rule);
    /// an unknown id is an error naming it.
    pub fn parse_disabled_rules<S: AsRef<str>>(ids: &[S]) -> Result<Vec<RuleId>, ParamError> {
        let mut out = Vec::new();
        for id in ids {
            let id = id.as_ref().trim();
            if id.is_empty() {
                continue;
            }
            let rule = RuleId::parse(id).ok_or_else(|| {
                err(
                    "DisabledRules",
                    "--skip-rule",
                    id,
                    "unknown rule id (expected a catalog id such as `S3-TLS` or `NET-DNS`)",
                )
            })?;
            if !out.contains(&rule) {
                out.push(rule);
            }
        }
        Ok(out)
    }

    /// Parse `--partition`: `aws`, `aws-cn` or `aws-us-gov`.
    pub fn parse_partition(v: &str) -> Result<Partition, ParamError> {
        Partition::parse(v).ok_or_else(|| {
            err(
                "Partition",
                "--partition",
                v,
                "expected one of aws, aws-cn, aws-us-gov",
            )
        })
    }

    /// Is this rule disabled by configuration?
    pub(crate) fn is_disabled(&self, rule: RuleId) -> bool {
        self.disabled_rules.contains(&rule)
    }

    /// Parse `RequireSigV4`: `true` / `false` (any case).
    pub(crate) fn parse_bool(
        param: &'static str,
        flag: &'static str,
        v: &str,
    ) -> Result<bool, ParamError> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(err(param, flag, v, "expected `true` or `false`")),
        }
    }
}

impl BucketParams {
    /// The parameters as a function's environment spells them (`APPROVED_VPCE_IDS`,
    /// `APPROVED_VPC_IDS`, `EXEMPT_PRINCIPAL_ARNS`, `GUARD_PRINCIPAL_ARNS`,
    /// `REMEDIATOR_PRINCIPAL_ARNS`, `REQUIRE_SIGV4`,
    /// `REQUIRE_TLS_VERSION`, `DISABLED_RULES`, `APPROVED_ENDPOINT_SCOPE`), validated like the
    /// Config rule's parameters.
    pub(crate) fn from_env(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<BucketParams, ParamError> {
        let val = |k: &str| get(k).unwrap_or_default();
        let tls = val("REQUIRE_TLS_VERSION");
        let params = BucketParams {
            approved_vpce: split_list(&val("APPROVED_VPCE_IDS")),
            approved_vpc: split_list(&val("APPROVED_VPC_IDS")),
            exempt_principals: split_list(&val("EXEMPT_PRINCIPAL_ARNS")),
            guard_principals: split_list(&val("GUARD_PRINCIPAL_ARNS")),
            remediator_principals: split_list(&val("REMEDIATOR_PRINCIPAL_ARNS")),
            require_sigv4: BucketParams::parse_bool(
                "RequireSigV4",
                "REQUIRE_SIGV4",
                &val("REQUIRE_SIGV4"),
            )?,
            require_tls_version: if tls.trim().is_empty() {
                None
            } else {
                Some(BucketParams::parse_tls_version(&tls)?)
            },
            disabled_rules: BucketParams::parse_disabled_rules(&split_list(&val(
                "DISABLED_RULES",
            )))?,
            approved_endpoint_scope: BucketParams::parse_endpoint_scope(&val(
                "APPROVED_ENDPOINT_SCOPE",
            ))?,
            ..BucketParams::default()
        };
        params.validate()?;
        Ok(params)
    }
}

/// Lists too long for Config's 1,024-character `InputParameters`, read from SSM parameters
/// (`EXEMPT_PRINCIPAL_ARNS_PARAMETER`, `GUARD_PRINCIPAL_ARNS_PARAMETER`,
/// `APPROVED_VPCE_IDS_PARAMETER` name them) at init and kept for the warm container. Each is
/// added to the inline parameter of the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LongSettings {
    pub(crate) exempt_principals: Vec<String>,
    pub(crate) guard_principals: Vec<String>,
    pub(crate) approved_vpce: Vec<String>,
}

impl LongSettings {
    /// The environment variables naming the SSM parameters, with the setting each extends.
    pub(crate) const ENV: [(&'static str, &'static str); 3] = [
        ("EXEMPT_PRINCIPAL_ARNS_PARAMETER", "ExemptPrincipalArns"),
        ("GUARD_PRINCIPAL_ARNS_PARAMETER", "GuardPrincipalArns"),
        ("APPROVED_VPCE_IDS_PARAMETER", "ApprovedVpceIds"),
    ];

    /// From the parameters' values (comma- or newline-separated), validated like the inline
    /// parameters.
    pub(crate) fn from_values(
        exempt: Option<&str>,
        guard: Option<&str>,
        vpce: Option<&str>,
    ) -> Result<LongSettings, ParamError> {
        let list = |v: Option<&str>| split_list(&v.unwrap_or_default().replace(['\n', '\r'], ","));
        let s = LongSettings {
            exempt_principals: list(exempt),
            guard_principals: list(guard),
            approved_vpce: list(vpce),
        };
        s.apply(&BucketParams::default()).validate()?;
        Ok(s)
    }

    /// The parameters with these lists added (duplicates dropped).
    pub fn apply(&self, p: &BucketParams) -> BucketParams {
        let union = |a: &[String], b: &[String]| {
            let mut out = a.to_vec();
            for x in b {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            out
        };
        BucketParams {
            exempt_principals: union(&p.exempt_principals, &self.exempt_principals),
            guard_principals: union(&p.guard_principals, &self.guard_principals),
            approved_vpce: union(&p.approved_vpce, &self.approved_vpce),
            ..p.clone()
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.exempt_principals.is_empty()
            && self.guard_principals.is_empty()
            && self.approved_vpce.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_settings_extend_the_inline_lists() {
        let arns: Vec<String> = (0..50)
            .map(|i| format!("arn:aws:iam::111122223333:role/team-{i:02}"))
            .collect();
        let s = LongSettings::from_values(Some(&arns.join("\n")), None, Some("vpce-1a2b3c4d,"))
            .unwrap();
        assert_eq!(s.exempt_principals.len(), 50);
        let p = BucketParams {
            exempt_principals: vec![arns[0].clone(), "arn:aws:iam::111122223333:role/x".into()],
            approved_vpce: vec!["vpce-0a1b2c3d".into()],
            ..Default::default()
        };
        let merged = s.apply(&p);
        assert_eq!(merged.exempt_principals.len(), 51);
        assert_eq!(merged.approved_vpce, vec!["vpce-0a1b2c3d", "vpce-1a2b3c4d"]);
        let e = LongSettings::from_values(None, Some("not-an-arn"), None).unwrap_err();
        assert_eq!(e.param, "GuardPrincipalArns");
        assert!(LongSettings::from_values(None, None, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn names_the_bad_parameter() {
        let p = BucketParams {
            approved_vpce: vec!["vpc-123".into()],
            ..Default::default()
        };
        let e = p.validate().unwrap_err();
        assert_eq!(e.param, "ApprovedVpceIds");
        assert!(e.to_string().contains("`vpc-123`"));
        let e = BucketParams::parse_tls_version("1.4").unwrap_err();
        assert_eq!(e.param, "RequireTlsVersion");
        assert!(e.to_string().contains("`1.4`"), "{e}");
        assert_eq!(
            BucketParams::parse_tls_version("1.3").unwrap(),
            TlsVersion::V1_3
        );
        let e = BucketParams::parse_disabled_rules(&["S3-TLS", "S3-NOPE"]).unwrap_err();
        assert_eq!(e.param, "DisabledRules");
        assert!(e.to_string().contains("`S3-NOPE`"), "{e}");
        assert_eq!(
            BucketParams::parse_disabled_rules(&["S3-TLS", " NET-DNS ", "", "S3-TLS"]).unwrap(),
            vec![RuleId::S3Tls, RuleId::NetDns]
        );
        assert_eq!(Partition::of_region("cn-north-1"), Partition::AwsCn);
        assert_eq!(Partition::of_region("us-gov-west-1"), Partition::AwsUsGov);
        assert_eq!(Partition::of_region("eu-west-1"), Partition::Aws);
        let e = BucketParams::parse_partition("aws-eu").unwrap_err();
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("Partition", "--partition", "aws-eu")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `Partition` (--partition) value `aws-eu`: expected one of aws, \
             aws-cn, aws-us-gov"
        );
        assert_eq!(split_list(" a, ,b,"), vec!["a", "b"]);
        let ok = BucketParams {
            approved_vpce: vec!["vpce-1a2b3c4d".into(), "vpce-0123456789abcdef0".into()],
            exempt_principals: vec!["arn:aws:iam::*:role/Admin*".into()],
            account_id: Some("111122223333".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn endpoint_scope_and_organization_facts_are_validated() {
        assert_eq!(
            BucketParams::parse_endpoint_scope("").unwrap(),
            EndpointScope::Endpoints
        );
        assert_eq!(
            BucketParams::parse_endpoint_scope(" Organization ").unwrap(),
            EndpointScope::Organization
        );
        let e = BucketParams::parse_endpoint_scope("vpc").unwrap_err();
        assert_eq!(
            (e.param, e.flag),
            ("ApprovedEndpointScope", "--approved-endpoint-scope")
        );
        let with = |org: Option<&str>, path: Option<&str>, owner: Option<&str>| BucketParams {
            org_id: org.map(str::to_string),
            org_path: path.map(str::to_string),
            approved_vpce_account: owner.map(str::to_string),
            ..Default::default()
        };
        assert!(with(
            Some("o-a1b2c3d4e5"),
            Some("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"),
            Some("444455556666")
        )
        .validate()
        .is_ok());
        assert!(with(None, Some("o-a1b2c3d4e5/r-ab12/"), None)
            .validate()
            .is_ok());
        for (bad, param) in [
            (with(Some("o-short"), None, None), "OrgId"),
            (with(Some("O-A1B2C3D4E5"), None, None), "OrgId"),
            (with(None, Some("o-a1b2c3d4e5/r-ab12"), None), "OrgPath"),
            (with(None, Some("o-a1b2c3d4e5/ou-x/"), None), "OrgPath"),
            (
                with(Some("o-a1b2c3d4e5"), Some("o-ffffffffff/r-ab12/"), None),
                "OrgPath",
            ),
            (with(None, None, Some("4444")), "ApprovedVpceAccount"),
        ] {
            assert_eq!(bad.validate().unwrap_err().param, param, "{bad:?}");
        }
    }
}
