//! The network rules (`AWS::EC2::VPC`): does the VPC really send S3 traffic through a locked-down
//! S3 gateway endpoint?

use crate::facts::{EgressRule, Endpoint, NetworkFacts, Vpc};
use crate::policy::context::Caller;
use crate::policy::keys;
use crate::policy::space::{Question, Scope, Space, TooComplex};
use crate::policy::PolicyDocument;

use super::{apply_disabled, Evaluation, Finding, RuleId, Status};

/// The policy AWS attaches to an endpoint created without one: full access.
pub(crate) const DEFAULT_ENDPOINT_POLICY: &str =
    r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Principal":"*"}]}"#;

/// Evaluate one VPC of a region.
/// Rules in `disabled` (`DisabledRules`; bucket rule ids are ignored here) are
/// `NOT_APPLICABLE` and not evaluated.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn evaluate_vpc(
    vpc: &Vpc,
    net: &NetworkFacts,
    account_id: Option<&str>,
    disabled: &[RuleId],
    now: f64,
) -> Evaluation {
    Evaluation::new(
        vpc.id.clone(),
        apply_disabled(vpc_findings(vpc, net, account_id, disabled, now), disabled),
    )
}

/// The five network findings, in catalog order.
pub(crate) fn vpc_findings(
    vpc: &Vpc,
    net: &NetworkFacts,
    account_id: Option<&str>,
    disabled: &[RuleId],
    now: f64,
) -> Vec<Finding> {
    let gateways: Vec<&Endpoint> = net.s3_gateways().filter(|e| e.vpc_id == vpc.id).collect();
    let dns = dns_finding(vpc, net.dns_unknown.as_deref());
    if gateways.is_empty() {
        let other: Vec<String> = net
            .endpoints
            .iter()
            .filter(|e| e.vpc_id == vpc.id && e.service_name.ends_with(".s3"))
            .map(|e| {
                format!(
                    "{} ({} {}, {})",
                    e.id, e.endpoint_type, e.service_name, e.state
                )
            })
            .collect();
        let reason = if other.is_empty() {
            format!(
                "no S3 gateway endpoint (com.amazonaws.{}.s3) in {}",
                net.region, vpc.id
            )
        } else {
            format!(
                "no available S3 gateway endpoint for com.amazonaws.{}.s3 in {} (found: {})",
                net.region,
                vpc.id,
                other.join(", ")
            )
        };
        let na = |r| {
            Finding::new(
                r,
                Status::NotApplicable,
                "no available S3 gateway endpoint in the VPC",
            )
        };
        return vec![
            Finding::new(RuleId::NetS3Gateway, Status::Fail, reason),
            na(RuleId::NetEndpointPolicy),
            na(RuleId::NetRoutes),
            dns,
            na(RuleId::NetSgEgress),
        ];
    }
    let ids: Vec<&str> = gateways.iter().map(|e| e.id.as_str()).collect();
    vec![
        Finding::new(
            RuleId::NetS3Gateway,
            Status::Pass,
            format!("available S3 gateway endpoint {}", ids.join(", ")),
        ),
        if disabled.contains(&RuleId::NetEndpointPolicy) {
            Finding::disabled(RuleId::NetEndpointPolicy)
        } else {
            endpoint_policy_finding(&gateways, account_id, now)
        },
        routes_finding(vpc, net, &gateways),
        dns,
        sg_egress_finding(vpc, net),
    ]
}

/// `NET-DNS`. Attributes the source cannot tell (`unknown`: why) are not evaluated, and the
/// VPC fails closed.
fn dns_finding(vpc: &Vpc, unknown: Option<&str>) -> Finding {
    if let (None, None, Some(why)) = (vpc.dns_support, vpc.dns_hostnames, unknown) {
        return Finding::new(
            RuleId::NetDns,
            Status::Fail,
            format!(
                "not evaluated: the DNS attributes of {} are unknown ({why}; read the account's EC2 to judge them)",
                vpc.id
            ),
        );
    }
    let mut off = Vec::new();
    if vpc.dns_support != Some(true) {
        off.push("enableDnsSupport");
    }
    if vpc.dns_hostnames != Some(true) {
        off.push("enableDnsHostnames");
    }
    if off.is_empty() {
        Finding::new(
            RuleId::NetDns,
            Status::Pass,
            "DNS support and DNS hostnames are on",
        )
    } else {
        Finding::new(
            RuleId::NetDns,
            Status::Fail,
            format!("{} is off (or unknown) in {}", off.join(" and "), vpc.id),
        )
    }
}

