//! The network dimension: the public internet, or an endpoint in a VPC, owned by an account
//! that may be in an organization. Every key AWS sets from the network path takes the value
//! of the context's endpoint and owner, or is absent: never a free value (RULES.md, "Request
//! contexts").

use super::super::keys::{
    well_formed, ACCESS_POINT_ACCOUNT, ACCESS_POINT_ARN, ACCESS_POINT_NETWORK_ORIGIN, SOURCE_IP,
    SOURCE_VPC, SOURCE_VPCE, SOURCE_VPC_ARN, VPCE_ACCOUNT, VPCE_ORG_ID, VPCE_ORG_PATHS,
    VPC_SOURCE_IP,
};
use super::super::values::EndpointScope;
use super::super::witness::witnesses;
use super::build::{Builder, Fresh};
use super::dims::{Dim, DimKind, DimValue, EndpointOwner, Info, TooComplex};
use super::MAX_DIM_VALUES;

/// An owning account with its organization and OU path, and the hypothesis it stands on.
#[derive(Debug, Clone)]
struct OwnerCtx {
    kind: EndpointOwner,
    account: String,
    org: Option<String>,
    path: Option<String>,
    hypothesis: Option<String>,
    what: String,
}

/// An endpoint: its id, what it is, and its VPC if known.
type EndpointRow = (String, String, Option<String>);

impl Builder {
    /// The organizations and OU paths the bucket owner may be in: the known ones, else (when
    /// the policy tests the keys) each the policy names, a fresh one and none at all — each a
    /// hypothesis the rules that must show a request is *not* denied cannot rely on.
    fn owner_orgs(&self, fresh: &mut Fresh) -> Vec<(Option<String>, Option<String>, Option<String>)> {
        let scope = &self.scope;
        let uses_org = self.uses_key(VPCE_ORG_ID);
        let uses_path = self.uses_key(VPCE_ORG_PATHS);
        let orgs: Vec<Option<String>> = match &scope.org_id {
            Some(o) => vec![Some(o.clone())],
            None if uses_org || uses_path => {
                let mut v: Vec<Option<String>> = Vec::new();
                for w in witnesses(&self.clauses_of(VPCE_ORG_ID), "o-guardfresh0") {
                    if well_formed(VPCE_ORG_ID, &w) && !v.contains(&Some(w.clone())) {
                        v.push(Some(w));
                    }
                }
                // Orgs the paths name.
                for w in witnesses(&self.clauses_of(VPCE_ORG_PATHS), "o-guardfresh0/") {
                    if let Some(o) = w.split('/').next().filter(|o| well_formed(VPCE_ORG_ID, o)) {
                        if !v.contains(&Some(o.to_string())) {
                            v.push(Some(o.to_string()));
                        }
                    }
                }
                v.push(Some(fresh.id("o-")));
                v.push(None);
                v
            }
            None => vec![Some(fresh.id("o-"))],
        };
        let mut out = Vec::new();
        let several = orgs.len() > 1;
        for org in orgs {
            let Some(o) = org else {
                out.push((
                    None,
                    None,
                    several.then(|| "if the bucket owner's account is in no organization".into()),
                ));
                continue;
            };
            let paths: Vec<String> = match &scope.org_path {
                Some(p) if scope.org_id.is_some() || p.starts_with(&format!("{o}/")) => {
                    vec![p.clone()]
                }
                _ if uses_path => {
                    let mut v: Vec<String> = witnesses(
                        &self.clauses_of(VPCE_ORG_PATHS),
                        &format!("{o}/r-guardfresh/"),
                    )
                    .into_iter()
                    .filter(|w| w.starts_with(&format!("{o}/")))
                    .collect();
                    let own = format!("{o}/r-guardfresh/ou-guardfresh/");
                    if !v.contains(&own) {
                        v.push(own);
                    }
                    v
                }
                _ => vec![format!("{o}/r-guardfresh/")],
            };
            let several_paths = paths.len() > 1;
            for p in paths {
                let hypothesis = match (several, several_paths) {
                    (false, false) => None,
                    (true, false) => Some(format!("if the bucket owner's organization is {o}")),
                    (_, true) => Some(format!(
                        "if the bucket owner's account is in organization {o} at OU path {p}"
                    )),
                };
                out.push((Some(o.clone()), Some(p), hypothesis));
            }
        }
        out
    }

