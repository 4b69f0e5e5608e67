//! Another account's network as an aggregator sees it: one Config item per VPC, endpoint,
//! route table, security group and subnet, shaped as Config records them (EC2's `Describe*`
//! output in lower camel case, states as strings, IPv4 ranges both ways) — what
//! `config::network` reads back. DNS attributes are left out, as Config leaves them out.

use super::*;

impl MemoryAws {
    /// Record `net` as the network of `account` in Config (its ids must not clash with other
    /// recorded resources: items are kept by type and id).
    pub fn record_foreign_network(&mut self, account: &str, net: &NetworkFacts) {
        for item in network_items(account, net) {
            self.items
                .insert((item.resource_type.clone(), item.resource_id.clone()), item);
        }
    }
}

fn item(account: &str, region: &str, resource_type: &str, id: &str, c: Value) -> ConfigItem {
    ConfigItem {
        resource_type: ResourceType::parse(resource_type),
        resource_id: id.to_string(),
        resource_name: None,
        region: Some(region.to_string()),
        account_id: Some(account.to_string()),
        capture_time: Timestamp::parse("2026-11-27T09:00:00Z"),
        status: Some(ItemStatus::Ok),
        configuration: c,
        supplementary: Map::new(),
    }
}

/// The Config items of a region's network.
pub fn network_items(account: &str, net: &NetworkFacts) -> Vec<ConfigItem> {
    let region = net.region.as_str();
    let mut out = Vec::new();
    for v in &net.vpcs {
        out.push(item(
            account,
            region,
            "AWS::EC2::VPC",
            &v.id,
            json!({"vpcId": v.id, "ownerId": account, "state": "available", "isDefault": false,
                   "cidrBlock": "10.0.0.0/16", "instanceTenancy": "default",
                   "ipv6CidrBlockAssociationSet": [], "tags": []}),
        ));
    }
    for e in &net.endpoints {
        let mut c = json!({"vpcEndpointId": e.id, "vpcEndpointType": e.endpoint_type,
            "vpcId": e.vpc_id, "serviceName": e.service_name, "state": e.state,
            "routeTableIds": e.route_table_ids, "subnetIds": [], "groups": [],
            "privateDnsEnabled": false, "requesterManaged": false, "networkInterfaceIds": [],
            "dnsEntries": [], "creationTimestamp": "2026-11-01T08:00:00.000Z",
            "ownerId": e.owner_id.clone().unwrap_or_else(|| account.to_string()), "tags": []});
        if let Some(p) = &e.policy {
            c["policyDocument"] = json!(p);
        }
        if let Some(t) = &e.ip_address_type {
            c["ipAddressType"] = json!(t);
        }
        out.push(item(account, region, "AWS::EC2::VPCEndpoint", &e.id, c));
    }
    for t in &net.route_tables {
        let mut associations: Vec<Value> = t
            .subnet_ids
            .iter()
            .map(|s| {
                json!({"main": false, "routeTableId": t.id, "subnetId": s,
                            "routeTableAssociationId": format!("rtbassoc-{s}"),
                            "associationState": {"state": "associated"}})
            })
            .collect();
        if t.main {
            associations.push(json!({"main": true, "routeTableId": t.id, "subnetId": null,
                                     "routeTableAssociationId": format!("rtbassoc-main-{}", t.id),
                                     "associationState": {"state": "associated"}}));
        }
        let routes: Vec<Value> = t
            .routes
            .iter()
            .map(|r| {
                json!({"destinationCidrBlock": r.destination_cidr,
                       "destinationIpv6CidrBlock": r.destination_ipv6_cidr,
                       "destinationPrefixListId": r.destination_prefix_list,
                       "gatewayId": r.gateway_id, "natGatewayId": r.nat_gateway_id,
                       "egressOnlyInternetGatewayId": r.egress_only_gateway_id,
                       "origin": "CreateRoute", "state": "active"})
            })
            .collect();
        out.push(item(
            account,
            region,
            "AWS::EC2::RouteTable",
            &t.id,
            json!({"routeTableId": t.id, "vpcId": t.vpc_id, "ownerId": account,
                   "associations": associations, "routes": routes, "propagatingVgws": [],
                   "tags": []}),
        ));
    }
    for g in &net.security_groups {
        let egress: Vec<Value> = g
            .egress
            .iter()
            .map(|r| {
                json!({"ipProtocol": r.protocol, "fromPort": r.from_port, "toPort": r.to_port,
                       "ipv4Ranges": r.cidrs.iter().map(|c| json!({"cidrIp": c})).collect::<Vec<_>>(),
                       "ipRanges": r.cidrs,
                       "ipv6Ranges": r.ipv6_cidrs.iter().map(|c| json!({"cidrIpv6": c})).collect::<Vec<_>>(),
                       "prefixListIds": r.prefix_lists.iter().map(|p| json!({"prefixListId": p})).collect::<Vec<_>>(),
                       "userIdGroupPairs": []})
            })
            .collect();
        out.push(item(
            account,
            region,
            "AWS::EC2::SecurityGroup",
            &g.id,
            json!({"groupId": g.id, "groupName": g.name, "vpcId": g.vpc_id,
                   "ownerId": account, "description": g.name, "ipPermissions": [],
                   "ipPermissionsEgress": egress, "tags": []}),
        ));
    }
    for s in &net.subnets {
        let v6: Vec<Value> = s
            .ipv6_cidrs
            .iter()
            .map(|c| {
                json!({"ipv6CidrBlock": c, "associationId": format!("subnet-cidr-assoc-{c}"),
                            "ipv6CidrBlockState": {"state": "associated"}})
            })
            .collect();
        out.push(item(
            account,
            region,
            "AWS::EC2::Subnet",
            &s.id,
            json!({"subnetId": s.id, "vpcId": s.vpc_id, "ownerId": account,
                   "cidrBlock": "10.0.1.0/24", "state": "available",
                   "ipv6CidrBlockAssociationSet": v6, "tags": []}),
        ));
    }
    out
}
