//! The properties the fuzz targets check, one function per target. Each takes the raw input,
//! runs the product's own code on it (the engine, the handlers on the in-memory ports) and
//! panics when a property does not hold. Each returns whether the input reached the code under
//! test (parsed and evaluated, handled, posted, written), so the replay can show it does. The same file is compiled into
//! `shared/tests/fuzz_corpus.rs`, which replays the seed corpora and every regression input on
//! the stable toolchain in the ordinary test suite.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use vpce_guard::config::rule_functions::{handle_bucket_rule, handle_network_rule, Warm};
use vpce_guard::config::ConfigRuleEvent;
use vpce_guard::events::FindingDetail;
use vpce_guard::facts::Fact;
use vpce_guard::notify::notifier::{handle as notify, NotifierSettings};
use vpce_guard::notify::webhook::{PostError, SlackSink};
use vpce_guard::policy::{PolicyDocument, MAX_POLICY_BYTES};
use vpce_guard::remedy::{plan, Decision, RemedyInput, GUARD_SIDS};
use vpce_guard::rules::bucket::{check_policy, check_policy_in_account};
use vpce_guard::rules::{BucketParams, Compliance, Evaluation, RuleId, Status};
use vpce_guard::testing::memory::{MemoryAws, MemoryBucket, MemoryStateTable};
use vpce_guard::watcher::change_watcher::{handle as watch, WatcherSettings};
use vpce_guard::watcher::WatcherEvent;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const BUCKET: &str = "amzn-s3-demo-bucket";
pub const NOW: f64 = 1_795_000_000.0;
const MAX_ANNOTATION_CHARS: usize = 256;

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a runtime: {e}"),
    }
}

fn params() -> BucketParams {
    BucketParams {
        approved_vpce: vec!["vpce-1a2b3c4d".into()],
        approved_vpc: vec!["vpc-0a1b2c3d".into()],
        exempt_principals: vec!["arn:aws:iam::123456789012:role/Admin*".into()],
        account_id: Some(ACCOUNT.into()),
        ..Default::default()
    }
}

/// One finding per bucket rule, compliance consistent with the statuses, annotation within
/// Config's 256 characters.
fn assert_well_formed(eval: &Evaluation) {
    let rules: Vec<RuleId> = eval.findings.iter().map(|f| f.rule).collect();
    let distinct: BTreeSet<String> = rules.iter().map(|r| format!("{r:?}")).collect();
    assert_eq!(
        distinct.len(),
        rules.len(),
        "a rule reported twice: {rules:?}"
    );
    let fails = eval.findings.iter().any(|f| f.status == Status::Fail);
    match eval.compliance {
        Compliance::Compliant => assert!(!fails, "COMPLIANT with a FAIL: {eval:?}"),
        Compliance::NonCompliant => assert!(fails, "NON_COMPLIANT without a FAIL: {eval:?}"),
        _ => {}
    }
    assert!(eval.annotation.chars().count() <= MAX_ANNOTATION_CHARS);
}

/// Policy text → the parser → every bucket rule. A policy the parser refuses has a reason; one
/// it accepts gets a well-formed evaluation, and `check_policy_in_account` agrees with it.
pub fn policy_rules(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match PolicyDocument::parse(text) {
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a refusal without a reason");
            false
        }
        Ok(doc) => {
            let eval = check_policy(BUCKET, &doc, &params(), NOW);
            assert_well_formed(&eval);
            let endpoints = vec!["vpce-1a2b3c4d".to_string()];
            match check_policy_in_account(BUCKET, REGION, Some(text), &params(), &endpoints, NOW) {
                Ok(findings) => {
                    assert!(!findings.is_empty());
                    true
                }
                Err(e) => panic!("a policy the parser accepts was refused in an account: {e}"),
            }
        }
    }
}

/// A demo account in memory: two reference VPCs, a private bucket, a bucket without policy.
pub fn account() -> MemoryAws {
    let mut aws = MemoryAws::new(ACCOUNT, REGION);
    let ids = aws.add_reference_vpcs(REGION, 2);
    let vpce = ids.first().map(|(_, e)| e.clone()).unwrap_or_default();
    let policy = vpce_guard::testing::policies::private_bucket_policy("private", &vpce);
    aws.add_bucket("private", MemoryBucket::private(REGION, &policy));
    let mut open = MemoryBucket::private(REGION, "");
    open.policy = Fact::NotConfigured;
    aws.add_bucket("open", open);
    aws.record_bucket("private", true);
    aws.record_bucket("open", false);
    aws
}

/// A Config rule event (any JSON) → both rules' handlers on the in-memory account. Whatever
/// the event, every evaluation sent to Config is well-formed: a known compliance type, an
/// annotation of at most 256 characters, and COMPLIANT only without a failing rule.
pub fn config_event(data: &[u8]) -> bool {
    let Ok(event) = serde_json::from_slice::<ConfigRuleEvent>(data) else {
        return false;
    };
    let mut evaluated = false;
    let rt = runtime();
    for network in [false, true] {
        let aws = account();
        let warm = Warm::default();
        let _ = rt.block_on(async {
            if network {
                handle_network_rule(&aws, &event, Some(REGION), NOW).await
            } else {
                handle_bucket_rule(&aws, &warm, &event, NOW).await
            }
        });
        for sent in aws.sent() {
            for e in sent.evaluations {
                evaluated = true;
                if let Some(a) = &e.annotation {
                    let n = a.chars().count();
                    assert!((1..=MAX_ANNOTATION_CHARS).contains(&n), "annotation of {n}");
                }
                if e.compliance == Compliance::Compliant {
                    assert!(e.failing_rules.is_empty(), "COMPLIANT with failures: {e:?}");
                }
            }
        }
    }
    evaluated
}

