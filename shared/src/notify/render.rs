//! Slack messages (Block Kit), pure: a busy engineer reads the status, the resource, where it
//! is, what fails and why, who changed it, and the fix, at a glance. The top-level `text` is
//! the one-line summary Slack shows in notifications.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::ResourceType;
use crate::policy::values::Partition;
use crate::rules::{Compliance, Status};

use super::{
    AlarmChange, AlarmState, Decision, Notice, ALARM_RESOURCE_TYPE, ENDPOINT_RESOURCE_TYPE,
};
use crate::events::RouteUsageDetail;

/// Slack's limit for a section's text.
const MAX_SECTION: usize = 2900;
/// Resources listed by name in a digest.
pub(crate) const DIGEST_LISTED: usize = 5;

/// Where the console links point.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The Config rule of each resource type (`AWS::S3::Bucket` → the bucket rule's name).
    pub(crate) bucket_rule: Option<String>,
    pub(crate) network_rule: Option<String>,
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

/// The resource's console page: a bucket's permissions tab, a VPC's details, an alarm.
pub(crate) fn resource_link(resource_type: &str, id: &str, region: &str) -> String {
    let host = console_host(region);
    if resource_type == ResourceType::S3Bucket.as_str() {
        format!("{host}/s3/buckets/{id}?region={region}&tab=permissions")
    } else if resource_type == ALARM_RESOURCE_TYPE {
        alarm_link(id, region)
    } else if resource_type == ENDPOINT_RESOURCE_TYPE {
        endpoint_link(id, region)
    } else {
        format!("{host}/vpcconsole/home?region={region}#VpcDetails:VpcId={id}")
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters (a name inside a URL's
/// fragment or path segment).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A CloudWatch alarm's console page.
pub(crate) fn alarm_link(name: &str, region: &str) -> String {
    format!(
        "{}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        console_host(region),
        url_encode(name)
    )
}

/// An SQS queue's console page (where "Start DLQ redrive" is), from its name.
pub(crate) fn queue_link(name: &str, account: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let url = format!("https://sqs.{region}.{domain}/{account}/{name}");
    format!(
        "{}/sqs/v3/home?region={region}#/queues/{}",
        console_host(region),
        url_encode(&url)
    )
}

/// A Lambda function's console page.
pub(crate) fn function_link(name: &str, region: &str) -> String {
    format!(
        "{}/lambda/home?region={region}#/functions/{}",
        console_host(region),
        url_encode(name)
    )
}

use crate::policy::space::synthetic::is_synthetic_id;

/// What a made-up id stands for, said next to it where a message quotes it.
fn synthetic_note(id: &str) -> &'static str {
    if id.starts_with("vpce-") {
        "(hypothetical endpoint used for the counter-example)"
    } else if id.starts_with("vpc-") {
        "(hypothetical VPC used for the counter-example)"
    } else {
        "(hypothetical id used for the counter-example)"
    }
}

/// A VPC endpoint's console page.
pub(crate) fn endpoint_link(id: &str, region: &str) -> String {
    format!(
        "{}/vpcconsole/home?region={region}#EndpointDetails:vpcEndpointId={id}",
        console_host(region)
    )
}

/// A Config rule's console page.
pub(crate) fn rule_link(rule: &str, region: &str) -> String {
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
    } else if resource_type == ALARM_RESOURCE_TYPE {
        "CloudWatch alarm"
    } else if resource_type == ENDPOINT_RESOURCE_TYPE {
        "VPC endpoint"
    } else {
        "resource"
    }
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped in text that is not markup.
pub(crate) fn escape(s: &str) -> String {
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

/// The ids with `prefix` (`vpce-`, `vpc-`; then 8 to 17 hex digits, a whole word) a text
/// mentions, as byte ranges, in order.
fn id_spans(text: &str, prefix: &str) -> Vec<(usize, usize)> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        if text[..i].chars().next_back().is_some_and(word) {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        let boundary = !rest[hex..].chars().next().is_some_and(word);
        if (8..=17).contains(&hex) && boundary {
            out.push((i, i + prefix.len() + hex));
        }
    }
    out
}

/// The VPC endpoint ids (`vpce-` and 8 to 17 hex digits, a whole word) a text mentions, except
/// the ones the engine made up ([`is_synthetic_id`]): only real endpoints get a console button.
fn vpce_ids(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (a, b) in id_spans(text, "vpce-") {
        let id = &text[a..b];
        if !is_synthetic_id(id) && !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// Slack text of an engine reason: escaped, and every made-up endpoint or VPC id followed by
/// what it is, so that nobody looks for it in the console.
fn reason_text(text: &str) -> String {
    let text = escape(text);
    let mut spans: Vec<(usize, usize)> = ["vpce-", "vpc-"]
        .iter()
        .flat_map(|p| id_spans(&text, p))
        .filter(|&(a, b)| is_synthetic_id(&text[a..b]))
        .collect();
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (a, b) in spans {
        let id = &text[a..b];
        out.push_str(&text[at..b]);
        out.push_str(" _");
        out.push_str(synthetic_note(id));
        out.push('_');
        at = b;
    }
    out.push_str(&text[at..]);
    out
}

/// The fix: the statements to add, as JSON a user can paste. When they do not fit one section
/// they get one section each (a statement cut in the middle could not be pasted).
fn fix_blocks(fix: &[Value]) -> Vec<Value> {
    let what = if fix.len() == 1 {
        "this statement"
    } else {
        "these statements"
    };
    let intro =
        format!("*The fix*: add {what} to the bucket policy (or let the remediator do it):");
    let text = serde_json::to_string_pretty(fix).unwrap_or_default();
    if intro.len() + text.len() + 8 <= MAX_SECTION || fix.len() <= 1 {
        return vec![section(&format!(
            "{intro}\n```{}```",
            cut(&text, MAX_SECTION - 120)
        ))];
    }
    let mut blocks = vec![section(&format!(
        "*The fix*: add these {} statements to the bucket policy's `Statement` list (or let the remediator do it):",
        fix.len()
    ))];
    for st in fix {
        let text = serde_json::to_string_pretty(st).unwrap_or_default();
        blocks.push(section(&format!("```{}```", cut(&text, MAX_SECTION - 20))));
    }
    blocks
}

/// One resource's message.
pub(crate) fn message(notice: &Notice, decision: Decision, links: &Links) -> Value {
    if let Notice::Alarm(a) = notice {
        return alarm_message(a, decision, links);
    }
    if let Notice::RouteUsage(r) = notice {
        return route_usage_message(r);
    }
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
                    .map(|x| format!("• *{}*: {}", x.rule, reason_text(&x.reason)))
                    .collect();
                if !failing.is_empty() {
                    blocks.push(section(&format!("*Failing rules*\n{}", failing.join("\n"))));
                }
                for x in f.findings.iter().filter(|x| x.status == Status::Fail) {
                    mentions.extend(vpce_ids(&x.reason));
                }
                mentions.extend(vpce_ids(&f.trigger.event_name));
                if let Some(fix) = &f.fix {
                    blocks.extend(fix_blocks(fix));
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
                    blocks.push(section(&format!("*Why*\n{}", reason_text(a))));
                    mentions.extend(vpce_ids(a));
                }
            }
        }
        // Rendered by `alarm_message` and `route_usage_message` above.
        Notice::Alarm(_) | Notice::RouteUsage(_) => {}
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
        Notice::Alarm(_) | Notice::RouteUsage(_) => None,
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

/// What to do about an alarm, by what it watches. The stack's failed-events queue (logical id
/// `FailedEventsQueue`, so its name holds it) collects failed Lambda invocations and undelivered
/// EventBridge events, which SQS cannot redrive; another dead-letter queue (the notifier's) has
/// an SQS queue as its source and can be redriven.
fn alarm_advice(a: &AlarmChange, links: &Links) -> String {
    let region = escape(&a.region);
    let rules: Vec<String> = [&links.bucket_rule, &links.network_rule]
        .into_iter()
        .flatten()
        .map(|r| escape(r))
        .collect();
    let rules = if rules.is_empty() {
        "RULE".to_string()
    } else {
        rules.join(" ")
    };
    if let (true, Some(q)) = (a.is_queue_alarm(), a.queue.as_deref()) {
        let q = escape(q);
        let look = format!(
            "1. *Inspect* the messages (they stay 14 days): `aws sqs receive-message --region {region} --queue-url \"$(aws sqs get-queue-url --region {region} --queue-name {q} --query QueueUrl --output text)\" --max-number-of-messages 10 --attribute-names All --message-attribute-names All --visibility-timeout 0`"
        );
        if q.contains("FailedEvents") {
            return format!(
                "*What to do* (dead-letter queue of failed events)\n\
                 Each message is an event a function failed after Lambda's two retries (the error in the `ErrorCode` and `ErrorMessage` attributes) or one an EventBridge rule could not deliver (`ERROR_CODE`, `RULE_ARN`, `TARGET_ARN`).\n\
                 {look}\n\
                 2. *Fix the cause*: the failing function's log group says why (`aws lambda get-function-configuration --function-name NAME --query LoggingConfig.LogGroup --output text`).\n\
                 3. *Replay*, then delete what you handled: a Config rule's evaluations with `aws configservice start-config-rules-evaluation --region {region} --config-rule-names {rules}`, another event by invoking its target with the message body. SQS cannot redrive this queue (its sources are not SQS queues)."
            );
        }
        let arn = format!(
            "arn:{}:sqs:{region}:{}:{q}",
            Partition::of_region(&a.region),
            escape(&a.account)
        );
        return format!(
            "*What to do* (dead-letter queue)\n\
             Its messages failed their consumer's retries and were set aside (for the notifier's queue: findings and compliance changes not posted to Slack).\n\
             {look}\n\
             2. *Fix the cause*: the consumer's log group says why.\n\
             3. *Redrive* them to their source queue: the queue's page in the console, *Start DLQ redrive*, or `aws sqs start-message-move-task --region {region} --source-arn {arn}`."
        );
    }
    if let Some(f) = a.function.as_deref() {
        let f = escape(f);
        return format!(
            "*What to do* (function errors)\n\
             Read the function's errors: `aws logs tail \"$(aws lambda get-function-configuration --region {region} --function-name {f} --query LoggingConfig.LogGroup --output text)\" --region {region} --since 1h --filter-pattern ERROR`. Failed asynchronous invocations land in the stack's dead-letter queue, to replay once fixed."
        );
    }
    "*What to do*\nOpen the alarm for its metric and history.".to_string()
}

/// A CloudWatch alarm's message: its name and state, what it watches, CloudWatch's reason,
/// what to do, and links to the alarm (and the queue or the function).
fn alarm_message(a: &AlarmChange, decision: Decision, links: &Links) -> Value {
    let name = &a.alarm_name;
    let region = &a.region;
    let resolved = decision == Decision::Resolved || a.state == AlarmState::Ok;
    let previous = a.previous.as_deref().unwrap_or("unknown");
    let headline = if resolved {
        format!("Resolved: CloudWatch alarm {name} is OK again")
    } else {
        format!("CloudWatch alarm {name} is in ALARM")
    };
    let icon = if resolved {
        ":white_check_mark:"
    } else {
        ":rotating_light:"
    };
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": cut(&format!("CloudWatch alarm {name}"), 150), "emoji": false}
        }),
        section(&format!("{icon} *{}*", escape(&headline))),
    ];
    let field = |title: &str, text: &str| json!({"type": "mrkdwn", "text": cut(&format!("*{title}*\n{}", escape(text)), 1900)});
    let mut fields = vec![
        field("Account", &a.account),
        field("Region", region),
        field("State", &format!("{} (was {previous})", a.state.as_str())),
        field("Since", a.time.as_deref().unwrap_or("unknown time")),
    ];
    if let Some(q) = &a.queue {
        fields.push(field("Queue", q));
    }
    if let Some(f) = &a.function {
        fields.push(field("Function", f));
    }
    if let Some(m) = &a.metric {
        let metric = match &a.namespace {
            Some(ns) => format!("{ns} {m}"),
            None => m.clone(),
        };
        fields.push(field("Metric", &metric));
    }
    // Slack takes at most ten fields.
    fields.truncate(10);
    blocks.push(json!({"type": "section", "fields": fields}));
    if let Some(d) = &a.description {
        blocks.push(section(&format!("*Alarm*\n{}", escape(d))));
    }
    if let Some(r) = &a.reason {
        blocks.push(section(&format!("*Why*\n{}", escape(r))));
    }
    if !resolved {
        blocks.push(section(&alarm_advice(a, links)));
    }
    let mut elements = vec![json!({
        "type": "button",
        "text": {"type": "plain_text", "text": "Alarm"},
        "url": alarm_link(name, region)
    })];
    if let (true, Some(q)) = (a.is_queue_alarm(), &a.queue) {
        if !a.account.is_empty() {
            elements.push(json!({
                "type": "button",
                "text": {"type": "plain_text", "text": cut(&format!("Queue {q}"), 75)},
                "url": queue_link(q, &a.account, region)
            }));
        }
    }
    if let Some(f) = &a.function {
        elements.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": cut(&format!("Function {f}"), 75)},
            "url": function_link(f, region)
        }));
    }
    blocks.push(json!({"type": "actions", "elements": elements}));
    // The alarm's name is text Slack would parse for mentions in the top-level `text`.
    json!({"text": escape(&headline), "blocks": blocks})
}

