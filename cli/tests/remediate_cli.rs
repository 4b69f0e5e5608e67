//! `vpce-guard remediate` and `rollback` as users run them: the built binary against moto on
//! 127.0.0.1. moto.s caller is `arn:aws:sts::123456789012:user/moto`, outside any VPC: it must
//! be exempt, or the plan is refused (it would lock the caller out).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use serde_json::Value;
use vpce_guard::ports::PolicyStore;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::offline_command_with_credentials;
use vpce_guard_tests::seed::Seed;

const ME: &str = "arn:aws:sts::123456789012:user/moto";
const APP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::rem-app/*"}]}"#;

fn cli(args: &[&str]) -> Output {
    offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(args)
        .output()
        .unwrap()
}

fn remediate(moto: &Moto, bucket: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let endpoint = moto.endpoint();
    let mut args = vec![
        "remediate",
        "--bucket",
        bucket,
        "--endpoint-url",
        &endpoint,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = cli(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code(), v, stderr)
}

fn policy(seed: &Seed, bucket: &str, region: &str) -> Option<Value> {
    run(seed.c.get_policy(bucket, region))
        .unwrap()
        .map(|t| serde_json::from_str(&t).unwrap())
}

/// `vpce-guard rollback --from` a saved event, which must succeed.
fn rollback_from(a: &Account, bucket: &str, saved: &Value) {
    let dir = std::env::temp_dir().join(format!(
        "vpce-guard-rollback-{bucket}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, saved.to_string()).unwrap();
    let endpoint = a.moto.endpoint();
    let out = cli(&[
        "rollback",
        "--bucket",
        bucket,
        "--from",
        file.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Account {
    moto: Moto,
    seed: Seed,
}

fn account() -> Account {
    let moto = Moto::start();
    let seed = run(Seed::new(&moto.endpoint(), "us-east-1"));
    run(seed.reference_vpc("us-east-1", "10.20.0.0/16"));
    run(seed.bucket("rem-open", "us-east-1", None, true, None));
    run(seed.bucket("rem-app", "us-east-1", Some(APP), true, None));
    run(seed.bucket("rem-far", "eu-west-1", None, true, None));
    Account { moto, seed }
}

#[test]
fn dry_run_plans_apply_writes_and_verifies_rollback_restores() {
    let a = account();
    // Without --apply: the plan, nothing written.
    let (code, ev, err) = remediate(&a.moto, "rem-app", &["--exempt-principal", ME]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(ev["outcome"], "planned", "{ev}");
    assert_eq!(
        policy(&a.seed, "rem-app", "us-east-1"),
        Some(serde_json::from_str(APP).unwrap())
    );

    // With --apply: written, read back and verified; the event holds both policies.
    let (code, ev, err) = remediate(&a.moto, "rem-app", &["--exempt-principal", ME, "--apply"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(ev["outcome"], "applied", "{ev}");
    assert_eq!(
        ev["previous_policy"],
        serde_json::from_str::<Value>(APP).unwrap()
    );
    let now = policy(&a.seed, "rem-app", "us-east-1").unwrap();
    assert_eq!(now, ev["new_policy"]);
    let sts = now["Statement"].as_array().unwrap();
    // The app's statement, the endpoint deny (every other action), AWS Config's reads (no
    // guard role is configured here), and the plain-HTTP deny.
    assert_eq!(sts.len(), 4, "{now}");
    assert_eq!(
        sts[0],
        serde_json::from_str::<Value>(APP).unwrap()["Statement"][0]
    );
    let after: Vec<(String, String)> = ev["verdicts_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for rule in [
        "S3-VPCE-DENY",
        "S3-VPCE-KNOWN",
        "S3-VPCE-REACHABLE",
        "S3-TLS",
    ] {
        assert!(
            after.contains(&(rule.to_string(), "PASS".to_string())),
            "{rule}: {after:?}"
        );
    }
    // Nothing left to do.
    let (code, ev, _) = remediate(&a.moto, "rem-app", &["--exempt-principal", ME, "--apply"]);
    assert_eq!((code, ev["outcome"].as_str()), (Some(0), Some("no-change")));

    // Rollback from the saved event restores the previous policy.
    let saved = serde_json::json!({"previous_policy": serde_json::from_str::<Value>(APP).unwrap()});
    rollback_from(&a, "rem-app", &saved);
    assert_eq!(
        policy(&a.seed, "rem-app", "us-east-1"),
        Some(serde_json::from_str(APP).unwrap())
    );
}

#[test]
fn a_bucket_without_policy_gets_the_plan_and_rolls_back_to_none() {
    let a = account();
    let (code, ev, err) = remediate(&a.moto, "rem-open", &["--exempt-principal", ME, "--apply"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(ev["outcome"], "applied", "{ev}");
    assert_eq!(ev["previous_policy"], Value::Null);
    assert_eq!(
        policy(&a.seed, "rem-open", "us-east-1").unwrap(),
        ev["new_policy"]
    );
    rollback_from(&a, "rem-open", &ev);
    assert_eq!(policy(&a.seed, "rem-open", "us-east-1"), None);
}

#[test]
fn guard_rails_refuse_with_exit_1_and_write_nothing() {
    let a = account();
    // The caller itself would be denied from where it runs.
    let (code, ev, err) = remediate(&a.moto, "rem-open", &["--apply"]);
    assert_eq!(code, Some(1), "{ev}");
    assert_eq!(ev["outcome"], "refused");
    assert!(
        err.contains("would deny the caller arn:aws:sts::123456789012:user/moto")
            && err.contains("--exempt-principal"),
        "{err}"
    );
    assert_eq!(policy(&a.seed, "rem-open", "us-east-1"), None);
    // A region without an S3 gateway endpoint.
    let (code, ev, err) = remediate(&a.moto, "rem-far", &["--exempt-principal", ME, "--apply"]);
    assert_eq!(code, Some(1), "{ev}");
    assert!(
        err.contains("no approved, available S3 gateway or interface endpoint in eu-west-1"),
        "{err}"
    );
    assert_eq!(policy(&a.seed, "rem-far", "eu-west-1"), None);
}

/// A public website's read grant (S3-NO-PUBLIC-GRANT fails on purpose).
fn website(bucket: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    .to_string()
}

/// A deny of everything but a foreign endpoint: adding the guard's deny cannot make the bucket
/// reachable through the approved one.
fn locked_to_elsewhere(bucket: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "OnlyOther", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-99999999"}}}]})
    .to_string()
}

#[test]
fn the_exempt_tag_a_public_website_and_an_unreachable_result_refuse_against_moto() {
    let a = account();
    run(a
        .seed
        .bucket("rem-tagged", "us-east-1", Some(APP), true, None));
    run(async {
        a.seed
            .c
            .s3("us-east-1")
            .put_bucket_tagging()
            .bucket("rem-tagged")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("vpce-guard:exempt")
                            .value("true")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
    });
    let site = website("rem-site");
    run(a
        .seed
        .bucket("rem-site", "us-east-1", Some(&site), false, None));
    let locked = locked_to_elsewhere("rem-locked");
    run(a
        .seed
        .bucket("rem-locked", "us-east-1", Some(&locked), true, None));
    let cases = [
        (
            "rem-tagged",
            APP.to_string(),
            "the bucket carries the tag vpce-guard:exempt=true",
        ),
        ("rem-site", site, "grants public access on purpose"),
        (
            "rem-locked",
            locked,
            "nobody inside could reach the bucket after the write: S3-VPCE-REACHABLE would be FAIL",
        ),
    ];
    for (bucket, before, why) in cases {
        let (code, ev, err) = remediate(&a.moto, bucket, &["--exempt-principal", ME, "--apply"]);
        assert_eq!(code, Some(1), "{bucket}: {ev}");
        assert_eq!(ev["outcome"], "refused", "{bucket}");
        assert!(err.contains(why), "{bucket}: {err}");
        let kept: Value = serde_json::from_str(&before).unwrap();
        assert_eq!(
            policy(&a.seed, bucket, "us-east-1"),
            Some(kept),
            "{bucket}: nothing written"
        );
    }
    // The website's refusal names the tag that leaves it out.
    let (_, _, err) = remediate(&a.moto, "rem-site", &["--exempt-principal", ME, "--apply"]);
    assert!(err.contains("vpce-guard:exempt=true"), "{err}");
}

/// The real S3 store (moto), with someone else's write slipped in right before the
/// remediator's re-read: the change between planning and writing.
struct Racing<'a> {
    inner: &'a vpce_guard::aws::AwsClients,
    reads: std::sync::atomic::AtomicUsize,
    theirs: String,
}

impl PolicyStore for Racing<'_> {
    async fn get_policy(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<Option<String>, vpce_guard::ports::AwsError> {
        if self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.inner.put_policy(bucket, region, &self.theirs).await?;
        }
        self.inner.get_policy(bucket, region).await
    }
    async fn put_policy(
        &self,
        bucket: &str,
        region: &str,
        policy: &str,
    ) -> Result<(), vpce_guard::ports::AwsError> {
        self.inner.put_policy(bucket, region, policy).await
    }
    async fn delete_policy(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<(), vpce_guard::ports::AwsError> {
        self.inner.delete_policy(bucket, region).await
    }
    async fn bucket_tags(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<Vec<(String, String)>, vpce_guard::ports::AwsError> {
        self.inner.bucket_tags(bucket, region).await
    }
}

#[test]
fn a_concurrent_change_between_plan_and_write_aborts_against_moto() {
    use vpce_guard::remedy::apply::{remediate as apply, Mode, Outcome, Trigger};
    let a = account();
    use vpce_guard::ports::NetworkReader;
    let vpce: Vec<String> = run(a.seed.c.s3_endpoints("us-east-1"))
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(vpce.len(), 1);
    let theirs = APP.replace("s3:PutObject", "s3:GetObject");
    let racing = Racing {
        inner: &a.seed.c,
        reads: std::sync::atomic::AtomicUsize::new(0),
        theirs: theirs.clone(),
    };
    let input = vpce_guard::remedy::RemedyInput {
        bucket: "rem-app".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        current: None,
        endpoints: vpce,
        exempt_principals: vec![ME.into()],
        guard_principals: Vec::new(),
        remediator_principals: Vec::new(),
        config_role: None,
        require: vpce_guard::rules::BucketParams::default(),
        caller: Some(ME.into()),
        exempt_tag: false,
        now: vpce_guard::now_epoch_seconds(),
    };
    let ev = run(apply(
        &racing,
        &vpce_guard::remedy::history::NoHistory,
        input,
        Mode::Enforce,
        Trigger::Cli,
        true,
    ));
    assert_eq!(ev.outcome, Outcome::Refused, "{}", ev.reason);
    assert!(
        ev.reason.contains("changed between planning and writing"),
        "{}",
        ev.reason
    );
    let kept: Value = serde_json::from_str(&theirs).unwrap();
    assert_eq!(
        policy(&a.seed, "rem-app", "us-east-1"),
        Some(kept),
        "their write stands"
    );
}
