//! The notifier's handler: one SQS batch in; per resource, the latest notice compared with the
//! last state sent; one message per real change (a digest above the threshold); the batch
//! response lists exactly the records whose message could not be sent or whose state could not
//! be read or written, so SQS retries them and its dead-letter queue keeps what keeps failing.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;

use super::render::{digest, message, Links};
use super::webhook::{PostError, SlackSink};
use super::{decide, parse_notice, Decision, Notice, SentState, StateStore, Written};
use crate::rules::{Compliance, RuleId};

/// The notifier's settings.
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// More changes than this in one batch become one digest message.
    pub digest_threshold: usize,
    /// The guard's Config rules (compliance changes of other rules are not reported).
    pub rule_names: Vec<String>,
    pub links: Links,
    /// How long the last state sent is kept (DynamoDB's TTL).
    pub ttl_seconds: i64,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            digest_threshold: 10,
            rule_names: Vec::new(),
            links: Links::default(),
            ttl_seconds: 90 * 86_400,
        }
    }
}

/// A setting of the notifier's environment out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} `{value}` must be a whole number from {min} to {max}")]
pub struct NotifierSettingsError {
    pub name: String,
    pub value: String,
    pub min: u64,
    pub max: u64,
}

impl NotifierSettings {
    /// `DIGEST_THRESHOLD` (default 10), `BUCKET_RULE_NAME`, `NETWORK_RULE_NAME`,
    /// `STATE_TTL_DAYS` (default 90).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, NotifierSettingsError> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let number = |k: &str, default: u64, min: u64, max: u64| match nonempty(k) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(NotifierSettingsError {
                    name: k.to_string(),
                    value: v,
                    min,
                    max,
                }),
            },
        };
        let bucket_rule = nonempty("BUCKET_RULE_NAME");
        let network_rule = nonempty("NETWORK_RULE_NAME");
        Ok(NotifierSettings {
            digest_threshold: number("DIGEST_THRESHOLD", 10, 1, 1000)? as usize,
            rule_names: bucket_rule.iter().chain(&network_rule).cloned().collect(),
            links: Links {
                bucket_rule,
                network_rule,
            },
            ttl_seconds: number("STATE_TTL_DAYS", 90, 1, 3650)? as i64 * 86_400,
        })
    }
}

/// What one batch did (logged; the response is the batch item failures).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotifierSummary {
    pub records: usize,
    pub(crate) messages: usize,
    pub(crate) digest: bool,
    /// Notices folded into the digest (when there is one).
    pub(crate) digested: usize,
    pub(crate) quiet: usize,
    pub(crate) ignored: usize,
    pub failed: usize,
}

/// One resource's notices in this batch, folded in order.
#[derive(Debug)]
struct Pending {
    notice: Notice,
    /// Failing rules known from an earlier notice of the same compliance in this batch.
    failing: Option<Vec<RuleId>>,
    message_ids: Vec<String>,
}

impl Pending {
    fn fold(&mut self, next: Notice, id: String) {
        self.message_ids.push(id);
        let same = next.compliance() == self.notice.compliance();
        let next_failing = next.failing();
        match (&next, same) {
            // A Config change saying what a finding in this batch already said: the finding
            // (with its rules, its actor and its fix) makes the better message.
            (Notice::Compliance(_), true) if matches!(self.notice, Notice::Finding(_)) => {}
            _ => {
                self.failing = next_failing.or(if same { self.failing.take() } else { None });
                self.notice = next;
            }
        }
    }
}

/// A message to send and what it stands for.
struct Outgoing {
    key: String,
    prev: Option<SentState>,
    new: SentState,
    notice: Notice,
    decision: Decision,
    message_ids: Vec<String>,
}

