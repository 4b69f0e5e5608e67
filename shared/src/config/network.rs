//! One account's network in one region from AWS Config's items, for `scan --aggregator` when
//! the account itself cannot be read.
//!
//! Config records EC2 resources as the EC2 `Describe*` calls return them, in lower camel case
//! (`vpcEndpointId`, `routeTableId`, `ipPermissionsEgress`, … — the property lists of
//! awslabs/aws-config-resource-schema, `config/properties/resource-types/AWS::EC2::*.json`).
//! What an item does not carry stays unknown: the VPC item has no DNS attributes
//! (`enableDnsSupport`, `enableDnsHostnames`), so `NET-DNS` is not evaluated.
//!
//! Config may record only some types. Facts that would be judged wrongly because a type is
//! missing make the whole region's network unknown, with the reason: no VPC item; a VPC with
//! no route table item (every VPC has a main one) or no security group item (every VPC has a
//! default one); a route to an endpoint, or an association with a subnet, that has no item;
//! an S3 endpoint item without its policy document.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::facts::{
    EgressRule, Endpoint, NetworkFacts, Route, RouteTable, SecurityGroup, Subnet, Vpc,
};

use super::{ConfigItem, ResourceType};

/// The item types that make a region's network, in the order they are read (VPCs first: none
/// there, nothing else is read).
pub(crate) const NETWORK_TYPES: [&str; 5] = [
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet",
];

/// Why the DNS attributes of VPCs judged from items are unknown (the `NET-DNS` reason).
pub(crate) const DNS_NOT_IN_ITEMS: &str =
    "AWS Config's AWS::EC2::VPC items do not carry enableDnsSupport or enableDnsHostnames";

/// The items of one account and region, by type.
#[derive(Debug, Default, Clone)]
pub(crate) struct NetworkItems {
    pub(crate) vpcs: Vec<ConfigItem>,
    pub(crate) endpoints: Vec<ConfigItem>,
    pub(crate) route_tables: Vec<ConfigItem>,
    pub(crate) security_groups: Vec<ConfigItem>,
    pub(crate) subnets: Vec<ConfigItem>,
}

