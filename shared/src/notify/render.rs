//! Slack messages (Block Kit), pure: a busy engineer reads the status, the resource, where it
//! is, what fails and why, who changed it, and the fix, at a glance. The top-level `text` is
//! the one-line summary Slack shows in notifications.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::ResourceType;
use crate::rules::{Compliance, Status};

use super::{Decision, Notice};

/// Slack's limit for a section's text.
const MAX_SECTION: usize = 2900;
/// Resources listed by name in a digest.
pub const DIGEST_LISTED: usize = 5;

/// Where the console links point.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The Config rule of each resource type (`AWS::S3::Bucket` → the bucket rule's name).
    pub bucket_rule: Option<String>,
    pub network_rule: Option<String>,
}

fn console_host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://{region}.console.amazonaws.cn")
    } else if region.starts_with("us-gov-") {
        format!("https://{region}.console.amazonaws-us-gov.com")
    } else {
        format!("https://{region}.console.aws.amazon.com")
    }
}

/// The resource's console page: a bucket's permissions tab, a VPC's details.
pub fn resource_link(resource_type: &str, id: &str, region: &str) -> String {
    let host = console_host(region);
    if resource_type == ResourceType::S3Bucket.as_str() {
        format!("{host}/s3/buckets/{id}?region={region}&tab=permissions")
    } else {
        format!("{host}/vpcconsole/home?region={region}#VpcDetails:VpcId={id}")
    }
}

/// A VPC endpoint's console page.
pub fn endpoint_link(id: &str, region: &str) -> String {
    format!(
        "{}/vpcconsole/home?region={region}#EndpointDetails:vpcEndpointId={id}",
        console_host(region)
    )
}

/// A Config rule's console page.
pub fn rule_link(rule: &str, region: &str) -> String {
    format!(
        "{}/config/home?region={region}#/rules/details?configRuleName={rule}",
        console_host(region)
    )
}

impl Links {
    fn rule_for(&self, resource_type: &str) -> Option<&str> {
        if resource_type == ResourceType::S3Bucket.as_str() {
            self.bucket_rule.as_deref()
        } else {
            self.network_rule.as_deref()
        }
    }
}

fn kind_label(resource_type: &str) -> &'static str {
    if resource_type == ResourceType::S3Bucket.as_str() {
        "S3 bucket"
    } else if resource_type == ResourceType::Ec2Vpc.as_str() {
        "VPC"
    } else {
        "resource"
    }
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped in text that is not markup.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    crate::rules::truncate(s, max)
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}})
}

/// The VPC endpoint ids (`vpce-` and 8 to 17 hex digits, a whole word) a text mentions.
fn vpce_ids(text: &str) -> Vec<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices("vpce-") {
        if text[..i].chars().next_back().is_some_and(word) {
            continue;
        }
        let rest = &text[i + "vpce-".len()..];
        let hex: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        let boundary = !rest[hex.len()..].chars().next().is_some_and(word);
        if (8..=17).contains(&hex.len()) && boundary {
            let id = format!("vpce-{hex}");
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// One resource's message.
pub fn message(notice: &Notice, decision: Decision, links: &Links) -> Value {
    let (rtype, id) = notice.resource();
    let region = notice.region();
    let label = kind_label(rtype);
    let resolved = decision == Decision::Resolved;
    let headline = if resolved {
        let state = match notice.compliance() {
            Compliance::NotApplicable => "no longer applicable",
            _ => "compliant again",
        };
        format!("Resolved: {label} {id} is {state}")
    } else {
        format!("{label} {id} is NON_COMPLIANT")
    };
    let icon = if resolved {
        ":white_check_mark:"
    } else {
        ":rotating_light:"
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&format!("{label} {id}"), 150), "emoji": false}
    })];
    blocks.push(section(&format!("{icon} *{}*", escape(&headline))));
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Account*\n{}", escape(notice.account()))}),
        json!({"type": "mrkdwn", "text": format!("*Region*\n{}", escape(region))}),
    ];
    let mut mentions: Vec<String> = Vec::new();
    match notice {
        Notice::Finding(f) => {
            let who = f.trigger.actor_arn.as_deref().unwrap_or("unknown");
            let when = f.trigger.event_time.as_deref().unwrap_or("unknown time");
            fields.push(json!({"type": "mrkdwn", "text": format!(
                "*Changed by*\n{} ({} at {})",
                escape(who),
                escape(&f.trigger.event_name),
                escape(when)
            )}));
            if let Some(ip) = &f.trigger.source_ip {
                fields.push(json!({"type": "mrkdwn", "text": format!("*From*\n{}", escape(ip))}));
            }
            blocks.push(json!({"type": "section", "fields": fields}));
            if !resolved {
                let failing: Vec<String> = f
                    .findings
                    .iter()
                    .filter(|x| x.status == Status::Fail)
                    .map(|x| format!("• *{}*: {}", x.rule, escape(&x.reason)))
                    .collect();
                if !failing.is_empty() {
                    blocks.push(section(&format!("*Failing rules*\n{}", failing.join("\n"))));
                }
                for x in f.findings.iter().filter(|x| x.status == Status::Fail) {
                    mentions.extend(vpce_ids(&x.reason));
                }
                mentions.extend(vpce_ids(&f.trigger.event_name));
                if let Some(fix) = &f.fix {
                    let text = serde_json::to_string_pretty(fix).unwrap_or_default();
                    blocks.push(section(&format!(
                        "*The fix*: add {} to the bucket policy (or let the remediator do it):\n```{}```",
                        if fix.len() == 1 { "this statement" } else { "these statements" },
                        cut(&text, MAX_SECTION - 120)
                    )));
                    for st in fix {
                        mentions.extend(vpce_ids(&st.to_string()));
                    }
                }
            }
        }
        Notice::Compliance(c) => {
            fields.push(json!({"type": "mrkdwn", "text": format!(
                "*Reported by*\nAWS Config rule {} at {}",
                escape(&c.rule_name),
                escape(c.time.as_deref().unwrap_or("unknown time"))
            )}));
            blocks.push(json!({"type": "section", "fields": fields}));
            if !resolved {
                if let Some(a) = &c.annotation {
                    blocks.push(section(&format!("*Why*\n{}", escape(a))));
                    mentions.extend(vpce_ids(a));
                }
            }
        }
    }
    let mut elements = vec![json!({
        "type": "button",
        "text": {"type": "plain_text", "text": if rtype == ResourceType::S3Bucket.as_str() { "Bucket permissions" } else { "VPC" }},
        "url": resource_link(rtype, id, region)
    })];
    mentions.sort();
    mentions.dedup();
    for e in mentions.iter().take(3) {
        elements.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": format!("Endpoint {e}")},
            "url": endpoint_link(e, region)
        }));
    }
    let rule = match notice {
        Notice::Compliance(c) => Some(c.rule_name.as_str()),
        Notice::Finding(f) => links.rule_for(&f.resource_type),
    };
    if let Some(r) = rule {
        elements.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": "Config rule"},
            "url": rule_link(r, region)
        }));
    }
    blocks.push(json!({"type": "actions", "elements": elements}));
    json!({"text": headline, "blocks": blocks})
}

