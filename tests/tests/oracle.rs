//! The differential oracle: the concrete evaluator referees the search.
//!
//! For generated policies (Allow and Deny statements, `Not*` elements, wildcards, every
//! operator family, `…IfExists`, set qualifiers, partial `NotPrincipal` chains), each rule
//! question is asked of the space, and then:
//! - every counter-example a gap quotes is a concrete request that the compiled policy does
//!   *not* deny;
//! - when the space says every request of the question is denied, concrete requests drawn at
//!   random from the question — with fresh values the enumeration never used (other actions,
//!   keys, addresses, endpoints, principals) — are all denied.
//!
//! `ORACLE_CASES` sets the number of generated policies (default 200); `ORACLE_SECONDS=600`
//! keeps generating batches for ten minutes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use vpce_guard::policy::catalog;
use vpce_guard::policy::compiled::CompiledPolicy;
use vpce_guard::policy::context::{Caller, Principal, RequestContext, Signature};
use vpce_guard::policy::layers::effective;
use vpce_guard::policy::model::Effect;
use vpce_guard::policy::space::{Coverage, Question, Scope, Space, Transport};
use vpce_guard::policy::values::{EndpointScope, Partition};
use vpce_guard::policy::{PolicyDocument, Rcp};

const BUCKET: &str = "amzn-s3-demo-bucket";
const ACCOUNT: &str = "111122223333";
const APPROVED: &str = "vpce-1a2b3c4d";
const APPROVED_VPC: &str = "vpc-0a1b2c3d";
const NOW: f64 = 1_795_000_000.0;
const ORG: &str = "o-a1b2c3d4e5";
const REGION: &str = "us-east-1";

