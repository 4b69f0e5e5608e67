//! Terraform plans (`terraform show -json`): every `aws_s3_bucket_policy` and every inline
//! `policy` of an `aws_s3_bucket` (AWS provider 3 and older), each address once, from
//! `planned_values` (a state's `values` too), the root module and its child modules.

use serde_json::Value;

use super::{Found, Pending};

/// Is this JSON a Terraform plan or state (`terraform show -json`)?
pub fn is_terraform(v: &Value) -> bool {
    v.get("format_version").is_some()
        && (v.get("planned_values").is_some()
            || v.get("values").is_some()
            || v.get("terraform_version").is_some())
}

/// The bucket policies of a plan; `line`: where an address first appears in the file.
pub fn policies(plan: &Value, line: &dyn Fn(&str) -> usize) -> Vec<Found> {
    let root = plan
        .pointer("/planned_values/root_module")
        .or_else(|| plan.pointer("/values/root_module"));
    let mut resources = Vec::new();
    if let Some(m) = root {
        collect(m, &mut resources);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in resources {
        let address = r.get("address").and_then(Value::as_str).unwrap_or_default();
        if r.get("mode").and_then(Value::as_str) == Some("data") || !seen.insert(address) {
            continue;
        }
        let ty = r.get("type").and_then(Value::as_str).unwrap_or_default();
        let values = r.get("values").cloned().unwrap_or(Value::Null);
        let bucket_value = values.get("bucket").and_then(Value::as_str);
        let policy = values.get("policy");
        let mut pending = Pending::default();
        let (bucket, text) = match ty {
            "aws_s3_bucket_policy" => {
                let bucket = match bucket_value {
                    Some(b) if !b.is_empty() => b.to_string(),
                    _ => {
                        let name = symbolic(address);
                        pending.bucket_unknown = Some(name.clone());
                        name
                    }
                };
                match policy.and_then(Value::as_str) {
                    Some(p) => (bucket, Some(p.to_string())),
                    None => {
                        pending.whole("the policy is known only after apply (unknown in the plan)");
                        (bucket, None)
                    }
                }
            }
            // The inline policy of a bucket (deprecated in provider 4, still planned).
            "aws_s3_bucket" => match policy.and_then(Value::as_str) {
                Some(p) if !p.trim().is_empty() => (
                    bucket_value
                        .map(str::to_string)
                        .unwrap_or_else(|| symbolic(address)),
                    Some(p.to_string()),
                ),
                _ => continue,
            },
            _ => continue,
        };
        let doc = match text {
            Some(t) => match serde_json::from_str::<Value>(&t) {
                Ok(v) => v,
                Err(e) => {
                    pending.whole(&format!("the policy is not JSON: {e}"));
                    Value::Null
                }
            },
            None => Value::Null,
        };
        out.push(Found {
            line: line(address),
            resource: address.to_string(),
            bucket,
            doc,
            pending,
        });
    }
    out
}

/// A module's resources, then its child modules' (depth first).
fn collect<'a>(module: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(Value::Array(rs)) = module.get("resources") {
        out.extend(rs.iter());
    }
    if let Some(Value::Array(children)) = module.get("child_modules") {
        for c in children {
            collect(c, out);
        }
    }
}

/// The name a bucket unknown in the plan is judged under (from its address).
fn symbolic(address: &str) -> String {
    let base: String = address
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let base = base.trim_matches('-').chars().take(40).collect::<String>();
    format!("{base}-symbolic")
}

/// The line where `"address": "<address>"` first appears (1 for a one-line plan).
pub fn address_lines(text: &str) -> impl Fn(&str) -> usize + '_ {
    move |address: &str| {
        let quoted = serde_json::to_string(address).unwrap_or_default();
        let mut from = 0;
        while let Some(i) = text[from..].find(&quoted) {
            let at = from + i;
            let before = text[..at].trim_end();
            if before.ends_with(':')
                && before[..before.len() - 1]
                    .trim_end()
                    .ends_with("\"address\"")
            {
                return text[..at].matches('\n').count() + 1;
            }
            from = at + quoted.len();
        }
        1
    }
}
