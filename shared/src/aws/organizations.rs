//! The organization-policy source over AWS Organizations: the guard assumes the read-only role
//! the deployment names (`OrganizationPolicyRoleArn`, in the management account or the
//! delegated administrator for policy management) and reads the account's organization, its OU
//! path (`ListParents` up to the root) and the RCPs attached to the account, each OU above it
//! and the root (`ListPoliciesForTarget`, `DescribePolicy`).

use aws_sdk_organizations::types::{ParentType, PolicyType};

use super::clients::AwsClients;
use super::{map_sdk_error, AwsError, ErrorKind, OrgLayer, OrgPolicySource};
use crate::policy::Rcp;

/// OUs nest at most five levels under the root (Organizations quotas).
const MAX_DEPTH: usize = 8;

impl AwsClients {
    async fn organizations_client(&self, role: &str) -> aws_sdk_organizations::Client {
        self.organizations
            .get_or_init(|| async {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("vpce-guard-org-reader")
                    .configure(&self.sdk)
                    .build()
                    .await;
                let conf = aws_sdk_organizations::config::Builder::from(&self.sdk)
                    .credentials_provider(provider)
                    .build();
                aws_sdk_organizations::Client::from_conf(conf)
            })
            .await
            .clone()
    }
}

impl OrgPolicySource for AwsClients {
    async fn organization(&self) -> Result<Option<(String, String)>, AwsError> {
        self.calls.count("organizations:DescribeOrganization");
        let c = aws_sdk_organizations::Client::new(&self.sdk);
        match c.describe_organization().send().await {
            Ok(out) => Ok(out.organization().map(|o| {
                (
                    o.id().unwrap_or_default().to_string(),
                    o.master_account_id().unwrap_or_default().to_string(),
                )
            })),
            Err(e) => {
                let e = map_sdk_error("organizations:DescribeOrganization", &e);
                // An account in no organization.
                if e.code.as_deref() == Some("AWSOrganizationsNotInUseException") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn org_layer(&self, account: &str) -> Result<Option<OrgLayer>, AwsError> {
        let Some(role) = self.org_policy_role.clone() else {
            return Ok(None);
        };
        let c = self.organizations_client(&role).await;
        self.calls.count("organizations:DescribeOrganization");
        let out = c
            .describe_organization()
            .send()
            .await
            .map_err(|e| map_sdk_error("organizations:DescribeOrganization", &e))?;
        let org = out.organization();
        let org_id = org.and_then(|o| o.id()).unwrap_or_default().to_string();
        let management_account = org
            .and_then(|o| o.master_account_id())
            .unwrap_or_default()
            .to_string();
        // The account's parents, up to the root.
        let mut chain: Vec<String> = Vec::new();
        let mut child = account.to_string();
        for _ in 0..MAX_DEPTH {
            self.calls.count("organizations:ListParents");
            let out = c
                .list_parents()
                .child_id(&child)
                .send()
                .await
                .map_err(|e| map_sdk_error("organizations:ListParents", &e))?;
            let Some(parent) = out.parents().first() else {
                break;
            };
            let id = parent.id().unwrap_or_default().to_string();
            let root = parent.r#type() == Some(&ParentType::Root);
            chain.push(id.clone());
            if root {
                break;
            }
            child = id;
        }
        if chain.is_empty() {
            return Err(AwsError {
                call: "organizations:ListParents",
                kind: ErrorKind::Other,
                code: None,
                message: format!("account {account} has no parent in the organization"),
            });
        }
        let path = format!(
            "{org_id}/{}/",
            chain.iter().rev().cloned().collect::<Vec<_>>().join("/")
        );
        // The RCPs of the account, of each OU above it and of the root.
        let mut ids: Vec<String> = Vec::new();
        for target in std::iter::once(account.to_string()).chain(chain.iter().cloned()) {
            let mut token: Option<String> = None;
            loop {
                self.calls.count("organizations:ListPoliciesForTarget");
                let out = c
                    .list_policies_for_target()
                    .target_id(&target)
                    .filter(PolicyType::ResourceControlPolicy)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("organizations:ListPoliciesForTarget", &e))?;
                for p in out.policies() {
                    if let Some(id) = p.id() {
                        if !ids.iter().any(|x| x == id) {
                            ids.push(id.to_string());
                        }
                    }
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        let mut rcps = Vec::with_capacity(ids.len());
        for id in ids {
            self.calls.count("organizations:DescribePolicy");
            let out = c
                .describe_policy()
                .policy_id(&id)
                .send()
                .await
                .map_err(|e| map_sdk_error("organizations:DescribePolicy", &e))?;
            let content = out.policy().and_then(|p| p.content()).unwrap_or_default();
            let rcp = Rcp::from_text(content, &id).map_err(|e| AwsError {
                call: "organizations:DescribePolicy",
                kind: ErrorKind::Other,
                code: None,
                message: format!("RCP {id} cannot be read as a policy: {e}"),
            })?;
            rcps.push(rcp);
        }
        Ok(Some(OrgLayer {
            org_id,
            management_account,
            path,
            rcps,
        }))
    }
}
