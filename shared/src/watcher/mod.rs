//! The change watcher: CloudTrail "AWS API Call via CloudTrail" events, delivered by
//! EventBridge within seconds of the call, turned into the resources they may have changed.
//!
//! Real CloudTrail records leave out whatever a call did not have (`userIdentity.arn` for some
//! identity types, `requestParameters` and `responseElements` for many calls), and EC2 writes its
//! request parameters in shapes derived from its XML API: a request wrapper such as
//! `DeleteVpcEndpointsRequest`, lists as `{"item": [...]}` or as repeated `{"tag": n,
//! "content": "…"}` values. [`CloudTrailDetail`] therefore reads every field leniently (a missing
//! or wrongly typed field is `None`, never a failed event) and [`classify`] digs values out of
//! any of those shapes.

pub mod change_watcher;
pub mod route_usage;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `detail-type` of the events the watcher takes.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The watcher's input: EventBridge's envelope around a CloudTrail record.
pub type WatcherEvent = aws_lambda_events::event::eventbridge::EventBridgeEvent<CloudTrailDetail>;

/// Who made the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct UserIdentity {
    /// `AssumedRole`, `IAMUser`, `Root`, `AWSService`, `AWSAccount`, …
    pub(crate) kind: Option<String>,
    pub(crate) arn: Option<String>,
    pub(crate) principal_id: Option<String>,
    pub(crate) account_id: Option<String>,
    /// The AWS service that made the call for the principal (`cloudformation.amazonaws.com`).
    pub(crate) invoked_by: Option<String>,
    /// The role behind an assumed-role session.
    pub(crate) session_issuer_arn: Option<String>,
}

/// A CloudTrail record, every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "Value")]
pub struct CloudTrailDetail {
    pub(crate) event_name: Option<String>,
    pub(crate) event_source: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) event_time: Option<String>,
    pub(crate) aws_region: Option<String>,
    pub(crate) error_code: Option<String>,
    pub(crate) source_ip_address: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) recipient_account_id: Option<String>,
    pub(crate) user_identity: UserIdentity,
    pub(crate) request_parameters: Option<Value>,
    pub(crate) response_elements: Option<Value>,
}

impl Serialize for CloudTrailDetail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        };
        put("eventName", &self.event_name);
        put("eventSource", &self.event_source);
        put("eventID", &self.event_id);
        put("eventTime", &self.event_time);
        put("awsRegion", &self.aws_region);
        put("errorCode", &self.error_code);
        put("sourceIPAddress", &self.source_ip_address);
        put("userAgent", &self.user_agent);
        put("recipientAccountId", &self.recipient_account_id);
        let u = &self.user_identity;
        let mut ui = serde_json::Map::new();
        for (k, v) in [
            ("type", &u.kind),
            ("arn", &u.arn),
            ("principalId", &u.principal_id),
            ("accountId", &u.account_id),
            ("invokedBy", &u.invoked_by),
        ] {
            if let Some(v) = v {
                ui.insert(k.into(), Value::String(v.clone()));
            }
        }
        if let Some(issuer) = &u.session_issuer_arn {
            ui.insert(
                "sessionContext".into(),
                serde_json::json!({"sessionIssuer": {"arn": issuer}}),
            );
        }
        m.insert("userIdentity".into(), Value::Object(ui));
        if let Some(r) = &self.request_parameters {
            m.insert("requestParameters".into(), r.clone());
        }
        if let Some(r) = &self.response_elements {
            m.insert("responseElements".into(), r.clone());
        }
        Value::Object(m).serialize(s)
    }
}

/// A string field; anything else (absent, null, a number, an object) is `None`.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An object or array field; `null` and scalars are `None`.
fn structure(v: &Value, key: &str) -> Option<Value> {
    v.get(key)
        .filter(|x| x.is_object() || x.is_array())
        .cloned()
}

