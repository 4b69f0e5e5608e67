use std::collections::BTreeSet;

use serde_json::json;

use super::*;

/// tests/cloudtrail/route-usage.json: one record of each case (see make_fixture.py).
const LOG: &str = include_str!("../../../tests/cloudtrail/route-usage.json");
const GUARDED: &str = "amzn-s3-demo-private";
const APPROVED: &str = "vpce-0a1b2c3d4e5f60001";

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn opts() -> UsageOptions {
    UsageOptions {
        buckets: set(&[GUARDED]),
        approved_vpces: set(&[APPROVED]),
        approved_owners: BTreeSet::new(),
        exempt_principals: vec!["arn:aws:iam::111122223333:role/break-glass".into()],
    }
}

fn analyse(opts: UsageOptions, files: &[&str]) -> UsageReport {
    let mut a = Analysis::new(opts);
    for f in files {
        a.feed(f.as_bytes()).unwrap();
    }
    a.report()
}

#[test]
fn realistic_records_give_exact_aggregates() {
    let report = analyse(opts(), &[LOG]);
    let got = serde_json::to_value(&report).unwrap();
    assert_eq!(
        got,
        json!({
            "buckets": [{
                "bucket": GUARDED,
                "requests": 7,
                "excluded": 5,
                "via_approved_endpoint": 2,
                "public_route": 4,
                "other_endpoint": 1,
                "endpoint_policy_denied": 1,
                "findings": [
                    {"principal": "arn:aws:iam::111122223333:user/ci-deploy",
                     "source_ip": "203.0.113.10", "ipv6": false, "event_names": ["GetObject"],
                     "count": 2, "denied": 1,
                     "first_seen": "2026-12-07T07:12:30Z", "last_seen": "2026-12-07T07:40:02Z"},
                    {"principal": "arn:aws:iam::111122223333:role/analyst",
                     "source_ip": "2001:db8:4006:812::200e", "ipv6": true,
                     "event_names": ["GetObject"], "count": 1, "denied": 0,
                     "first_seen": "2026-12-07T07:20:00Z", "last_seen": "2026-12-07T07:20:00Z"},
                    {"principal": "arn:aws:iam::111122223333:role/analyst",
                     "source_ip": "172.31.7.9", "ipv6": false, "event_names": ["ListObjects"],
                     "count": 1, "denied": 0,
                     "first_seen": "2026-12-07T07:25:17Z", "last_seen": "2026-12-07T07:25:17Z"},
                    {"principal": "arn:aws:iam::111122223333:user/ci-deploy",
                     "source_ip": "203.0.113.10", "ipv6": false, "event_names": ["PutObject"],
                     "count": 1, "denied": 0,
                     "first_seen": "2026-12-07T08:05:59Z", "last_seen": "2026-12-07T08:05:59Z"}
                ]
            }],
            "endpoint_denials": [
                {"vpc_endpoint_id": APPROVED, "principal_account": "777788889999",
                 "bucket": GUARDED, "event_names": ["GetObject"], "count": 1,
                 "first_seen": "2026-12-07T07:35:10Z", "last_seen": "2026-12-07T07:35:10Z"},
                {"vpc_endpoint_id": APPROVED, "principal_account": "999900001111",
                 "bucket": null, "event_names": ["PutObject"], "count": 1,
                 "first_seen": "2026-12-07T07:36:10Z", "last_seen": "2026-12-07T07:36:10Z"}
            ]
        })
    );
    assert!(report.has_findings());
}

#[test]
fn without_a_bucket_list_every_named_bucket_is_judged() {
    let report = analyse(
        UsageOptions {
            buckets: BTreeSet::new(),
            ..opts()
        },
        &[LOG],
    );
    let names: Vec<&str> = report.buckets.iter().map(|b| b.bucket.as_str()).collect();
    assert_eq!(names, ["amzn-s3-demo-logs", GUARDED]);
    let logs = &report.buckets[0];
    assert_eq!(
        (logs.requests, logs.public_route, logs.findings.len()),
        (1, 1, 1)
    );
}

#[test]
fn each_exclusion_and_route_is_told_apart() {
    // Record by record: which records count where (1-based, as make_fixture.py numbers them).
    let all: serde_json::Value = serde_json::from_str(LOG).unwrap();
    let records = all["Records"].as_array().unwrap();
    let o = opts();
    let mut seen = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let text = r.to_string();
        let rec: record::Record<'_> = serde_json::from_str(&text).unwrap();
        let principal = principal_of(&rec);
        let class = match exclusion(&o, &rec, &principal) {
            Some(e) => format!("{e:?}"),
            None => format!("{:?}", route_of(&o, &rec)),
        };
        seen.push(format!("{}:{class}", i + 1));
    }
    assert_eq!(
        seen[..10],
        [
            "1:Approved",
            "2:Approved",
            "3:Public",
            "4:Public",
            "5:Public",
            "6:Public",
            "7:OtherEndpoint",
            "8:Console",
            "9:Service",
            "10:Exempt"
        ]
    );
    assert_eq!(seen[15], "16:Service");
    assert_eq!(seen[16], "17:Console");
}