fn statement() -> impl Strategy<Value = Value> {
    let effect = prop::sample::select(vec!["Allow", "Deny", "Deny"]);
    let principal = prop::sample::select(vec![
        ("Principal", json!("*")),
        ("Principal", json!({"AWS": "*"})),
        ("Principal", json!({"AWS": ACCOUNT})),
        (
            "Principal",
            json!({"AWS": "arn:aws:iam::111122223333:role/Admin"}),
        ),
        (
            "Principal",
            json!({"AWS": "arn:aws:iam::444455556666:root"}),
        ),
        ("Principal", json!({"Service": "logging.s3.amazonaws.com"})),
        (
            "NotPrincipal",
            json!({"AWS": "arn:aws:iam::111122223333:role/Admin"}),
        ),
        (
            "NotPrincipal",
            json!({"AWS": ["arn:aws:iam::111122223333:role/Admin", "arn:aws:sts::111122223333:assumed-role/Admin/s", ACCOUNT]}),
        ),
        ("NotPrincipal", json!({"AWS": ACCOUNT})),
        (
            "NotPrincipal",
            json!({"AWS": ["arn:aws:iam::111122223333:user/alice", ACCOUNT]}),
        ),
    ]);
    let action = prop::sample::select(vec![
        ("Action", json!("*")),
        ("Action", json!("s3:*")),
        ("Action", json!(["s3:Get*", "s3:Put*"])),
        ("Action", json!("s3:PutObject")),
        ("Action", json!(["s3:List*", "s3:Delete*"])),
        ("Action", json!("s3:*Object*")),
        ("NotAction", json!("s3:GetObject")),
        ("NotAction", json!(["s3:List*", "s3:GetBucket*"])),
    ]);
    let resource = prop::sample::select(vec![
        ("Resource", json!("*")),
        (
            "Resource",
            json!([
                "arn:aws:s3:::amzn-s3-demo-bucket",
                "arn:aws:s3:::amzn-s3-demo-bucket/*"
            ]),
        ),
        ("Resource", json!("arn:aws:s3:::amzn-s3-demo-bucket/*")),
        ("Resource", json!("arn:aws:s3:::amzn-s3-demo-bucket/logs/*")),
        ("Resource", json!("arn:aws:s3:::amzn-s3-demo-*")),
        (
            "NotResource",
            json!("arn:aws:s3:::amzn-s3-demo-bucket/public/*"),
        ),
    ]);
    let condition = prop::collection::vec(
        prop::sample::select(vec![
            ("StringNotEquals", "aws:SourceVpce", json!(APPROVED)),
            (
                "StringNotEquals",
                "aws:sourcevpce",
                json!([APPROVED, "vpce-0f00aa11"]),
            ),
            ("StringEquals", "aws:SourceVpce", json!(APPROVED)),
            ("StringNotLike", "aws:SourceVpce", json!("vpce-1a*")),
            ("StringLike", "aws:SourceVpce", json!("vpce-0f*")),
            (
                "StringNotEqualsIfExists",
                "aws:SourceVpc",
                json!(APPROVED_VPC),
            ),
            ("StringNotEquals", "aws:SourceVpce", json!("vpc-0a1b2c3d")),
            (
                "ForAnyValue:StringNotEquals",
                "aws:SourceVpce",
                json!(APPROVED),
            ),
            (
                "ForAllValues:StringEquals",
                "aws:SourceVpce",
                json!(APPROVED),
            ),
            ("Null", "aws:SourceVpce", json!("true")),
            ("Null", "aws:SourceVpce", json!(false)),
            ("Bool", "aws:SecureTransport", json!(false)),
            ("Bool", "aws:SecureTransport", json!("true")),
            ("BoolIfExists", "aws:ViaAWSService", json!("false")),
            ("Bool", "aws:PrincipalIsAWSService", json!("false")),
            (
                "ArnNotLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::*:role/Admin*"),
            ),
            (
                "ArnLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::111122223333:role/*"),
            ),
            ("StringNotEquals", "aws:PrincipalAccount", json!(ACCOUNT)),
            ("NotIpAddress", "aws:SourceIp", json!("192.0.2.0/24")),
            ("IpAddress", "aws:SourceIp", json!(["0.0.0.0/0"])),
            ("IpAddress", "aws:SourceIp", json!(["0.0.0.0/0", "::/0"])),
            ("NumericLessThan", "s3:TlsVersion", json!(1.3)),
            ("NumericGreaterThanEquals", "s3:TlsVersion", json!("1.2")),
            (
                "DateGreaterThan",
                "aws:CurrentTime",
                json!("2020-01-01T00:00:00Z"),
            ),
            (
                "DateLessThan",
                "aws:CurrentTime",
                json!("2099-01-01T00:00:00Z"),
            ),
            ("StringNotEquals", "aws:PrincipalOrgID", json!("o-abc123")),
            ("StringEquals", "s3:x-amz-acl", json!("public-read")),
            (
                "StringNotEquals",
                "s3:signatureversion",
                json!("AWS4-HMAC-SHA256"),
            ),
            ("StringLike", "s3:prefix", json!(["logs/*", "home/*"])),
            // The endpoint owner's keys, and a key AWS never sets (a misspelling).
            ("StringNotEqualsIfExists", "aws:VpceAccount", json!(ACCOUNT)),
            ("StringNotEquals", "aws:VpceAccount", json!("999988887777")),
            ("StringEquals", "aws:VpceAccount", json!(ACCOUNT)),
            ("StringNotEqualsIfExists", "aws:VpceOrgID", json!(ORG)),
            ("Null", "aws:VpceOrgID", json!("true")),
            (
                "ForAnyValue:StringNotLike",
                "aws:VpceOrgPaths",
                json!("o-a1b2c3d4e5/r-ab12/*"),
            ),
            (
                "ArnNotLike",
                "aws:SourceVpcArn",
                json!("arn:aws:ec2:*:111122223333:vpc/*"),
            ),
            ("StringNotEquals", "aws:SourceVpceId", json!(APPROVED)),
            // Access points: keys present only through one.
            (
                "StringNotEqualsIfExists",
                "s3:DataAccessPointAccount",
                json!(ACCOUNT),
            ),
            (
                "StringNotEquals",
                "s3:AccessPointNetworkOrigin",
                json!("VPC"),
            ),
            (
                "StringLike",
                "s3:DataAccessPointArn",
                json!("arn:aws:s3:*:111122223333:accesspoint/*"),
            ),
        ]),
        0..4,
    );
    (effect, principal, action, resource, condition).prop_map(
        |(effect, (pk, pv), (ak, av), (rk, rv), conds)| {
            let mut st = serde_json::Map::new();
            st.insert("Effect".into(), json!(effect));
            // NotPrincipal with Allow is legal but a different question: keep it to Deny.
            let (pk, pv) = if effect == "Allow" && pk == "NotPrincipal" {
                ("Principal", json!("*"))
            } else {
                (pk, pv)
            };
            st.insert(pk.into(), pv);
            st.insert(ak.into(), av);
            st.insert(rk.into(), rv);
            if !conds.is_empty() {
                let mut c = serde_json::Map::new();
                for (op, key, val) in conds {
                    let block = c.entry(op.to_string()).or_insert_with(|| json!({}));
                    if let Value::Object(b) = block {
                        b.insert(key.to_string(), val);
                    }
                }
                st.insert("Condition".into(), Value::Object(c));
            }
            Value::Object(st)
        },
    )
}

