//! Remediation plans: merges keep every statement, guard rails refuse, plans pass the rules.

use super::statements::SID_DENY_OUTSIDE_VPCE;
use super::*;
use proptest::prelude::*;

const B: &str = "amzn-s3-demo-bucket";
const A: &str = "111122223333";
const NOW: f64 = 1_795_000_000.0;
const REMEDIATOR: &str = "arn:aws:iam::111122223333:role/vpce-guard-prod-Remediator";
const GUARD: &str = "arn:aws:iam::111122223333:role/vpce-guard-prod-BucketRule";

fn input(current: Option<Value>) -> RemedyInput {
    RemedyInput {
        bucket: B.into(),
        region: "us-east-1".into(),
        account: A.into(),
        current: current.map(|v| v.to_string()),
        endpoints: vec!["vpce-1a2b3c4d".into()],
        exempt_principals: vec!["arn:aws:iam::111122223333:role/BreakGlass".into()],
        guard_principals: vec![GUARD.into()],
        remediator_principals: vec![REMEDIATOR.into()],
        config_role: None,
        require: BucketParams::default(),
        caller: Some(
            "arn:aws:sts::111122223333:assumed-role/vpce-guard-prod-Remediator/session".into(),
        ),
        exempt_tag: false,
        now: NOW,
    }
}

fn written(d: Decision) -> Plan {
    match d {
        Decision::Write(p) => *p,
        other => panic!("expected a write, got {other:?}"),
    }
}

