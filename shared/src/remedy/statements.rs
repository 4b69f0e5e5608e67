//! The statements the guard writes into a bucket policy: the endpoint deny, one statement per
//! group of the guard's principals with exactly the actions they call, and the plain-HTTP deny;
//! and who they exempt ([`GuardExemptions`]).

use serde_json::{json, Map, Value};

use crate::rules::bucket::config_service_linked_role;
use crate::rules::guard::{is_pattern, GuardKind};
use crate::rules::params::Partition;

/// The Sid of the endpoint deny the guard writes.
pub(crate) const SID_DENY_OUTSIDE_VPCE: &str = "VpceGuardDenyOutsideVpce";
/// The Sid of the plain-HTTP deny the guard writes.
pub(crate) const SID_DENY_PLAIN_HTTP: &str = "VpceGuardDenyPlainHttp";
/// The tag that exempts a bucket from remediation.
pub(crate) const EXEMPT_TAG: &str = "vpce-guard:exempt";

/// The guard's Sids: a statement carrying one is the guard's own and is replaced, never
/// duplicated. Besides the two main statements, one per class of actions the guard's principals
/// call (see [`deny_outside_vpce`]): `For` + the kinds it exempts.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const GUARD_SIDS: [&str; 9] = [
    SID_DENY_OUTSIDE_VPCE,
    SID_DENY_PLAIN_HTTP,
    "VpceGuardDenyOutsideVpceForGuardRemediatorConfig",
    "VpceGuardDenyOutsideVpceForGuardRemediator",
    "VpceGuardDenyOutsideVpceForGuardConfig",
    "VpceGuardDenyOutsideVpceForRemediatorConfig",
    "VpceGuardDenyOutsideVpceForGuard",
    "VpceGuardDenyOutsideVpceForRemediator",
    "VpceGuardDenyOutsideVpceForConfig",
];

/// Who the deny the product writes exempts, and for what (RULES.md, "Exemptions"): configured
/// exempt principals for every action (configuration wins, patterns included); the guard's, the
/// remediator's and AWS Config's recorder role by exact ARN, each for the actions it calls
/// ([`crate::rules::guard`]) and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardExemptions {
    /// `ExemptPrincipalArns`.
    pub(crate) exempt: Vec<String>,
    /// `GuardPrincipalArns`: exact role ARNs.
    pub(crate) guards: Vec<String>,
    /// `RemediatorPrincipalArns`: exact role ARNs.
    pub(crate) remediators: Vec<String>,
    /// AWS Config's recorder role.
    pub(crate) config_role: String,
}

impl GuardExemptions {
    /// From the parts: Config's role defaults to its service-linked role in the account.
    pub(crate) fn new(
        exempt: &[String],
        guards: &[String],
        remediators: &[String],
        config_role: Option<&str>,
        region: &str,
        account: &str,
    ) -> GuardExemptions {
        let config_role = config_role
            .map(str::to_string)
            .unwrap_or_else(|| config_service_linked_role(Partition::of_region(region), account));
        GuardExemptions {
            exempt: dedup(exempt),
            guards: dedup(guards),
            remediators: dedup(remediators),
            config_role,
        }
    }

