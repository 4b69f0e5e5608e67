//! The `network` section of a sweep: per region (and account), its VPCs, their route tables
//! and the subnets that use them, the S3 endpoints with their type, policy verdict and routes,
//! and which buckets admit requests through each endpoint. Additive to the report: it draws
//! the report's diagram and answers "which path reaches which bucket".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::facts::{Endpoint, NetworkFacts};
use crate::rules::admission::{Admission, EndpointAdmission};
use crate::rules::network::endpoint_policy_verdict;
use crate::rules::Status;

use super::RegionalEvaluation;

/// One region's network (of one account, in an aggregated sweep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionNetwork {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Why the region's network is unknown (it could not be read); then no VPC is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub vpcs: Vec<VpcNode>,
}

/// A VPC with its route tables and S3 endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcNode {
    pub id: String,
    pub route_tables: Vec<RouteTableNode>,
    pub endpoints: Vec<EndpointNode>,
}

/// A route table: which subnets use it (the main table: every subnet not associated with
/// another table), which S3 endpoints it routes to, and where its default route goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableNode {
    pub id: String,
    pub main: bool,
    pub subnets: Vec<String>,
    /// S3 gateway endpoints this table routes the S3 prefix list to.
    pub s3_endpoints: Vec<String>,
    /// The target of the default route (`0.0.0.0/0` or `::/0`): an internet or NAT gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_route: Option<String>,
}

/// An S3 endpoint (gateway or interface) of the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointNode {
    pub id: String,
    /// `Gateway` or `Interface`.
    #[serde(rename = "type")]
    pub endpoint_type: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The endpoint policy as NET-ENDPOINT-POLICY judges this endpoint alone.
    pub policy: PolicyVerdict,
    /// The route tables that route to it (a gateway endpoint).
    pub route_tables: Vec<String>,
    /// Buckets of the region whose policy admits requests through it.
    pub admitted_by: Vec<String>,
    /// Buckets whose policy denies every such request.
    pub denied_by: Vec<String>,
    /// Buckets whose admission is unknown (policy unreadable, not evaluable, or a deny that
    /// might apply), with why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, String>,
}

/// A verdict and its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVerdict {
    pub status: Status,
    pub reason: String,
}

/// The topology of one region's network with the buckets' admissions (bucket name →
/// admission of each endpoint).
fn region_network(
    net: &NetworkFacts,
    account: Option<&str>,
    admissions: &BTreeMap<String, Vec<EndpointAdmission>>,
    now: f64,
) -> RegionNetwork {
    // Endpoint → (bucket, admission), bucket names in order: one pass over the admissions.
    let mut by_endpoint: BTreeMap<&str, Vec<(&String, &EndpointAdmission)>> = BTreeMap::new();
    for (bucket, list) in admissions {
        for a in list {
            by_endpoint
                .entry(a.endpoint.as_str())
                .or_default()
                .push((bucket, a));
        }
    }
    let vpcs = net
        .vpcs
        .iter()
        .map(|vpc| {
            let associated: Vec<&String> = net
                .route_tables
                .iter()
                .filter(|t| t.vpc_id == vpc.id)
                .flat_map(|t| &t.subnet_ids)
                .collect();
            let s3: Vec<&Endpoint> = net
                .endpoints
                .iter()
                .filter(|e| e.vpc_id == vpc.id && e.is_s3_endpoint_of(&net.region))
                .collect();
            let route_tables = net
                .route_tables
                .iter()
                .filter(|t| t.vpc_id == vpc.id)
                .map(|t| {
                    let mut subnets = t.subnet_ids.clone();
                    if t.main {
                        subnets.extend(
                            net.subnets
                                .iter()
                                .filter(|s| s.vpc_id == vpc.id && !associated.contains(&&s.id))
                                .map(|s| s.id.clone()),
                        );
                    }
                    subnets.sort();
                    subnets.dedup();
                    let mut s3_endpoints: Vec<String> = s3
                        .iter()
                        .filter(|e| {
                            e.route_table_ids.contains(&t.id)
                                || t.routes
                                    .iter()
                                    .any(|r| r.gateway_id.as_deref() == Some(&e.id))
                        })
                        .map(|e| e.id.clone())
                        .collect();
                    s3_endpoints.sort();
                    let default_route = t
                        .routes
                        .iter()
                        .find(|r| {
                            r.destination_cidr.as_deref() == Some("0.0.0.0/0")
                                || r.destination_ipv6_cidr.as_deref() == Some("::/0")
                        })
                        .and_then(|r| {
                            r.gateway_id
                                .clone()
                                .or_else(|| r.nat_gateway_id.clone())
                                .or_else(|| r.egress_only_gateway_id.clone())
                        });
                    RouteTableNode {
                        id: t.id.clone(),
                        main: t.main,
                        subnets,
                        s3_endpoints,
                        default_route,
                    }
                })
                .collect::<Vec<_>>();
            let endpoints = s3
                .iter()
                .map(|e| {
                    let admits = by_endpoint.get(e.id.as_str()).map(Vec::as_slice);
                    endpoint_node(e, &route_tables, account, admits.unwrap_or_default(), now)
                })
                .collect();
            VpcNode {
                id: vpc.id.clone(),
                route_tables,
                endpoints,
            }
        })
        .collect();
    RegionNetwork {
        region: net.region.clone(),
        account: account.map(str::to_string),
        error: None,
        vpcs,
    }
}