fn refused(d: Decision) -> String {
    match d {
        Decision::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_bucket_without_policy_gets_exactly_the_planned_statements() {
    let p = written(plan(&input(None)));
    assert_eq!(p.previous, None);
    assert_eq!(
        p.added,
        vec![
            SID_DENY_OUTSIDE_VPCE,
            "VpceGuardDenyOutsideVpceForGuardRemediatorConfig",
            "VpceGuardDenyOutsideVpceForRemediatorConfig",
            "VpceGuardDenyOutsideVpceForRemediator",
            "VpceGuardDenyOutsideVpceForConfig",
            SID_DENY_PLAIN_HTTP
        ]
    );
    let sts = p.policy["Statement"].as_array().unwrap();
    assert_eq!(sts.len(), 6);
    let by_sid = |sid: &str| sts.iter().find(|s| s["Sid"] == sid).unwrap();
    let config =
        "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig";
    let breakglass = "arn:aws:iam::111122223333:role/BreakGlass";
    // Every other action: only the configured exempt principal.
    let rest = by_sid(SID_DENY_OUTSIDE_VPCE);
    assert_eq!(
        rest["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([breakglass])
    );
    assert!(rest.get("Action").is_none() && rest["NotAction"].is_array());
    // The guard's reads: every guard principal by exact ARN, never a pattern.
    let reads = by_sid("VpceGuardDenyOutsideVpceForGuardRemediatorConfig");
    assert_eq!(
        reads["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([breakglass, GUARD, REMEDIATOR, config])
    );
    assert!(reads["Action"]
        .as_array()
        .unwrap()
        .contains(&json!("s3:GetBucketPolicy")));
    let writes = by_sid("VpceGuardDenyOutsideVpceForRemediator");
    assert_eq!(
        writes["Action"],
        json!(["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"])
    );
    assert_eq!(
        writes["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([breakglass, REMEDIATOR])
    );
    // The classes are disjoint, and with the rest they cover s3:*.
    let mut listed: Vec<&Value> = Vec::new();
    for st in sts
        .iter()
        .filter(|s| s["Sid"] != SID_DENY_OUTSIDE_VPCE && s["Sid"] != SID_DENY_PLAIN_HTTP)
    {
        for a in st["Action"].as_array().unwrap() {
            assert!(!listed.contains(&a), "{a} in two classes");
            listed.push(a);
        }
    }
    let mut not: Vec<&Value> = rest["NotAction"].as_array().unwrap().iter().collect();
    not.sort_by_key(|v| v.to_string());
    listed.sort_by_key(|v| v.to_string());
    assert_eq!(not, listed);
    for st in sts {
        assert!(!st.to_string().contains("vpce-guard-prod-*"), "{st}");
    }
    for rule in [
        RuleId::S3VpceDeny,
        RuleId::S3VpceKnown,
        RuleId::S3VpceReachable,
        RuleId::S3Tls,
        RuleId::S3GuardAccess,
    ] {
        assert_eq!(status(&p.verdicts_after, rule), Status::Pass, "{rule}");
    }
}

#[test]
fn nothing_to_fix_means_no_write() {
    let first = written(plan(&input(None)));
    match plan(&input(Some(first.policy))) {
        Decision::NoChange { .. } => {}
        other => panic!("expected no change, got {other:?}"),
    }
}

#[test]
fn guard_rails_refuse_with_their_reason() {
    let mut i = input(None);
    i.endpoints.clear();
    assert!(refused(plan(&i))
        .contains("no approved, available S3 gateway or interface endpoint in us-east-1"));

    // A guard pattern is refused: the deny names the guard's roles exactly.
    let mut i = input(None);
    i.guard_principals = vec!["arn:aws:iam::111122223333:role/vpce-guard/*".into()];
    let r = refused(plan(&i));
    assert!(
        r.contains("GuardPrincipalArns") && r.contains("exact ARN"),
        "{r}"
    );

    let mut i = input(None);
    i.exempt_tag = true;
    assert!(refused(plan(&i)).contains("vpce-guard:exempt=true"));

    let website = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{B}/*")}]});
    let r = refused(plan(&input(Some(website))));
    assert!(
        r.contains("grants public access on purpose") && r.contains("PublicRead"),
        "{r}"
    );

    // The caller is not among the exemptions: the deny would lock it out.
    let mut i = input(None);
    i.guard_principals.clear();
    i.caller = Some("arn:aws:sts::111122223333:assumed-role/Laptop/me".into());
    let r = refused(plan(&i));
    assert!(
        r.contains("would deny the caller arn:aws:iam::111122223333:role/Laptop")
            && r.contains("--exempt-principal"),
        "{r}"
    );
}

#[test]
fn a_policy_that_denies_every_endpoint_is_refused_as_unreachable() {
    // An existing deny of everything but a foreign endpoint: adding the guard's deny cannot
    // make the bucket reachable through the approved one.
    let locked = json!({"Statement": [{"Sid": "OnlyOther", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{B}"), format!("arn:aws:s3:::{B}/*")],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-99999999"}}}]});
    let r = refused(plan(&input(Some(locked))));
    assert!(r.contains("S3-VPCE-REACHABLE"), "{r}");
}

#[test]
fn a_policy_that_keeps_the_remediator_from_writing_policies_is_refused() {
    // Reads stay allowed (S3-GUARD-ACCESS passes), but nobody outside the VPC may change the
    // policy: after the write the remediator could neither verify-and-restore nor roll back.
    let frozen = json!({"Statement": [{"Sid": "FreezePolicy", "Effect": "Deny", "Principal": "*",
        "Action": ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
        "Resource": format!("arn:aws:s3:::{B}"),
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]});
    let r = refused(plan(&input(Some(frozen.clone()))));
    assert!(
        (r.contains("would deny the caller") || r.contains("S3-GUARD-ACCESS"))
            && r.contains("s3:PutBucketPolicy"),
        "{r}"
    );
    // Exempting the remediator's role in that statement lets it write.
    let mut open = frozen;
    open["Statement"][0]["Condition"]["ArnNotLike"] =
        json!({"aws:PrincipalArn": "arn:aws:iam::111122223333:role/vpce-guard-prod-*"});
    written(plan(&input(Some(open))));
}

#[test]
fn the_guard_statement_is_replaced_not_duplicated() {
    let old = json!({"Version": "2008-10-17", "Id": "keep-me", "Statement": [
        {"Sid": SID_DENY_OUTSIDE_VPCE, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": format!("arn:aws:s3:::{B}/*"), "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0ld00000"}}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{B}/*")}
    ]});
    let p = written(plan(&input(Some(old.clone()))));
    let sts = p.policy["Statement"].as_array().unwrap();
    assert_eq!(p.policy["Version"], "2008-10-17");
    assert_eq!(p.policy["Id"], "keep-me");
    assert_eq!(
        sts.iter()
            .filter(|s| s["Sid"] == SID_DENY_OUTSIDE_VPCE)
            .count(),
        1
    );
    assert_eq!(
        sts[1], old["Statement"][1],
        "the Sid-less statement is kept as is"
    );
}

#[test]
fn assumed_role_sessions_map_to_their_role() {
    assert_eq!(
        principal_arn_of("arn:aws:sts::111122223333:assumed-role/Admin/me@example.com"),
        "arn:aws:iam::111122223333:role/Admin"
    );
    assert_eq!(
        principal_arn_of("arn:aws-cn:sts::111122223333:assumed-role/R/s"),
        "arn:aws-cn:iam::111122223333:role/R"
    );
    assert_eq!(
        principal_arn_of("arn:aws:iam::111122223333:user/alice"),
        "arn:aws:iam::111122223333:user/alice"
    );
}

/// The back door the old `role/vpce-guard/*` exemption opened stays shut: a role created later
/// on the guard's path is denied every S3 action from the internet, while the guard's roles
/// read the policy and the remediator writes it (judged by the concrete evaluator).
#[test]
fn a_role_created_later_on_the_guard_path_is_denied_from_the_internet() {
    let guard = "arn:aws:iam::111122223333:role/vpce-guard/BucketRule";
    let remediator = "arn:aws:iam::111122223333:role/vpce-guard/Remediator";
    let later = "arn:aws:iam::111122223333:role/vpce-guard/CiPipelineRole";
    let mut i = input(None);
    i.guard_principals = vec![guard.into()];
    i.remediator_principals = vec![remediator.into()];
    i.caller = Some(remediator.into());
    let p = written(plan(&i));
    assert_internet_verdicts(&p.policy, guard, remediator, later);
    // The old statement with the path exemption for s3:* is rewritten, not kept.
    let old = json!({"Version": "2012-10-17", "Statement": [{"Sid": SID_DENY_OUTSIDE_VPCE,
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{B}"), format!("arn:aws:s3:::{B}/*")],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-1a2b3c4d"]},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"},
            "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/vpce-guard/*"]}}}]});
    let decision =
        internet_request_decision(&old, B, Partition::Aws, later, "s3:GetObject").unwrap();
    assert!(
        decision.denied_by.is_empty(),
        "the old deny let the later role in"
    );
    let p = written(plan(&input_with(&i, Some(old))));
    assert_internet_verdicts(&p.policy, guard, remediator, later);
    // Once rewritten, nothing more to do.
    match plan(&input_with(&i, Some(p.policy.clone()))) {
        Decision::NoChange { .. } => {}
        other => panic!("expected no change, got {other:?}"),
    }
}

fn input_with(base: &RemedyInput, current: Option<Value>) -> RemedyInput {
    RemedyInput {
        current: current.map(|v| v.to_string()),
        ..base.clone()
    }
}

/// The verdicts the back-door test asks of a written policy.
pub(crate) fn assert_internet_verdicts(policy: &Value, guard: &str, remediator: &str, later: &str) {
    let decide = |who: &str, action: &str| {
        internet_request_decision(policy, B, Partition::Aws, who, action).unwrap()
    };
    for action in [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutBucketPolicy",
        "s3:GetBucketPolicy",
        "s3:DeleteBucket",
    ] {
        assert!(
            !decide(later, action).denied_by.is_empty(),
            "{later} is not denied {action} from the internet by {policy}"
        );
    }
    for action in [
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketOwnershipControls",
    ] {
        let d = decide(guard, action);
        assert!(
            d.denied_by.is_empty() && d.undecided.is_empty(),
            "{guard} denied {action}"
        );
    }
    for action in ["s3:GetObject", "s3:PutBucketPolicy"] {
        assert!(
            !decide(guard, action).denied_by.is_empty(),
            "{guard} may {action}"
        );
    }
    for action in [
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
    ] {
        let d = decide(remediator, action);
        assert!(
            d.denied_by.is_empty() && d.undecided.is_empty(),
            "{remediator} denied {action}"
        );
    }
    assert!(!decide(remediator, "s3:GetObject").denied_by.is_empty());
}

fn arb_statement() -> impl Strategy<Value = Value> {
    let sid = prop::sample::select(vec![
        None,
        Some("App"),
        Some("Read"),
        Some(SID_DENY_OUTSIDE_VPCE),
        Some(SID_DENY_PLAIN_HTTP),
    ]);
    let effect = prop::sample::select(vec!["Allow", "Deny"]);
    let principal = prop::sample::select(vec![
        json!({"AWS": "arn:aws:iam::444455556666:root"}),
        json!({"AWS": ["arn:aws:iam::111122223333:role/App", "arn:aws:iam::555566667777:root"]}),
        json!({"Service": "logging.s3.amazonaws.com"}),
        json!({"AWS": "111122223333"}),
    ]);
    let action = prop::sample::select(vec![
        json!("s3:GetObject"),
        json!(["s3:PutObject", "s3:PutObjectAcl"]),
        json!("s3:List*"),
    ]);
    let resource = prop::sample::select(vec![
        json!(format!("arn:aws:s3:::{B}/*")),
        json!([
            format!("arn:aws:s3:::{B}"),
            format!("arn:aws:s3:::{B}/logs/*")
        ]),
    ]);
    let condition = prop::sample::select(vec![
        None,
        Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
        Some(json!({"Bool": {"aws:SecureTransport": "false"}})),
        Some(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
    ]);
    (sid, effect, principal, action, resource, condition).prop_map(|(sid, e, p, a, r, c)| {
        let mut st = Map::new();
        if let Some(s) = sid {
            st.insert("Sid".into(), json!(s));
        }
        st.insert("Effect".into(), json!(e));
        st.insert("Principal".into(), p);
        st.insert("Action".into(), a);
        st.insert("Resource".into(), r);
        if let Some(c) = c {
            st.insert("Condition".into(), c);
        }
        Value::Object(st)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Merged into any valid policy: every original statement survives as the same JSON value
    /// (unless it carries a guard Sid), each guard statement is present at most once, merging
    /// twice equals merging once, and the written policy passes the fixed rules and never
    /// denies the remediator.
    #[test]
    fn merges_keep_every_statement_and_pass_the_rules(
        statements in prop::collection::vec(arb_statement(), 0..6),
        single in any::<bool>(),
    ) {
        // Sids must be unique within a policy for a meaningful replace; keep the first.
        let mut seen: Vec<String> = Vec::new();
        let statements: Vec<Value> = statements.into_iter().filter(|s| match s.get("Sid").and_then(Value::as_str) {
            Some(sid) if seen.iter().any(|x| x == sid) => false,
            Some(sid) => { seen.push(sid.to_string()); true }
            None => true,
        }).collect();
        let current = if single && statements.len() == 1 {
            json!({"Version": "2012-10-17", "Statement": statements[0].clone()})
        } else {
            json!({"Version": "2012-10-17", "Statement": statements})
        };
        let i = input(Some(current.clone()));
        let decision = plan(&i);
        // No generated policy grants the public: every one is fixed, already right, or
        // already locks the account's own principals out (and stays refused for that).
        if let Decision::Refused { reason, .. } = &decision {
            prop_assert!(reason.contains("S3-VPCE-REACHABLE"), "refused {}: {}", current, reason);
        }
        if let Decision::Write(p) = decision {
            let sts = p.policy["Statement"].as_array().unwrap().clone();
            for st in &statements {
                let guard = st.get("Sid").and_then(Value::as_str).is_some_and(|s| p.added.contains(&s));
                if !guard {
                    prop_assert!(sts.contains(st), "lost {st}");
                }
            }
            for sid in GUARD_SIDS {
                prop_assert!(sts.iter().filter(|s| s["Sid"] == sid).count() <= 1);
            }
            let add: Vec<Value> = sts.iter().filter(|s| s.get("Sid").and_then(Value::as_str).is_some_and(|x| p.added.contains(&x))).cloned().collect();
            let again = merge(Some(&p.policy), &add).unwrap();
            prop_assert_eq!(&again, &p.policy);
            for rule in [RuleId::S3VpceDeny, RuleId::S3VpceReachable, RuleId::S3GuardAccess] {
                prop_assert_eq!(status(&p.verdicts_after, rule), Status::Pass, "{} {}", rule, reason(&p.verdicts_after, rule));
            }
            prop_assert!(denies_caller(&i, &p.policy.to_string(), REMEDIATOR).is_none());
            // And a second plan on the written policy has nothing left to do.
            let mut next = i.clone();
            next.current = Some(p.policy.to_string());
            let settled = matches!(plan(&next), Decision::NoChange { .. });
            prop_assert!(settled, "a second plan still writes on {}", p.policy);
        }
    }
}

mod apply_tests {
    use super::*;
    use crate::ports::policy_store::PolicyStore;
    use crate::ports::{AwsError, ErrorKind};
    use crate::remedy::apply::{may_write, remediate, rollback, Mode, Outcome, Trigger};
    use std::sync::Mutex;

    /// An in-memory bucket: its policy, tags, and faults to inject.
    #[derive(Default)]
    struct Bucket {
        policy: Mutex<Option<String>>,
        tags: Vec<(String, String)>,
        reads: Mutex<usize>,
        /// Replace the policy by this at the given read (a concurrent change).
        change_at_read: Option<(usize, String)>,
        /// Store this instead of what is written (a write that does not stick).
        corrupt_write: Option<String>,
        writes: Mutex<Vec<Option<String>>>,
    }

    impl PolicyStore for Bucket {
        async fn get_policy(&self, _: &str, _: &str) -> Result<Option<String>, AwsError> {
            let mut n = self.reads.lock().unwrap();
            *n += 1;
            if let Some((at, p)) = &self.change_at_read {
                if *n == *at {
                    *self.policy.lock().unwrap() = Some(p.clone());
                }
            }
            Ok(self.policy.lock().unwrap().clone())
        }
        async fn put_policy(&self, _: &str, _: &str, policy: &str) -> Result<(), AwsError> {
            let stored = self
                .corrupt_write
                .clone()
                .filter(|_| self.writes.lock().unwrap().is_empty());
            let v = stored.unwrap_or_else(|| policy.to_string());
            self.writes.lock().unwrap().push(Some(v.clone()));
            *self.policy.lock().unwrap() = Some(v);
            Ok(())
        }
        async fn delete_policy(&self, _: &str, _: &str) -> Result<(), AwsError> {
            self.writes.lock().unwrap().push(None);
            *self.policy.lock().unwrap() = None;
            Ok(())
        }
        async fn bucket_tags(&self, _: &str, _: &str) -> Result<Vec<(String, String)>, AwsError> {
            Ok(self.tags.clone())
        }
    }

    struct Denied;
    impl PolicyStore for Denied {
        async fn get_policy(&self, _: &str, _: &str) -> Result<Option<String>, AwsError> {
            Err(AwsError {
                call: "s3:GetBucketPolicy",
                kind: ErrorKind::AccessDenied,
                code: Some("AccessDenied".into()),
                message: "AccessDenied (denied)".into(),
            })
        }
        async fn put_policy(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            panic!("must not write")
        }
        async fn delete_policy(&self, _: &str, _: &str) -> Result<(), AwsError> {
            panic!("must not delete")
        }
        async fn bucket_tags(&self, _: &str, _: &str) -> Result<Vec<(String, String)>, AwsError> {
            Ok(Vec::new())
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// Remediate the test bucket as `mode` lets `trigger` do.
    fn run_as<S: PolicyStore>(
        store: &S,
        mode: Mode,
        trigger: Trigger,
    ) -> crate::remedy::apply::RemediationEvent {
        rt().block_on(remediate(
            store,
            &history::NoHistory,
            input(None),
            mode,
            trigger,
            may_write(mode, trigger),
        ))
    }

    const OLD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"App","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"}]}"#;

    fn bucket(policy: Option<&str>) -> Bucket {
        Bucket {
            policy: Mutex::new(policy.map(str::to_string)),
            ..Bucket::default()
        }
    }

    #[test]
    fn dry_run_writes_nothing_and_enforce_writes_and_verifies() {
        let b = bucket(Some(OLD));
        let ev = run_as(&b, Mode::DryRun, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::Planned, "{}", ev.reason);
        assert!(b.writes.lock().unwrap().is_empty());
        assert!(ev.new_policy.is_some() && ev.previous_policy.is_some());

        let ev = run_as(&b, Mode::Enforce, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        assert_eq!(b.writes.lock().unwrap().len(), 1);
        let written: Value =
            serde_json::from_str(b.policy.lock().unwrap().as_deref().unwrap()).unwrap();
        assert_eq!(Some(&written), ev.new_policy.as_ref());
        assert_eq!(
            ev.previous_policy,
            Some(serde_json::from_str::<Value>(OLD).unwrap())
        );
        // A second run has nothing to do.
        let ev = run_as(&b, Mode::Enforce, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::NoChange, "{}", ev.reason);
    }

    #[test]
    fn modes_decide_who_may_write() {
        let b = bucket(None);
        let ev = run_as(&b, Mode::Disabled, Trigger::Cli);
        assert_eq!(ev.outcome, Outcome::Planned);
        let ev = run_as(&b, Mode::DryRun, Trigger::ConfigRemediation);
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        assert_eq!(ev.previous_policy, None);
    }

    #[test]
    fn a_concurrent_change_aborts_the_write() {
        let mut b = bucket(Some(OLD));
        b.change_at_read = Some((2, OLD.replace("role/app", "role/other")));
        let ev = run_as(&b, Mode::Enforce, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::Refused);
        assert!(
            ev.reason.contains("changed between planning and writing"),
            "{}",
            ev.reason
        );
        assert!(b.writes.lock().unwrap().is_empty());
    }

    #[test]
    fn a_write_that_does_not_verify_is_rolled_back() {
        let mut b = bucket(Some(OLD));
        b.corrupt_write = Some(OLD.to_string());
        let ev = run_as(&b, Mode::Enforce, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::Failed);
        assert!(
            ev.reason.contains("previous policy was restored"),
            "{}",
            ev.reason
        );
        assert_eq!(b.policy.lock().unwrap().as_deref(), Some(OLD));
    }

    #[test]
    fn the_exempt_tag_and_unreadable_policies_refuse_or_fail_without_writing() {
        let mut b = bucket(Some(OLD));
        b.tags = vec![(EXEMPT_TAG.into(), "true".into())];
        let ev = run_as(&b, Mode::Enforce, Trigger::Finding);
        assert_eq!(ev.outcome, Outcome::Refused);
        assert!(b.writes.lock().unwrap().is_empty());
        let ev = rt().block_on(remediate(
            &Denied,
            &history::NoHistory,
            input(None),
            Mode::Enforce,
            Trigger::Finding,
            true,
        ));
        assert_eq!(ev.outcome, Outcome::Failed);
        assert!(ev.reason.contains("AccessDenied"), "{}", ev.reason);
    }

    #[test]
    fn rollback_restores_including_to_no_policy() {
        let b = bucket(None);
        let ev = run_as(&b, Mode::Enforce, Trigger::Cli);
        assert_eq!(ev.outcome, Outcome::Applied);
        let r = rt().block_on(rollback(
            &b,
            "amzn-s3-demo-bucket",
            "us-east-1",
            ev.previous_policy.as_ref(),
        ));
        assert!(r.unwrap().contains("deleted"));
        assert_eq!(*b.policy.lock().unwrap(), None);
        let old: Value = serde_json::from_str(OLD).unwrap();
        let r = rt().block_on(rollback(&b, "amzn-s3-demo-bucket", "us-east-1", Some(&old)));
        assert!(r.is_ok(), "{r:?}");
        let now: Value =
            serde_json::from_str(b.policy.lock().unwrap().as_deref().unwrap()).unwrap();
        assert_eq!(now, old);
    }
}

mod handler_tests {
    use super::*;
    use crate::facts::{BucketObservation, Endpoint, Fact, NetworkFacts, PublicAccessBlock};
    use crate::ports::events::{EventPublisher, OutEvent};
    use crate::ports::policy_store::{CallerIdentity, PolicyStore};
    use crate::ports::{AccountReader, AwsError, BucketReader, ListedBucket, NetworkReader};
    use crate::remedy::apply::{Mode, Outcome};
    use crate::remedy::history::HistoryStore;
    use crate::remedy::remediator::{bucket_of, handle, RemediatorEvent, RemediatorSettings};
    use crate::FunctionError;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Fake {
        policy: Mutex<Option<String>>,
        published: Mutex<Vec<OutEvent>>,
        /// The region's only S3 endpoint is an interface endpoint.
        interface: bool,
        /// The organization layer (`Some(Err(()))`: the source cannot be read).
        org: Option<Result<crate::ports::OrgLayer, ()>>,
        /// The mute list's text (`None`: none configured).
        mute: Option<String>,
    }

    impl PolicyStore for Fake {
        async fn get_policy(&self, _: &str, _: &str) -> Result<Option<String>, AwsError> {
            Ok(self.policy.lock().unwrap().clone())
        }
        async fn put_policy(&self, _: &str, _: &str, p: &str) -> Result<(), AwsError> {
            *self.policy.lock().unwrap() = Some(p.into());
            Ok(())
        }
        async fn delete_policy(&self, _: &str, _: &str) -> Result<(), AwsError> {
            *self.policy.lock().unwrap() = None;
            Ok(())
        }
        async fn bucket_tags(&self, _: &str, _: &str) -> Result<Vec<(String, String)>, AwsError> {
            Ok(Vec::new())
        }
    }
    impl crate::ports::OrgPolicySource for Fake {
        async fn org_layer(&self, _: &str) -> Result<Option<crate::ports::OrgLayer>, AwsError> {
            match &self.org {
                None => Ok(None),
                Some(Ok(l)) => Ok(Some(l.clone())),
                Some(Err(())) => Err(AwsError {
                    call: "organizations:ListPoliciesForTarget",
                    kind: crate::ports::ErrorKind::AccessDenied,
                    code: Some("AccessDenied".into()),
                    message: "not authorized".into(),
                }),
            }
        }
        async fn organization(&self) -> Result<Option<(String, String)>, AwsError> {
            Ok(None)
        }
    }
    impl crate::ports::MuteSource for Fake {
        async fn mute_list(&self) -> Result<Option<crate::rules::mute::MuteList>, String> {
            self.mute
                .as_deref()
                .map(crate::rules::mute::MuteList::parse)
                .transpose()
                .map_err(|e| e.to_string())
        }
    }

    impl crate::ports::roles::RoleLister for Fake {
        async fn role_arns(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(Vec::new())
        }
    }

    impl CallerIdentity for Fake {
        async fn caller_arn(&self) -> Result<String, AwsError> {
            Ok("arn:aws:sts::111122223333:assumed-role/Remediator/fn".into())
        }
    }
    impl NetworkReader for Fake {
        async fn network(&self, _: &str) -> Result<NetworkFacts, AwsError> {
            Err(AwsError {
                call: "DescribeVpcs",
                kind: crate::ports::ErrorKind::Other,
                code: None,
                message: "the remediator must not read the whole region".into(),
            })
        }
        async fn vpc_network(&self, _: &str, _: &str) -> Result<NetworkFacts, AwsError> {
            Err(AwsError {
                call: "DescribeVpcs",
                kind: crate::ports::ErrorKind::Other,
                code: None,
                message: "the remediator must not read a VPC".into(),
            })
        }
        async fn s3_endpoints(&self, region: &str) -> Result<Vec<Endpoint>, AwsError> {
            Ok(vec![Endpoint {
                id: "vpce-1a2b3c4d".into(),
                vpc_id: "vpc-0a1b2c3d".into(),
                service_name: format!("com.amazonaws.{region}.s3"),
                endpoint_type: if self.interface {
                    "Interface".into()
                } else {
                    "Gateway".into()
                },
                state: "available".into(),
                policy: None,
                route_table_ids: Vec::new(),
                ip_address_type: None,
                owner_id: None,
            }])
        }
    }
    impl AccountReader for Fake {
        async fn account_id(&self) -> Result<String, AwsError> {
            Ok(A.into())
        }
        async fn account_public_access_block(&self, _: &str) -> Fact<PublicAccessBlock> {
            Fact::NotConfigured
        }
    }
    impl BucketReader for Fake {
        async fn list_buckets(&self, _: Option<&str>) -> Result<Vec<ListedBucket>, AwsError> {
            Ok(Vec::new())
        }
        async fn bucket_region(&self, _: &str) -> Result<Option<String>, AwsError> {
            Ok(Some("us-east-1".into()))
        }
        async fn bucket_facts(&self, bucket: &str, region: &str) -> BucketObservation {
            BucketObservation::Deleted {
                name: bucket.into(),
                region: region.into(),
            }
        }
        async fn read_policy(&self, _: &str, _: &str) -> Option<Fact<String>> {
            None
        }
        async fn read_public_access_block(
            &self,
            _: &str,
            _: &str,
        ) -> Option<Fact<PublicAccessBlock>> {
            None
        }
        async fn read_ownership(
            &self,
            _: &str,
            _: &str,
        ) -> Option<Fact<crate::facts::ObjectOwnership>> {
            None
        }
    }
    impl EventPublisher for Fake {
        async fn put_events(
            &self,
            _: Option<&str>,
            batch: &[OutEvent],
        ) -> Result<Vec<usize>, AwsError> {
            self.published.lock().unwrap().extend(batch.iter().cloned());
            Ok(Vec::new())
        }
    }

    fn cfg(mode: &str) -> RemediatorSettings {
        let env = |k: &str| match k {
            "REMEDIATION_MODE" => Some(mode.to_string()),
            "GUARD_PRINCIPAL_ARNS" => {
                Some("arn:aws:iam::111122223333:role/vpce-guard/BucketRule".into())
            }
            "REMEDIATOR_PRINCIPAL_ARNS" => {
                Some("arn:aws:iam::111122223333:role/vpce-guard/Remediator".into())
            }
            "CALLER_PRINCIPAL_ARN" => {
                Some("arn:aws:iam::111122223333:role/vpce-guard/Remediator".into())
            }
            "BUCKET_RULE_NAME" => Some("vpce-guard-bucket".into()),
            _ => None,
        };
        RemediatorSettings::from_env(env).unwrap()
    }

    fn parse(v: serde_json::Value) -> RemediatorEvent {
        serde_json::from_value(v).unwrap()
    }

    fn finding(compliance: &str) -> RemediatorEvent {
        parse(
            json!({"version": "0", "id": "1", "detail-type": "vpce-guard Finding", "source": "vpce-guard",
            "account": A, "time": "2026-11-28T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"resource": B, "resource_type": "AWS::S3::Bucket", "account": A, "region": "us-east-1",
                "compliance": compliance, "annotation": "", "findings": [],
                "trigger": {"event_name": "PutBucketPolicy"}}}),
        )
    }

    /// A finding whose fields were renamed is an error naming the field, not an event the
    /// remediator silently skips.
    #[test]
    fn a_finding_of_another_shape_is_an_invalid_event() {
        let renamed = parse(
            json!({"version": "0", "id": "1", "detail-type": "vpce-guard Finding", "source": "vpce-guard",
            "account": A, "time": "2026-11-28T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"resource": B, "resourceType": "AWS::S3::Bucket", "account": A, "region": "us-east-1",
                "compliance": "NON_COMPLIANT", "annotation": "", "findings": [],
                "trigger": {"event_name": "PutBucketPolicy"}}}),
        );
        let err = bucket_of(&renamed, &cfg("DryRun")).unwrap_err();
        assert_eq!(err.error_type(), "VpceGuard.InvalidEvent");
        assert!(err.to_string().contains("resource_type"), "{err}");
    }

    #[test]
    fn events_name_the_bucket_or_are_ignored() {
        let c = cfg("DryRun");
        let (b, r, t) = bucket_of(&finding("NON_COMPLIANT"), &c).unwrap().unwrap();
        assert_eq!(
            (b.as_str(), r.as_deref(), t),
            (B, Some("us-east-1"), crate::remedy::apply::Trigger::Finding)
        );
        assert!(bucket_of(&finding("COMPLIANT"), &c).unwrap().is_none());
        let config = |rule: &str| {
            parse(
                json!({"version": "0", "id": "2", "detail-type": "Config Rules Compliance Change",
            "source": "aws.config", "account": A, "time": "2026-11-28T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"resourceId": B, "awsRegion": "us-east-1", "awsAccountId": A, "configRuleName": rule,
                "resourceType": "AWS::S3::Bucket", "messageType": "ComplianceChangeNotification",
                "newEvaluationResult": {"complianceType": "NON_COMPLIANT"}}}),
            )
        };
        assert!(bucket_of(&config("vpce-guard-bucket"), &c)
            .unwrap()
            .is_some());
        assert!(bucket_of(&config("someone-elses-rule"), &c)
            .unwrap()
            .is_none());
        let manual = parse(json!({"bucket": B, "trigger": "config-remediation"}));
        assert_eq!(
            bucket_of(&manual, &c).unwrap().unwrap().2,
            crate::remedy::apply::Trigger::ConfigRemediation
        );
        let bad = parse(json!({"bucket": B, "trigger": "please"}));
        assert!(bucket_of(&bad, &c)
            .unwrap_err()
            .to_string()
            .contains("unknown trigger `please`"));
        let e = RemediatorSettings::from_env(|k| {
            (k == "REMEDIATION_MODE").then(|| "Sometimes".to_string())
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("REMEDIATION_MODE `Sometimes`"),
            "{e}"
        );
    }

    fn manual() -> RemediatorEvent {
        parse(json!({"bucket": B, "trigger": "config-remediation"}))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    /// A muted bucket is never remediated, whatever asks (here an SSM run); an expired mute no
    /// longer protects it from the fix.
    #[test]
    fn a_muted_bucket_is_not_remediated() {
        let muted = Fake {
            mute: Some(json!({"muted": [{"resource": B, "reason": "public website"}]}).to_string()),
            ..Fake::default()
        };
        let ev = rt()
            .block_on(handle(
                &muted,
                &history::NoHistory,
                &cfg("Enforce"),
                &manual(),
                NOW,
            ))
            .unwrap();
        assert!(ev.is_none(), "{ev:?}");
        assert!(muted.policy.lock().unwrap().is_none(), "nothing written");
        assert!(muted.published.lock().unwrap().is_empty());
        let expired = Fake {
            mute: Some(
                json!({"muted": [{"resource": B, "reason": "public website", "until": "2020-01-01"}]})
                    .to_string(),
            ),
            ..Fake::default()
        };
        let ev = rt()
            .block_on(handle(
                &expired,
                &history::NoHistory,
                &cfg("Enforce"),
                &manual(),
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
    }

    /// The organization layer: the endpoint deny the RCP already enforces is not written (only
    /// the TLS deny the bucket lacks), and an unreadable source writes nothing.
    #[test]
    fn the_remediator_leaves_to_the_rcps_what_they_enforce() {
        let rcp = crate::policy::Rcp::from_text(
            &json!({"Version": "2012-10-17", "Statement": [{"Sid": "Perimeter", "Effect": "Deny",
                "Principal": "*", "Action": "s3:*", "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"},
                    "ArnNotLikeIfExists": {"aws:PrincipalArn": [
                        "arn:aws:iam::111122223333:role/vpce-guard/BucketRule",
                        "arn:aws:iam::111122223333:role/vpce-guard/Remediator"]},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}}}]})
            .to_string(),
            "p-perimeter",
        )
        .unwrap();
        let f = Fake {
            org: Some(Ok(crate::ports::OrgLayer {
                org_id: "o-a1b2c3d4e5".into(),
                management_account: "999988887777".into(),
                path: "o-a1b2c3d4e5/r-ab12/".into(),
                rcps: vec![rcp],
            })),
            ..Fake::default()
        };
        let ev = rt()
            .block_on(handle(
                &f,
                &history::NoHistory,
                &cfg("DryRun"),
                &manual(),
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        let written: Value =
            serde_json::from_str(f.policy.lock().unwrap().as_ref().unwrap()).unwrap();
        let sids: Vec<&str> = written["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, [SID_DENY_PLAIN_HTTP], "only what the RCP leaves open");
        let unread = Fake {
            org: Some(Err(())),
            ..Fake::default()
        };
        let e = rt()
            .block_on(handle(
                &unread,
                &history::NoHistory,
                &cfg("DryRun"),
                &manual(),
                NOW,
            ))
            .unwrap_err();
        assert!(e.to_string().contains("organization's RCPs"), "{e}");
        assert!(unread.policy.lock().unwrap().is_none(), "nothing written");
    }

    #[test]
    fn an_interface_endpoint_is_approved_and_named_in_the_deny() {
        let f = Fake {
            interface: true,
            ..Fake::default()
        };
        let ev = rt()
            .block_on(handle(
                &f,
                &history::NoHistory,
                &cfg("DryRun"),
                &manual(),
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        let written: Value =
            serde_json::from_str(f.policy.lock().unwrap().as_ref().unwrap()).unwrap();
        for st in written["Statement"].as_array().unwrap() {
            if st["Sid"] != SID_DENY_PLAIN_HTTP {
                assert_eq!(
                    st["Condition"]["StringNotEquals"]["aws:SourceVpce"],
                    json!(["vpce-1a2b3c4d"])
                );
            }
        }
        let reachable = ev
            .verdicts_after
            .iter()
            .find(|f| f.rule == RuleId::S3VpceReachable)
            .unwrap();
        assert_eq!(reachable.status, Status::Pass, "{}", reachable.reason);
    }

    #[test]
    fn every_write_is_recorded_first_and_a_failed_record_writes_nothing() {
        let f = Fake::default();
        let h = history::MemoryHistory::default();
        let ev = rt()
            .block_on(handle(&f, &h, &cfg("DryRun"), &manual(), NOW))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        assert!(ev.reason.contains("recorded in memory at"), "{}", ev.reason);
        let records = h.records.lock().unwrap().clone();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.status, history::RecordStatus::Applied);
        assert_eq!(r.action, history::Action::Remediate);
        assert_eq!(r.trigger, "config-remediation");
        assert_eq!(
            r.actor,
            "arn:aws:iam::111122223333:role/vpce-guard/Remediator"
        );
        assert_eq!(r.previous_policy, None);
        assert_eq!(
            r.new_policy.as_ref().map(Value::to_string),
            f.policy.lock().unwrap().clone()
        );
        assert!(!r.verdicts_before.is_empty() && !r.verdicts_after.is_empty());
        // The back door stays shut in what the function wrote.
        let written = r.new_policy.clone().unwrap();
        assert_internet_verdicts(
            &written,
            "arn:aws:iam::111122223333:role/vpce-guard/BucketRule",
            "arn:aws:iam::111122223333:role/vpce-guard/Remediator",
            "arn:aws:iam::111122223333:role/vpce-guard/CreatedLater",
        );

        // A history that cannot be written: the remediation fails before it writes.
        let g = Fake::default();
        let broken = history::MemoryHistory::default();
        *broken.fail_writes.lock().unwrap() = Some("ProvisionedThroughputExceeded".into());
        let err = rt()
            .block_on(handle(&g, &broken, &cfg("DryRun"), &manual(), NOW))
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot record the remediation"),
            "{err}"
        );
        assert!(
            g.policy.lock().unwrap().is_none(),
            "written without a record"
        );
    }

    #[test]
    fn a_rollback_restores_the_recorded_policy_and_records_itself() {
        let f = Fake::default();
        let h = history::MemoryHistory::default();
        let original = json!({"Version": "2012-10-17", "Statement": [{"Sid": "App", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{B}/*")}]});
        *f.policy.lock().unwrap() = Some(original.to_string());
        rt().block_on(handle(&f, &h, &cfg("DryRun"), &manual(), NOW))
            .unwrap();
        let records = rt().block_on(h.records(Some(B))).unwrap();
        let rec = history::record_to_undo(&records, B, None).unwrap().clone();
        let mut i = input(None);
        i.caller = Some("arn:aws:iam::111122223333:role/vpce-guard-prod-Remediator".into());
        i.now = NOW + 60.0;
        let req = apply::UndoRequest {
            restore: rec.previous_policy.clone(),
            expect_current: Some(rec.new_policy.clone()),
            undoes: Some(rec.at.clone()),
        };
        let out = rt().block_on(apply::undo(&f, &h, &i, &req));
        assert_eq!(out.outcome, Outcome::Applied, "{}", out.reason);
        let now: Value = serde_json::from_str(f.policy.lock().unwrap().as_ref().unwrap()).unwrap();
        assert_eq!(now, original);
        let all = rt().block_on(h.records(Some(B))).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].action, history::Action::Rollback);
        assert_eq!(all[1].undoes.as_deref(), Some(rec.at.as_str()));
        // Again: the bucket already holds the original.
        let again = rt().block_on(apply::undo(&f, &h, &i, &req));
        assert_eq!(again.outcome, Outcome::NoChange, "{}", again.reason);
    }

    #[test]
    fn dry_run_findings_plan_and_the_manual_trigger_writes_and_both_publish() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let f = Fake::default();
        let ev = rt
            .block_on(handle(
                &f,
                &history::NoHistory,
                &cfg("DryRun"),
                &finding("NON_COMPLIANT"),
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Planned, "{}", ev.reason);
        assert!(f.policy.lock().unwrap().is_none());
        let manual = parse(json!({"bucket": B, "trigger": "config-remediation"}));
        let ev = rt
            .block_on(handle(
                &f,
                &history::NoHistory,
                &cfg("DryRun"),
                &manual,
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(ev.outcome, Outcome::Applied, "{}", ev.reason);
        assert!(f.policy.lock().unwrap().is_some());
        let published = f.published.lock().unwrap();
        assert_eq!(published.len(), 2);
        assert_eq!(published[1].detail_type, "vpce-guard Remediation");
        let detail: Value = serde_json::from_str(&published[1].detail).unwrap();
        assert_eq!(detail["outcome"], "applied");
        assert_eq!(detail["previous_policy"], Value::Null);
        assert!(detail["new_policy"]["Statement"].is_array());
        // Disabled never writes, whoever asks.
        let g = Fake::default();
        let ev = rt
            .block_on(handle(
                &g,
                &history::NoHistory,
                &cfg("Disabled"),
                &manual,
                NOW,
            ))
            .unwrap()
            .unwrap();
        assert_eq!((ev.outcome, ev.mode), (Outcome::Planned, Mode::Disabled));
        assert!(g.policy.lock().unwrap().is_none());
    }
}

/// The organization layer: what an RCP already enforces is not written again, and an RCP that
/// denies the writer from outside the VPC stops the write.
#[test]
fn the_plan_judges_the_rcps_too() {
    use crate::policy::Rcp;
    // The bucket has only a TLS deny; the RCP denies every other origin (AWS services and the
    // guard's roles exempt).
    let tls_only = json!({"Version": "2012-10-17", "Statement": [{"Sid": "TlsOnly", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*", "Resource": [format!("arn:aws:s3:::{B}"), format!("arn:aws:s3:::{B}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let perimeter = |exempt: &[&str]| {
        Rcp::from_text(
            &json!({"Version": "2012-10-17", "Statement": [{"Sid": "Perimeter", "Effect": "Deny",
                "Principal": "*", "Action": "s3:*", "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"},
                    "ArnNotLikeIfExists": {"aws:PrincipalArn": exempt},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}}}]})
            .to_string(),
            "perimeter",
        )
        .unwrap()
    };
    let mut with_rcp = input(Some(tls_only.clone()));
    with_rcp.require.rcps = vec![perimeter(&[
        GUARD,
        REMEDIATOR,
        "arn:aws:iam::111122223333:role/BreakGlass",
    ])];
    match plan(&with_rcp) {
        Decision::NoChange { .. } => {}
        other => panic!("the RCP already denies every other origin: {other:?}"),
    }
    // Without the RCP the deny is written.
    let _ = written(plan(&input(Some(tls_only.clone()))));
    // An RCP that exempts nobody but AWS services denies the remediator itself.
    let mut locked = input(None);
    locked.require.rcps = vec![perimeter(&["arn:aws:iam::999988887777:role/Nobody"])];
    let why = refused(plan(&locked));
    assert!(why.contains("vpce-guard-prod-Remediator"), "{why}");
}