/// `1 request`, `2 requests`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Requests in one hour that did not use an approved endpoint (who, from where, what, and
/// whether the bucket policy refused them), or that an endpoint's policy refused.
fn route_usage_message(r: &RouteUsageDetail) -> Value {
    let field =
        |k: &str, v: &str| json!({"type": "mrkdwn", "text": format!("*{k}*\n{}", escape(v))});
    let when = |first: &str, last: &str| {
        if first == last {
            first.to_string()
        } else {
            format!("{first} – {last}")
        }
    };
    let requests = |count: u64, names: &[String]| {
        let what = if names.is_empty() {
            "requests".to_string()
        } else {
            names.join(", ")
        };
        format!("{count} × {what}")
    };
    match r {
        RouteUsageDetail::UnapprovedRoute {
            account,
            region,
            bucket,
            finding: f,
        } => {
            let (icon, state, advice) = if f.denied == 0 {
                (
                    ":rotating_light:",
                    "succeeded: the bucket is reachable off the approved endpoints",
                    "The bucket policy let these requests in. Check *S3-VPCE-DENY* for this bucket (`vpce-guard scan`, docs/RULES.md): its deny must cover every request that does not come through an approved endpoint.",
                )
            } else if f.denied == f.count {
                (
                    ":warning:",
                    "refused: the deny works, the client is off the private route",
                    "The client reaches S3 by the public route (or another endpoint) and is refused. Check its VPC's route tables, DNS and, for IPv6 clients, that the gateway endpoint is dual-stack (*NET-ROUTES*, *NET-DNS*).",
                )
            } else {
                (
                    ":rotating_light:",
                    "partly succeeded: some requests got in off the approved endpoints",
                    "Some of these requests were let in. Check *S3-VPCE-DENY* for this bucket (docs/RULES.md), and the client's route to S3.",
                )
            };
            let headline = format!(
                "{} to S3 bucket {bucket} did not come through an approved endpoint ({state})",
                plural(f.count, "request")
            );
            let from = if f.ipv6 {
                format!("{} (IPv6)", f.source_ip)
            } else {
                f.source_ip.clone()
            };
            let mut outcome = format!("{} refused", f.denied);
            if f.denied < f.count {
                outcome = format!("{} succeeded, {outcome}", f.count - f.denied);
            }
            json!({"text": escape(&headline), "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": cut(&format!("S3 bucket {bucket}: route usage"), 150), "emoji": false}},
                section(&format!("{icon} *{}*", escape(&headline))),
                {"type": "section", "fields": [
                    field("Account", account),
                    field("Region", region),
                    field("Principal", &f.principal),
                    field("From", &from),
                    field("Requests", &format!("{} ({outcome})", requests(f.count, &f.event_names))),
                    field("When", &when(&f.first_seen, &f.last_seen)),
                ]},
                section(advice),
                {"type": "actions", "elements": [{
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Bucket permissions"},
                    "url": resource_link(ResourceType::S3Bucket.as_str(), bucket, region)
                }]}
            ]})
        }
        RouteUsageDetail::EndpointPolicyDenied {
            account,
            region,
            denial: d,
        } => {
            let to = d
                .bucket
                .as_deref()
                .map(|b| format!(" to S3 bucket {b}"))
                .unwrap_or_default();
            let headline = format!(
                "VPC endpoint {} refused {}{to} from account {}",
                d.vpc_endpoint_id,
                plural(d.count, "request"),
                d.principal_account
            );
            let mut fields = vec![
                field("Account", account),
                field("Region", region),
                field("Caller's account", &d.principal_account),
                field("Requests", &requests(d.count, &d.event_names)),
                field("When", &when(&d.first_seen, &d.last_seen)),
            ];
            if let Some(b) = &d.bucket {
                fields.push(field("Bucket", b));
            }
            json!({"text": escape(&headline), "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": cut(&format!("VPC endpoint {}: refused requests", d.vpc_endpoint_id), 150), "emoji": false}},
                section(&format!(":no_entry: *{}*", escape(&headline))),
                {"type": "section", "fields": fields},
                section("The endpoint policy did its job. Requests from outside the account or organization through your endpoint can mean credentials of another organization inside your VPC: find the caller in the VPC's flow logs."),
                {"type": "actions", "elements": [{
                    "type": "button",
                    "text": {"type": "plain_text", "text": format!("Endpoint {}", d.vpc_endpoint_id)},
                    "url": endpoint_link(&d.vpc_endpoint_id, region)
                }]}
            ]})
        }
    }
}

/// One message for many changes: counts by rule and by account, the first resources, a link
/// to the Config rule.
pub(crate) fn digest(items: &[(Notice, Decision)], links: &Links) -> Value {
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
                        Notice::Alarm(_) => "CloudWatch alarms".into(),
                        Notice::RouteUsage(r) => match r.as_ref() {
                            RouteUsageDetail::UnapprovedRoute { .. } => {
                                "route usage: not through an approved endpoint".into()
                            }
                            RouteUsageDetail::EndpointPolicyDenied { .. } => {
                                "route usage: refused by an endpoint policy".into()
                            }
                        },
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
            let state = match (d, n) {
                (Decision::Resolved, _) => "resolved",
                (_, Notice::Alarm(_)) => "ALARM",
                (_, Notice::RouteUsage(r)) => match r.as_ref() {
                    RouteUsageDetail::UnapprovedRoute { .. } => "unapproved route",
                    RouteUsageDetail::EndpointPolicyDenied { .. } => "refused by its policy",
                },
                _ => "NON_COMPLIANT",
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