/// `NET-ENDPOINT-POLICY` for one endpoint alone (the network section of a sweep).
pub(crate) fn endpoint_policy_verdict(e: &Endpoint, account_id: Option<&str>, now: f64) -> Finding {
    endpoint_policy_finding(&[e], account_id, now)
}

/// `NET-ENDPOINT-POLICY`, by the policy engine: can a principal outside the account (or the
/// organization, when the policy names one) be allowed through the endpoint? Can the
/// account's principals reach other accounts' buckets?
fn endpoint_policy_finding(gateways: &[&Endpoint], account_id: Option<&str>, now: f64) -> Finding {
    let rule = RuleId::NetEndpointPolicy;
    let mut warns = Vec::new();
    for e in gateways {
        let text = e.policy.as_deref().unwrap_or(DEFAULT_ENDPOINT_POLICY);
        let doc = match PolicyDocument::parse(text) {
            Ok(d) => d,
            Err(err) => {
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!("{}: the endpoint policy cannot be parsed: {err}", e.id),
                )
            }
        };
        match foreign_principal_allowed(&doc, &e.id, account_id, now) {
            Err(why) => {
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!("{}: cannot evaluate the endpoint policy: {why}", e.id),
                )
            }
            Ok(Some(example)) => {
                let default = e.policy.is_none() || is_allow_all(&doc, &e.id);
                return Finding::new(
                    rule,
                    Status::Fail,
                    format!(
                        "{}: {}a principal outside the account is allowed through the endpoint, e.g. {example}",
                        e.id,
                        if default { "the default allow-all policy: " } else { "" }
                    ),
                );
            }
            Ok(None) => {}
        }
        match foreign_bucket_allowed(&doc, &e.id, account_id, now) {
            Err(why) => return Finding::new(rule, Status::Fail, format!("{}: cannot evaluate the endpoint policy: {why}", e.id)),
            Ok(Some(example)) => warns.push(format!(
                "{}: does not limit resources to the account's buckets (aws:ResourceAccount, aws:ResourceOrgID or bucket ARNs), e.g. {example}",
                e.id
            )),
            Ok(None) => {}
        }
    }
    if warns.is_empty() {
        Finding::new(
            rule,
            Status::Pass,
            "the endpoint policy admits only the account's principals and buckets",
        )
    } else {
        Finding::new(rule, Status::Warn, warns.join("; "))
    }
}

/// Does the policy act like AWS's default (allow everything to everyone)? Judged by the IAM
/// evaluator, not by spelling: an anonymous caller and a role session of a stranger's account,
/// each reading, writing, deleting and reconfiguring another account's bucket through the
/// endpoint, with no other condition key set, are all allowed and none is denied.
fn is_allow_all(doc: &PolicyDocument, endpoint: &str) -> bool {
    use crate::policy::compiled::CompiledPolicy;
    use crate::policy::{Caller, Principal, RequestContext, Signature};
    let stranger = STRANGER_ACCOUNT;
    let policy = CompiledPolicy::new(doc);
    let callers = [
        Caller::Anonymous,
        Caller::RoleSession {
            account: stranger.into(),
            role_arn: format!("arn:aws:iam::{stranger}:role/vpce-guard-stranger"),
            session_arn: format!("arn:aws:sts::{stranger}:assumed-role/vpce-guard-stranger/s"),
        },
    ];
    let requests = [
        (
            "s3:GetObject",
            "arn:aws:s3:::vpce-guard-stranger-bucket/key",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::vpce-guard-stranger-bucket/key",
        ),
        ("s3:DeleteBucket", "arn:aws:s3:::vpce-guard-stranger-bucket"),
        (
            "s3:PutBucketPolicy",
            "arn:aws:s3:::vpce-guard-stranger-bucket",
        ),
    ];
    callers.iter().all(|caller| {
        requests.iter().all(|(action, resource)| {
            let ctx = RequestContext {
                action: (*action).into(),
                resource: (*resource).into(),
                principal: Principal {
                    caller: caller.clone(),
                    signature: Signature::SigV4,
                    via_service: false,
                },
                keys: vec![
                    (keys::SOURCE_VPCE.into(), vec![endpoint.to_string()]),
                    (keys::RESOURCE_ACCOUNT.into(), vec![stranger.into()]),
                ],
            };
            let d = policy.evaluate(&ctx, crate::rules::params::Partition::Aws);
            !d.allowed_by.is_empty() && d.denied_by.is_empty() && d.undecided.is_empty()
        })
    })
}

