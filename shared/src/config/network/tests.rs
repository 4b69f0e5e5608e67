#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Map, Value};

use super::*;
use crate::config::ItemStatus;
use crate::facts::NetworkFacts;
use crate::rules::network::evaluate_vpc;
use crate::rules::{RuleId, Status};
use crate::testing::memory::{network_items, reference_vpcs};

const ACCOUNT: &str = "444455556666";
const REGION: &str = "eu-west-1";

fn item(t: &str, id: &str, c: Value) -> ConfigItem {
    ConfigItem {
        resource_type: ResourceType::parse(t),
        resource_id: id.into(),
        resource_name: None,
        region: Some(REGION.into()),
        account_id: Some(ACCOUNT.into()),
        capture_time: None,
        status: Some(ItemStatus::Ok),
        configuration: c,
        supplementary: Map::new(),
    }
}

/// One VPC as `BatchGetAggregateResourceConfig` returns it, spelled as Config spells EC2
/// (states as objects or strings, null fields, IPv4 ranges only as strings in the older
/// security group shape).
fn realistic() -> NetworkItems {
    NetworkItems {
        vpcs: vec![item(
            "AWS::EC2::VPC",
            "vpc-0aa1",
            json!({"cidrBlock": "10.4.0.0/16", "dhcpOptionsId": "dopt-1", "state": "available",
                   "vpcId": "vpc-0aa1", "ownerId": ACCOUNT, "instanceTenancy": "default",
                   "ipv6CidrBlockAssociationSet": [{"associationId": "vpc-cidr-assoc-1",
                       "ipv6CidrBlock": "2a05:d018:1::/56", "ipv6CidrBlockState": {"state": "associated"}}],
                   "isDefault": false, "tags": [{"key": "Name", "value": "data"}]}),
        )],
        endpoints: vec![
            item(
                "AWS::EC2::VPCEndpoint",
                "vpce-0bb2",
                json!({"vpcEndpointId": "vpce-0bb2", "vpcEndpointType": "Gateway",
                       "vpcId": "vpc-0aa1", "serviceName": "com.amazonaws.eu-west-1.s3",
                       "state": {"value": "Available"},
                       "policyDocument": "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                       "routeTableIds": ["rtb-0cc3"], "subnetIds": [], "groups": [],
                       "privateDnsEnabled": false, "requesterManaged": false,
                       "networkInterfaceIds": [], "dnsEntries": [],
                       "creationTimestamp": "2026-03-02T10:11:12.000Z", "ownerId": ACCOUNT,
                       "ipAddressType": "dualstack"}),
            ),
            item(
                "AWS::EC2::VPCEndpoint",
                "vpce-0dd4",
                json!({"vpcEndpointId": "vpce-0dd4", "vpcEndpointType": "Interface",
                       "vpcId": "vpc-0aa1", "serviceName": "com.amazonaws.eu-west-1.sts",
                       "state": "available", "routeTableIds": [], "subnetIds": ["subnet-0ee5"]}),
            ),
        ],
        route_tables: vec![
            item(
                "AWS::EC2::RouteTable",
                "rtb-0cc3",
                json!({"routeTableId": "rtb-0cc3", "vpcId": "vpc-0aa1", "ownerId": ACCOUNT,
                       "associations": [
                           {"main": false, "routeTableAssociationId": "rtbassoc-1",
                            "routeTableId": "rtb-0cc3", "subnetId": "subnet-0ee5", "gatewayId": null,
                            "associationState": {"state": "associated"}}],
                       "propagatingVgws": [],
                       "routes": [
                           {"destinationCidrBlock": "10.4.0.0/16", "gatewayId": "local",
                            "origin": "CreateRouteTable", "state": "active"},
                           {"destinationPrefixListId": "pl-6da54004", "gatewayId": "vpce-0bb2",
                            "origin": "CreateRoute", "state": "active"},
                           {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0ff6",
                            "origin": "CreateRoute", "state": "active"},
                           {"destinationIpv6CidrBlock": "::/0", "egressOnlyInternetGatewayId": "eigw-0a7",
                            "origin": "CreateRoute", "state": "active"}]}),
            ),
            item(
                "AWS::EC2::RouteTable",
                "rtb-main",
                json!({"routeTableId": "rtb-main", "vpcId": "vpc-0aa1",
                       "associations": [{"main": true, "routeTableAssociationId": "rtbassoc-m",
                                         "routeTableId": "rtb-main", "subnetId": null}],
                       "routes": [{"destinationCidrBlock": "10.4.0.0/16", "gatewayId": "local"}]}),
            ),
        ],
        security_groups: vec![item(
            "AWS::EC2::SecurityGroup",
            "sg-0b8",
            json!({"description": "default VPC security group", "groupName": "default",
                   "ipPermissions": [], "ownerId": ACCOUNT, "groupId": "sg-0b8",
                   "ipPermissionsEgress": [
                       {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                        "ipv6Ranges": [], "prefixListIds": [{"prefixListId": "pl-6da54004"}],
                        "userIdGroupPairs": [], "ipv4Ranges": [], "ipRanges": []},
                       {"ipProtocol": "udp", "fromPort": 53, "toPort": 53,
                        "ipRanges": ["10.4.0.2/32"]}],
                   "vpcId": "vpc-0aa1", "tags": []}),
        )],
        subnets: vec![item(
            "AWS::EC2::Subnet",
            "subnet-0ee5",
            json!({"availabilityZone": "eu-west-1a", "cidrBlock": "10.4.1.0/24",
                   "subnetId": "subnet-0ee5", "vpcId": "vpc-0aa1", "state": "available",
                   "ipv6CidrBlockAssociationSet": [
                       {"associationId": "a1", "ipv6CidrBlock": "2a05:d018:1:1::/64",
                        "ipv6CidrBlockState": {"state": "associated"}},
                       {"associationId": "a0", "ipv6CidrBlock": "2a05:d018:1:9::/64",
                        "ipv6CidrBlockState": {"state": "disassociated"}}]}),
        )],
    }
}