    /// The owners an endpoint of `kind` may have: the bucket owner's account (or the approved
    /// endpoints' owner) under each organization hypothesis; another account of that
    /// organization; and accounts outside it — a fresh one and each the policy names.
    fn owners(
        &self,
        account: &str,
        orgs: &[(Option<String>, Option<String>, Option<String>)],
        fresh: &mut Fresh,
    ) -> (Vec<OwnerCtx>, Vec<OwnerCtx>, Vec<OwnerCtx>) {
        let scope = &self.scope;
        let approved_owner = scope
            .vpce_account
            .clone()
            .unwrap_or_else(|| account.to_string());
        let mut approved = Vec::new();
        let mut own = Vec::new();
        let mut members = Vec::new();
        let names_org = self.uses_key(VPCE_ORG_ID)
            || self.uses_key(VPCE_ORG_PATHS)
            || scope.endpoint_scope == EndpointScope::Organization;
        let member = fresh.account();
        for (org, path, hyp) in orgs {
            let ctx = |acct: &str, kind: EndpointOwner, what: &str| OwnerCtx {
                kind,
                account: acct.to_string(),
                org: org.clone(),
                path: path.clone(),
                hypothesis: hyp.clone(),
                what: what.to_string(),
            };
            approved.push(ctx(&approved_owner, EndpointOwner::Account, ""));
            own.push(ctx(account, EndpointOwner::Account, ""));
            if names_org {
                if let Some(o) = org {
                    let mut m = ctx(&member, EndpointOwner::Organization, "");
                    // Elsewhere in the organization: the path the policy names, or another.
                    m.path = Some(format!("{o}/r-guardfresh/ou-guardmember/"));
                    m.what = format!(", owned by another account of organization {o}");
                    members.push(m.clone());
                    if self.uses_key(VPCE_ORG_PATHS) {
                        for w in witnesses(&self.clauses_of(VPCE_ORG_PATHS), "") {
                            if w.starts_with(&format!("{o}/")) && Some(&w) != path.as_ref() {
                                let mut m2 = m.clone();
                                m2.path = Some(w);
                                members.push(m2);
                            }
                        }
                    }
                }
            }
        }
        // Outside the organization: a fresh account, and each account the policy names that
        // is not the owner's; in no organization, or in another.
        let mut foreign = Vec::new();
        let mut accounts = vec![fresh.account()];
        for w in witnesses(&self.clauses_of(VPCE_ACCOUNT), "") {
            if well_formed(VPCE_ACCOUNT, &w)
                && w != account
                && w != approved_owner
                && !accounts.contains(&w)
            {
                accounts.push(w);
            }
        }
        let mut foreign_orgs: Vec<Option<String>> = vec![Some(fresh.id("o-"))];
        if self.uses_key(VPCE_ORG_ID) || self.uses_key(VPCE_ORG_PATHS) {
            foreign_orgs.push(None);
            let own_orgs: Vec<&String> = match &scope.org_id {
                Some(o) => vec![o],
                None => Vec::new(),
            };
            for w in witnesses(&self.clauses_of(VPCE_ORG_ID), "") {
                if well_formed(VPCE_ORG_ID, &w)
                    && !own_orgs.contains(&&w)
                    && !foreign_orgs.contains(&Some(w.clone()))
                {
                    foreign_orgs.push(Some(w));
                }
            }
        }
        for a in &accounts {
            for o in &foreign_orgs {
                let named = a != &accounts[0];
                foreign.push(OwnerCtx {
                    kind: EndpointOwner::Foreign,
                    account: a.clone(),
                    org: o.clone(),
                    path: o.as_ref().map(|o| format!("{o}/r-guardforeign/")),
                    hypothesis: None,
                    what: if named {
                        format!(", owned by account {a}")
                    } else {
                        String::new()
                    },
                });
            }
        }
        members.extend(foreign);
        (approved, own, members)
    }

    /// The region in `aws:SourceVpcArn`: the bucket's when known, else the one a VPC ARN of
    /// the policy names, else `us-east-1`.
    fn vpc_arn_region(&self) -> String {
        if let Some(r) = &self.scope.region {
            return r.clone();
        }
        for c in self.clauses_of(SOURCE_VPC_ARN) {
            for v in &c.raw_values {
                if let Some(r) = v.split(':').nth(3) {
                    if !r.is_empty() && !r.contains(['*', '?']) {
                        return r.to_string();
                    }
                }
            }
        }
        "us-east-1".to_string()
    }