/// An account that is neither the endpoint owner's nor the organization's: the stranger the
/// endpoint-policy questions ask about.
const STRANGER_ACCOUNT: &str = "999999999999";

/// Every value the policy's conditions compare `key` (lower-case) with.
fn condition_values(doc: &PolicyDocument, key: &str) -> Vec<String> {
    doc.statements
        .iter()
        .flat_map(|s| s.conditions.iter())
        .filter(|c| c.key.eq_ignore_ascii_case(key))
        .flat_map(|c| c.values.iter().cloned())
        .collect()
}

fn endpoint_scope(endpoint: &str, account_id: Option<&str>, bucket: &str, now: f64) -> Scope {
    Scope {
        approved_vpce: vec![endpoint.to_string()],
        ..Scope::new(bucket, account_id.map(str::to_string), now)
    }
}

/// A request through `endpoint` by a principal outside the account that the policy allows.
/// The question is asked for each bucket the policy names (a deny scoped to the account's bucket
/// ARNs protects those), or for any bucket of the account when it names none.
fn foreign_principal_allowed(
    doc: &PolicyDocument,
    endpoint: &str,
    account_id: Option<&str>,
    now: f64,
) -> Result<Option<String>, TooComplex> {
    let mut buckets: Vec<String> = Vec::new();
    for st in &doc.statements {
        if st.resource.negated {
            continue;
        }
        for r in &st.resource.values {
            // `arn:<partition>:s3:::<bucket>[/key]`, in any partition.
            let rest = crate::policy::glob::arn_parts(r)
                .filter(|p| p[2] == "s3" && p[3].is_empty() && p[4].is_empty())
                .map(|p| p[5]);
            if let Some(rest) = rest {
                let name = rest.split('/').next().unwrap_or(rest);
                if !name.is_empty()
                    && !crate::policy::glob::is_pattern(name)
                    && !buckets.iter().any(|b| b == name)
                {
                    buckets.push(name.to_string());
                }
            }
        }
    }
    if buckets.is_empty() {
        buckets.push("vpce-guard-account-bucket".into());
    }
    for b in &buckets {
        if let Some(example) = foreign_principal_allowed_on(doc, endpoint, account_id, b, now)? {
            return Ok(Some(example));
        }
    }
    Ok(None)
}

fn foreign_principal_allowed_on(
    doc: &PolicyDocument,
    endpoint: &str,
    account_id: Option<&str>,
    bucket: &str,
    now: f64,
) -> Result<Option<String>, TooComplex> {
    let scope = endpoint_scope(endpoint, account_id, bucket, now);
    let space = Space::with_all_statements(doc, &scope)?;
    let names_org = doc.statements.iter().any(|s| {
        s.conditions.iter().any(|c| {
            c.key.eq_ignore_ascii_case(keys::PRINCIPAL_ORG_ID)
                || c.key.eq_ignore_ascii_case(keys::RESOURCE_ORG_ID)
        })
    });
    let org_constants = condition_values(doc, keys::PRINCIPAL_ORG_ID);
    let own = space.account().to_string();
    let q = Question::all()
        .origins(|o| o.endpoint == Some(endpoint))
        .principals(|p| {
            let outside_account = match p.caller() {
                Caller::Service { .. } => false,
                c => c.account() != Some(own.as_str()),
            };
            if !outside_account {
                return false;
            }
            if names_org {
                // Outside the organization too: no organization id the policy names.
                let org = p.attr(keys::PRINCIPAL_ORG_ID).and_then(|x| x.first());
                return !org.is_some_and(|o| org_constants.contains(o));
            }
            true
        });
    Ok(space.find_allowed(&q).map(|w| w.describe()))
}

