//! Remediation, the pure part: plan the statements a bucket policy lacks, merge them into the
//! policy without losing or changing a statement, and judge the result with the engine before
//! anything may be written. Applying and verifying the plan (I/O) happens behind a port.
//!
//! What is written (RULES.md, issue 10): `VpceGuardDenyOutsideVpce` — deny every request that
//! does not come through the approved endpoints, except AWS services, requests via AWS services,
//! and the principals the rules accept as exemptions (configured exempt principals, the guard's
//! principals, AWS Config's recorder role) — and, when `S3-TLS` FAILs, `VpceGuardDenyPlainHttp`.

pub mod apply;
pub mod handler;
pub mod history;

use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::policy::{PolicyDocument, MAX_POLICY_BYTES};
use crate::rules::bucket::{check_policy_in_account, config_service_linked_role, writer_denied};
use crate::rules::guard::{is_pattern, GuardKind};
use crate::rules::params::Partition;
use crate::rules::{BucketParams, Finding, RuleId, Status};

/// The Sid of the endpoint deny the guard writes.
pub(crate) const SID_DENY_OUTSIDE_VPCE: &str = "VpceGuardDenyOutsideVpce";
/// The Sid of the plain-HTTP deny the guard writes.
pub(crate) const SID_DENY_PLAIN_HTTP: &str = "VpceGuardDenyPlainHttp";
/// The tag that exempts a bucket from remediation.
pub(crate) const EXEMPT_TAG: &str = "vpce-guard:exempt";

/// The guard's Sids: a statement carrying one is the guard's own and is replaced, never
/// duplicated. Besides the two main statements, one per class of actions the guard's principals
/// call (see [`deny_outside_vpce`]): `For` + the kinds it exempts.
pub const GUARD_SIDS: [&str; 9] = [
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

/// What the plan needs to know about one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct RemedyInput {
    pub bucket: String,
    pub region: String,
    /// The bucket owner's account.
    pub account: String,
    /// The current policy text (`None`: the bucket has no policy).
    pub current: Option<String>,
    /// The approved S3 endpoints (gateway or interface) that are `available` in the bucket's
    /// region.
    pub endpoints: Vec<String>,
    /// `ExemptPrincipalArns`.
    pub exempt_principals: Vec<String>,
    /// `GuardPrincipalArns` (the evaluating functions' roles), exact ARNs.
    pub guard_principals: Vec<String>,
    /// `RemediatorPrincipalArns` (the remediator's role), exact ARNs.
    pub remediator_principals: Vec<String>,
    /// AWS Config's recorder role (`None`: the service-linked role of the account).
    pub config_role: Option<String>,
    /// `RequireSigV4`, `RequireTlsVersion`, … as the deployed rule has them.
    pub require: BucketParams,
    /// The principal ARN (`aws:PrincipalArn`) of whoever will write the policy.
    pub caller: Option<String>,
    /// The bucket carries `vpce-guard:exempt` = `true`.
    pub exempt_tag: bool,
    /// Evaluation time, seconds since the epoch.
    pub now: f64,
}

/// The planned change.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The policy before (`None`: none).
    pub previous: Option<Value>,
    /// The merged policy to write.
    pub policy: Value,
    /// The guard statements written (Sids).
    pub added: Vec<&'static str>,
    pub verdicts_before: Vec<Finding>,
    pub verdicts_after: Vec<Finding>,
}

/// What remediation decides for one bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Write `Plan.policy`.
    Write(Box<Plan>),
    /// Nothing to fix (no write at all).
    NoChange { reason: String },
    /// A guard rail refuses: nothing is written.
    Refused {
        reason: String,
        verdicts_before: Vec<Finding>,
    },
}

/// Why a merge cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MergeError {
    #[error("the current policy is not a JSON object with a `Statement`")]
    NotAPolicy,
    #[error("the merged policy would be {size} bytes; S3 accepts at most {MAX_POLICY_BYTES}")]
    TooLarge { size: usize },
    #[error("the merged policy is not valid: {0}")]
    Invalid(String),
}

fn partition_of(region: &str) -> Partition {
    Partition::of_region(region)
}

/// Who the deny the product writes exempts, and for what (RULES.md, "Exemptions"): configured
/// exempt principals for every action (configuration wins, patterns included); the guard's, the
/// remediator's and AWS Config's recorder role by exact ARN, each for the actions it calls
/// ([`crate::rules::guard`]) and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardExemptions {
    /// `ExemptPrincipalArns`.
    pub exempt: Vec<String>,
    /// `GuardPrincipalArns`: exact role ARNs.
    pub guards: Vec<String>,
    /// `RemediatorPrincipalArns`: exact role ARNs.
    pub remediators: Vec<String>,
    /// AWS Config's recorder role.
    pub config_role: String,
}

