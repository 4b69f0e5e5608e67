"""Writes tests/cloudtrail/route-usage.json: the records of the route-usage tests (one of each
case the analysis tells apart). Deterministic; run it again after changing a case:
    .venv/bin/python tests/cloudtrail/make_fixture.py
"""

import hashlib
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import cloudtrail_records as ct  # noqa: E402

GUARDED = "amzn-s3-demo-private"
OTHER_BUCKET = "amzn-s3-demo-logs"
APPROVED = "vpce-0a1b2c3d4e5f60001"  # a dualstack gateway endpoint of the account
FOREIGN = "vpce-0b2c3d4e5f6a70002"  # an endpoint of account 444455556666

_n = 0


def ids():
    global _n
    _n += 1
    return {"event_id": str(uuid.UUID(int=_n)), "request_id": f"REQ{_n:013d}"}


app = ct.identity_role("app-reader", "i-0abc1234def567890")
ci = ct.identity_user("ci-deploy")
analyst = ct.identity_role("analyst", "maria@example.com")
breakglass = ct.identity_role("break-glass", "oncall")
console_agent = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.227-239.884.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 vendor/Oracle_Corporation cfg/retry-mode/standard]"

records = [
    # 1, 2: through the approved endpoint, over IPv4 and over IPv6 (a dualstack endpoint).
    ct.data_event(bucket=GUARDED, key="reports/2026/12/q4.parquet", event_name="GetObject",
                  time="2026-12-07T07:01:05Z", identity=app, source_ip="10.0.1.25",
                  vpce=APPROVED, **ids()),
    ct.data_event(bucket=GUARDED, key="reports/2026/12/q4-summary.json", event_name="PutObject",
                  time="2026-12-07T07:02:44Z", identity=app,
                  source_ip="2600:1f18:2f3:c801:4b2e:91d3:7a10:5c21", vpce=APPROVED, **ids()),
    # 3, 4, 5: a CI user over the public route: two requests in hour 07 (one refused), one in 08.
    ct.data_event(bucket=GUARDED, key="builds/app-1.4.2.tar.gz", event_name="GetObject",
                  time="2026-12-07T07:12:30Z", identity=ci, source_ip="203.0.113.10", **ids()),
    ct.data_event(bucket=GUARDED, key="builds/app-1.4.3.tar.gz", event_name="GetObject",
                  time="2026-12-07T07:40:02Z", identity=ci, source_ip="203.0.113.10",
                  error="AccessDenied", **ids()),
    ct.data_event(bucket=GUARDED, key="builds/app-1.4.3.tar.gz", event_name="PutObject",
                  time="2026-12-07T08:05:59Z", identity=ci, source_ip="203.0.113.10", **ids()),
    # 6: a role over the public route on IPv6 (S3's dual-stack names, no endpoint).
    ct.data_event(bucket=GUARDED, key="exports/customers.csv", event_name="GetObject",
                  time="2026-12-07T07:20:00Z", identity=analyst,
                  source_ip="2001:db8:4006:812::200e", **ids()),
    # 7: through another account's endpoint.
    ct.data_event(bucket=GUARDED, key="exports/", event_name="ListObjects",
                  time="2026-12-07T07:25:17Z", identity=analyst, source_ip="172.31.7.9",
                  vpce=FOREIGN, vpce_account="444455556666", **ids()),
    # 8: the S3 console (its user agent), public address.
    ct.data_event(bucket=GUARDED, key="reports/", event_name="ListObjects",
                  time="2026-12-07T07:30:00Z", identity=analyst, source_ip="198.51.100.7",
                  user_agent=console_agent, **ids()),
    # 9: Athena reading for a user (invokedBy and a service source address).
    dict(ct.data_event(bucket=GUARDED, key="reports/2026/12/q4.parquet", event_name="GetObject",
                       time="2026-12-07T07:31:00Z",
                       identity=dict(analyst, invokedBy="athena.amazonaws.com"),
                       source_ip="athena.amazonaws.com", user_agent="athena.amazonaws.com",
                       **ids())),
    # 10: a configured exempt principal over the public route.
    ct.data_event(bucket=GUARDED, key="state/lock", event_name="PutObject",
                  time="2026-12-07T07:33:00Z", identity=breakglass, source_ip="192.0.2.44",
                  **ids()),
    # 11: an endpoint policy refused a principal of another account (named bucket).
    dict(ct.network_denial(vpce=APPROVED, time="2026-12-07T07:35:10Z",
                           caller_account="777788889999", bucket=GUARDED),
         eventID=str(uuid.UUID(int=101)), requestID="NET0000000101", sharedEventID=str(uuid.UUID(int=201))),
    # 12: the same endpoint, another outside account, the bucket redacted.
    dict(ct.network_denial(vpce=APPROVED, time="2026-12-07T07:36:10Z",
                           caller_account="999900001111", event_name="PutObject"),
         eventID=str(uuid.UUID(int=102)), requestID="NET0000000102", sharedEventID=str(uuid.UUID(int=202))),
    # 13: a network activity event the endpoint let through: the data event already shows it.
    dict(ct.network_denial(vpce=APPROVED, time="2026-12-07T07:01:05Z",
                           caller_account=ct.ACCOUNT, bucket=GUARDED),
         eventID=str(uuid.UUID(int=103)), requestID="NET0000000103", sharedEventID=str(uuid.UUID(int=203)),
         errorCode=None, errorMessage=None),
    # 14: a bucket that is not guarded (only counted when every bucket is).
    ct.data_event(bucket=OTHER_BUCKET, key="AWSLogs/111122223333/elb.log.gz", event_name="GetObject",
                  time="2026-12-07T07:40:00Z", identity=ci, source_ip="203.0.113.10", **ids()),
    # 15: a management event on the guarded bucket (not a data request).
    dict(ct.data_event(bucket=GUARDED, key="x", event_name="PutBucketPolicy",
                       time="2026-12-07T07:41:00Z", identity=ci, source_ip="203.0.113.10", **ids()),
         eventCategory="Management", managementEvent=True, resources=None),
    # 16: an AWS service principal (S3 server access log delivery style).
    ct.data_event(bucket=GUARDED, key="logs/2026-12-07-07-42-00-ABCDEF", event_name="PutObject",
                  time="2026-12-07T07:42:00Z",
                  identity={"type": "AWSService", "invokedBy": "logging.s3.amazonaws.com"},
                  source_ip="logging.s3.amazonaws.com", user_agent="logging.s3.amazonaws.com",
                  **ids()),
    # 17: an AWS-owned endpoint id ("AWS Internal"): the console's network.
    ct.data_event(bucket=GUARDED, key="reports/q3.pdf", event_name="GetObject",
                  time="2026-12-07T07:43:00Z", identity=analyst, source_ip="198.51.100.7",
                  vpce="AWS Internal", vpce_account="AWS Internal",
                  user_agent="Mozilla/5.0 (X11; Linux x86_64)", **ids()),
]
for r in records:
    for k in [k for k, v in r.items() if v is None and k in ("errorCode", "errorMessage", "resources")]:
        del r[k]