impl From<Value> for CloudTrailDetail {
    fn from(v: Value) -> Self {
        let ui = v.get("userIdentity").cloned().unwrap_or(Value::Null);
        CloudTrailDetail {
            event_name: text(&v, "eventName"),
            event_source: text(&v, "eventSource"),
            event_id: text(&v, "eventID"),
            event_time: text(&v, "eventTime"),
            aws_region: text(&v, "awsRegion"),
            error_code: text(&v, "errorCode"),
            source_ip_address: text(&v, "sourceIPAddress"),
            user_agent: text(&v, "userAgent"),
            recipient_account_id: text(&v, "recipientAccountId"),
            user_identity: UserIdentity {
                kind: text(&ui, "type"),
                arn: text(&ui, "arn"),
                principal_id: text(&ui, "principalId"),
                account_id: text(&ui, "accountId"),
                invoked_by: text(&ui, "invokedBy"),
                session_issuer_arn: ui
                    .get("sessionContext")
                    .and_then(|c| c.get("sessionIssuer"))
                    .and_then(|i| text(i, "arn")),
            },
            request_parameters: structure(&v, "requestParameters"),
            response_elements: structure(&v, "responseElements"),
        }
    }
}

impl CloudTrailDetail {
    /// Who made the change, as precisely as the record says: the caller's ARN, else the role
    /// behind the session, else the account or service that acted.
    pub(crate) fn actor(&self) -> Option<String> {
        let u = &self.user_identity;
        u.arn
            .clone()
            .or_else(|| u.session_issuer_arn.clone())
            .or_else(|| match (&u.kind, &u.account_id, &u.principal_id) {
                (Some(k), Some(a), _) if k == "AWSAccount" => Some(format!("account {a}")),
                (Some(k), _, Some(p)) if k == "AWSService" => Some(p.clone()),
                (_, _, Some(p)) => Some(p.clone()),
                _ => None,
            })
    }
}

/// What a call may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One bucket.
    Bucket(String),
    /// Every bucket of the region (the account's Block Public Access).
    AllBuckets,
    /// One VPC's network.
    Vpc(String),
    /// The VPC of a route table.
    RouteTable(String),
    /// The VPC of the route table holding an association.
    RouteTableAssociation(String),
    /// The VPC of a security group.
    SecurityGroup(String),
    /// VPC endpoints (their VPC and the buckets that depend on them); the VPC when the record
    /// names it.
    Endpoints {
        ids: Vec<String>,
        vpc: Option<String>,
    },
}

/// What the watcher does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Classified {
    Handle(Target),
    /// Not a call the watcher handles, or one that changed nothing (logged at debug).
    Ignore(String),
    /// A handled call whose record lacks what names the resource (logged as a warning: the
    /// Config rules still catch the change when Config records it).
    Unusable(String),
}

/// What a call the watcher handles may have changed, and so how its record names it.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affects {
    /// One bucket's policy, Block Public Access, ownership or ACL (`bucketName`).
    Bucket,
    /// The account's Block Public Access: every bucket.
    AllBuckets,
    /// A new VPC endpoint (the response's endpoint id, the request's VPC).
    CreatedEndpoint,
    /// Existing endpoints (`VpcEndpointId`).
    Endpoints,
    /// A route table (`routeTableId`).
    RouteTable,
    /// A route table, or failing that its association (`routeTableId`, `associationId`).
    RouteTableOrAssociation,
    /// A route table association (`associationId`).
    Association,
    /// A VPC's attributes: DNS (`vpcId`).
    VpcAttribute,
    /// A security group's egress (`groupId`).
    SecurityGroupEgress,
}

/// A CloudTrail call the watcher handles.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WatchedCall {
    /// CloudTrail's `eventSource`.
    pub source: &'static str,
    /// CloudTrail's `eventName`.
    pub name: &'static str,
    pub(crate) affects: Affects,
}

const S3: &str = "s3.amazonaws.com";
const EC2: &str = "ec2.amazonaws.com";

const fn call(source: &'static str, name: &'static str, affects: Affects) -> WatchedCall {
    WatchedCall {
        source,
        name,
        affects,
    }
}

