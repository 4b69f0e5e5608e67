//! EC2 adapter: network facts with a number of calls that does not grow with the account,
//! except where EC2 has no batch read (`DescribeVpcAttribute`, two per VPC of a region sweep).
//!
//! - the region (a periodic sweep, the CLI): six paginated reads plus two per VPC;
//! - one VPC (a change to it, its endpoints, route tables or security groups): the same reads
//!   filtered by `vpc-id`, eight calls;
//! - the region's S3 endpoints (a bucket change): one paginated `DescribeVpcEndpoints`
//!   filtered by service name.

use aws_sdk_ec2::types::{Filter, VpcAttributeName};

use crate::facts::{
    EgressRule, Endpoint, NetworkFacts, Route, RouteTable, SecurityGroup, Subnet, Vpc,
};

use super::clients::AwsClients;
use super::{map_sdk_error, ApiCalls, AwsError, ErrorKind, NetworkLocator, NetworkReader};

/// The EC2 reads of one region.
#[derive(Debug)]
pub(crate) struct NetworkCalls<'a> {
    pub(crate) client: &'a aws_sdk_ec2::Client,
    pub(crate) calls: &'a ApiCalls,
}

macro_rules! paginate {
    ($self:expr, $call:literal, $req:expr, $field:ident) => {{
        let mut items = Vec::new();
        let mut pages = $req.into_paginator().send();
        while let Some(page) = pages.next().await {
            $self.calls.count($call);
            match page {
                Ok(page) => items.extend(page.$field().iter().cloned()),
                Err(e) => return Err(map_sdk_error($call, &e)),
            }
        }
        items
    }};
}

/// `name = value`, or nothing.
fn filter(name: &str, value: Option<&str>) -> Option<Vec<Filter>> {
    value.map(|v| vec![Filter::builder().name(name).values(v).build()])
}

use super::s3_service_name;

