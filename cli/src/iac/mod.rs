//! `vpce-guard check-iac`: the bucket policies of CloudFormation/SAM templates (YAML or JSON,
//! CDK's output too) and Terraform plans, judged before deploy by the bucket rules, as
//! `check-policy` judges one policy file.

mod cfn;
mod sarif;
mod terraform;
mod yaml;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy_readings;
use vpce_guard::rules::{BucketParams, Compliance, Evaluation, Finding};

use crate::check::policy_params;
use crate::{CheckIacArgs, IacFormat, EXIT_NON_COMPLIANT};

/// Marks an unresolved value inside a resolved one: `MARK n MARK`, `n` its index in
/// [`Pending::notes`].
pub(crate) const MARK: char = '\u{1}';

/// What a template leaves unresolved for one policy.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Each unresolved value, by index (the marks in the document).
    notes: Vec<String>,
    /// Why the document cannot be known at all.
    whole: Option<String>,
    /// The bucket could not be resolved: the symbolic name it is judged under.
    bucket_unknown: Option<String>,
}

impl Pending {
    /// An unresolved value: a mark standing for it, and why.
    fn mark(&mut self, why: &str) -> Value {
        let i = self.notes.len();
        self.notes.push(why.to_string());
        Value::String(format!("{MARK}{i}{MARK}"))
    }

    fn whole(&mut self, why: &str) {
        if self.whole.is_none() {
            self.whole = Some(why.to_string());
        }
    }

    /// What the output lists as unresolved.
    fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = self.notes.clone();
        if let Some(w) = &self.whole {
            v.push(w.clone());
        }
        if let Some(b) = &self.bucket_unknown {
            v.push(format!("the bucket's name: judged as `{b}`"));
        }
        v.dedup();
        v
    }
}

/// A bucket policy found in a file, resolved as far as the file allows.
#[derive(Debug)]
pub(crate) struct Found {
    pub line: usize,
    /// The logical id, or the Terraform address.
    pub resource: String,
    pub bucket: String,
    pub doc: Value,
    pub pending: Pending,
}

/// The values a template's pseudo parameters and parameters take.
#[derive(Debug, Clone)]
pub(crate) struct IacOptions {
    pub account_id: String,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
    pub parameters: BTreeMap<String, String>,
}

/// One judged policy: the JSON contract of `check-iac --format json`.
#[derive(Debug, Serialize)]
pub(crate) struct IacPolicy {
    pub file: String,
    pub line: usize,
    pub resource: String,
    pub bucket: String,
    pub compliance: Compliance,
    pub annotation: String,
    pub findings: Vec<Finding>,
    pub unresolved: Vec<String>,
    /// As `check-policy` prints them: only when the mute list names the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mute_expired: Option<String>,
}

/// The account a template is judged in when `--account-id` is not given: `${AWS::AccountId}`
/// is the bucket owner's account whatever its number, so one symbolic id serves.
const SYMBOLIC_ACCOUNT: &str = "123456789012";

/// Run the command; `Err` is a one-line message for exit status 2.
pub fn run(args: &CheckIacArgs) -> Result<u8, String> {
    let account = args
        .account_id
        .clone()
        .unwrap_or_else(|| SYMBOLIC_ACCOUNT.to_string());
    let params = policy_params(&args.rules, &args.owner, Some(account.clone()))?;
    let mut parameters = BTreeMap::new();
    for p in &args.parameter {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--parameter `{p}` must be KEY=VALUE"))?;
        parameters.insert(k.trim().to_string(), v.to_string());
    }
    let opts = IacOptions {
        account_id: account,
        region: args.region.clone(),
        partition: args.owner.partition.clone(),
        stack_name: args.stack_name.clone(),
        parameters,
    };
    let mutes = crate::check::mute_list(&args.rules)?;
    let now = vpce_guard::now_epoch_seconds();
    let mut policies = Vec::new();
    for file in &args.files {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
        let found = find_in_order(&text, &opts).map_err(|e| format!("`{file}`: {e}"))?;
        for f in found {
            let mut eval = judge(&f, &params, &opts, now);
            mutes.apply(&mut eval, now);
            policies.push(IacPolicy {
                file: file.clone(),
                line: f.line,
                resource: f.resource,
                bucket: f.bucket,
                compliance: eval.compliance,
                annotation: eval.annotation,
                findings: eval.findings,
                unresolved: f.pending.list(),
                muted: eval.muted,
                mute_expired: eval.mute_expired,
            });
        }
    }
    print(&policies, args.format)?;
    Ok(
        if policies
            .iter()
            .any(|p| p.compliance == Compliance::NonCompliant)
        {
            EXIT_NON_COMPLIANT
        } else {
            0
        },
    )
}

