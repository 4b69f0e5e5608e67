"""CloudTrail records as CloudTrail writes them for S3, for the route-usage tests and benchmark.

The shapes follow the CloudTrail user guide's record reference (eventVersion 1.10/1.11 data
events; network activity events, eventType AwsVpceEvent) and real S3 data events: about 1 KB
each, with the fields S3 fills in (additionalEventData, tlsDetails, resources, requestID …).
"""

import uuid
import zlib

ACCOUNT = "111122223333"
REGION = "us-east-1"
S3_SOURCE = "s3.amazonaws.com"


def identity_role(role, session, account=ACCOUNT, path="/"):
    role_arn = f"arn:aws:iam::{account}:role{path}{role}"
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEID{zlib.crc32(role.encode()) % 10**8:08d}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY" + f"{zlib.crc32(session.encode()) % 10**6:06d}",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROAEXAMPLEID{zlib.crc32(role.encode()) % 10**8:08d}",
                "arn": role_arn,
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-12-07T06:58:11Z", "mfaAuthenticated": "false"},
        },
    }


def identity_user(user, account=ACCOUNT):
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSERID0001",
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": user,
    }


def data_event(
    *,
    bucket,
    key,
    event_name,
    time,
    identity,
    source_ip,
    vpce=None,
    vpce_account=None,
    error=None,
    user_agent="[aws-sdk-java/2.25.60 Linux/6.1.109 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard]",
    event_id=None,
    request_id=None,
):
    """An S3 object-level data event (GetObject, PutObject, HeadObject, ListObjects …)."""
    read_only = event_name.startswith(("Get", "Head", "List"))
    request = {"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com"}
    if event_name.startswith("List"):
        request.update({"list-type": "2", "prefix": key.rsplit("/", 1)[0] + "/"})
        resources = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    else:
        request["key"] = key
        resources = [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ]
    r = {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": S3_SOURCE,
        "eventName": event_name,
        "awsRegion": REGION,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request,
        "responseElements": None,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0 if read_only else 18421,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": "Yx3bJ7cQ1mV0pZtq8d6Jg2m4T1kR5wE9uPq0sLz3H8nB7vC6xD5yF4aG2hK1jM0=",
            "bytesTransferredOut": 18421 if read_only else 0,
        },
        "requestID": request_id or uuid.uuid4().hex[:16].upper(),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": read_only,
        "resources": resources,
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{bucket}.s3.{REGION}.amazonaws.com",
        },
    }
    if error:
        r["errorCode"] = error
        r["errorMessage"] = "Access Denied" if error == "AccessDenied" else error
    if vpce:
        r["vpcEndpointId"] = vpce
        r["vpcEndpointAccountId"] = vpce_account or ACCOUNT
    return r


def network_denial(*, vpce, time, caller_account, event_name="GetObject", bucket=None):
    """A network activity event an endpoint policy refused (eventType AwsVpceEvent). A caller
    from outside the endpoint owner's account is redacted: an AWSAccount identity, and the
    bucket only when the record names it."""
    r = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AWSAccount",
            "principalId": "AKIAIOSFODNN7EXAMPLE",
            "accountId": caller_account,
        },
        "eventTime": time,
        "eventSource": S3_SOURCE,
        "eventName": event_name,
        "awsRegion": REGION,
        "sourceIPAddress": "10.0.12.44",
        "errorCode": "VpceAccessDenied",
        "errorMessage": "The request was denied due to a VPC endpoint policy",
        "requestID": uuid.uuid4().hex[:16].upper(),
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsVpceEvent",
        "recipientAccountId": ACCOUNT,
        "sharedEventID": str(uuid.uuid4()),
        "vpcEndpointId": vpce,
        "vpcEndpointAccountId": ACCOUNT,
        "eventCategory": "NetworkActivity",
    }
    if bucket:
        r["requestParameters"] = {"bucketName": bucket}
        r["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    return r
