//! `check-iac --format sarif`: SARIF 2.1.0 (OASIS), one result per failing or warning rule of
//! each policy, located at the policy's file and line — what code review tools show inline.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use vpce_guard::rules::Status;

use super::IacPolicy;

/// A relative path or URI reference as SARIF wants it (`uri-reference`): forward slashes,
/// and every byte outside the unreserved set and `/` percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF log of the judged policies.
pub(crate) fn log(policies: &[IacPolicy]) -> Value {
    // The rules that appear, in catalog order of first appearance, with their index.
    let mut rules: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut descriptors = Vec::new();
    let mut results = Vec::new();
    for p in policies {
        for f in p
            .findings
            .iter()
            .filter(|f| matches!(f.status, Status::Fail | Status::Warn))
        {
            let id = f.rule.as_str();
            let next = rules.len();
            let index = *rules.entry(id).or_insert_with(|| {
                descriptors.push(json!({
                    "id": id,
                    "name": id,
                    "shortDescription": {"text": format!("vpce-guard rule {id}")},
                    "help": {"text": format!("See docs/RULES.md#{} in the vpce-guard repository.", id.to_ascii_lowercase())},
                    "defaultConfiguration": {"level": "error"},
                    "properties": {"tags": ["security", "s3", "vpc-endpoint"]}
                }));
                next
            });
            let mut message = format!("bucket {}: {}", p.bucket, f.reason);
            if !p.unresolved.is_empty() {
                message.push_str(&format!(" [unresolved: {}]", p.unresolved.join("; ")));
            }
            results.push(json!({
                "ruleId": id,
                "ruleIndex": index,
                "level": if f.status == Status::Fail { "error" } else { "warning" },
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&p.file)},
                        "region": {"startLine": p.line.max(1)}
                    },
                    "logicalLocations": [{"name": p.resource, "kind": "resource"}]
                }],
                "partialFingerprints": {
                    "vpceGuardPolicy/v1": format!("{}|{}|{}", uri(&p.file), p.resource, id)
                }
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vpce-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors
            }},
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("./infra/my stack.yaml"), "infra/my%20stack.yaml");
        assert_eq!(uri("a\\b.json"), "a/b.json");
        assert_eq!(uri("plan#1.json"), "plan%231.json");
    }
}
