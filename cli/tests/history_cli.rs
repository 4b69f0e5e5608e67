//! Every write can be undone, against moto on 127.0.0.1: a remediation by the remediator
//! function (recorded in the stack's table) and by the CLI (recorded in a local file), each
//! rolled back with `vpce-guard rollback --bucket`, the original policy restored equal as JSON
//! and both records listed by `vpce-guard remediations`. Also: the deny names the guard's roles
//! exactly (a pattern is expanded with iam:ListRoles), a role created later on the guard's path
//! is denied from the internet, and an S3 interface endpoint is an approved origin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value};
use vpce_guard::ports::PolicyStore;
use vpce_guard::remedy::internet_request_decision;
use vpce_guard::rules::params::Partition;
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::runtime::LambdaRuntime;
use vpce_guard_tests::seed::Seed;
use vpce_guard_tests::{function_binary, offline_command_with_credentials};

const ME: &str = "arn:aws:sts::123456789012:user/moto";
const REGION: &str = "us-east-1";
const TABLE: &str = "vpce-guard-remediation-history";

fn policy_text(bucket: &str) -> String {
    json!({"Version": "2012-10-17", "Id": "kept", "Statement": [
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    .to_string()
}

fn cli(moto: &Moto, args: &[&str]) -> Output {
    let endpoint = moto.endpoint();
    offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(args)
        .args(["--endpoint-url", &endpoint])
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn policy(seed: &Seed, bucket: &str) -> Option<Value> {
    run(seed.c.get_policy(bucket, REGION))
        .unwrap()
        .map(|t| serde_json::from_str(&t).unwrap())
}

fn temp_file(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("vpce-guard-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("remediations.jsonl")
}

fn listed(moto: &Moto, history: &[&str], bucket: &str) -> Vec<Value> {
    let mut args = vec!["remediations", "--bucket", bucket, "--format", "json"];
    args.extend_from_slice(history);
    let v: Value = serde_json::from_str(&ok(&cli(moto, &args))).unwrap();
    let list = v["remediations"].as_array().unwrap().clone();
    for r in &list {
        for key in [
            "bucket",
            "region",
            "at",
            "action",
            "actor",
            "trigger",
            "verdicts_before",
            "verdicts_after",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    list
}

fn account(buckets: &[&str]) -> (Moto, Seed) {
    let moto = Moto::start();
    let seed = run(Seed::new(&moto.endpoint(), REGION));
    run(seed.reference_vpc(REGION, "10.20.0.0/16"));
    for b in buckets {
        run(seed.bucket(b, REGION, Some(&policy_text(b)), true, None));
    }
    (moto, seed)
}

#[test]
fn a_cli_remediation_is_recorded_in_a_file_and_rolled_back_by_bucket() {
    let (moto, seed) = account(&["hist-cli"]);
    let file = temp_file("cli");
    let f = file.to_str().unwrap();
    let original = policy(&seed, "hist-cli").unwrap();
    let out = cli(
        &moto,
        &[
            "remediate",
            "--bucket",
            "hist-cli",
            "--exempt-principal",
            ME,
            "--apply",
            "--history-file",
            f,
            "--format",
            "json",
        ],
    );
    let ev: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(ev["outcome"], "applied", "{ev}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("history: file {f}")), "{err}");
    assert_ne!(policy(&seed, "hist-cli").unwrap(), original);

    let records = listed(&moto, &["--history-file", f], "hist-cli");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "remediate");
    assert_eq!(records[0]["trigger"], "cli");
    assert_eq!(records[0]["actor"], ME);

    let out = ok(&cli(
        &moto,
        &["rollback", "--bucket", "hist-cli", "--history-file", f],
    ));
    assert!(out.contains("restored the previous policy"), "{out}");
    assert_eq!(policy(&seed, "hist-cli").unwrap(), original);

    let records = listed(&moto, &["--history-file", f], "hist-cli");
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["remediate", "rollback"]);
    assert_eq!(records[1]["undoes"], records[0]["at"]);

    // The bucket changed since: a second rollback finds it holds the original and does nothing.
    let out = ok(&cli(
        &moto,
        &["rollback", "--bucket", "hist-cli", "--history-file", f],
    ));
    assert!(out.contains("nothing to undo"), "{out}");
}

#[test]
fn a_rollback_refuses_when_the_policy_changed_since_the_remediation() {
    let (moto, seed) = account(&["hist-moved"]);
    let file = temp_file("moved");
    let f = file.to_str().unwrap();
    ok(&cli(
        &moto,
        &[
            "remediate",
            "--bucket",
            "hist-moved",
            "--exempt-principal",
            ME,
            "--apply",
            "--history-file",
            f,
        ],
    ));
    // Someone edits the policy after the remediation: rolling back would drop their change.
    let mut theirs = policy(&seed, "hist-moved").unwrap();
    theirs["Id"] = json!("edited-by-someone");
    run(seed.c.put_policy("hist-moved", REGION, &theirs.to_string())).unwrap();
    let out = cli(
        &moto,
        &["rollback", "--bucket", "hist-moved", "--history-file", f],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("changed since the remediation"), "{err}");
    assert_eq!(policy(&seed, "hist-moved").unwrap(), theirs);
    // A bucket nobody remediated.
    let out = cli(
        &moto,
        &["rollback", "--bucket", "hist-none", "--history-file", f],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no remediation of `hist-none`"));
}

#[test]
fn a_function_remediation_is_recorded_in_the_table_and_rolled_back_by_the_cli() {
    let (moto, seed) = account(&["hist-fn"]);
    run(seed.history_table(TABLE));
    let original = policy(&seed, "hist-fn").unwrap();
    let env: Vec<(&str, String)> = vec![
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("REMEDIATION_MODE", "DryRun".into()),
        ("CALLER_PRINCIPAL_ARN", ME.into()),
        ("EXEMPT_PRINCIPAL_ARNS", ME.into()),
        (
            "GUARD_PRINCIPAL_ARNS",
            "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-BucketRuleRole".into(),
        ),
        (
            "REMEDIATOR_PRINCIPAL_ARNS",
            "arn:aws:iam::123456789012:role/vpce-guard/vpce-guard-RemediatorRole".into(),
        ),
        ("HISTORY_TABLE_NAME", TABLE.into()),
        ("HISTORY_RETENTION_DAYS", "400".into()),
    ];
    let mut f = LambdaRuntime::start(&function_binary("remediator"), &env);
    // Config's "Remediate" button: a person's request writes in DryRun.
    let out = f
        .invoke(
            &json!({"bucket": "hist-fn", "trigger": "config-remediation"}),
            Duration::from_secs(60),
        )
        .unwrap();
    f.stop();
    assert_eq!(out["outcome"], "applied", "{out}");
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("recorded in table {TABLE}")),
        "{out}"
    );
    let history = ["--history-table", TABLE];
    let records = listed(&moto, &history, "hist-fn");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["trigger"], "config-remediation");
    assert_eq!(records[0]["status"], "applied");

    let mut args = vec!["rollback", "--bucket", "hist-fn"];
    args.extend_from_slice(&history);
    let out = ok(&cli(&moto, &args));
    assert!(out.contains(&format!("recorded in table {TABLE}")), "{out}");
    assert_eq!(policy(&seed, "hist-fn").unwrap(), original);
    let records = listed(&moto, &history, "hist-fn");
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["remediate", "rollback"]);
    // The table name also comes from the environment.
    let endpoint = moto.endpoint();
    let out = offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args([
            "remediations",
            "--format",
            "json",
            "--endpoint-url",
            &endpoint,
        ])
        .env("VPCE_GUARD_HISTORY_TABLE", TABLE)
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["remediations"].as_array().unwrap().len(), 2);
}

#[test]
fn a_guard_pattern_becomes_exact_roles_and_a_later_role_on_the_path_stays_out() {
    let (moto, seed) = account(&["hist-door"]);
    let guard = run(seed.role("/vpce-guard/", "vpce-guard-BucketRuleRole"));
    let remediator = run(seed.role("/vpce-guard/", "vpce-guard-RemediatorRole"));
    run(seed.role("/other/", "Unrelated"));
    let out = cli(
        &moto,
        &[
            "remediate",
            "--bucket",
            "hist-door",
            "--exempt-principal",
            ME,
            "--guard-principal",
            "arn:aws:iam::123456789012:role/vpce-guard/*",
            "--remediator-principal",
            &remediator,
            "--apply",
            "--history-file",
            temp_file("door").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let ev: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(ev["outcome"], "applied", "{ev}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expanded to") && err.contains(&guard) && !err.contains("Unrelated"),
        "{err}"
    );
    // Read back from moto; moto does not evaluate conditions, so the engine's concrete
    // evaluator judges what was written.
    let written = policy(&seed, "hist-door").unwrap();
    assert!(!written.to_string().contains("vpce-guard/*"), "{written}");
    let later = run(seed.role("/vpce-guard/", "CiPipelineRole"));
    let decide = |who: &str, action: &str| {
        internet_request_decision(&written, "hist-door", Partition::Aws, who, action).unwrap()
    };
    for action in ["s3:GetObject", "s3:ListBucket", "s3:PutBucketPolicy"] {
        assert!(
            !decide(&later, action).denied_by.is_empty(),
            "{later} may {action}"
        );
    }
    for who in [&guard, &remediator] {
        let d = decide(who, "s3:GetBucketPolicy");
        assert!(
            d.denied_by.is_empty() && d.undecided.is_empty(),
            "{who} cannot read"
        );
    }
    let d = decide(&remediator, "s3:PutBucketPolicy");
    assert!(
        d.denied_by.is_empty() && d.undecided.is_empty(),
        "the remediator cannot write"
    );
    assert!(!decide(&guard, "s3:PutBucketPolicy").denied_by.is_empty());

    // A pattern that matches no role is an error, and nothing is written.
    run(seed.bucket(
        "hist-none",
        REGION,
        Some(&policy_text("hist-none")),
        true,
        None,
    ));
    let out = cli(
        &moto,
        &[
            "remediate",
            "--bucket",
            "hist-none",
            "--exempt-principal",
            ME,
            "--guard-principal",
            "arn:aws:iam::123456789012:role/nobody/*",
            "--apply",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no role"));
    assert_eq!(
        policy(&seed, "hist-none").unwrap(),
        serde_json::from_str::<Value>(&policy_text("hist-none")).unwrap()
    );
}

#[test]
fn an_interface_endpoint_is_an_approved_origin() {
    // A region whose only S3 endpoint is an interface endpoint (on-premises traffic).
    let moto = Moto::start();
    let seed = run(Seed::new(&moto.endpoint(), REGION));
    let vpc = run(seed.vpc(REGION, "10.30.0.0/16", true, true));
    let interface = run(seed.interface_endpoint(&vpc));
    run(seed.bucket(
        "hist-iface",
        REGION,
        Some(&policy_text("hist-iface")),
        true,
        None,
    ));
    let out = cli(
        &moto,
        &[
            "remediate",
            "--bucket",
            "hist-iface",
            "--exempt-principal",
            ME,
            "--apply",
            "--history-file",
            temp_file("iface").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let ev: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(ev["outcome"], "applied", "{ev}");
    let written = policy(&seed, "hist-iface").unwrap();
    let deny = written["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "VpceGuardDenyOutsideVpce")
        .unwrap()
        .clone();
    assert_eq!(
        deny["Condition"]["StringNotEquals"]["aws:SourceVpce"],
        json!([interface])
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
    assert!(
        after.contains(&("S3-VPCE-REACHABLE".into(), "PASS".into())),
        "{after:?}"
    );
}