#[test]
fn the_account_scope_approves_the_owners_endpoints_by_vpc_endpoint_account_id() {
    let report = analyse(
        UsageOptions {
            approved_vpces: BTreeSet::new(),
            approved_owners: set(&["111122223333", "444455556666"]),
            ..opts()
        },
        &[LOG],
    );
    let b = &report.buckets[0];
    assert_eq!(
        (b.via_approved_endpoint, b.other_endpoint, b.public_route),
        (3, 0, 4)
    );
    // Without the owner (a record before eventVersion 1.09 has no vpcEndpointAccountId), only
    // the id can approve: fail closed.
    let mut old: serde_json::Value = serde_json::from_str(LOG).unwrap();
    for r in old["Records"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("vpcEndpointAccountId");
    }
    let old = old.to_string();
    let report = analyse(
        UsageOptions {
            approved_vpces: BTreeSet::new(),
            approved_owners: set(&["111122223333"]),
            ..opts()
        },
        &[&old],
    );
    let b = &report.buckets[0];
    assert_eq!((b.via_approved_endpoint, b.other_endpoint), (0, 3));
}

#[test]
fn eventbridge_events_and_arrays_read_like_log_files() {
    let all: serde_json::Value = serde_json::from_str(LOG).unwrap();
    let records = all["Records"].as_array().unwrap();
    let events: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            json!({"version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail",
                   "source": "aws.s3", "account": "111122223333", "time": r["eventTime"],
                   "region": "us-east-1", "resources": [], "detail": r})
        })
        .collect();
    let as_array = serde_json::to_string(&events).unwrap();
    assert_eq!(analyse(opts(), &[&as_array]), analyse(opts(), &[LOG]));
    // One event per file, as the live path gets them.
    let singles: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let refs: Vec<&str> = singles.iter().map(String::as_str).collect();
    assert_eq!(analyse(opts(), &refs), analyse(opts(), &[LOG]));
}

#[test]
fn files_add_up_and_a_split_log_gives_the_same_report() {
    let all: serde_json::Value = serde_json::from_str(LOG).unwrap();
    let records = all["Records"].as_array().unwrap();
    let (a, b) = records.split_at(4);
    let a = json!({"Records": a}).to_string();
    let b = json!({"Records": b}).to_string();
    assert_eq!(analyse(opts(), &[&b, &a]), analyse(opts(), &[LOG]));
    let twice = analyse(opts(), &[LOG, LOG]);
    assert_eq!(twice.buckets[0].requests, 14);
    assert_eq!(twice.buckets[0].findings[0].count, 4);
    assert_eq!(twice.endpoint_denials[0].count, 2);
}

#[test]
fn a_file_that_is_not_cloudtrail_is_refused_and_changes_nothing() {
    let mut a = Analysis::new(opts());
    a.feed(LOG.as_bytes()).unwrap();
    let before = a.clone().report();
    let truncated = &LOG[..LOG.len() / 2];
    for bad in [
        "{}",
        "[1, 2]",
        "not json",
        "{\"Records\": 5}",
        "{\"Records\": [{\"eventName\": \"GetObject\"}]}",
        "{\"Version\": \"2012-10-17\", \"Statement\": []}",
        truncated,
    ] {
        let e = a.feed(bad.as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("not CloudTrail"), "{bad}: {e}");
    }
    assert_eq!(a.report(), before);
    // An empty log file is CloudTrail (a quiet hour).
    let mut a = Analysis::new(opts());
    assert_eq!(a.feed(b"{\"Records\": []}").unwrap(), 0);
    assert_eq!(a.report().buckets[0].requests, 0);
}

#[test]
fn odd_but_valid_shapes_are_read_leniently() {
    let rec = json!({"Records": [{
        "eventTime": "2026-12-07T09:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "eventCategory": "Data",
        "requestParameters": {"bucketName": ["not", "a", "string"]},
        "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::amzn-s3-demo-private/k"},
                      {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::amzn-s3-demo-private"}],
        "userIdentity": {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"},
        "sourceIPAddress": "198.51.100.1"
    }, {
        "eventTime": "2026-12-07T09:00:01Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "eventCategory": "Data",
        "requestParameters": null, "sourceIPAddress": "198.51.100.2"
    }]});
    let r = analyse(opts(), &[&rec.to_string()]);
    let b = &r.buckets[0];
    // The first names its bucket only in `resources`; the second names none and is skipped.
    assert_eq!((b.requests, b.public_route), (1, 1));
    assert_eq!(b.findings[0].principal, "anonymous");
}

#[test]
fn principals_are_named_as_aws_principal_arn_has_them() {
    let cases = [
        (
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/path/r"}}}),
            "arn:aws:iam::1:role/path/r",
        ),
        (
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s"}),
            "arn:aws:sts::1:assumed-role/r/s",
        ),
        (
            json!({"type": "IAMUser", "arn": "arn:aws:iam::1:user/u"}),
            "arn:aws:iam::1:user/u",
        ),
        (
            json!({"type": "AWSAccount", "accountId": "777788889999"}),
            "account:777788889999",
        ),
        (
            json!({"type": "AWSAccount", "accountId": "anonymous"}),
            "anonymous",
        ),
        (json!({"type": "Unknown"}), "Unknown"),
        (json!({}), "unknown"),
    ];
    for (identity, want) in cases {
        let text = json!({"eventTime": "t", "eventSource": "s", "eventName": "n",
                          "userIdentity": identity})
        .to_string();
        let rec: record::Record<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(principal_of(&rec), want, "{identity}");
    }
}

#[test]
fn a_listed_bucket_without_records_is_reported_with_no_traffic() {
    let r = analyse(
        UsageOptions {
            buckets: set(&[GUARDED, "amzn-s3-demo-quiet"]),
            ..opts()
        },
        &[LOG],
    );
    assert_eq!(r.buckets[1].bucket, "amzn-s3-demo-quiet");
    assert_eq!(r.buckets[1].requests, 0);
}