/// A concrete request, drawn from values the enumeration may never have used.
#[derive(Debug, Clone)]
struct Draw {
    action: usize,
    key: &'static str,
    bucket_level: bool,
    principal: usize,
    sigv2: bool,
    origin: usize,
    transport: usize,
    acl: bool,
    org: bool,
    /// The endpoint's owner (the bucket owner, another account, a third one) and its
    /// organization (ORG, another, none).
    owner: usize,
    owner_org: usize,
    /// Directly (0), or through an access point of the bucket owner's account with network
    /// origin Internet (1) or VPC (2, endpoint origins only).
    access_point: usize,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        0usize..10_000,
        prop::sample::select(vec![
            "x",
            "logs/a.txt",
            "public/i.png",
            "home/u/f",
            "LOGS/b",
        ]),
        any::<bool>(),
        0usize..8,
        any::<bool>(),
        0usize..9,
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        (0usize..3, 0usize..3, 0usize..3),
    )
        .prop_map(
            |(
                action,
                key,
                bucket_level,
                principal,
                sigv2,
                origin,
                transport,
                acl,
                org,
                (owner, owner_org, access_point),
            )| Draw {
                action,
                key,
                bucket_level,
                principal,
                sigv2,
                origin,
                transport,
                acl,
                org,
                owner,
                owner_org,
                access_point,
            },
        )
}

/// The account that owns the drawn endpoint (the approved ones are the bucket owner's).
fn owner_of(d: &Draw) -> &'static str {
    if approved_origin(d.origin) {
        return ACCOUNT;
    }
    ["111122223333", "444455556666", "999988887777"][d.owner % 3]
}

/// The owner's organization and OU path.
fn owner_org(d: &Draw) -> Option<(&'static str, &'static str)> {
    match d.owner_org % 3 {
        0 => Some((ORG, "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/")),
        1 => Some(("o-zzzzzzzzzz", "o-zzzzzzzzzz/r-zz99/")),
        _ => None,
    }
}

fn session(account: &str, role: &str, name: &str) -> Caller {
    Caller::RoleSession {
        account: account.into(),
        role_arn: format!("arn:aws:iam::{account}:role/{role}"),
        session_arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{name}"),
    }
}

/// Origins: (endpoint, vpc, source ip); the first two are approved.
fn origin(i: usize) -> (Option<&'static str>, Option<&'static str>, &'static str) {
    match i {
        0 => (Some(APPROVED), Some("vpc-77aa88bb"), "10.1.2.3"),
        1 => (Some("vpce-55555555"), Some(APPROVED_VPC), "10.9.9.9"),
        2 => (Some("vpce-0f00aa11"), Some("vpc-12345678"), "172.16.0.4"),
        3 => (Some("vpce-1a99ffff"), Some("vpc-99999999"), "10.0.0.1"),
        4 => (Some("vpce-0fabcdef"), Some("vpc-0fabcdef"), "10.0.0.2"),
        5 => (None, None, "203.0.113.9"),
        6 => (None, None, "192.0.2.77"),
        7 => (None, None, "2600:1f18::42"),
        _ => (None, None, "100.64.0.1"),
    }
}

fn approved_origin(i: usize) -> bool {
    i <= 1
}