    /// The deny names the guard's principals exactly: a wildcard pattern among them (or in
    /// Config's role) is an error naming it.
    pub(crate) fn check_exact(&self) -> Result<(), String> {
        let lists = [
            ("GuardPrincipalArns (--guard-principal)", &self.guards),
            (
                "RemediatorPrincipalArns (--remediator-principal)",
                &self.remediators,
            ),
        ];
        for (what, list) in lists {
            if let Some(p) = list.iter().find(|p| is_pattern(p)) {
                return Err(format!(
                    "{what} has the pattern `{p}`: the deny the product writes exempts the guard's roles by exact ARN only (a pattern would admit any role created to match it); pass the roles' ARNs (vpce-guard remediate expands a pattern to the roles that exist with iam:ListRoles)"
                ));
            }
        }
        if is_pattern(&self.config_role) {
            return Err(format!(
                "AWS Config's recorder role `{}` is a pattern: the deny names it exactly",
                self.config_role
            ));
        }
        Ok(())
    }
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in list {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Which of the guard's principal kinds an action-class statement exempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exempted {
    guard: bool,
    remediator: bool,
    config: bool,
}

impl Exempted {
    fn sid(self) -> String {
        format!(
            "{SID_DENY_OUTSIDE_VPCE}For{}{}{}",
            if self.guard { "Guard" } else { "" },
            if self.remediator { "Remediator" } else { "" },
            if self.config { "Config" } else { "" },
        )
    }
}

/// The statements that deny every request from outside the approved endpoints: one per class
/// of actions the guard's principals call (exempting exactly the principals that call them,
/// plus the configured exempt principals), and `VpceGuardDenyOutsideVpce` for every other
/// action (`NotAction` the listed ones), exempting only the configured exempt principals. Every
/// statement also lets AWS services and requests via AWS services through. Together they deny
/// `s3:*`: the classes are disjoint and the last statement covers the rest.
pub(crate) fn deny_outside_vpce(
    bucket: &str,
    partition: Partition,
    endpoints: &[String],
    ex: &GuardExemptions,
) -> Vec<Value> {
    let mut classes: Vec<(Exempted, Vec<&'static str>)> = Vec::new();
    let kinds = [
        GuardKind::Guard,
        GuardKind::Remediator,
        GuardKind::ConfigRecorder,
    ];
    let mut listed: Vec<&'static str> = Vec::new();
    for kind in kinds {
        for action in kind.actions() {
            if !listed.contains(&action) {
                listed.push(action);
            }
        }
    }
    for action in &listed {
        let key = Exempted {
            guard: !ex.guards.is_empty() && GuardKind::Guard.actions().contains(action),
            remediator: !ex.remediators.is_empty()
                && GuardKind::Remediator.actions().contains(action),
            config: GuardKind::ConfigRecorder.actions().contains(action),
        };
        if !(key.guard || key.remediator || key.config) {
            continue;
        }
        match classes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, actions)) => actions.push(action),
            None => classes.push((key, vec![action])),
        }
    }
    let resources = json!([
        format!("arn:{partition}:s3:::{bucket}"),
        format!("arn:{partition}:s3:::{bucket}/*")
    ]);
    let statement = |sid: String, action_key: &str, actions: Value, exempt: Vec<String>| {
        let mut condition = Map::new();
        condition.insert(
            "StringNotEquals".into(),
            json!({ "aws:SourceVpce": endpoints }),
        );
        condition.insert(
            "BoolIfExists".into(),
            json!({ "aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false" }),
        );
        if !exempt.is_empty() {
            condition.insert("ArnNotLike".into(), json!({ "aws:PrincipalArn": exempt }));
        }
        let mut st = Map::new();
        st.insert("Sid".into(), json!(sid));
        st.insert("Effect".into(), json!("Deny"));
        st.insert("Principal".into(), json!("*"));
        st.insert(action_key.into(), actions);
        st.insert("Resource".into(), resources.clone());
        st.insert("Condition".into(), Value::Object(condition));
        Value::Object(st)
    };
    let mut out = Vec::new();
    let mut excluded: Vec<&'static str> = Vec::new();
    for (key, actions) in &classes {
        let mut who = ex.exempt.clone();
        if key.guard {
            who.extend(ex.guards.iter().cloned());
        }
        if key.remediator {
            who.extend(ex.remediators.iter().cloned());
        }
        if key.config {
            who.push(ex.config_role.clone());
        }
        excluded.extend(actions.iter().copied());
        out.push(statement(key.sid(), "Action", json!(actions), dedup(&who)));
    }
    let rest = if excluded.is_empty() {
        statement(
            SID_DENY_OUTSIDE_VPCE.to_string(),
            "Action",
            json!("s3:*"),
            ex.exempt.clone(),
        )
    } else {
        statement(
            SID_DENY_OUTSIDE_VPCE.to_string(),
            "NotAction",
            json!(excluded),
            ex.exempt.clone(),
        )
    };
    out.insert(0, rest);
    out
}

/// Is this Sid one of the endpoint-deny statements the guard writes?
pub(crate) fn is_guard_outside_sid(sid: &str) -> bool {
    GUARD_SIDS
        .iter()
        .any(|g| *g == sid && *g != SID_DENY_PLAIN_HTTP)
}

/// `VpceGuardDenyPlainHttp` for a bucket.
pub(crate) fn deny_plain_http(bucket: &str, partition: Partition) -> Value {
    json!({
        "Sid": SID_DENY_PLAIN_HTTP,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })
}
