//! Remediation, the pure part: plan the statements a bucket policy lacks, merge them into the
//! policy without losing or changing a statement, and judge the result with the engine before
//! anything may be written. Applying and verifying the plan (I/O) happens behind a port.
//!
//! What is written (RULES.md, issue 10): `VpceGuardDenyOutsideVpce` — deny every request that
//! does not come through the approved endpoints, except AWS services, requests via AWS services,
//! and the principals the rules accept as exemptions (configured exempt principals, the guard's
//! principals, AWS Config's recorder role) — and, when `S3-TLS` FAILs, `VpceGuardDenyPlainHttp`.

pub mod apply;
pub(crate) mod diff;
pub mod history;
pub mod remediator;
pub(crate) mod statements;

pub use diff::render_diff;
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) use statements::GUARD_SIDS;
pub(crate) use statements::{
    deny_outside_vpce, deny_plain_http, is_guard_outside_sid, GuardExemptions, EXEMPT_TAG,
    SID_DENY_PLAIN_HTTP,
};

use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::policy::{PolicyDocument, MAX_POLICY_BYTES};
use crate::rules::bucket::{check_policy_in_account, writer_denied};
use crate::rules::params::Partition;
use crate::rules::{BucketParams, Finding, RuleId, Status};

impl GuardExemptions {
    /// The exemptions of one remediation.
    pub(crate) fn of(input: &RemedyInput) -> GuardExemptions {
        GuardExemptions::new(
            &input.exempt_principals,
            &input.guard_principals,
            &input.remediator_principals,
            input.config_role.as_deref(),
            &input.region,
            &input.account,
        )
    }
}

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
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// The policy before (`None`: none).
    pub previous: Option<Value>,
    /// The merged policy to write.
    pub policy: Value,
    /// The guard statements written (Sids).
    pub added: Vec<&'static str>,
    pub(crate) verdicts_before: Vec<Finding>,
    pub verdicts_after: Vec<Finding>,
}

/// What remediation decides for one bucket.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
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
pub(crate) enum MergeError {
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
pub(crate) fn merge(current: Option<&Value>, add: &[Value]) -> Result<Value, MergeError> {
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
    pub(crate) fn params(&self) -> BucketParams {
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
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn plan(input: &RemedyInput) -> Decision {
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
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn internet_request_decision(
    policy: &Value,
    bucket: &str,
    partition: Partition,
    principal: &str,
    action: &str,
) -> Result<crate::policy::compiled::Decision, String> {
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