impl NetworkCalls<'_> {
    async fn vpcs(&self, vpc: Option<&str>) -> Result<Vec<String>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeVpcs",
            self.client
                .describe_vpcs()
                .set_filters(filter("vpc-id", vpc)),
            vpcs
        );
        Ok(raw
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_string))
            .collect())
    }

    /// Endpoints, filtered by `name = value` when given.
    async fn endpoints(&self, by: Option<(&str, &str)>) -> Result<Vec<Endpoint>, AwsError> {
        let filters = by.and_then(|(n, v)| filter(n, Some(v)));
        self.endpoints_where(filters).await
    }

    /// The endpoints with these ids.
    async fn endpoints_with_ids(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
        let req = self
            .client
            .describe_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(ids.to_vec()));
        self.endpoints_from(req).await
    }

    async fn endpoints_where(
        &self,
        filters: Option<Vec<Filter>>,
    ) -> Result<Vec<Endpoint>, AwsError> {
        let req = self.client.describe_vpc_endpoints().set_filters(filters);
        self.endpoints_from(req).await
    }

    async fn endpoints_from(
        &self,
        req: aws_sdk_ec2::operation::describe_vpc_endpoints::builders::DescribeVpcEndpointsFluentBuilder,
    ) -> Result<Vec<Endpoint>, AwsError> {
        let raw = paginate!(self, "ec2:DescribeVpcEndpoints", req, vpc_endpoints);
        Ok(raw.iter().map(endpoint_of).collect())
    }

    async fn route_tables(&self, vpc: Option<&str>) -> Result<Vec<RouteTable>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeRouteTables",
            self.client
                .describe_route_tables()
                .set_filters(filter("vpc-id", vpc)),
            route_tables
        );
        Ok(raw
            .into_iter()
            .map(|t| RouteTable {
                id: t.route_table_id().unwrap_or_default().to_string(),
                vpc_id: t.vpc_id().unwrap_or_default().to_string(),
                main: t.associations().iter().any(|a| a.main() == Some(true)),
                subnet_ids: t
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
                routes: t.routes().iter().map(route_of).collect(),
            })
            .collect())
    }

    async fn subnets(&self, vpc: Option<&str>) -> Result<Vec<Subnet>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeSubnets",
            self.client
                .describe_subnets()
                .set_filters(filter("vpc-id", vpc)),
            subnets
        );
        Ok(raw.iter().map(subnet_of).collect())
    }

    async fn security_groups(&self, vpc: Option<&str>) -> Result<Vec<SecurityGroup>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeSecurityGroups",
            self.client
                .describe_security_groups()
                .set_filters(filter("vpc-id", vpc)),
            security_groups
        );
        Ok(raw
            .into_iter()
            .map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                egress: g
                    .ip_permissions_egress()
                    .iter()
                    .map(|p| EgressRule {
                        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
                        from_port: p.from_port(),
                        to_port: p.to_port(),
                        cidrs: p
                            .ip_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ip().map(str::to_string))
                            .collect(),
                        ipv6_cidrs: p
                            .ipv6_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ipv6().map(str::to_string))
                            .collect(),
                        prefix_lists: p
                            .prefix_list_ids()
                            .iter()
                            .filter_map(|r| r.prefix_list_id().map(str::to_string))
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }

    async fn s3_prefix_list(&self, region: &str) -> Result<Option<String>, AwsError> {
        let name = s3_service_name(region);
        let req = self
            .client
            .describe_prefix_lists()
            .set_filters(filter("prefix-list-name", Some(&name)));
        let lists = paginate!(self, "ec2:DescribePrefixLists", req, prefix_lists);
        Ok(lists
            .iter()
            .find(|p| p.prefix_list_name() == Some(name.as_str()))
            .and_then(|p| p.prefix_list_id().map(str::to_string)))
    }

    async fn dns(&self, vpc: &str) -> Result<Vpc, AwsError> {
        let attr = |a: VpcAttributeName| {
            self.calls.count("ec2:DescribeVpcAttribute");
            self.client
                .describe_vpc_attribute()
                .vpc_id(vpc)
                .attribute(a)
                .send()
        };
        let (support, hostnames) = tokio::join!(
            attr(VpcAttributeName::EnableDnsSupport),
            attr(VpcAttributeName::EnableDnsHostnames)
        );
        let support = support.map_err(|e| map_sdk_error("ec2:DescribeVpcAttribute", &e))?;
        let hostnames = hostnames.map_err(|e| map_sdk_error("ec2:DescribeVpcAttribute", &e))?;
        Ok(Vpc {
            id: vpc.to_string(),
            dns_support: support.enable_dns_support().and_then(|v| v.value()),
            dns_hostnames: hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        })
    }

    /// Every network fact of the region, concurrently.
    pub(crate) async fn network(&self, region: &str) -> Result<NetworkFacts, AwsError> {
        let (vpcs, endpoints, route_tables, subnets, security_groups, pl) = tokio::join!(
            self.vpcs(None),
            self.endpoints(None),
            self.route_tables(None),
            self.subnets(None),
            self.security_groups(None),
            self.s3_prefix_list(region)
        );
        let vpc_ids = vpcs?;
        let mut vpcs = Vec::with_capacity(vpc_ids.len());
        for chunk in vpc_ids.chunks(8) {
            let got = futures_util::future::join_all(chunk.iter().map(|v| self.dns(v))).await;
            for v in got {
                vpcs.push(v?);
            }
        }
        Ok(NetworkFacts {
            region: region.to_string(),
            vpcs,
            endpoints: endpoints?,
            route_tables: route_tables?,
            subnets: subnets?,
            security_groups: security_groups?,
            s3_prefix_list: pl?,
            dns_unknown: None,
        })
    }

    /// One VPC's facts, every read filtered by `vpc-id`, all eight concurrently. A VPC that
    /// does not exist comes back with no `vpcs` (its attribute reads' not-found is expected).
    pub(crate) async fn vpc_network(
        &self,
        region: &str,
        vpc: &str,
    ) -> Result<NetworkFacts, AwsError> {
        let (vpcs, dns, endpoints, route_tables, subnets, security_groups, pl) = tokio::join!(
            self.vpcs(Some(vpc)),
            self.dns(vpc),
            self.endpoints(Some(("vpc-id", vpc))),
            self.route_tables(Some(vpc)),
            self.subnets(Some(vpc)),
            self.security_groups(Some(vpc)),
            self.s3_prefix_list(region)
        );
        let exists = vpcs?.iter().any(|v| v == vpc);
        let vpcs = match dns {
            Ok(v) if exists => vec![v],
            Err(e) if exists || e.kind != ErrorKind::NotFound => return Err(e),
            _ => Vec::new(),
        };
        Ok(NetworkFacts {
            region: region.to_string(),
            vpcs,
            endpoints: endpoints?,
            route_tables: route_tables?,
            subnets: subnets?,
            security_groups: security_groups?,
            s3_prefix_list: pl?,
            dns_unknown: None,
        })
    }

    /// The region's S3 endpoints, gateway and interface: one paginated `DescribeVpcEndpoints`
    /// filtered by service name.
    pub(crate) async fn s3_endpoints(&self, region: &str) -> Result<Vec<Endpoint>, AwsError> {
        self.endpoints(Some(("service-name", &s3_service_name(region))))
            .await
    }
}

