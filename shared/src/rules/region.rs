//! The account's S3 endpoints in one region, as the bucket rules see them in account mode.

use crate::facts::{Endpoint, NetworkFacts};

/// The account's S3 endpoints (gateway and interface) in the bucket's region (account mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionView {
    pub(crate) region: String,
    /// Every S3 endpoint of the account in the region, gateway or interface, with its VPC.
    pub(crate) endpoints: Vec<(String, String)>,
    /// Those that are `available`: the only ones a request can go through.
    pub available: Vec<String>,
    /// Those that carry IPv6 too (`IpAddressType` `dualstack` or `ipv6`).
    pub(crate) ipv6: Vec<String>,
    /// Each endpoint's owner, where the API reports it (`OwnerId`).
    pub(crate) owners: Vec<(String, String)>,
}

/// The region view of the account's S3 gateway endpoints.
pub fn region_view(net: &NetworkFacts) -> RegionView {
    RegionView::from_endpoints(&net.region, &net.endpoints)
}

impl RegionView {
    /// From the region's VPC endpoints (any service: only its S3 endpoints, gateway or
    /// interface, are kept).
    pub fn from_endpoints(region: &str, endpoints: &[Endpoint]) -> RegionView {
        RegionView {
            region: region.to_string(),
            endpoints: endpoints
                .iter()
                .filter(|e| e.is_s3_endpoint_of(region))
                .map(|e| (e.id.clone(), e.vpc_id.clone()))
                .collect(),
            available: endpoints
                .iter()
                .filter(|e| e.is_available_s3_endpoint(region))
                .map(|e| e.id.clone())
                .collect(),
            ipv6: endpoints
                .iter()
                .filter(|e| e.is_s3_endpoint_of(region) && e.carries_ipv6())
                .map(|e| e.id.clone())
                .collect(),
            owners: endpoints
                .iter()
                .filter(|e| e.is_s3_endpoint_of(region))
                .filter_map(|e| Some((e.id.clone(), e.owner_id.clone()?)))
                .collect(),
        }
    }
}