/// The bucket policies of one file, whatever its kind.
pub(crate) fn find(text: &str, opts: &IacOptions) -> Result<Vec<Found>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if terraform::is_terraform(&v) {
            return Ok(terraform::policies(&v, &terraform::address_lines(text)));
        }
        let lines = cfn::json_lines(text);
        return cfn::policies(&v, &|id| lines.get(id).copied().unwrap_or(1), opts);
    }
    let t = yaml::parse(text)?;
    cfn::policies(
        &t.root,
        &|id| t.resource_lines.get(id).copied().unwrap_or(1),
        opts,
    )
}

/// The bucket policies of one file in the order they are written.
pub(crate) fn find_in_order(text: &str, opts: &IacOptions) -> Result<Vec<Found>, String> {
    let mut found = find(text, opts)?;
    found.sort_by_key(|f| f.line);
    Ok(found)
}

/// Judge a found policy: once when nothing is unresolved, else under two readings of its
/// unresolved values (an adversarial one and a benign one), each rule at its worst.
pub(crate) fn judge(f: &Found, params: &BucketParams, opts: &IacOptions, now: f64) -> Evaluation {
    let readings = readings(f, params, opts);
    match &readings {
        Ok(docs) => check_policy_readings(&f.bucket, Ok(docs), params, now),
        Err(why) => check_policy_readings(&f.bucket, Err(why), params, now),
    }
}

/// Which reading of an unresolved value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A value that matches nothing the rules know (an unknown endpoint, a foreign account).
    Adversarial,
    /// The value the rules hope for (the approved endpoint, the bucket, the account).
    Benign,
}

fn readings(
    f: &Found,
    params: &BucketParams,
    opts: &IacOptions,
) -> Result<Vec<PolicyDocument>, String> {
    if let Some(w) = &f.pending.whole {
        return Err(format!("cannot judge the policy: {w}"));
    }
    let doc = match &f.doc {
        Value::Object(_) => &f.doc,
        Value::String(s) if s.contains(MARK) => {
            return Err(format!(
                "cannot judge the policy: its document is not resolved ({})",
                f.pending.list().join("; ")
            ))
        }
        _ => return Err("the PolicyDocument is not a JSON object".into()),
    };
    let parse = |v: &Value| {
        PolicyDocument::parse(&v.to_string())
            .map_err(|e| format!("not a valid policy document: {e}"))
    };
    if !has_mark(doc) {
        return Ok(vec![parse(doc)?]);
    }
    let cx = Subst {
        params,
        opts,
        bucket: &f.bucket,
    };
    let a = cx.value(doc, Context::Other, Reading::Adversarial);
    let b = cx.value(doc, Context::Other, Reading::Benign);
    Ok(vec![parse(&a)?, parse(&b)?])
}

fn has_mark(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(MARK),
        Value::Array(a) => a.iter().any(has_mark),
        Value::Object(m) => m.iter().any(|(k, x)| k.contains(MARK) || has_mark(x)),
        _ => false,
    }
}

/// Where in a policy a value sits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    Resource,
    Principal,
    /// A condition value, with its key (lower-cased).
    Condition(String),
    Other,
}

struct Subst<'a> {
    params: &'a BucketParams,
    opts: &'a IacOptions,
    bucket: &'a str,
}