impl NetworkItems {
    /// Where items of this type go (`None`: not a network type).
    pub(crate) fn slot(&mut self, resource_type: &ResourceType) -> Option<&mut Vec<ConfigItem>> {
        match resource_type.as_str() {
            "AWS::EC2::VPC" => Some(&mut self.vpcs),
            "AWS::EC2::VPCEndpoint" => Some(&mut self.endpoints),
            "AWS::EC2::RouteTable" => Some(&mut self.route_tables),
            "AWS::EC2::SecurityGroup" => Some(&mut self.security_groups),
            "AWS::EC2::Subnet" => Some(&mut self.subnets),
            _ => None,
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An EC2 state as Config writes it: a string, or an object with its `value`.
fn state(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
        Some(Value::Object(o)) => o
            .get("value")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase),
        _ => None,
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    list(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn port(v: &Value, key: &str) -> Option<i32> {
    v.get(key)
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
}

/// The item's configuration as an object, with the id it must carry.
fn configuration<'a>(item: &'a ConfigItem, id_key: &str) -> Result<(&'a Value, String), String> {
    let c = &item.configuration;
    match (c.is_object(), text(c, id_key)) {
        (true, Some(id)) => Ok((c, id)),
        _ => Err(format!(
            "the {} item {} cannot be read (no `{id_key}` in its configuration)",
            item.resource_type.as_str(),
            item.resource_id
        )),
    }
}

fn live(items: &[ConfigItem]) -> impl Iterator<Item = &ConfigItem> {
    items.iter().filter(|i| !i.is_deleted())
}

fn vpc_of(item: &ConfigItem) -> Result<Vpc, String> {
    let (_, id) = configuration(item, "vpcId")?;
    Ok(Vpc {
        id,
        dns_support: None,
        dns_hostnames: None,
    })
}

fn endpoint_of(item: &ConfigItem) -> Result<Endpoint, String> {
    let (c, id) = configuration(item, "vpcEndpointId")?;
    Ok(Endpoint {
        id,
        vpc_id: text(c, "vpcId").unwrap_or_default(),
        service_name: text(c, "serviceName").unwrap_or_default(),
        endpoint_type: text(c, "vpcEndpointType").unwrap_or_default(),
        state: state(c, "state").unwrap_or_default(),
        policy: text(c, "policyDocument"),
        route_table_ids: strings(c, "routeTableIds"),
        ip_address_type: state(c, "ipAddressType"),
        owner_id: text(c, "ownerId").or_else(|| item.account_id.clone()),
    })
}

fn route_table_of(item: &ConfigItem) -> Result<RouteTable, String> {
    let (c, id) = configuration(item, "routeTableId")?;
    let associations = list(c, "associations");
    Ok(RouteTable {
        id,
        vpc_id: text(c, "vpcId").unwrap_or_default(),
        main: associations
            .iter()
            .any(|a| a.get("main").and_then(Value::as_bool) == Some(true)),
        subnet_ids: associations
            .iter()
            .filter_map(|a| text(a, "subnetId"))
            .collect(),
        routes: list(c, "routes")
            .iter()
            .map(|r| Route {
                destination_cidr: text(r, "destinationCidrBlock"),
                destination_ipv6_cidr: text(r, "destinationIpv6CidrBlock"),
                destination_prefix_list: text(r, "destinationPrefixListId"),
                gateway_id: text(r, "gatewayId"),
                nat_gateway_id: text(r, "natGatewayId"),
                egress_only_gateway_id: text(r, "egressOnlyInternetGatewayId"),
            })
            .collect(),
    })
}

fn security_group_of(item: &ConfigItem) -> Result<SecurityGroup, String> {
    let (c, id) = configuration(item, "groupId")?;
    let egress = list(c, "ipPermissionsEgress")
        .iter()
        .map(|p| {
            // IPv4 ranges as objects (`ipv4Ranges[].cidrIp`) or, in older items, as strings
            // (`ipRanges`).
            let mut cidrs: Vec<String> = list(p, "ipv4Ranges")
                .iter()
                .filter_map(|r| text(r, "cidrIp"))
                .collect();
            for s in strings(p, "ipRanges") {
                if !cidrs.contains(&s) {
                    cidrs.push(s);
                }
            }
            EgressRule {
                protocol: text(p, "ipProtocol").unwrap_or_else(|| "-1".into()),
                from_port: port(p, "fromPort"),
                to_port: port(p, "toPort"),
                cidrs,
                ipv6_cidrs: list(p, "ipv6Ranges")
                    .iter()
                    .filter_map(|r| text(r, "cidrIpv6"))
                    .collect(),
                prefix_lists: list(p, "prefixListIds")
                    .iter()
                    .filter_map(|r| text(r, "prefixListId"))
                    .collect(),
            }
        })
        .collect();
    Ok(SecurityGroup {
        id,
        name: text(c, "groupName").unwrap_or_default(),
        vpc_id: text(c, "vpcId").unwrap_or_default(),
        egress,
    })
}

fn subnet_of(item: &ConfigItem) -> Result<Subnet, String> {
    let (c, id) = configuration(item, "subnetId")?;
    Ok(Subnet {
        id,
        vpc_id: text(c, "vpcId").unwrap_or_default(),
        ipv6_cidrs: list(c, "ipv6CidrBlockAssociationSet")
            .iter()
            .filter(|a| {
                a.get("ipv6CidrBlockState")
                    .and_then(|s| state(s, "state"))
                    .is_none_or(|s| s == "associated")
            })
            .filter_map(|a| text(a, "ipv6CidrBlock"))
            .collect(),
    })
}

/// The region's network from its items, or why the items cannot stand for it.
pub(crate) fn network_from_items(
    region: &str,
    items: &NetworkItems,
) -> Result<NetworkFacts, String> {
    let vpcs = live(&items.vpcs)
        .map(vpc_of)
        .collect::<Result<Vec<_>, _>>()?;
    if vpcs.is_empty() {
        return Err("the aggregator holds no AWS::EC2::VPC item there (AWS Config may not record EC2 resources in that account)".into());
    }
    let endpoints = live(&items.endpoints)
        .map(endpoint_of)
        .collect::<Result<Vec<_>, _>>()?;
    let route_tables = live(&items.route_tables)
        .map(route_table_of)
        .collect::<Result<Vec<_>, _>>()?;
    let security_groups = live(&items.security_groups)
        .map(security_group_of)
        .collect::<Result<Vec<_>, _>>()?;
    let subnets = live(&items.subnets)
        .map(subnet_of)
        .collect::<Result<Vec<_>, _>>()?;

    // Types Config does not record show as holes; a hole that would change a verdict makes the
    // network unknown.
    for v in &vpcs {
        if !route_tables.iter().any(|t| t.vpc_id == v.id) {
            return Err(format!(
                "no AWS::EC2::RouteTable item for {} (every VPC has a main route table: AWS Config does not record route tables there)",
                v.id
            ));
        }
        if !security_groups.iter().any(|g| g.vpc_id == v.id) {
            return Err(format!(
                "no AWS::EC2::SecurityGroup item for {} (every VPC has a default security group: AWS Config does not record security groups there)",
                v.id
            ));
        }
    }
    let endpoint_ids: BTreeSet<&str> = endpoints.iter().map(|e| e.id.as_str()).collect();
    let subnet_ids: BTreeSet<&str> = subnets.iter().map(|s| s.id.as_str()).collect();
    for t in &route_tables {
        if let Some(g) = t
            .routes
            .iter()
            .filter_map(|r| r.gateway_id.as_deref())
            .find(|g| g.starts_with("vpce-") && !endpoint_ids.contains(g))
        {
            return Err(format!(
                "{} routes to {g}, which has no AWS::EC2::VPCEndpoint item",
                t.id
            ));
        }
        if let Some(s) = t
            .subnet_ids
            .iter()
            .find(|s| !subnet_ids.contains(s.as_str()))
        {
            return Err(format!(
                "{} is associated with {s}, which has no AWS::EC2::Subnet item",
                t.id
            ));
        }
    }
    if let Some(e) = endpoints
        .iter()
        .find(|e| e.is_s3_endpoint_of(region) && e.policy.is_none())
    {
        return Err(format!(
            "the AWS::EC2::VPCEndpoint item of {} carries no policy document",
            e.id
        ));
    }
    // The S3 prefix list, from the routes of the S3 gateway endpoints (AWS adds them with the
    // service's managed prefix list); unknown when none has one.
    let s3_prefix_list = route_tables
        .iter()
        .flat_map(|t| &t.routes)
        .find(|r| {
            r.destination_prefix_list.is_some()
                && r.gateway_id.as_deref().is_some_and(|g| {
                    endpoints
                        .iter()
                        .any(|e| e.id == g && e.is_s3_endpoint_of(region))
                })
        })
        .and_then(|r| r.destination_prefix_list.clone());
    Ok(NetworkFacts {
        region: region.to_string(),
        vpcs,
        endpoints,
        route_tables,
        subnets,
        security_groups,
        s3_prefix_list,
        dns_unknown: Some(DNS_NOT_IN_ITEMS.into()),
    })
}

#[cfg(test)]
mod tests;
