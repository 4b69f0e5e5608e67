//! The terminal rendering of what the demo (`scripts/demo`) shows: Slack's Block Kit as readable
//! text, Config evaluations as a table. The demo account itself is `Seeder::demo_account`.

use serde_json::Value;

/// Slack's mrkdwn as plain terminal text: `<url|label>` → `label (url)`, entities decoded,
/// bold marks dropped outside code blocks, code fences dropped.
pub fn plain(mrkdwn: &str) -> String {
    mrkdwn
        .split("```")
        .enumerate()
        .map(|(i, part)| {
            let decoded = part
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            if i % 2 == 1 {
                decoded
            } else {
                links(part).replace('*', "")
            }
        })
        .collect()
}

/// `<url|label>` → `label (url)`, then entities decoded.
fn links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        match rest[i..].find('>') {
            Some(j) => {
                let inner = &rest[i + 1..i + j];
                match inner.split_once('|') {
                    Some((url, label)) => out.push_str(&format!("{label} ({url})")),
                    None => out.push_str(inner),
                }
                rest = &rest[i + j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A Block Kit message as the lines a person reads in Slack.
pub fn block_kit_text(payload: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let empty = Vec::new();
    for b in payload["blocks"].as_array().unwrap_or(&empty) {
        match b["type"].as_str() {
            Some("header") => lines.push(format!(
                "▌ {}",
                b["text"]["text"].as_str().unwrap_or_default()
            )),
            Some("section") => {
                if let Some(t) = b["text"]["text"].as_str() {
                    lines.extend(plain(t).lines().map(|l| format!("  {l}")));
                }
                for f in b["fields"].as_array().unwrap_or(&empty) {
                    let t = plain(f["text"].as_str().unwrap_or_default());
                    let mut parts = t.splitn(2, '\n');
                    let key = parts.next().unwrap_or_default();
                    let value = parts.next().unwrap_or_default();
                    lines.push(format!("  {key}: {value}"));
                }
            }
            Some("actions") => {
                for e in b["elements"].as_array().unwrap_or(&empty) {
                    lines.push(format!(
                        "  [{}] {}",
                        e["text"]["text"].as_str().unwrap_or_default(),
                        e["url"].as_str().unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }
    lines
}

/// The evaluations of `PutEvaluations` bodies, as (resource type, id, compliance, annotation).
pub fn evaluations(bodies: &[Value]) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for b in bodies {
        for e in b["Evaluations"].as_array().into_iter().flatten() {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            out.push((
                s("ComplianceResourceType"),
                s("ComplianceResourceId"),
                s("ComplianceType"),
                s("Annotation"),
            ));
        }
    }
    out
}

/// Evaluations as the CLI prints a sweep: one line per resource, the verdict first.
pub fn evaluation_table(rows: &[(String, String, String, String)]) -> Vec<String> {
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(8).max(8);
    let mut lines = vec![format!(
        "{:<16} {:<width$} {:<14} why",
        "type", "resource", "compliance"
    )];
    for (t, id, c, a) in rows {
        let why = vpce_guard::rules::truncate(a, 110);
        lines.push(format!("{t:<16} {id:<width$} {c:<14} {why}"));
    }
    lines
}