/// A request through `endpoint` by the account's own principal to another account's bucket
/// that the policy allows.
fn foreign_bucket_allowed(
    doc: &PolicyDocument,
    endpoint: &str,
    account_id: Option<&str>,
    now: f64,
) -> Result<Option<String>, TooComplex> {
    let mut scope = endpoint_scope(endpoint, account_id, "vpce-guard-foreign-bucket", now);
    scope.resource_account = Some(STRANGER_ACCOUNT.into());
    let space = Space::with_all_statements(doc, &scope)?;
    let own = space.account().to_string();
    // A policy that limits resources to the organization's buckets (aws:ResourceOrgID) is
    // asked about a bucket outside it: no organization id the policy names.
    let org_constants = condition_values(doc, keys::RESOURCE_ORG_ID);
    let q = Question::all()
        .origins(|o| o.endpoint == Some(endpoint))
        .principals(|p| p.caller().account() == Some(own.as_str()))
        .free_key(keys::RESOURCE_ORG_ID, |org| {
            !org.is_some_and(|o| org_constants.iter().any(|c| c == o))
        });
    Ok(space.find_allowed(&q).map(|w| w.describe()))
}

/// `NET-ROUTES`: every route table the VPC's subnets use has the endpoint's prefix-list route.
fn routes_finding(vpc: &Vpc, net: &NetworkFacts, gateways: &[&Endpoint]) -> Finding {
    let rule = RuleId::NetRoutes;
    let tables: Vec<_> = net
        .route_tables
        .iter()
        .filter(|t| t.vpc_id == vpc.id)
        .collect();
    let main = tables.iter().find(|t| t.main);
    let subnets: Vec<_> = net.subnets.iter().filter(|s| s.vpc_id == vpc.id).collect();
    if subnets.is_empty() {
        return Finding::new(rule, Status::Pass, format!("{} has no subnets", vpc.id));
    }
    let has_endpoint_route = |t: &crate::facts::RouteTable| {
        gateways.iter().any(|e| e.route_table_ids.contains(&t.id))
            || t.routes.iter().any(|r| {
                r.gateway_id
                    .as_deref()
                    .is_some_and(|g| gateways.iter().any(|e| e.id == g))
                    && (r.destination_prefix_list.is_some() || net.s3_prefix_list.is_none())
            })
    };
    let mut missing: Vec<String> = Vec::new();
    let mut public: Vec<String> = Vec::new();
    let mut dual_stack: Vec<String> = Vec::new();
    // Clients on S3's dual-stack names reach S3 over IPv6 through the endpoint only when it
    // carries IPv6 (`dualstack` or `ipv6`; an unreported type counts as IPv4 only).
    let ipv4_only: Vec<&str> = gateways
        .iter()
        .filter(|e| !e.carries_ipv6())
        .map(|e| e.id.as_str())
        .collect();
    for s in &subnets {
        let table = tables
            .iter()
            .find(|t| t.subnet_ids.contains(&s.id))
            .or(main);
        let Some(t) = table else {
            missing.push(format!("{} (no route table)", s.id));
            continue;
        };
        if !has_endpoint_route(t) {
            let label = format!("{} (used by {})", t.id, s.id);
            if !missing.iter().any(|m| m.starts_with(&t.id)) {
                missing.push(label);
            }
        }
        for r in &t.routes {
            let v4 = r.destination_cidr.as_deref() == Some("0.0.0.0/0");
            let v6 = r.destination_ipv6_cidr.as_deref() == Some("::/0");
            if !v4 && !v6 {
                continue;
            }
            let dest = if v4 { "0.0.0.0/0" } else { "::/0" };
            let igw = r.gateway_id.clone().filter(|g| g.starts_with("igw-"));
            if let Some(via) = r.nat_gateway_id.clone().or_else(|| igw.clone()) {
                public.push(format!("{} routes {dest} through {via} ({})", s.id, t.id));
            }
            // IPv6 to S3 leaves through the internet or egress-only gateway when the subnet
            // has IPv6 addresses and the endpoint carries IPv4 only.
            if v6 && !s.ipv6_cidrs.is_empty() && !ipv4_only.is_empty() {
                if let Some(via) = igw.or_else(|| r.egress_only_gateway_id.clone()) {
                    dual_stack.push(format!(
                        "{} has IPv6 ({}) and routes ::/0 through {via} ({}) while {} carries IPv4 only",
                        s.id,
                        s.ipv6_cidrs.join(", "),
                        t.id,
                        ipv4_only.join(", ")
                    ));
                }
            }
        }
    }
    if !missing.is_empty() {
        return Finding::new(
            rule,
            Status::Fail,
            format!(
                "no route to the S3 gateway endpoint's prefix list in route table {}",
                missing.join(", ")
            ),
        );
    }
    if !dual_stack.is_empty() || !public.is_empty() {
        let mut parts = Vec::new();
        if !dual_stack.is_empty() {
            parts.push(format!(
                "clients on S3's dual-stack names leave through a gateway, not the endpoint: {}; make the endpoint's IpAddressType dualstack",
                dual_stack.join("; ")
            ));
        }
        if !public.is_empty() {
            parts.push(format!(
                "a public path exists: {}; only the bucket deny keeps S3 private",
                public.join("; ")
            ));
        }
        return Finding::new(rule, Status::Warn, parts.join("; "));
    }
    Finding::new(
        rule,
        Status::Pass,
        "every route table of the VPC's subnets routes S3 through the gateway endpoint",
    )
}