/// Every call the watcher handles: the one table [`classify`] dispatches from, and the one
/// the template's `ChangeWatcherRule` pattern is tested against
/// (`shared/tests/watched_calls.rs`). Adding a call: a row here (with a new [`Affects`] and
/// its arm in `classify` if it names its resource another way), the name in the template's
/// pattern, and a sample in `events/`.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const WATCHED_CALLS: [WatchedCall; 23] = [
    call(S3, "CreateBucket", Affects::Bucket),
    call(S3, "PutBucketPolicy", Affects::Bucket),
    call(S3, "DeleteBucketPolicy", Affects::Bucket),
    call(S3, "PutBucketPublicAccessBlock", Affects::Bucket),
    call(S3, "DeleteBucketPublicAccessBlock", Affects::Bucket),
    call(S3, "PutBucketOwnershipControls", Affects::Bucket),
    call(S3, "DeleteBucketOwnershipControls", Affects::Bucket),
    call(S3, "PutBucketAcl", Affects::Bucket),
    call(S3, "PutAccountPublicAccessBlock", Affects::AllBuckets),
    call(S3, "DeleteAccountPublicAccessBlock", Affects::AllBuckets),
    call(EC2, "CreateVpcEndpoint", Affects::CreatedEndpoint),
    call(EC2, "ModifyVpcEndpoint", Affects::Endpoints),
    call(EC2, "DeleteVpcEndpoints", Affects::Endpoints),
    call(EC2, "CreateRoute", Affects::RouteTable),
    call(EC2, "ReplaceRoute", Affects::RouteTable),
    call(EC2, "DeleteRoute", Affects::RouteTable),
    call(EC2, "AssociateRouteTable", Affects::RouteTable),
    call(EC2, "DisassociateRouteTable", Affects::Association),
    call(
        EC2,
        "ReplaceRouteTableAssociation",
        Affects::RouteTableOrAssociation,
    ),
    call(EC2, "ModifyVpcAttribute", Affects::VpcAttribute),
    call(
        EC2,
        "AuthorizeSecurityGroupEgress",
        Affects::SecurityGroupEgress,
    ),
    call(
        EC2,
        "RevokeSecurityGroupEgress",
        Affects::SecurityGroupEgress,
    ),
    call(
        EC2,
        "ModifySecurityGroupRules",
        Affects::SecurityGroupEgress,
    ),
];

/// The table's row for a call, if the watcher handles it.
pub(crate) fn watched(source: &str, name: &str) -> Option<&'static WatchedCall> {
    WATCHED_CALLS
        .iter()
        .find(|c| c.source == source && c.name == name)
}

/// A field by name, case-insensitively (CloudTrail spells EC2's keys both ways), looked up
/// directly and inside the call's request wrapper (`<EventName>Request`).
fn field<'a>(params: &'a Value, event_name: &str, key: &str) -> Option<&'a Value> {
    let get = |v: &'a Value| -> Option<&'a Value> {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    get(params).or_else(|| {
        let wrapper = format!("{event_name}Request");
        params
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&wrapper))
            .and_then(|(_, w)| get(w))
    })
}