fn context(d: &Draw, actions: &[catalog::S3Action]) -> RequestContext {
    let a = &actions[d.action % actions.len()];
    let bucket = !a.object || (a.bucket && d.bucket_level);
    let resource = if bucket {
        format!("arn:aws:s3:::{BUCKET}")
    } else {
        format!("arn:aws:s3:::{BUCKET}/{}", d.key)
    };
    let caller = match d.principal {
        0 => session(ACCOUNT, "app", "s1"),
        1 => session(ACCOUNT, "Admin", "s"),
        2 => session(ACCOUNT, "Admin", "other"),
        3 => session("444455556666", "app", "s1"),
        4 => Caller::Anonymous,
        5 => Caller::Root {
            account: ACCOUNT.into(),
            partition: Partition::Aws,
        },
        6 => Caller::User {
            account: ACCOUNT.into(),
            arn: "arn:aws:iam::111122223333:user/alice".into(),
        },
        _ => session("999988887777", "Admin", "x"),
    };
    let signature = match (&caller, d.sigv2) {
        (Caller::Anonymous, _) => Signature::Unsigned,
        (_, true) => Signature::SigV2,
        _ => Signature::SigV4,
    };
    let (e, v, ip) = origin(d.origin);
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    match e {
        Some(e) => {
            keys.push(("aws:sourcevpce".into(), vec![e.into()]));
            keys.push(("aws:sourcevpc".into(), vec![v.unwrap_or("vpc-0").into()]));
            keys.push(("aws:vpcsourceip".into(), vec![ip.into()]));
            let owner = owner_of(d);
            keys.push(("aws:vpceaccount".into(), vec![owner.into()]));
            keys.push((
                "aws:sourcevpcarn".into(),
                vec![format!(
                    "arn:aws:ec2:{REGION}:{owner}:vpc/{}",
                    v.unwrap_or("vpc-0")
                )],
            ));
            if let Some((o, path)) = owner_org(d) {
                keys.push(("aws:vpceorgid".into(), vec![o.into()]));
                keys.push(("aws:vpceorgpaths".into(), vec![path.into()]));
            }
        }
        None => keys.push(("aws:sourceip".into(), vec![ip.into()])),
    }
    match d.transport {
        0 => {
            keys.push(("aws:securetransport".into(), vec!["true".into()]));
            keys.push(("s3:tlsversion".into(), vec!["1.2".into()]));
        }
        1 => {
            keys.push(("aws:securetransport".into(), vec!["true".into()]));
            keys.push(("s3:tlsversion".into(), vec!["1.3".into()]));
        }
        _ => keys.push(("aws:securetransport".into(), vec!["false".into()])),
    }
    let ap_origin = match (d.access_point % 3, e.is_some()) {
        (1, _) => Some("Internet"),
        (2, true) => Some("VPC"),
        _ => None,
    };
    if let Some(origin) = ap_origin {
        keys.push((
            "s3:dataaccesspointarn".into(),
            vec![format!("arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/reports")],
        ));
        keys.push(("s3:dataaccesspointaccount".into(), vec![ACCOUNT.into()]));
        keys.push(("s3:accesspointnetworkorigin".into(), vec![origin.into()]));
    }
    keys.push((
        "aws:currenttime".into(),
        vec![vpce_guard::policy::date::format_date(NOW)],
    ));
    keys.push(("aws:epochtime".into(), vec![format!("{}", NOW as i64)]));
    keys.push(("aws:resourceaccount".into(), vec![ACCOUNT.into()]));
    keys.push(("s3:resourceaccount".into(), vec![ACCOUNT.into()]));
    if d.acl {
        keys.push(("s3:x-amz-acl".into(), vec!["private".into()]));
    }
    if d.org && caller.account().is_some() {
        keys.push(("aws:principalorgid".into(), vec!["o-zzz999".into()]));
    }
    if d.bucket_level {
        keys.push(("s3:prefix".into(), vec![d.key.into()]));
    }
    RequestContext {
        action: a.name.clone(),
        resource,
        principal: Principal {
            caller,
            signature,
            via_service: false,
        },
        keys,
    }
}

/// The questions refereed: which drawn requests belong to each.
#[derive(Debug, Clone, Copy)]
enum Q {
    /// S3-VPCE-DENY without configured exemptions: every non-approved origin.
    OutsideApproved,
    /// S3-VPCE-KNOWN: non-approved endpoints.
    OtherEndpoints,
    /// S3-TLS.
    PlainHttp,
    /// S3-SIGV4.
    NotSigV4,
}

const QUESTIONS: [Q; 4] = [
    Q::OutsideApproved,
    Q::OtherEndpoints,
    Q::PlainHttp,
    Q::NotSigV4,
];

fn question(q: Q) -> Question<'static> {
    let base = Question::all()
        .principals(|p| !p.via_service() && !matches!(p.caller(), Caller::Service { .. }));
    match q {
        Q::OutsideApproved => base.origins(|o| !o.approved),
        Q::OtherEndpoints => base.origins(|o| !o.approved && !o.is_public()),
        Q::PlainHttp => base.transports(|t| t == Transport::PlainHttp),
        Q::NotSigV4 => Question::all().principals(|p| {
            p.signature() != Signature::SigV4
                && !p.via_service()
                && !matches!(p.caller(), Caller::Service { .. })
        }),
    }
}

