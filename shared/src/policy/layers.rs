//! The organization layer: resource control policies (RCPs) judged together with a bucket
//! policy. An explicit deny in any policy wins, so the request space of a bucket is judged
//! against its own statements and the Deny statements of every RCP that applies to it.
//!
//! RCPs only deny: their `Allow` statements (`RCPFullAWSAccess`) change nothing and are left
//! out. RCPs do not restrict service-linked roles (AWS Organizations User Guide, "Resource
//! control policies (RCPs)": resources and entities not restricted by RCPs): each RCP
//! statement is judged with `ArnNotLikeIfExists aws:PrincipalArn
//! arn:*:iam::*:role/aws-service-role/*` added, so a service-linked role's session escapes it.

use serde_json::Value;

use super::err::PolicyError;
use super::model::{ConditionEntry, Effect, PolicyDocument};

/// The principal ARNs of service-linked roles, which RCPs do not restrict.
pub(crate) const SERVICE_LINKED_ROLES: &str = "arn:*:iam::*:role/aws-service-role/*";

/// Is `principal_arn` a service-linked role (which RCPs do not restrict)?
pub(crate) fn is_service_linked(principal_arn: &str) -> bool {
    super::glob::arn_matches(SERVICE_LINKED_ROLES, principal_arn)
}

/// One resource control policy: its id (the policy id, or the file it came from) and its
/// document.
#[derive(Debug, Clone, PartialEq)]
pub struct Rcp {
    pub id: String,
    pub document: PolicyDocument,
}

/// An RCP that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RcpError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("`Policy.Content` of the describe-policy output is not a string")]
    ContentNotText,
    #[error("describe-policy output of a {0} policy, not a RESOURCE_CONTROL_POLICY")]
    NotAnRcp(String),
    #[error("not a valid policy document: {0}")]
    Invalid(PolicyError),
}

impl Rcp {
    /// An RCP from a file's text: a policy document, or the JSON `aws organizations
    /// describe-policy` prints (its `Policy.Content`, named by `PolicySummary.Id`). `fallback`
    /// names a bare document (the file name).
    pub fn from_text(text: &str, fallback: &str) -> Result<Rcp, RcpError> {
        let v: Value = serde_json::from_str(text).map_err(|e| RcpError::NotJson(e.to_string()))?;
        if let Some(policy) = v.get("Policy").filter(|p| p.get("Content").is_some()) {
            let summary = policy.get("PolicySummary");
            if let Some(kind) = summary
                .and_then(|s| s.get("Type"))
                .and_then(Value::as_str)
                .filter(|t| *t != "RESOURCE_CONTROL_POLICY")
            {
                return Err(RcpError::NotAnRcp(kind.to_string()));
            }
            let content = policy
                .get("Content")
                .and_then(Value::as_str)
                .ok_or(RcpError::ContentNotText)?;
            let id = summary
                .and_then(|s| s.get("Id").or_else(|| s.get("Name")))
                .and_then(Value::as_str)
                .unwrap_or(fallback);
            let document = PolicyDocument::parse(content).map_err(RcpError::Invalid)?;
            return Ok(Rcp {
                id: id.to_string(),
                document,
            });
        }
        let document = PolicyDocument::parse(text).map_err(RcpError::Invalid)?;
        Ok(Rcp {
            id: fallback.to_string(),
            document,
        })
    }
}

/// The document the rules judge: the bucket policy's statements (none when it has no
/// policy), then every RCP's Deny statements, each named by its layer and exempting
/// service-linked roles.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn effective(bucket: Option<&PolicyDocument>, rcps: &[Rcp]) -> PolicyDocument {
    let mut doc = match bucket {
        Some(d) => d.clone(),
        None => PolicyDocument {
            version: Some("2012-10-17".into()),
            id: None,
            statements: Vec::new(),
            raw: Value::Null,
        },
    };
    for rcp in rcps {
        for st in &rcp.document.statements {
            if st.effect != Effect::Deny {
                continue;
            }
            let mut s = st.clone();
            s.layer = Some((rcp.id.clone(), st.index));
            s.index = doc.statements.len();
            s.conditions.push(ConditionEntry {
                operator: "ArnNotLikeIfExists".into(),
                key: "aws:PrincipalArn".into(),
                values: vec![SERVICE_LINKED_ROLES.into()],
                raw_types: vec!["string"],
            });
            doc.statements.push(s);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    const RCP: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"RCPFullAWSAccess","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
        {"Sid":"EnforceNetworkPerimeter","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
         "Condition":{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;

    #[test]
    fn an_rcp_adds_its_denies_named_by_layer() {
        let bucket = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Tls","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        )
        .unwrap();
        let rcp = Rcp::from_text(RCP, "perimeter.json").unwrap();
        assert_eq!(rcp.id, "perimeter.json");
        let doc = effective(Some(&bucket), &[rcp]);
        let labels: Vec<String> = doc.statements.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            [
                "`Tls` (#0)",
                "RCP perimeter.json statement `EnforceNetworkPerimeter` (#1)"
            ]
        );
        assert_eq!(doc.statements[1].index, 1);
        assert!(doc.statements[1]
            .conditions
            .iter()
            .any(|c| c.key == "aws:PrincipalArn" && c.values == [SERVICE_LINKED_ROLES]));
    }

    #[test]
    fn describe_policy_output_is_read_and_other_policy_types_refused() {
        let out = serde_json::json!({"Policy": {
            "PolicySummary": {"Id": "p-abcd1234", "Name": "perimeter", "Type": "RESOURCE_CONTROL_POLICY"},
            "Content": RCP}});
        let rcp = Rcp::from_text(&out.to_string(), "f.json").unwrap();
        assert_eq!(rcp.id, "p-abcd1234");
        assert_eq!(rcp.document.statements.len(), 2);
        let scp = serde_json::json!({"Policy": {
            "PolicySummary": {"Id": "p-1", "Type": "SERVICE_CONTROL_POLICY"}, "Content": RCP}});
        assert!(matches!(
            Rcp::from_text(&scp.to_string(), "f"),
            Err(RcpError::NotAnRcp(_))
        ));
        assert!(matches!(
            Rcp::from_text("{", "f"),
            Err(RcpError::NotJson(_))
        ));
        assert!(matches!(
            Rcp::from_text(
                r#"{"Statement":[{"Effect":"Permit","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
                "f"
            ),
            Err(RcpError::Invalid(_))
        ));
        let none = effective(None, &[Rcp::from_text(RCP, "r").unwrap()]);
        assert_eq!(none.statements.len(), 1, "the Allow is left out");
    }
}