impl GuardExemptions {
    /// From the parts: Config's role defaults to its service-linked role in the account.
    pub fn new(
        exempt: &[String],
        guards: &[String],
        remediators: &[String],
        config_role: Option<&str>,
        region: &str,
        account: &str,
    ) -> GuardExemptions {
        let config_role = config_role
            .map(str::to_string)
            .unwrap_or_else(|| config_service_linked_role(partition_of(region), account));
        GuardExemptions {
            exempt: dedup(exempt),
            guards: dedup(guards),
            remediators: dedup(remediators),
            config_role,
        }
    }

    /// The exemptions of one remediation.
    pub fn of(input: &RemedyInput) -> GuardExemptions {
        GuardExemptions::new(
            &input.exempt_principals,
            &input.guard_principals,
            &input.remediator_principals,
            input.config_role.as_deref(),
            &input.region,
            &input.account,
        )
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

fn sid_of(st: &Value) -> Option<&str> {
    st.get("Sid").and_then(Value::as_str)
}

fn statements_of(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// The guard's endpoint-deny statements in a policy, in order.
fn guard_outside_statements(policy: &Value) -> Vec<Value> {
    statements_of(policy)
        .into_iter()
        .filter(|st| sid_of(st).is_some_and(is_guard_outside_sid))
        .cloned()
        .collect()
}

/// The policy without the guard's endpoint-deny statements whose Sid is not in `keep`.
fn retire_guard_statements(policy: &Value, keep: &[&str]) -> Value {
    let mut out = policy.clone();
    if let Some(Value::Array(a)) = out.get_mut("Statement") {
        a.retain(|st| {
            sid_of(st).is_none_or(|sid| !is_guard_outside_sid(sid) || keep.contains(&sid))
        });
    }
    out
}

/// Merge guard statements into a policy: every existing statement is kept as the same JSON
/// value, in its place, except one carrying the Sid of a statement being added, which is
/// replaced (never duplicated); new statements are appended. `Version` and `Id` are kept (a
/// policy without one gets `2012-10-17`). The result is valid and at most 20 KB, or an error.
pub fn merge(current: Option<&Value>, add: &[Value]) -> Result<Value, MergeError> {
    let mut doc = match current {
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(MergeError::NotAPolicy),
        None => {
            let mut m = Map::new();
            m.insert("Version".into(), json!("2012-10-17"));
            m
        }
    };
    let mut statements: Vec<Value> = match doc.remove("Statement") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err(MergeError::NotAPolicy),
        None if current.is_some() => return Err(MergeError::NotAPolicy),
        None => Vec::new(),
    };
    for new in add {
        let sid = sid_of(new);
        match statements
            .iter_mut()
            .find(|st| sid.is_some() && sid_of(st) == sid)
        {
            Some(existing) => *existing = new.clone(),
            None => statements.push(new.clone()),
        }
    }
    doc.insert("Statement".into(), Value::Array(statements));
    let merged = Value::Object(doc);
    let text = serde_json::to_string(&merged).map_err(|e| MergeError::Invalid(e.to_string()))?;
    if text.len() > MAX_POLICY_BYTES {
        return Err(MergeError::TooLarge { size: text.len() });
    }
    PolicyDocument::from_value(merged.clone()).map_err(|e| MergeError::Invalid(e.to_string()))?;
    Ok(merged)
}

fn status(findings: &[Finding], rule: RuleId) -> Status {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.status)
        .unwrap_or(Status::Fail)
}

fn reason(findings: &[Finding], rule: RuleId) -> String {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.reason.clone())
        .unwrap_or_default()
}

/// The principal ARN (`aws:PrincipalArn`) of an identity ARN as STS reports it: an
/// assumed-role session maps to its role (`…:role/NAME`; STS does not report the role's path).
pub(crate) fn principal_arn_of(identity: &str) -> String {
    let parts: Vec<&str> = identity.splitn(6, ':').collect();
    if let [_, partition, "sts", _, account, resource] = parts.as_slice() {
        if let Some(rest) = resource.strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            return format!("arn:{partition}:iam::{account}:role/{role}");
        }
    }
    identity.to_string()
}