/// `ApprovedEndpointScope` and what the scope knows of the bucket owner's organization.
#[derive(Debug, Clone, Copy)]
enum Perimeter {
    /// The listed endpoints; the organization unknown.
    Endpoints,
    /// Any endpoint of the bucket owner's account; the organization unknown.
    Account,
    /// Any endpoint of the owner's organization, ORG.
    Organization,
}

const PERIMETERS: [Perimeter; 3] = [
    Perimeter::Endpoints,
    Perimeter::Account,
    Perimeter::Organization,
];

/// Is the drawn request's origin approved under the perimeter? `None`: the draw is not a
/// request this perimeter's facts allow (the bucket owner outside the organization it is
/// said to be in).
fn approved_under(p: Perimeter, d: &Draw) -> Option<bool> {
    let endpoint = d.origin <= 4;
    let listed = approved_origin(d.origin);
    let own = endpoint && owner_of(d) == ACCOUNT;
    let in_org = endpoint && owner_org(d).is_some_and(|(o, _)| o == ORG);
    Some(match p {
        Perimeter::Endpoints => listed,
        Perimeter::Account => listed || own,
        Perimeter::Organization => {
            if own && !in_org {
                return None;
            }
            listed || own || in_org
        }
    })
}

fn in_question(q: Q, p: Perimeter, d: &Draw, ctx: &RequestContext) -> bool {
    let Some(approved) = approved_under(p, d) else {
        return false;
    };
    match q {
        Q::OutsideApproved => !approved,
        Q::OtherEndpoints => !approved && d.origin <= 4,
        Q::PlainHttp => d.transport == 2,
        Q::NotSigV4 => ctx.principal.signature != Signature::SigV4,
    }
}

#[derive(Debug, Default)]
struct Tally {
    policies: usize,
    gaps: usize,
    denied: usize,
    drawn: usize,
    /// Policy × perimeter pairs judged.
    perimeters: usize,
    /// Policies judged as a bucket policy and an RCP together.
    layered: usize,
}

fn check(statements: &[Value], draws: &[Draw], tally: &mut Tally) -> Result<(), TestCaseError> {
    let doc = PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": statements}))
        .map_err(|e| TestCaseError::fail(format!("generated policy invalid: {e}")))?;
    tally.policies += 1;
    let referee = Referee::new(&doc, None);
    for perimeter in PERIMETERS {
        check_under(&doc, &referee, statements, perimeter, draws, tally)?;
    }
    // The organization layer: the first half of the statements as the bucket policy, the rest
    // as a resource control policy (its Deny statements join; service-linked roles escape it).
    if statements.len() >= 2 {
        let (mine, theirs) = statements.split_at(statements.len() / 2);
        let doc_of = |st: &[Value]| {
            PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": st}))
                .map_err(|e| TestCaseError::fail(format!("generated policy invalid: {e}")))
        };
        let bucket = doc_of(mine)?;
        let rcp = doc_of(theirs)?;
        let layered = effective(
            Some(&bucket),
            &[Rcp {
                id: "rcp".into(),
                document: rcp.clone(),
            }],
        );
        let referee = Referee::new(&bucket, Some(&rcp));
        tally.layered += 1;
        check_under(
            &layered,
            &referee,
            statements,
            Perimeter::Endpoints,
            draws,
            tally,
        )?;
    }
    Ok(())
}

/// The concrete referee: the bucket policy, and the RCP when there is one (an explicit deny
/// in either wins; RCPs do not restrict service-linked roles).
struct Referee {
    bucket: CompiledPolicy,
    bucket_denies: Vec<usize>,
    rcp: Option<(CompiledPolicy, Vec<usize>)>,
}

impl Referee {
    fn new(bucket: &PolicyDocument, rcp: Option<&PolicyDocument>) -> Referee {
        let denies = |d: &PolicyDocument| -> Vec<usize> {
            d.statements
                .iter()
                .filter(|s| s.effect == Effect::Deny)
                .map(|s| s.index)
                .collect()
        };
        Referee {
            bucket: CompiledPolicy::new(bucket),
            bucket_denies: denies(bucket),
            rcp: rcp.map(|r| (CompiledPolicy::new(r), denies(r))),
        }
    }