/// Handle one SQS batch. `deadline`: how long the invocation may still wait for Slack's
/// `Retry-After`.
pub async fn handle<S: StateStore, W: SlackSink>(
    store: &S,
    sink: &W,
    cfg: &NotifierSettings,
    event: &SqsEvent,
    now: i64,
    deadline: Duration,
) -> (SqsBatchResponse, NotifierSummary) {
    let started = tokio::time::Instant::now();
    let mut response = SqsBatchResponse::default();
    let mut summary = NotifierSummary {
        records: event.records.len(),
        ..NotifierSummary::default()
    };
    let mut failed: Vec<String> = Vec::new();
    // 1. Read every record; fold each resource's notices in order.
    let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in &event.records {
        let id = r.message_id.clone().unwrap_or_default();
        match parse_notice(r.body.as_deref().unwrap_or_default(), &cfg.rule_names) {
            Ok(Some(n)) => {
                let key = n.key();
                match pending.get_mut(&key) {
                    Some(p) => p.fold(n, id),
                    None => {
                        order.push(key.clone());
                        pending.insert(
                            key,
                            Pending {
                                failing: n.failing(),
                                notice: n,
                                message_ids: vec![id],
                            },
                        );
                    }
                }
            }
            Ok(None) => summary.ignored += 1,
            Err(why) => {
                tracing::error!(message_id = %id, reason = %why, "record not readable: left to SQS's retries and dead-letter queue");
                failed.push(id);
            }
        }
    }
    // 2. Compare each with the last state sent.
    let mut outgoing: Vec<Outgoing> = Vec::new();
    for key in order {
        let Some(p) = pending.remove(&key) else {
            continue;
        };
        let prev = match store.get_state(&key).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(resource = %key, error = %e, "cannot read the last state sent: the records are retried");
                failed.extend(p.message_ids);
                continue;
            }
        };
        let compliance = p.notice.compliance();
        let decision = decide(prev.as_ref(), compliance, p.failing.as_deref(), now);
        let live_prev = prev.as_ref().filter(|s| s.expires_at > now);
        let new = SentState {
            compliance,
            failing: p
                .failing
                .clone()
                .or_else(|| match live_prev {
                    Some(s) if s.compliance == compliance => s.failing.clone(),
                    _ => None,
                })
                .filter(|_| compliance == Compliance::NonCompliant),
            expires_at: now + cfg.ttl_seconds,
            version: prev.as_ref().map(|s| s.version + 1).unwrap_or(1),
        };
        match decision {
            Decision::Quiet(record) => {
                summary.quiet += 1;
                if record {
                    // New information but nothing for a human: recorded, best effort (a lost
                    // write only means the next notice is compared with older news).
                    if let Err(e) = store
                        .put_state(&key, &new, prev.as_ref().map(|s| s.version))
                        .await
                    {
                        tracing::warn!(resource = %key, error = %e, "cannot record the state");
                    }
                }
            }
            Decision::Alert | Decision::Resolved => outgoing.push(Outgoing {
                key,
                prev,
                new,
                notice: p.notice,
                decision,
                message_ids: p.message_ids,
            }),
        }
    }
    // 3. Send: one message each, or one digest above the threshold.
    if outgoing.len() > cfg.digest_threshold {
        let items: Vec<(Notice, Decision)> = outgoing
            .iter()
            .map(|o| (o.notice.clone(), o.decision))
            .collect();
        let payload = digest(&items, &cfg.links);
        summary.digest = true;
        summary.digested = outgoing.len();
        match send(sink, &payload, started, deadline).await {
            Ok(()) => {
                summary.messages += 1;
                for o in &outgoing {
                    if !record(store, o).await {
                        failed.extend(o.message_ids.iter().cloned());
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, changes = outgoing.len(), "digest not sent: the records are retried");
                failed.extend(outgoing.iter().flat_map(|o| o.message_ids.iter().cloned()));
            }
        }
    } else {
        for o in &outgoing {
            let payload = message(&o.notice, o.decision, &cfg.links);
            match send(sink, &payload, started, deadline).await {
                Ok(()) => {
                    summary.messages += 1;
                    tracing::info!(resource = %o.key, decision = ?o.decision, "message sent");
                    if !record(store, o).await {
                        failed.extend(o.message_ids.iter().cloned());
                    }
                }
                Err(e) => {
                    tracing::error!(resource = %o.key, error = %e, "message not sent: its records are retried");
                    failed.extend(o.message_ids.iter().cloned());
                }
            }
        }
    }
    failed.sort();
    failed.dedup();
    summary.failed = failed.len();
    response.set_failures(failed);
    tracing::info!(summary = ?summary, "batch done");
    summary.emf(crate::now_epoch_seconds()).emit();
    (response, summary)
}

impl NotifierSummary {
    /// The batch's figures as EMF (`metrics`): notifications sent (each a message, a digest
    /// counting once), digested (notices folded into a digest) and quiet.
    pub(crate) fn emf(&self, now: f64) -> crate::metrics::Emf {
        let mut emf =
            crate::metrics::Emf::new(&crate::metrics::function_name("slack-notifier"), now);
        for (kind, n) in [
            ("sent", self.messages),
            ("digested", self.digested),
            ("quiet", self.quiet),
        ] {
            emf.count("Notifications", vec![("Kind", kind.to_string())], n as f64);
        }
        emf
    }
}

/// Record what was sent. A conflict means another invocation sent for the same resource at the
/// same time: its state stands. A failed write fails the records (a retry may send the message
/// again: a duplicate is better than a message lost).
async fn record<S: StateStore>(store: &S, o: &Outgoing) -> bool {
    match store
        .put_state(&o.key, &o.new, o.prev.as_ref().map(|s| s.version))
        .await
    {
        Ok(Written::Yes) => true,
        Ok(Written::Conflict) => {
            tracing::warn!(resource = %o.key, "another invocation recorded this resource first");
            true
        }
        // The message is delivered: failing its records would make SQS deliver them again and
        // post the same message twice. The state stays older; the next notice for this
        // resource is compared with it.
        Err(e) => {
            tracing::error!(resource = %o.key, error = %e, "message sent but its state not recorded: not retried, to post it once");
            true
        }
    }
}

/// Post, waiting out Slack's rate limit while the invocation has time for it.
async fn send<W: SlackSink>(
    sink: &W,
    payload: &Value,
    started: tokio::time::Instant,
    deadline: Duration,
) -> Result<(), PostError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match sink.post(payload).await {
            Err(PostError::RateLimited(wait)) if attempts < 5 => {
                let left = deadline.saturating_sub(started.elapsed());
                if wait + Duration::from_secs(1) > left {
                    return Err(PostError::RateLimited(wait));
                }
                tracing::warn!(retry_after = ?wait, "Slack rate limit: waiting");
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}