fn endpoint_node(
    e: &Endpoint,
    tables: &[RouteTableNode],
    account: Option<&str>,
    admissions: &[(&String, &EndpointAdmission)],
    now: f64,
) -> EndpointNode {
    let verdict = endpoint_policy_verdict(e, account, now);
    let mut node = EndpointNode {
        id: e.id.clone(),
        endpoint_type: e.endpoint_type.clone(),
        state: e.state.clone(),
        ip_address_type: e.ip_address_type.clone(),
        owner: e.owner_id.clone(),
        policy: PolicyVerdict {
            status: verdict.status,
            reason: verdict.reason,
        },
        route_tables: tables
            .iter()
            .filter(|t| t.s3_endpoints.contains(&e.id))
            .map(|t| t.id.clone())
            .collect(),
        admitted_by: Vec::new(),
        denied_by: Vec::new(),
        unknown: BTreeMap::new(),
    };
    for (bucket, a) in admissions {
        match a.admission {
            Admission::Admits => node.admitted_by.push((*bucket).clone()),
            Admission::Denies => node.denied_by.push((*bucket).clone()),
            Admission::Unknown => {
                node.unknown.insert(
                    (*bucket).clone(),
                    a.reason.clone().unwrap_or_else(|| "unknown".into()),
                );
            }
        }
    }
    node
}

/// A sweep's judged buckets, each with its endpoints' admission, split into the evaluations
/// and the network section of every region read (one account's, or a direct sweep's).
pub(crate) fn sweep_network<E: std::fmt::Display>(
    judged: Vec<(RegionalEvaluation, Vec<EndpointAdmission>)>,
    networks: &BTreeMap<String, Result<NetworkFacts, E>>,
    account: Option<&str>,
    now: f64,
) -> (Vec<RegionalEvaluation>, Vec<RegionNetwork>) {
    // Region → bucket → admission.
    let mut admissions: BTreeMap<String, BTreeMap<String, Vec<EndpointAdmission>>> =
        BTreeMap::new();
    let buckets = judged
        .into_iter()
        .map(|(e, admits)| {
            admissions
                .entry(e.region.clone())
                .or_default()
                .insert(e.evaluation.resource.clone(), admits);
            e
        })
        .collect();
    let none = BTreeMap::new();
    let network = networks
        .iter()
        .map(|(region, n)| match n {
            Ok(net) => region_network(net, account, admissions.get(region).unwrap_or(&none), now),
            Err(e) => RegionNetwork {
                region: region.clone(),
                account: account.map(str::to_string),
                error: Some(e.to_string()),
                vpcs: Vec::new(),
            },
        })
        .collect();
    (buckets, network)
}
