//! The plan shown as a diff: the previous and the new policy, keys sorted, line by line.

use serde_json::{Map, Value};

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