/// Does an egress rule let HTTPS to S3 out?
fn allows_https_to_s3(r: &EgressRule, prefix_list: Option<&str>) -> bool {
    let proto_ok = match r.protocol.as_str() {
        "-1" | "all" => true,
        "tcp" | "6" => r.from_port.unwrap_or(0) <= 443 && r.to_port.unwrap_or(65535) >= 443,
        _ => false,
    };
    let dest_ok = r.cidrs.iter().any(|c| c == "0.0.0.0/0")
        || prefix_list.is_some_and(|pl| r.prefix_lists.iter().any(|p| p == pl));
    proto_ok && dest_ok
}

/// `NET-SG-EGRESS`: no security group blocks HTTPS to the S3 prefix list.
fn sg_egress_finding(vpc: &Vpc, net: &NetworkFacts) -> Finding {
    let rule = RuleId::NetSgEgress;
    let pl = net.s3_prefix_list.as_deref();
    let blocked: Vec<String> = net
        .security_groups
        .iter()
        .filter(|g| g.vpc_id == vpc.id)
        .filter(|g| !g.egress.iter().any(|r| allows_https_to_s3(r, pl)))
        .map(|g| format!("{} ({})", g.id, g.name))
        .collect();
    if blocked.is_empty() {
        Finding::new(
            rule,
            Status::Pass,
            "every security group lets HTTPS reach S3",
        )
    } else {
        Finding::new(
            rule,
            Status::Fail,
            format!(
                "security group {} blocks HTTPS egress to the S3 prefix list{}",
                blocked.join(", "),
                pl.map(|p| format!(" {p}")).unwrap_or_default()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(statements: &str) -> PolicyDocument {
        PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
        .unwrap()
    }

    const E: &str = "vpce-0a1b2c3d4e5f60718";

    #[test]
    fn allow_all_is_judged_by_effect_not_by_spelling() {
        // AWS's default, and the same effect spelled three other ways.
        for st in [
            r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":"*","NotAction":"ec2:*","Resource":"arn:aws:s3:::*"}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":["s3:Get*","s3:Put*","s3:Delete*"],"Resource":["*"]}"#,
        ] {
            assert!(is_allow_all(&doc(st), E), "{st}");
        }
        // Narrower in effect, however it is spelled.
        for st in [
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"111122223333"}}}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"*"}"#,
        ] {
            assert!(!is_allow_all(&doc(st), E), "{st}");
        }
    }

    #[test]
    fn a_perimeter_on_the_organizations_buckets_is_not_a_warning() {
        let org = doc(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5","aws:ResourceOrgID":"o-a1b2c3d4e5"}}}"#,
        );
        assert_eq!(
            foreign_bucket_allowed(&org, E, Some("111122223333"), 0.0).map(|w| w.is_some()),
            Ok(false)
        );
        // Without the resource limit, another account's bucket is reachable: a witness.
        let any = doc(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}"#,
        );
        assert!(matches!(
            foreign_bucket_allowed(&any, E, Some("111122223333"), 0.0),
            Ok(Some(_))
        ));
    }
}
