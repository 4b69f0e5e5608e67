//! The policy case corpus (`tests/cases/`): loading and checking cases. Included by the test
//! binaries that need it (`#[path]`); a case's `description` and `source` are for people.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use vpce_guard::policy::PolicyDocument;
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::{BucketParams, Evaluation};

/// `check-policy` flags of a case.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseArgs {
    pub approved_vpce: Vec<String>,
    pub approved_vpc: Vec<String>,
    pub exempt_principal: Vec<String>,
    pub guard_principal: Vec<String>,
    pub remediator_principal: Vec<String>,
    pub account_id: Option<String>,
    pub require_sigv4: bool,
    pub require_tls_version: Option<String>,
    /// `--skip-rule` ids.
    pub skip_rule: Vec<String>,
    /// `--partition` (default `aws`).
    pub partition: Option<String>,
    /// `--approved-endpoint-scope` (default `endpoints`).
    pub approved_endpoint_scope: Option<String>,
    /// `--approved-vpce-account`, `--org-id`, `--org-path`.
    pub approved_vpce_account: Option<String>,
    pub org_id: Option<String>,
    pub org_path: Option<String>,
    /// `--rcp`: resource control policies (documents, or describe-policy output), named
    /// `rcp-0`, `rcp-1`, … unless the output names them.
    pub rcp: Vec<Value>,
}

/// What a case expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub compliance: String,
    pub rules: BTreeMap<String, String>,
    #[serde(default)]
    pub reason_contains: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub exemptions: BTreeMap<String, Vec<String>>,
}

/// One policy case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCase {
    pub description: String,
    pub source: String,
    pub bucket: String,
    #[serde(default)]
    pub args: CaseArgs,
    pub policy: Value,
    pub expect: Expect,
}

/// One case of a document AWS would reject.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidCase {
    pub description: String,
    pub source: String,
    pub policy: Value,
    pub error_contains: String,
}

/// The corpus folder.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases")
}

/// Every `*.json` file of a corpus sub-folder, sorted.
pub fn case_files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir().join(sub))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The policy text of a case: a JSON string is the text itself, anything else is serialized.
pub fn policy_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl PolicyCase {
    pub fn params(&self) -> Result<BucketParams, String> {
        let a = &self.args;
        let p = BucketParams {
            approved_vpce: a.approved_vpce.clone(),
            approved_vpc: a.approved_vpc.clone(),
            exempt_principals: a.exempt_principal.clone(),
            guard_principals: a.guard_principal.clone(),
            remediator_principals: a.remediator_principal.clone(),
            require_sigv4: a.require_sigv4,
            require_tls_version: match &a.require_tls_version {
                Some(v) => Some(BucketParams::parse_tls_version(v).map_err(|e| e.to_string())?),
                None => None,
            },
            account_id: a.account_id.clone(),
            disabled_rules: BucketParams::parse_disabled_rules(&a.skip_rule)
                .map_err(|e| e.to_string())?,
            partition: match &a.partition {
                Some(p) => BucketParams::parse_partition(p).map_err(|e| e.to_string())?,
                None => Default::default(),
            },
            approved_endpoint_scope: BucketParams::parse_endpoint_scope(
                a.approved_endpoint_scope.as_deref().unwrap_or(""),
            )
            .map_err(|e| e.to_string())?,
            approved_vpce_account: a.approved_vpce_account.clone(),
            org_id: a.org_id.clone(),
            org_path: a.org_path.clone(),
            rcps: a
                .rcp
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    vpce_guard::policy::Rcp::from_text(&v.to_string(), &format!("rcp-{i}"))
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?,
            ..BucketParams::default()
        };
        p.validate().map_err(|e| e.to_string())?;
        Ok(p)
    }

    /// Evaluate the case as `check-policy` does.
    pub fn evaluate(&self) -> Result<Evaluation, String> {
        let doc = PolicyDocument::parse(&policy_text(&self.policy)).map_err(|e| e.to_string())?;
        Ok(check_policy(
            &self.bucket,
            &doc,
            &self.params()?,
            vpce_guard::now_epoch_seconds(),
        ))
    }

    /// Every difference between the evaluation and the expectation.
    pub fn mismatches(&self, e: &Evaluation) -> Vec<String> {
        let mut out = Vec::new();
        if e.compliance.as_str() != self.expect.compliance {
            out.push(format!(
                "compliance: expected {}, got {}",
                self.expect.compliance,
                e.compliance.as_str()
            ));
        }
        for f in &e.findings {
            let rule = f.rule.as_str();
            match self.expect.rules.get(rule) {
                None => out.push(format!("{rule}: no expected status in the case")),
                Some(want) if want != f.status.as_str() => out.push(format!(
                    "{rule}: expected {want}, got {} ({})",
                    f.status.as_str(),
                    f.reason
                )),
                _ => {}
            }
            for needle in self.expect.reason_contains.get(rule).into_iter().flatten() {
                if !f.reason.contains(needle.as_str()) {
                    out.push(format!("{rule}: reason lacks `{needle}`: {}", f.reason));
                }
            }
            if let Some(want) = self.expect.exemptions.get(rule) {
                if *want != f.exemptions {
                    out.push(format!(
                        "{rule}: exemptions expected {want:?}, got {:?}",
                        f.exemptions
                    ));
                }
            }
        }
        for rule in self.expect.rules.keys() {
            if !e.findings.iter().any(|f| f.rule.as_str() == rule) {
                out.push(format!("{rule}: unknown rule id in the case"));
            }
        }
        out
    }
}
