//! The network dimension: the public internet, or an endpoint in a VPC.

use super::super::keys::{well_formed, SOURCE_IP, SOURCE_VPC, SOURCE_VPCE, VPC_SOURCE_IP};
use super::super::witness::witnesses;
use super::build::{Builder, Fresh};
use super::dims::{Dim, DimKind, DimValue, Info, TooComplex};
use super::MAX_DIM_VALUES;

impl Builder {
    pub(super) fn network_dim(&self, fresh: &mut Fresh) -> Result<Dim, TooComplex> {
        let scope = &self.scope;
        let mut values = Vec::new();
        // Public internet, over IPv4 and over IPv6 (dual-stack S3 endpoints bypass a gateway
        // endpoint): a deny written for 0.0.0.0/0 alone leaves IPv6 requests through.
        let mut ips = vec!["198.51.100.7".to_string(), "2001:db8::7".to_string()];
        for w in witnesses(&self.clauses_of(SOURCE_IP), "198.51.100.8") {
            if !ips.contains(&w) {
                ips.push(w);
            }
        }
        for ip in ips {
            let v6 = if ip.contains(':') { " over IPv6" } else { "" };
            values.push(DimValue {
                label: format!("from the public internet{v6} (aws:SourceIp {ip})"),
                keys: vec![(SOURCE_IP.into(), vec![ip])],
                info: Info::Network {
                    approved: false,
                    endpoint: None,
                    vpc: None,
                    plausible: true,
                },
            });
        }
        // Endpoints: (id, description, VPC if known).
        let mut endpoints: Vec<(String, String, Option<String>)> = Vec::new();
        let known_vpc = |e: &str| {
            scope
                .account_endpoints
                .iter()
                .find(|(id, _)| id == e)
                .map(|(_, v)| v.clone())
        };
        for e in &scope.approved_vpce {
            endpoints.push((e.clone(), "approved endpoint".into(), known_vpc(e)));
        }
        for (e, v) in &scope.account_endpoints {
            if !endpoints.iter().any(|x| x.0 == *e) {
                endpoints.push((
                    e.clone(),
                    "another endpoint of the account".into(),
                    Some(v.clone()),
                ));
            }
        }
        if scope.account_endpoints.is_empty() {
            endpoints.push((
                fresh.id("vpce-"),
                "another endpoint of the account".into(),
                None,
            ));
        }
        endpoints.push((fresh.id("vpce-"), "a foreign endpoint".into(), None));
        // AWS writes endpoint and VPC ids in lower case; case variants are the same id.
        for w in witnesses(&self.clauses_of(SOURCE_VPCE), "vpce-guard-fresh-value") {
            let w = w.to_ascii_lowercase();
            // AWS sets aws:SourceVpce only to an endpoint id: a `vpc-…` constant never matches.
            if well_formed(SOURCE_VPCE, &w) && !endpoints.iter().any(|x| x.0 == w) {
                endpoints.push((w, "an endpoint the policy names".into(), None));
            }
        }
        let mut vpcs: Vec<String> = scope.approved_vpc.clone();
        for (_, v) in &scope.account_endpoints {
            if !vpcs.contains(v) {
                vpcs.push(v.clone());
            }
        }
        for w in witnesses(&self.clauses_of(SOURCE_VPC), "vpc-guard-fresh-value") {
            let w = w.to_ascii_lowercase();
            if well_formed(SOURCE_VPC, &w) && !vpcs.contains(&w) {
                vpcs.push(w);
            }
        }
        let fresh_vpc = fresh.id("vpc-");
        vpcs.push(fresh_vpc.clone());
        let account_vpcs: Vec<&String> = scope.account_endpoints.iter().map(|(_, v)| v).collect();
        let mut vips = vec!["10.0.0.10".to_string()];
        for w in witnesses(&self.clauses_of(VPC_SOURCE_IP), "10.0.0.11") {
            if !vips.contains(&w) {
                vips.push(w);
            }
        }
        for (e, what, vpc) in &endpoints {
            let pair: Vec<&String> = match vpc {
                Some(v) => vec![v],
                // An endpoint the account does not have cannot sit in the account's VPCs.
                None => vpcs.iter().filter(|v| !account_vpcs.contains(v)).collect(),
            };
            for v in pair {
                for ip in &vips {
                    let approved =
                        scope.approved_vpce.contains(e) || scope.approved_vpc.contains(v);
                    let show_vpc =
                        !super::synthetic::is_synthetic_id(v) || self.uses_key(SOURCE_VPC);
                    values.push(DimValue {
                        label: format!(
                            "via {e} ({what}{}){}",
                            if approved && !scope.approved_vpce.contains(e) {
                                ", approved VPC"
                            } else {
                                ""
                            },
                            if show_vpc {
                                format!(" in {v}")
                            } else {
                                String::new()
                            }
                        ),
                        keys: vec![
                            (SOURCE_VPCE.into(), vec![e.clone()]),
                            (SOURCE_VPC.into(), vec![v.clone()]),
                            (VPC_SOURCE_IP.into(), vec![ip.clone()]),
                        ],
                        info: Info::Network {
                            approved,
                            endpoint: Some(e.clone()),
                            vpc: Some(v.clone()),
                            plausible: vpc.is_some()
                                || scope.approved_vpc.contains(v)
                                || *v == fresh_vpc,
                        },
                    });
                }
            }
        }
        if values.len() > MAX_DIM_VALUES {
            return Err(TooComplex("too many network origins to enumerate".into()));
        }
        Ok(Dim {
            kind: DimKind::Network,
            values,
        })
    }
}