#[test]
fn realistic_items_become_the_network_the_rules_read() {
    let net = network_from_items(REGION, &realistic()).unwrap();
    assert_eq!(net.region, REGION);
    assert_eq!(net.vpcs.len(), 1);
    assert_eq!(
        (net.vpcs[0].dns_support, net.vpcs[0].dns_hostnames),
        (None, None)
    );
    let e = &net.endpoints[0];
    assert_eq!(
        (
            e.id.as_str(),
            e.state.as_str(),
            e.ip_address_type.as_deref()
        ),
        ("vpce-0bb2", "available", Some("dualstack"))
    );
    assert!(e.is_available_s3_gateway(REGION));
    assert!(e.policy.as_deref().unwrap().contains("2008-10-17"));
    assert_eq!(e.owner_id.as_deref(), Some(ACCOUNT));
    // The interface endpoint of another service, without a policy: kept, never judged as S3.
    assert_eq!(net.endpoints[1].policy, None);
    let t = &net.route_tables[0];
    assert_eq!(
        (t.main, t.subnet_ids.clone()),
        (false, vec!["subnet-0ee5".to_string()])
    );
    assert_eq!(t.routes.len(), 4);
    assert_eq!(t.routes[2].nat_gateway_id.as_deref(), Some("nat-0ff6"));
    assert_eq!(
        t.routes[3].egress_only_gateway_id.as_deref(),
        Some("eigw-0a7")
    );
    assert!(net.route_tables[1].main);
    assert_eq!(net.s3_prefix_list.as_deref(), Some("pl-6da54004"));
    let g = &net.security_groups[0];
    assert_eq!(g.egress[0].prefix_lists, ["pl-6da54004"]);
    assert_eq!(
        (g.egress[0].from_port, g.egress[0].to_port),
        (Some(443), Some(443))
    );
    assert_eq!(g.egress[1].cidrs, ["10.4.0.2/32"]);
    assert_eq!(net.subnets[0].ipv6_cidrs, ["2a05:d018:1:1::/64"]);

    // Judged: every rule as from EC2 but NET-DNS, which says why it is not evaluated.
    let eval = evaluate_vpc(&net.vpcs[0], &net, Some(ACCOUNT), &[], 1.8e9);
    let dns = eval
        .findings
        .iter()
        .find(|f| f.rule == RuleId::NetDns)
        .unwrap();
    assert_eq!(dns.status, Status::Fail);
    assert!(dns.reason.starts_with("not evaluated"), "{}", dns.reason);
    assert!(dns.reason.contains(DNS_NOT_IN_ITEMS), "{}", dns.reason);
    let policy = eval
        .findings
        .iter()
        .find(|f| f.rule == RuleId::NetEndpointPolicy)
        .unwrap();
    assert_eq!(policy.status, Status::Fail, "the default allow-all policy");
    let sg = eval
        .findings
        .iter()
        .find(|f| f.rule == RuleId::NetSgEgress)
        .unwrap();
    assert_eq!(
        sg.status,
        Status::Pass,
        "HTTPS to the S3 prefix list: {}",
        sg.reason
    );
}