impl RemedyInput {
    /// The rules' parameters for judging this bucket's policies.
    pub fn params(&self) -> BucketParams {
        BucketParams {
            approved_vpce: self.endpoints.clone(),
            exempt_principals: self.exempt_principals.clone(),
            guard_principals: self.guard_principals.clone(),
            remediator_principals: self.remediator_principals.clone(),
            config_role: self.config_role.clone(),
            account_id: Some(self.account.clone()),
            partition: partition_of(&self.region),
            ..self.require.clone()
        }
    }

    fn verdicts(&self, policy: Option<&str>) -> Result<Vec<Finding>, String> {
        check_policy_in_account(
            &self.bucket,
            &self.region,
            policy,
            &self.params(),
            &self.endpoints,
            self.now,
        )
    }
}

/// Decide what to write for one bucket: the plan, nothing, or a refusal with its reason. Every
/// safety check is a question to the engine.
pub fn plan(input: &RemedyInput) -> Decision {
    let before = match input.verdicts(input.current.as_deref()) {
        Ok(v) => v,
        Err(why) => {
            return Decision::Refused {
                reason: format!("the current policy cannot be read as a policy: {why}"),
                verdicts_before: Vec::new(),
            }
        }
    };
    let refuse = |reason: String| Decision::Refused {
        reason,
        verdicts_before: before.clone(),
    };
    if input.exempt_tag {
        return refuse(format!(
            "the bucket carries the tag {EXEMPT_TAG}=true: remediation leaves it alone"
        ));
    }
    let ex = GuardExemptions::of(input);
    let partition = partition_of(&input.region);
    let previous = match input.current.as_deref().map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => return refuse(format!("the current policy is not JSON: {e}")),
    };
    let deny_fails = status(&before, RuleId::S3VpceDeny) == Status::Fail
        || status(&before, RuleId::S3VpceKnown) == Status::Fail;
    let tls_fails = status(&before, RuleId::S3Tls) == Status::Fail;
    // The guard's own endpoint deny, written by an earlier version or for other principals or
    // endpoints (say, the old `s3:*` exemption of a role path), is rewritten to today's.
    let wanted = (!input.endpoints.is_empty() && ex.check_exact().is_ok())
        .then(|| deny_outside_vpce(&input.bucket, partition, &input.endpoints, &ex));
    let stale = match (&wanted, previous.as_ref()) {
        (Some(w), Some(p)) => {
            let own = guard_outside_statements(p);
            !own.is_empty() && own != *w
        }
        _ => false,
    };
    if !deny_fails && !tls_fails && !stale {
        return Decision::NoChange {
            reason: "S3-VPCE-DENY, S3-VPCE-KNOWN and S3-TLS already pass: nothing to write".into(),
        };
    }
    if input.endpoints.is_empty() {
        return refuse(format!(
            "no approved, available S3 gateway or interface endpoint in {}: a deny outside the VPC endpoints would lock everyone out",
            input.region
        ));
    }
    if let Err(why) = ex.check_exact() {
        return refuse(why);
    }
    if status(&before, RuleId::S3NoPublicGrant) == Status::Fail {
        return refuse(format!(
            "the policy grants public access on purpose ({}); the deny would break it. Tag the bucket {EXEMPT_TAG}=true to leave it out",
            reason(&before, RuleId::S3NoPublicGrant)
        ));
    }
    let mut add = Vec::new();
    let mut added = Vec::new();
    if deny_fails || stale {
        for st in wanted.unwrap_or_default() {
            if let Some(sid) = sid_of(&st).and_then(|sid| GUARD_SIDS.iter().find(|g| **g == sid)) {
                added.push(*sid);
            }
            add.push(st);
        }
    }
    if tls_fails {
        add.push(deny_plain_http(&input.bucket, partition));
        added.push(SID_DENY_PLAIN_HTTP);
    }
    // Retire the guard's endpoint-deny statements the new set does not carry (a class that no
    // longer exists); every other statement stays as it is.
    let kept = previous
        .as_ref()
        .map(|p| retire_guard_statements(p, &added));
    let merged = match merge(kept.as_ref(), &add) {
        Ok(m) => m,
        Err(e) => return refuse(format!("cannot merge: {e}")),
    };
    let text = merged.to_string();
    let after = match input.verdicts(Some(&text)) {
        Ok(v) => v,
        Err(why) => return refuse(format!("the merged policy cannot be evaluated: {why}")),
    };
    let mut must_pass = vec![
        RuleId::S3VpceDeny,
        RuleId::S3VpceKnown,
        RuleId::S3VpceReachable,
        RuleId::S3GuardAccess,
    ];
    if tls_fails {
        must_pass.push(RuleId::S3Tls);
    }
    for rule in must_pass {
        if input.require.is_disabled(rule) {
            continue;
        }
        if status(&after, rule) != Status::Pass {
            let what = if rule == RuleId::S3VpceReachable {
                "nobody inside could reach the bucket after the write"
            } else {
                "the planned policy does not pass the guard's own rules"
            };
            return refuse(format!(
                "{what}: {rule} would be {} ({})",
                status(&after, rule).as_str(),
                reason(&after, rule)
            ));
        }
    }
    if let Some(caller) = &input.caller {
        let arn = principal_arn_of(caller);
        if let Some(why) = denies_caller(input, &text, &arn) {
            return refuse(format!(
                "the planned policy would deny the caller {arn} from where it runs ({why}); exempt it with --exempt-principal {arn} (ExemptPrincipalArns)"
            ));
        }
    }
    Decision::Write(Box::new(Plan {
        previous,
        policy: merged,
        added,
        verdicts_before: before,
        verdicts_after: after,
    }))
}