impl NetworkReader for AwsClients {
    async fn network(&self, region: &str) -> Result<NetworkFacts, AwsError> {
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        // Boxed: the joined SDK futures are deep types; a handler awaiting them inline
        // overflows the compiler's layout query depth.
        Box::pin(calls.network(region)).await
    }

    async fn vpc_network(&self, region: &str, vpc_id: &str) -> Result<NetworkFacts, AwsError> {
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        Box::pin(calls.vpc_network(region, vpc_id)).await
    }

    async fn s3_endpoints(&self, region: &str) -> Result<Vec<Endpoint>, AwsError> {
        let client = self.ec2(region);
        NetworkCalls {
            client: &client,
            calls: &self.calls,
        }
        .s3_endpoints(region)
        .await
    }
}

/// A lookup that finds nothing: `None`, not an error (a resource deleted since the event).
fn absent_is_none(r: Result<Option<String>, AwsError>) -> Result<Option<String>, AwsError> {
    match r {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        other => other,
    }
}

impl NetworkCalls<'_> {
    /// The VPC of the route table matching `name = value`.
    async fn route_table_vpc(&self, name: &str, value: &str) -> Result<Option<String>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeRouteTables",
            self.client
                .describe_route_tables()
                .set_filters(filter(name, Some(value))),
            route_tables
        );
        Ok(raw.iter().find_map(|t| t.vpc_id().map(str::to_string)))
    }

    async fn security_group_vpc(&self, id: &str) -> Result<Option<String>, AwsError> {
        let raw = paginate!(
            self,
            "ec2:DescribeSecurityGroups",
            self.client
                .describe_security_groups()
                .set_filters(filter("group-id", Some(id))),
            security_groups
        );
        Ok(raw.iter().find_map(|g| g.vpc_id().map(str::to_string)))
    }
}