    /// When the policy tests the access-point keys: each origin directly, and through an
    /// access point of the bucket owner's account, with network origin `Internet` (any
    /// origin) or `VPC` (endpoint origins only). Direct requests carry no access-point key.
    fn through_access_points(
        &self,
        values: Vec<DimValue>,
        account: &str,
        region: &str,
        fresh: &mut Fresh,
    ) -> Vec<DimValue> {
        if ![ACCESS_POINT_ARN, ACCESS_POINT_ACCOUNT, ACCESS_POINT_NETWORK_ORIGIN]
            .iter()
            .any(|k| self.uses_key(k))
        {
            return values;
        }
        let partition = self.scope.partition.as_str();
        let own = format!("arn:{partition}:s3:{region}:{account}:accesspoint/");
        let mut arns: Vec<String> = witnesses(&self.clauses_of(ACCESS_POINT_ARN), "")
            .into_iter()
            .filter(|w| w.starts_with(&own) && w.len() > own.len())
            .collect();
        arns.push(format!("{own}{}", fresh.id("ap-")));
        let mut out = Vec::with_capacity(values.len() * (1 + 2 * arns.len()));
        for v in values {
            let endpoint = matches!(&v.info, Info::Network { endpoint: Some(_), .. });
            out.push(v.clone());
            for arn in &arns {
                for origin in ["Internet", "VPC"] {
                    if origin == "VPC" && !endpoint {
                        continue;
                    }
                    let mut via = v.clone();
                    via.keys.push((ACCESS_POINT_ARN.into(), vec![arn.clone()]));
                    via.keys
                        .push((ACCESS_POINT_ACCOUNT.into(), vec![account.to_string()]));
                    via.keys
                        .push((ACCESS_POINT_NETWORK_ORIGIN.into(), vec![origin.to_string()]));
                    if let Info::Network { access_point, .. } = &mut via.info {
                        *access_point = true;
                    }
                    via.label = format!(
                        "{} through access point {} (network origin {origin})",
                        v.label,
                        arn.rsplit('/').next().unwrap_or(arn)
                    );
                    out.push(via);
                }
            }
        }
        out
    }