/// One message for many changes: counts by rule and by account, the first resources, a link
/// to the Config rule.
pub fn digest(items: &[(Notice, Decision)], links: &Links) -> Value {
    let alerts = items.iter().filter(|(_, d)| *d == Decision::Alert).count();
    let resolved = items
        .iter()
        .filter(|(_, d)| *d == Decision::Resolved)
        .count();
    let headline = format!(
        "vpce-guard: {} changes ({alerts} non-compliant, {resolved} resolved)",
        items.len()
    );
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_account: BTreeMap<String, usize> = BTreeMap::new();
    let mut regions: BTreeMap<String, usize> = BTreeMap::new();
    for (n, d) in items {
        *by_account.entry(n.account().to_string()).or_default() += 1;
        *regions.entry(n.region().to_string()).or_default() += 1;
        if *d == Decision::Alert {
            match n.failing() {
                Some(rules) if !rules.is_empty() => {
                    for r in rules {
                        *by_rule.entry(r.to_string()).or_default() += 1;
                    }
                }
                _ => {
                    let rule = match n {
                        Notice::Compliance(c) => c.rule_name.clone(),
                        Notice::Finding(_) => "failing rules unknown".into(),
                    };
                    *by_rule.entry(rule).or_default() += 1;
                }
            }
        }
    }
    let list = |m: &BTreeMap<String, usize>| {
        let mut v: Vec<(&String, &usize)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter()
            .take(10)
            .map(|(k, n)| format!("• {}: {n}", escape(k)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&headline, 150), "emoji": false}}),
    ];
    if !by_rule.is_empty() {
        blocks.push(section(&format!(
            "*Non-compliant, by rule*\n{}",
            list(&by_rule)
        )));
    }
    blocks.push(section(&format!("*By account*\n{}", list(&by_account))));
    let first: Vec<String> = items
        .iter()
        .take(DIGEST_LISTED)
        .map(|(n, d)| {
            let (t, id) = n.resource();
            let state = if *d == Decision::Resolved {
                "resolved"
            } else {
                "NON_COMPLIANT"
            };
            format!(
                "• <{}|{} {}> ({}, {}): {state}",
                resource_link(t, id, n.region()),
                kind_label(t),
                escape(id),
                escape(n.account()),
                escape(n.region())
            )
        })
        .collect();
    let more = items.len().saturating_sub(DIGEST_LISTED);
    let tail = if more > 0 {
        format!("\n…and {more} more")
    } else {
        String::new()
    };
    blocks.push(section(&format!(
        "*First changes*\n{}{tail}",
        first.join("\n")
    )));
    let region = regions
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(r, _)| r.clone())
        .unwrap_or_default();
    let mut elements = Vec::new();
    for rule in [&links.bucket_rule, &links.network_rule]
        .into_iter()
        .flatten()
    {
        elements.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": format!("Config rule {rule}")},
            "url": rule_link(rule, &region)
        }));
    }
    if !elements.is_empty() {
        blocks.push(json!({"type": "actions", "elements": elements}));
    }
    json!({"text": headline, "blocks": blocks})
}