out = os.path.join(os.path.dirname(__file__), "route-usage.json")
with open(out, "w") as f:
    json.dump({"Records": records}, f, indent=1)
    f.write("\n")
print(f"wrote {out}: {len(records)} records")

# events/route-usage-sqs-batch.json: some of these records as the route-usage function gets
# them (EventBridge's envelope, in an SQS batch): approved over IPv4 and IPv6, the public route
# (succeeded and refused), another endpoint, the console, a network activity denial.
SAMPLE = [0, 1, 2, 3, 5, 6, 7, 10]
sqs = []
for n, i in enumerate(SAMPLE):
    r = records[i]
    network = r.get("eventCategory") == "NetworkActivity"
    envelope = {
        "version": "0",
        "id": str(uuid.UUID(int=0x5000 + n)),
        "detail-type": "AWS Network Activity Event via CloudTrail" if network
        else "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "account": "111122223333",
        "time": r["eventTime"],
        "region": "us-east-1",
        "resources": [],
        "detail": r,
    }
    sqs.append({
        "messageId": str(uuid.UUID(int=0x6000 + n)),
        "receiptHandle": f"AQEB{n:04d}routeusage",
        "body": json.dumps(envelope, separators=(",", ":")),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1796626800000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1796626800100"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(json.dumps(envelope, separators=(",", ":")).encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:vpce-guard-route-usage",
        "awsRegion": "us-east-1",
    })
out = os.path.join(os.path.dirname(__file__), "..", "..", "events", "route-usage-sqs-batch.json")
with open(out, "w") as f:
    json.dump({"Records": sqs}, f, indent=1)
    f.write("\n")
print(f"wrote {out}: {len(sqs)} messages")