    pub(super) fn network_dim(&self, account: &str, fresh: &mut Fresh) -> Result<Dim, TooComplex> {
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
                    owner: None,
                    hypothesis: None,
                    access_point: false,
                    endpoint: None,
                    vpc: None,
                    plausible: true,
                },
            });
        }
        let orgs = self.owner_orgs(fresh);
        let (approved_owners, own_owners, others) = self.owners(account, &orgs, fresh);
        // Endpoints: (id, description, VPC if known), each with the owners it may have.
        let mut endpoints: Vec<(EndpointRow, &[OwnerCtx])> = Vec::new();
        let known_vpc = |e: &str| {
            scope
                .account_endpoints
                .iter()
                .find(|(id, _)| id == e)
                .map(|(_, v)| v.clone())
        };
        for e in &scope.approved_vpce {
            endpoints.push((
                (e.clone(), "approved endpoint".into(), known_vpc(e)),
                &approved_owners,
            ));
        }
        for (e, v) in &scope.account_endpoints {
            if !endpoints.iter().any(|x| x.0 .0 == *e) {
                endpoints.push((
                    (
                        e.clone(),
                        "another endpoint of the account".into(),
                        Some(v.clone()),
                    ),
                    &own_owners,
                ));
            }
        }
        if scope.account_endpoints.is_empty() {
            endpoints.push((
                (
                    fresh.id("vpce-"),
                    "another endpoint of the account".into(),
                    None,
                ),
                &own_owners,
            ));
        }
        endpoints.push((
            (fresh.id("vpce-"), "a foreign endpoint".into(), None),
            &others,
        ));
        // AWS writes endpoint and VPC ids in lower case; case variants are the same id.
        for w in witnesses(&self.clauses_of(SOURCE_VPCE), "vpce-guard-fresh-value") {
            let w = w.to_ascii_lowercase();
            // AWS sets aws:SourceVpce only to an endpoint id: a `vpc-…` constant never matches.
            if well_formed(SOURCE_VPCE, &w) && !endpoints.iter().any(|x| x.0 .0 == w) {
                // Whose it is the policy does not say: the account's or anyone's.
                endpoints.push(((w.clone(), "an endpoint the policy names".into(), None), &own_owners));
                endpoints.push(((w, "an endpoint the policy names".into(), None), &others));
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
        let region = self.vpc_arn_region();
        let partition = scope.partition.as_str();
        let approved_owner = scope.vpce_account.as_deref().unwrap_or(account);
        // What the labels show: the owner only when the policy tests an owner key.
        let names_org_keys = self.uses_key(VPCE_ORG_ID) || self.uses_key(VPCE_ORG_PATHS);
        let shows_owner =
            names_org_keys || self.uses_key(VPCE_ACCOUNT) || self.uses_key(SOURCE_VPC_ARN);
        let shows_vpc_key = self.uses_key(SOURCE_VPC);
        for ((e, what, vpc), owners) in &endpoints {
            let pair: Vec<&String> = match vpc {
                Some(v) => vec![v],
                // An endpoint the account does not have cannot sit in the account's VPCs.
                None => vpcs.iter().filter(|v| !account_vpcs.contains(v)).collect(),
            };
            // A dual-stack or IPv6 endpoint carries IPv6 clients too.
            let mut vips = vips.clone();
            if scope.ipv6_endpoints.contains(e) {
                vips.push("2600:1f18:1234:5600::10".to_string());
            }
            for owner in owners.iter() {
                // Whether the scope approves this owner's endpoints, and how labels name it.
                let by_scope = match scope.endpoint_scope {
                    EndpointScope::Endpoints => false,
                    EndpointScope::Account => {
                        owner.kind == EndpointOwner::Account
                            && (owner.account == account || owner.account == approved_owner)
                    }
                    EndpointScope::Organization => owner.kind != EndpointOwner::Foreign,
                };
                let owner_text = if !shows_owner {
                    String::new()
                } else if !owner.what.is_empty() {
                    owner.what.clone()
                } else {
                    format!(
                        ", owner {}{}",
                        owner.account,
                        match &owner.org {
                            Some(o) if names_org_keys => format!(" in {o}"),
                            _ => String::new(),
                        }
                    )
                };
                for v in &pair {
                    let listed = scope.approved_vpce.contains(e) || scope.approved_vpc.contains(v);
                    let approved = listed || by_scope;
                    let show_vpc = !super::synthetic::is_synthetic_id(v) || shows_vpc_key;
                    for ip in &vips {
                        let mut keys = vec![
                            (SOURCE_VPCE.into(), vec![e.clone()]),
                            (SOURCE_VPC.into(), vec![v.to_string()]),
                            (VPC_SOURCE_IP.into(), vec![ip.clone()]),
                            (
                                SOURCE_VPC_ARN.into(),
                                vec![format!(
                                    "arn:{partition}:ec2:{region}:{}:vpc/{v}",
                                    owner.account
                                )],
                            ),
                            (VPCE_ACCOUNT.into(), vec![owner.account.clone()]),
                        ];
                        if let Some(o) = &owner.org {
                            keys.push((VPCE_ORG_ID.into(), vec![o.clone()]));
                        }
                        if let Some(p) = &owner.path {
                            keys.push((VPCE_ORG_PATHS.into(), vec![p.clone()]));
                        }
                        values.push(DimValue {
                            label: format!(
                                "via {e} ({what}{}{owner_text}){}{}",
                                if listed && !scope.approved_vpce.contains(e) {
                                    ", approved VPC"
                                } else {
                                    ""
                                },
                                if show_vpc {
                                    format!(" in {v}")
                                } else {
                                    String::new()
                                },
                                match &owner.hypothesis {
                                    Some(h) => format!(" [{h}]"),
                                    None => String::new(),
                                }
                            ),
                            keys,
                            info: Info::Network {
                                approved,
                                owner: Some(owner.kind),
                                hypothesis: owner.hypothesis.clone(),
                                access_point: false,
                                endpoint: Some(e.clone()),
                                vpc: Some(v.to_string()),
                                plausible: vpc.is_some()
                                    || scope.approved_vpc.contains(v)
                                    || **v == fresh_vpc,
                            },
                        });
                    }
                }
            }
        }
        let values = self.through_access_points(values, account, &region, fresh);
        if values.len() > MAX_DIM_VALUES {
            return Err(TooComplex("too many network origins to enumerate".into()));
        }
        Ok(Dim {
            kind: DimKind::Network,
            values,
        })
    }
}