/// An EventBridge event (any JSON) → the change watcher on the in-memory account. The handler
/// answers (a result or an error), and every finding it publishes reads back as a finding.
pub fn cloudtrail_event(data: &[u8]) -> bool {
    let Ok(event) = serde_json::from_slice::<WatcherEvent>(data) else {
        return false;
    };
    let aws = account();
    let rt = runtime();
    let _ = rt.block_on(watch(
        &aws,
        &Warm::default(),
        &WatcherSettings::default(),
        &event,
        NOW,
    ));
    let published = aws.published();
    for (_, out) in &published {
        if let Err(e) = serde_json::from_str::<FindingDetail>(&out.detail) {
            panic!(
                "a published finding does not read back: {e}: {}",
                out.detail
            );
        }
    }
    !published.is_empty()
}

/// Slack in memory: counts what it is given.
#[derive(Debug, Default)]
pub struct CountingSlack {
    pub posted: Mutex<Vec<Value>>,
}

impl SlackSink for CountingSlack {
    async fn post(&self, payload: &Value) -> Result<(), PostError> {
        match self.posted.lock() {
            Ok(mut p) => p.push(payload.clone()),
            Err(p) => p.into_inner().push(payload.clone()),
        }
        Ok(())
    }
}

/// An SQS batch (any JSON) → the Slack notifier with its state in memory. Every failure it
/// reports names a record of the batch; it posts at most one message per record plus a digest;
/// a record it neither posted for nor reported as failed was quiet or ignored, and it counts
/// each record once.
pub fn notifier_batch(data: &[u8]) -> bool {
    let Ok(event) = serde_json::from_slice::<SqsEvent>(data) else {
        return false;
    };
    let store = MemoryStateTable::default();
    let slack = CountingSlack::default();
    let cfg = NotifierSettings {
        rule_names: vec!["vpce-guard-bucket".into(), "vpce-guard-network".into()],
        ..NotifierSettings::default()
    };
    let rt = runtime();
    let (resp, summary) = rt.block_on(notify(
        &store,
        &slack,
        &cfg,
        &event,
        1_795_000_000,
        Duration::from_secs(0),
    ));
    // A record without a `messageId` (SQS always sets one) fails as "": Lambda then retries
    // the whole batch, the only way not to lose it.
    let ids: BTreeSet<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect();
    for f in &resp.batch_item_failures {
        assert!(
            ids.contains(&f.item_identifier),
            "a failure names no record of the batch: {:?}",
            f.item_identifier
        );
    }
    let posted = slack.posted.lock().map(|p| p.len()).unwrap_or(0);
    assert!(
        posted <= event.records.len() + 1,
        "{posted} messages for {} records",
        event.records.len()
    );
    assert_eq!(summary.records, event.records.len());
    assert!(summary.failed <= event.records.len());
    posted > 0
}

/// The statements of a policy value, a single object read as a list of one.
fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// Any policy text as a bucket's current policy → the remediation plan. A write keeps every
/// statement that is not the guard's (the same JSON value), is valid and at most 20 KB, and
/// passes the rules it fixes by the engine's own judgement; otherwise nothing is written.
pub fn remedy_merge(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let input = RemedyInput {
        bucket: BUCKET.into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        current: Some(text.to_string()),
        endpoints: vec!["vpce-1a2b3c4d".into()],
        exempt_principals: vec!["arn:aws:iam::123456789012:role/BreakGlass".into()],
        guard_principals: vec!["arn:aws:iam::123456789012:role/vpce-guard-BucketRule".into()],
        remediator_principals: vec!["arn:aws:iam::123456789012:role/vpce-guard-Remediator".into()],
        config_role: None,
        require: BucketParams::default(),
        caller: Some("arn:aws:sts::123456789012:assumed-role/vpce-guard-Remediator/s".into()),
        exempt_tag: false,
        now: NOW,
    };
    let Decision::Write(p) = plan(&input) else {
        return false;
    };
    let written = p.policy.to_string();
    assert!(written.len() <= MAX_POLICY_BYTES, "{} bytes", written.len());
    if let Err(e) = PolicyDocument::parse(&written) {
        panic!("the plan writes a policy the parser refuses: {e}: {written}");
    }
    let after = statements(&p.policy);
    let before: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("a write was planned over a policy that is not JSON: {e}"),
    };
    for st in statements(&before) {
        let sid = st.get("Sid").and_then(Value::as_str).unwrap_or("");
        if GUARD_SIDS.contains(&sid) {
            continue;
        }
        assert!(after.contains(&st), "statement lost in the merge: {st}");
    }
    for f in &p.verdicts_after {
        let fixed = matches!(
            f.rule,
            RuleId::S3VpceDeny | RuleId::S3VpceReachable | RuleId::S3GuardAccess
        ) || (f.rule == RuleId::S3Tls && p.added.contains(&GUARD_SIDS[1]));
        if fixed {
            assert_eq!(
                f.status,
                Status::Pass,
                "the plan does not pass {:?}: {f:?}",
                f.rule
            );
        }
    }
    true
}