/// Would `policy` deny `caller` (a principal ARN) reading or writing the bucket policy from
/// the public internet (where a Lambda function or a laptop runs)?
fn denies_caller(input: &RemedyInput, policy: &str, caller: &str) -> Option<String> {
    match writer_denied(&input.bucket, policy, &input.params(), caller, input.now) {
        Ok(why) => why,
        Err(e) => Some(e),
    }
}

/// The referee of what the product writes: how the engine's concrete evaluator (the oracle's
/// referee, independent of the search that planned the write) decides one request by
/// `principal` (a role ARN: a session of it) for `action` on the bucket (object actions — any
/// with `Object` in the name — on a key in it), from the public internet: SigV4 over TLS 1.2,
/// no VPC endpoint, a public source address.
pub fn internet_request_decision(
    policy: &Value,
    bucket: &str,
    partition: Partition,
    principal: &str,
    action: &str,
) -> Result<crate::policy::Decision, String> {
    use crate::policy::context::{Caller, Principal, RequestContext, Signature};
    use crate::policy::keys;
    let doc = PolicyDocument::from_value(policy.clone()).map_err(|e| e.to_string())?;
    let caller =
        Caller::from_arn(principal).ok_or_else(|| format!("`{principal}` is not an ARN"))?;
    let resource = if action.contains("Object") {
        format!("arn:{partition}:s3:::{bucket}/reports/2026.csv")
    } else {
        format!("arn:{partition}:s3:::{bucket}")
    };
    let ctx = RequestContext {
        action: action.to_string(),
        resource,
        principal: Principal {
            caller,
            signature: Signature::SigV4,
            via_service: false,
        },
        keys: vec![
            (keys::SECURE_TRANSPORT.into(), vec!["true".into()]),
            (keys::TLS_VERSION.into(), vec!["1.2".into()]),
            (keys::SOURCE_IP.into(), vec!["198.51.100.7".into()]),
        ],
    };
    Ok(crate::policy::compiled::CompiledPolicy::new(&doc).evaluate(&ctx, partition))
}

#[cfg(test)]
mod tests;

/// The same JSON value with every object's keys in sorted order, whatever map type serde_json
/// was built with (feature unification can turn on `preserve_order`): diffs and docs are then
/// the same in every build.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), canonical(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A readable line diff of two policies, pretty-printed with sorted keys: `- ` removed, `+ `
/// added, `  ` kept.
pub fn render_diff(previous: Option<&Value>, new: &Value) -> String {
    let pretty = |v: &Value| {
        let c = canonical(v);
        serde_json::to_string_pretty(&c).unwrap_or_else(|_| c.to_string())
    };
    let old_text = previous.map(pretty).unwrap_or_default();
    let new_text = pretty(new);
    let a: Vec<&str> = old_text.lines().collect();
    let b: Vec<&str> = new_text.lines().collect();
    // Longest common subsequence of lines (policies are at most 20 KB).
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            let v = if a.get(i) == b.get(j) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
            lcs[i][j] = v;
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str("  ");
            out.push_str(a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str("+ ");
            out.push_str(b[j]);
            j += 1;
        } else {
            out.push_str("- ");
            out.push_str(a[i]);
            i += 1;
        }
        out.push('\n');
    }
    out
}