/// Every string in a value of any of CloudTrail's shapes: a string, a list, `{"item": [...]}`,
/// `{"items": [...]}`, `{"tag": n, "content": "…"}`, nested.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_strings(v, &mut out, 0);
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>, depth: usize) {
    // CloudTrail nests these a few levels at most; a deeper value is not one of its shapes.
    if depth > 8 {
        return;
    }
    match v {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out, depth + 1)),
        Value::Object(m) => {
            for key in ["content", "item", "items"] {
                if let Some(x) = m.get(key) {
                    collect_strings(x, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The first string of a field, in any shape.
fn one(params: &Value, event_name: &str, key: &str) -> Option<String> {
    field(params, event_name, key).and_then(|v| strings(v).into_iter().next())
}

/// A name S3 could have given a bucket: 3 to 63 characters today, up to 255 for the legacy
/// names of us-east-1 (upper case and underscores allowed there), of letters, digits, dots,
/// hyphens and underscores. Anything else is not read from S3 at all.
fn could_be_bucket_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Which resources a CloudTrail record may have changed.
pub(crate) fn classify(d: &CloudTrailDetail) -> Classified {
    let Some(name) = d.event_name.as_deref() else {
        return Classified::Ignore("the record has no eventName".into());
    };
    if let Some(code) = &d.error_code {
        return Classified::Ignore(format!("{name} failed ({code}): nothing changed"));
    }
    let source = d.event_source.as_deref().unwrap_or_default();
    let empty = Value::Null;
    let params = d.request_parameters.as_ref().unwrap_or(&empty);
    let need = |what: &str| Classified::Unusable(format!("{name}: the record names no {what}"));
    let Some(watched) = watched(source, name) else {
        return Classified::Ignore(format!("{source} {name} is not a call the watcher handles"));
    };
    let get = |key: &str| one(params, name, key);
    match watched.affects {
        Affects::Bucket => match get("bucketName") {
            Some(b) if could_be_bucket_name(&b) => Classified::Handle(Target::Bucket(b)),
            Some(b) => Classified::Unusable(format!(
                "{name}: requestParameters.bucketName is not a bucket name ({})",
                crate::rules::truncate(&b, 80)
            )),
            None => need("bucket (requestParameters.bucketName)"),
        },
        Affects::AllBuckets => Classified::Handle(Target::AllBuckets),
        Affects::CreatedEndpoint => created_endpoint(d, params),
        Affects::Endpoints => {
            let ids: Vec<String> = field(params, name, "VpcEndpointId")
                .or_else(|| field(params, name, "VpcEndpointIds"))
                .map(strings)
                .unwrap_or_default();
            if ids.is_empty() {
                need("endpoint (VpcEndpointId)")
            } else {
                Classified::Handle(Target::Endpoints { ids, vpc: None })
            }
        }
        Affects::RouteTable => match get("routeTableId") {
            Some(t) => Classified::Handle(Target::RouteTable(t)),
            None => need("route table (routeTableId)"),
        },
        Affects::RouteTableOrAssociation => match (get("routeTableId"), get("associationId")) {
            (Some(t), _) => Classified::Handle(Target::RouteTable(t)),
            (None, Some(a)) => Classified::Handle(Target::RouteTableAssociation(a)),
            (None, None) => need("route table or association"),
        },
        Affects::Association => match get("associationId") {
            Some(a) => Classified::Handle(Target::RouteTableAssociation(a)),
            None => need("association (associationId)"),
        },
        Affects::VpcAttribute => match get("vpcId") {
            Some(v) => Classified::Handle(Target::Vpc(v)),
            None => need("VPC (vpcId)"),
        },
        Affects::SecurityGroupEgress => match get("groupId") {
            Some(g) => Classified::Handle(Target::SecurityGroup(g)),
            None => need("security group (groupId)"),
        },
    }
}

/// `CreateVpcEndpoint`: S3 endpoints only; the new endpoint's id from the response, its VPC
/// from the request or the response.
fn created_endpoint(d: &CloudTrailDetail, params: &Value) -> Classified {
    const NAME: &str = "CreateVpcEndpoint";
    if let Some(service) = one(params, NAME, "ServiceName") {
        if !service.ends_with(".s3") {
            return Classified::Ignore(format!("{NAME} for {service}: not an S3 endpoint"));
        }
    }
    let empty = Value::Null;
    let resp = d.response_elements.as_ref().unwrap_or(&empty);
    let created = field(resp, NAME, "CreateVpcEndpointResponse")
        .and_then(|r| field(r, "", "vpcEndpoint"))
        .or_else(|| field(resp, "", "vpcEndpoint"));
    let ids: Vec<String> = created
        .and_then(|e| field(e, "", "vpcEndpointId"))
        .map(strings)
        .unwrap_or_default();
    let vpc = one(params, NAME, "VpcId").or_else(|| {
        created
            .and_then(|e| field(e, "", "vpcId"))
            .and_then(|v| strings(v).into_iter().next())
    });
    match (ids.is_empty(), vpc) {
        (true, None) => {
            Classified::Unusable(format!("{NAME}: the record names no VPC or endpoint"))
        }
        (_, vpc) => Classified::Handle(Target::Endpoints { ids, vpc }),
    }
}