impl NetworkLocator for AwsClients {
    async fn endpoints_by_id(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Vec<Endpoint>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        // EC2 fails the whole read when one id is unknown: then each id alone, the unknown
        // ones left out.
        match calls.endpoints_with_ids(ids).await {
            Err(e) if e.kind == ErrorKind::NotFound && ids.len() > 1 => {
                let mut out = Vec::new();
                for id in ids {
                    match calls.endpoints_with_ids(std::slice::from_ref(id)).await {
                        Ok(found) => out.extend(found),
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    async fn vpc_of_route_table(&self, region: &str, id: &str) -> Result<Option<String>, AwsError> {
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        absent_is_none(calls.route_table_vpc("route-table-id", id).await)
    }

    async fn vpc_of_route_table_association(
        &self,
        region: &str,
        association_id: &str,
    ) -> Result<Option<String>, AwsError> {
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        absent_is_none(
            calls
                .route_table_vpc("association.route-table-association-id", association_id)
                .await,
        )
    }

    async fn vpc_of_security_group(
        &self,
        region: &str,
        id: &str,
    ) -> Result<Option<String>, AwsError> {
        let client = self.ec2(region);
        let calls = NetworkCalls {
            client: &client,
            calls: &self.calls,
        };
        absent_is_none(calls.security_group_vpc(id).await)
    }
}

/// An endpoint as the rules see it; `IpAddressType` lower-cased (`ipv4`, `dualstack`, `ipv6`).
fn endpoint_of(e: &aws_sdk_ec2::types::VpcEndpoint) -> Endpoint {
    Endpoint {
        id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
        vpc_id: e.vpc_id().unwrap_or_default().to_string(),
        service_name: e.service_name().unwrap_or_default().to_string(),
        endpoint_type: e
            .vpc_endpoint_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        state: e
            .state()
            .map(|s| s.as_str().to_ascii_lowercase())
            .unwrap_or_default(),
        policy: e.policy_document().map(str::to_string),
        route_table_ids: e.route_table_ids().to_vec(),
        ip_address_type: e.ip_address_type().map(|t| t.as_str().to_ascii_lowercase()),
        owner_id: e.owner_id().map(str::to_string),
    }
}

/// A route, with its egress-only internet gateway (IPv6) when it has one.
fn route_of(r: &aws_sdk_ec2::types::Route) -> Route {
    Route {
        destination_cidr: r.destination_cidr_block().map(str::to_string),
        destination_ipv6_cidr: r.destination_ipv6_cidr_block().map(str::to_string),
        destination_prefix_list: r.destination_prefix_list_id().map(str::to_string),
        gateway_id: r.gateway_id().map(str::to_string),
        nat_gateway_id: r.nat_gateway_id().map(str::to_string),
        egress_only_gateway_id: r.egress_only_internet_gateway_id().map(str::to_string),
    }
}

/// A subnet with its associated IPv6 CIDR blocks (disassociated ones left out).
fn subnet_of(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_string(),
        vpc_id: s.vpc_id().unwrap_or_default().to_string(),
        ipv6_cidrs: s
            .ipv6_cidr_block_association_set()
            .iter()
            .filter(|a| {
                a.ipv6_cidr_block_state()
                    .and_then(|st| st.state())
                    .is_none_or(|st| st.as_str() == "associated")
            })
            .filter_map(|a| a.ipv6_cidr_block().map(str::to_string))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        IpAddressType, SubnetCidrBlockState, SubnetCidrBlockStateCode,
        SubnetIpv6CidrBlockAssociation, VpcEndpoint,
    };

    #[test]
    fn the_dual_stack_facts_are_read() {
        let e = endpoint_of(
            &VpcEndpoint::builder()
                .vpc_endpoint_id("vpce-1")
                .ip_address_type(IpAddressType::Dualstack)
                .build(),
        );
        assert_eq!(e.ip_address_type.as_deref(), Some("dualstack"));
        assert!(e.carries_ipv6());
        let e = endpoint_of(&VpcEndpoint::builder().vpc_endpoint_id("vpce-2").build());
        assert_eq!(e.ip_address_type, None, "not reported (moto)");
        assert!(!e.carries_ipv6());
        let r = route_of(
            &aws_sdk_ec2::types::Route::builder()
                .destination_ipv6_cidr_block("::/0")
                .egress_only_internet_gateway_id("eigw-1")
                .build(),
        );
        assert_eq!(r.egress_only_gateway_id.as_deref(), Some("eigw-1"));
        let assoc = |cidr: &str, state: SubnetCidrBlockStateCode| {
            SubnetIpv6CidrBlockAssociation::builder()
                .ipv6_cidr_block(cidr)
                .ipv6_cidr_block_state(SubnetCidrBlockState::builder().state(state).build())
                .build()
        };
        let s = subnet_of(
            &aws_sdk_ec2::types::Subnet::builder()
                .subnet_id("subnet-1")
                .ipv6_cidr_block_association_set(assoc(
                    "2600:1f18::/64",
                    SubnetCidrBlockStateCode::Associated,
                ))
                .ipv6_cidr_block_association_set(assoc(
                    "2600:1f19::/64",
                    SubnetCidrBlockStateCode::Disassociated,
                ))
                .build(),
        );
        assert_eq!(s.ipv6_cidrs, ["2600:1f18::/64"]);
    }
}