impl Subst<'_> {
    fn value(&self, v: &Value, cx: Context, r: Reading) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s, &cx, r)),
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.value(x, cx.clone(), r)).collect())
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let inner = match (&cx, k.as_str()) {
                            (_, "Resource" | "NotResource") => Context::Resource,
                            (_, "Principal" | "NotPrincipal") => Context::Principal,
                            (Context::Other, "Condition") => Context::Condition(String::new()),
                            // Condition → operator → key → values.
                            (Context::Condition(k0), key) if k0.is_empty() => {
                                Context::Condition("\u{0}".to_string() + key)
                            }
                            (Context::Condition(op), key) if op.starts_with('\u{0}') => {
                                Context::Condition(key.to_ascii_lowercase())
                            }
                            (other, _) => other.clone(),
                        };
                        (k.clone(), self.value(x, inner, r))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A string with each mark replaced by the reading's value for its context.
    fn text(&self, s: &str, cx: &Context, r: Reading) -> String {
        if !s.contains(MARK) {
            return s.to_string();
        }
        let whole = s.starts_with(MARK) && s.ends_with(MARK) && s.matches(MARK).count() == 2;
        let p = &self.opts.partition;
        let mut out = String::new();
        for (i, part) in s.split(MARK).enumerate() {
            if i % 2 == 0 {
                out.push_str(part);
                continue;
            }
            let n = part;
            let v = match (cx, r) {
                (Context::Resource, Reading::Benign) if whole => {
                    format!("arn:{p}:s3:::{}", self.bucket)
                }
                (Context::Resource, Reading::Benign) => self.bucket.to_string(),
                (Context::Resource, Reading::Adversarial) if whole => {
                    format!("arn:{p}:s3:::unresolved-{n}")
                }
                (Context::Principal, Reading::Benign) if whole => {
                    format!("arn:{p}:iam::{}:root", self.opts.account_id)
                }
                (Context::Principal, Reading::Benign) => self.opts.account_id.clone(),
                (Context::Principal, Reading::Adversarial) if whole => {
                    format!("arn:{p}:iam::999999999999:root")
                }
                (Context::Principal, Reading::Adversarial) => "999999999999".to_string(),
                (Context::Condition(key), Reading::Benign) => self.benign_condition(key, n),
                _ => format!("unresolved-{n}"),
            };
            out.push_str(&v);
        }
        out
    }

    fn benign_condition(&self, key: &str, n: &str) -> String {
        let first = |v: &[String]| v.first().cloned();
        let hoped = match key {
            "aws:sourcevpce" => first(&self.params.approved_vpce),
            "aws:sourcevpc" => first(&self.params.approved_vpc),
            "aws:sourceaccount"
            | "aws:principalaccount"
            | "aws:resourceaccount"
            | "aws:vpceaccount" => Some(
                self.params
                    .approved_vpce_account
                    .clone()
                    .filter(|_| key == "aws:vpceaccount")
                    .unwrap_or_else(|| self.opts.account_id.clone()),
            ),
            "aws:principalorgid" | "aws:resourceorgid" | "aws:vpceorgid" => {
                self.params.org_id.clone()
            }
            _ => None,
        };
        hoped.unwrap_or_else(|| format!("unresolved-{n}"))
    }
}

fn print(policies: &[IacPolicy], format: IacFormat) -> Result<(), String> {
    use std::io::Write;
    let text = match format {
        IacFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({ "policies": policies }))
                .map_err(|e| format!("cannot render JSON: {e}"))?
                + "\n"
        }
        IacFormat::Sarif => {
            serde_json::to_string_pretty(&sarif::log(policies))
                .map_err(|e| format!("cannot render SARIF: {e}"))?
                + "\n"
        }
        IacFormat::Text => {
            let mut s = String::new();
            if policies.is_empty() {
                s.push_str("no bucket policy found\n");
            }
            for p in policies {
                let eval = Evaluation {
                    resource: format!("{}:{} {} (bucket {})", p.file, p.line, p.resource, p.bucket),
                    compliance: p.compliance,
                    annotation: p.annotation.clone(),
                    findings: p.findings.clone(),
                    muted: p.muted.clone(),
                    mute_expired: p.mute_expired.clone(),
                };
                s.push_str(&crate::output::render_text(&eval));
                for u in &p.unresolved {
                    s.push_str(&format!("  unresolved: {u}\n"));
                }
                s.push('\n');
            }
            s
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the output: {e}"))
}

#[cfg(test)]
mod tests;