#[test]
fn a_network_survives_the_trip_through_config_items() {
    let mut net = NetworkFacts {
        region: REGION.into(),
        ..NetworkFacts::default()
    };
    reference_vpcs(&mut net, ACCOUNT, "4", 3);
    // Vary it: a dual-stack endpoint, an IPv6 subnet, routes of every kind, a main table.
    net.endpoints[1].ip_address_type = Some("dualstack".into());
    net.subnets[2].ipv6_cidrs = vec!["2a05:d018:1:2::/64".into()];
    net.route_tables[0].routes = vec![
        crate::facts::Route {
            destination_prefix_list: Some("pl-6da54004".into()),
            gateway_id: Some(net.endpoints[0].id.clone()),
            ..Default::default()
        },
        crate::facts::Route {
            destination_cidr: Some("0.0.0.0/0".into()),
            nat_gateway_id: Some("nat-1".into()),
            ..Default::default()
        },
    ];
    net.route_tables[1].main = true;
    net.security_groups[2].egress[0].prefix_lists = vec!["pl-6da54004".into()];
    let items = network_items(ACCOUNT, &net);
    let mut by_type = NetworkItems::default();
    for i in items {
        let rt = i.resource_type.clone();
        by_type.slot(&rt).unwrap().push(i);
    }
    let back = network_from_items(REGION, &by_type).unwrap();
    let mut expected = net.clone();
    for v in &mut expected.vpcs {
        v.dns_support = None;
        v.dns_hostnames = None;
    }
    expected.s3_prefix_list = Some("pl-6da54004".into());
    expected.dns_unknown = Some(DNS_NOT_IN_ITEMS.into());
    assert_eq!(back, expected);
}

#[test]
fn holes_in_what_config_records_make_the_network_unknown_and_say_why() {
    type Break = Box<dyn Fn(&mut NetworkItems)>;
    let cases: Vec<(&str, Break)> = vec![
        ("no AWS::EC2::VPC item", Box::new(|n| n.vpcs.clear())),
        (
            "no AWS::EC2::RouteTable item for vpc-0aa1",
            Box::new(|n| n.route_tables.clear()),
        ),
        (
            "no AWS::EC2::SecurityGroup item for vpc-0aa1",
            Box::new(|n| n.security_groups.clear()),
        ),
        (
            "rtb-0cc3 routes to vpce-0bb2, which has no AWS::EC2::VPCEndpoint item",
            Box::new(|n| n.endpoints.clear()),
        ),
        (
            "rtb-0cc3 is associated with subnet-0ee5, which has no AWS::EC2::Subnet item",
            Box::new(|n| n.subnets.clear()),
        ),
        (
            "the AWS::EC2::VPCEndpoint item of vpce-0bb2 carries no policy document",
            Box::new(|n| {
                if let Some(o) = n.endpoints[0].configuration.as_object_mut() {
                    o.remove("policyDocument");
                }
            }),
        ),
        (
            "the AWS::EC2::SecurityGroup item sg-0b8 cannot be read",
            Box::new(|n| n.security_groups[0].configuration = json!("truncated")),
        ),
    ];
    for (want, break_it) in cases {
        let mut items = realistic();
        break_it(&mut items);
        let err = network_from_items(REGION, &items).unwrap_err();
        assert!(err.contains(want), "{want}: {err}");
    }
    // A deleted item is not part of the network.
    let mut items = realistic();
    items.endpoints[1].status = Some(ItemStatus::ResourceDeleted);
    let net = network_from_items(REGION, &items).unwrap();
    assert_eq!(net.endpoints.len(), 1);
}