    /// (denied, undecided) for a concrete request.
    fn judge(&self, ctx: &RequestContext) -> (bool, bool) {
        let mut denied = false;
        let mut undecided = false;
        let service_linked = ctx
            .principal
            .caller
            .principal_arn()
            .is_some_and(|a| a.contains(":role/aws-service-role/"));
        let layers = std::iter::once((&self.bucket, &self.bucket_denies)).chain(
            self.rcp
                .iter()
                .filter(|_| !service_linked)
                .map(|(c, d)| (c, d)),
        );
        for (compiled, denies) in layers {
            let d = compiled.evaluate(ctx, Partition::Aws);
            denied |= !d.denied_by.is_empty();
            undecided |= d.undecided.iter().any(|(i, _)| denies.contains(i));
        }
        (denied, undecided)
    }
}

fn check_under(
    doc: &PolicyDocument,
    referee: &Referee,
    statements: &[Value],
    perimeter: Perimeter,
    draws: &[Draw],
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let scope = Scope {
        approved_vpce: vec![APPROVED.into()],
        approved_vpc: vec![APPROVED_VPC.into()],
        region: Some(REGION.into()),
        endpoint_scope: match perimeter {
            Perimeter::Endpoints => EndpointScope::Endpoints,
            Perimeter::Account => EndpointScope::Account,
            Perimeter::Organization => EndpointScope::Organization,
        },
        org_id: matches!(perimeter, Perimeter::Organization).then(|| ORG.to_string()),
        ..Scope::new(BUCKET, Some(ACCOUNT.into()), NOW)
    };
    let space =
        Space::new(doc, &scope).map_err(|e| TestCaseError::fail(format!("space: {}", e.0)))?;
    let actions = catalog::bucket_actions().unwrap();
    tally.perimeters += 1;
    for q in QUESTIONS {
        match space.is_denied(&question(q)) {
            Coverage::Gap(w) => {
                tally.gaps += 1;
                let ctx = w.context().expect("a witness is a whole context");
                let (denied, undecided) = referee.judge(&ctx);
                prop_assert!(
                    !denied && !undecided,
                    "{q:?} ({perimeter:?}, layered: {}): the counter-example {} is denied (or undecided) in {}",
                    referee.rcp.is_some(),
                    w.describe(),
                    Value::Array(statements.to_vec())
                );
            }
            Coverage::Denied => {
                tally.denied += 1;
                for dr in draws {
                    let ctx = context(dr, actions);
                    if !in_question(q, perimeter, dr, &ctx) {
                        continue;
                    }
                    tally.drawn += 1;
                    prop_assert!(
                        referee.judge(&ctx).0,
                        "{q:?} ({perimeter:?}, layered: {}): PASS, but {ctx:?} is not denied by {}",
                        referee.rcp.is_some(),
                        Value::Array(statements.to_vec())
                    );
                }
            }
            Coverage::Undecided(_) => {}
        }
    }
    Ok(())
}

#[test]
fn the_concrete_evaluator_agrees_with_every_verdict() {
    let cases: u32 = std::env::var("ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // ORACLE_SECONDS=N: keep generating batches of `cases` policies for N seconds (long runs).
    let seconds: u64 = std::env::var("ORACLE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let started = std::time::Instant::now();
    let reference = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": APPROVED}}});
    let strategy = (
        any::<bool>(),
        prop::collection::vec(statement(), 1..5),
        prop::collection::vec(draw(), 40),
    );
    let tally = std::cell::RefCell::new(Tally::default());
    loop {
        // A fresh random seed per batch.
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |(with_reference, rest, draws)| {
            // Half the policies start from the reference deny, so that many questions PASS.
            let mut statements = Vec::new();
            if with_reference {
                statements.push(reference.clone());
            }
            statements.extend(rest);
            check(&statements, &draws, &mut tally.borrow_mut())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        if started.elapsed().as_secs() >= seconds {
            break;
        }
    }
    let t = tally.into_inner();
    eprintln!(
        "oracle: {} policies ({} policy x perimeter pairs, {} split into bucket policy + RCP), {} gaps refereed, {} PASS verdicts checked with {} drawn requests in {:.0} s",
        t.policies,
        t.perimeters,
        t.layered,
        t.gaps,
        t.denied,
        t.drawn,
        started.elapsed().as_secs_f64()
    );
    // Evidence that the run exercised both answers.
    assert!(t.gaps > 0 && t.denied > 0 && t.drawn > 0, "{t:?}");
}
