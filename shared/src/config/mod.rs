//! AWS Config custom rules: the typed rule event (the invoking event and rule parameters are
//! JSON strings inside it, parsed once), configuration items as facts, evaluations, and the
//! handlers of the two rules, generic over the ports.

pub(crate) mod event;
pub(crate) mod item;
pub(crate) mod network;
pub(crate) mod port;
pub(crate) mod regional;
pub mod rule_functions;
pub(crate) mod types;

use serde_json::Value;
use thiserror::Error;

use crate::rules::mute::MuteList;
use crate::rules::params::split_list;
use crate::rules::{BucketParams, Compliance, Evaluation, ParamError, RuleId, Status};

pub use event::{ConfigRuleEvent, Invocation, NotificationType, RuleEvent};
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) use item::{ConfigItem, PartialBucket};
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) use types::{ItemStatus, ResourceType, Timestamp};

/// A malformed or unusable rule event.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("`invokingEvent` is missing")]
    NoInvokingEvent,
    #[error("`invokingEvent` is not valid JSON: {0}")]
    InvokingEventJson(String),
    #[error("`ruleParameters` is not a JSON object of strings: {0}")]
    RuleParametersJson(String),
    #[error("unsupported messageType `{0}`")]
    UnsupportedMessageType(String),
    #[error("the configuration item lacks `{0}`")]
    MissingField(&'static str),
    #[error("`{field}` is not a date (RFC 3339): `{value}`")]
    BadTimestamp { field: &'static str, value: String },
    #[error(transparent)]
    Param(#[from] ParamError),
}

/// `ruleParameters`: a JSON object of comma-separated strings (RULES.md).
pub fn parse_rule_parameters(raw: Option<&str>) -> Result<BucketParams, EventError> {
    let mut p = BucketParams::default();
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(p);
    };
    let v: Value =
        serde_json::from_str(raw).map_err(|e| EventError::RuleParametersJson(e.to_string()))?;
    let Value::Object(map) = v else {
        return Err(EventError::RuleParametersJson("not an object".into()));
    };
    for (k, v) in &map {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(EventError::RuleParametersJson(format!(
                    "`{k}` is not a string"
                )))
            }
        };
        match k.as_str() {
            "ApprovedVpceIds" => p.approved_vpce = split_list(&s),
            "ApprovedVpcIds" => p.approved_vpc = split_list(&s),
            "ExemptPrincipalArns" => p.exempt_principals = split_list(&s),
            "GuardPrincipalArns" => p.guard_principals = split_list(&s),
            "RemediatorPrincipalArns" => p.remediator_principals = split_list(&s),
            "DisabledRules" => {
                p.disabled_rules = BucketParams::parse_disabled_rules(&split_list(&s))?
            }
            "RequireSigV4" => p.require_sigv4 = BucketParams::parse_bool("RequireSigV4", "--require-sigv4", &s)?,
            "ApprovedEndpointScope" => {
                p.approved_endpoint_scope = BucketParams::parse_endpoint_scope(&s)?
            }
            "RequireTlsVersion" => {
                p.require_tls_version = if s.trim().is_empty() {
                    None
                } else {
                    Some(BucketParams::parse_tls_version(&s)?)
                }
            }
            other => {
                return Err(EventError::Param(ParamError {
                    param: "ruleParameters",
                    flag: "-",
                    value: other.to_string(),
                    why: "unknown parameter (expected ApprovedVpceIds, ApprovedVpcIds, ExemptPrincipalArns, GuardPrincipalArns, RemediatorPrincipalArns, RequireSigV4, RequireTlsVersion, ApprovedEndpointScope, DisabledRules)".into(),
                }))
            }
        }
    }
    p.validate()?;
    Ok(p)
}

/// One evaluation as `PutEvaluations` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEvaluation {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub compliance: Compliance,
    /// 1–256 characters, or omitted.
    pub annotation: Option<String>,
    pub ordering_timestamp: Timestamp,
    /// The rules that FAIL (logged; Config gets the annotation).
    pub failing_rules: Vec<RuleId>,
    /// Every rule's finding (not sent to Config: Security Hub gets one finding per rule).
    pub findings: Vec<crate::rules::Finding>,
    /// The mute in force, when the resource is muted ("muted: <reason> (until <date>)").
    pub muted: Option<String>,
}

impl ConfigEvaluation {
    pub(crate) fn new(
        resource_type: ResourceType,
        resource_id: &str,
        e: &Evaluation,
        ordering_timestamp: Timestamp,
    ) -> Self {
        ConfigEvaluation {
            resource_type,
            resource_id: resource_id.to_string(),
            compliance: e.compliance,
            annotation: (!e.annotation.is_empty())
                .then(|| crate::rules::truncate(&e.annotation, 256)),
            ordering_timestamp,
            failing_rules: e
                .findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .map(|f| f.rule)
                .collect(),
            findings: e.findings.clone(),
            muted: e.muted.clone(),
        }
    }

    /// Apply the mute list: a muted resource is reported `NOT_APPLICABLE` with the mute as
    /// its annotation; an expired mute is noted first in the annotation. A resource already
    /// `NOT_APPLICABLE` (gone, out of scope) is left as it is.
    pub(crate) fn apply_mutes(&mut self, list: &MuteList, now: f64) {
        if self.compliance == Compliance::NotApplicable {
            return;
        }
        let annotation = self.annotation.as_deref().unwrap_or_default();
        if let Some(m) = list.verdict(&self.resource_id, annotation, now) {
            if m.muted.is_some() {
                self.compliance = Compliance::NotApplicable;
            }
            self.annotation = Some(m.annotation);
            self.muted = m.muted;
        }
    }

    /// The evaluation behind it (its findings, compliance, annotation and mute).
    pub(crate) fn evaluation(&self) -> Evaluation {
        Evaluation {
            resource: self.resource_id.clone(),
            compliance: self.compliance,
            annotation: self.annotation.clone().unwrap_or_default(),
            findings: self.findings.clone(),
            muted: self.muted.clone(),
            mute_expired: None,
        }
    }

    pub(crate) fn not_applicable(
        resource_type: ResourceType,
        resource_id: &str,
        why: &str,
        ordering_timestamp: Timestamp,
    ) -> Self {
        ConfigEvaluation {
            resource_type,
            resource_id: resource_id.to_string(),
            compliance: Compliance::NotApplicable,
            annotation: Some(crate::rules::truncate(why, 256)),
            ordering_timestamp,
            failing_rules: Vec::new(),
            findings: Vec::new(),
            muted: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_parameters_are_validated_and_named() {
        let p = parse_rule_parameters(Some(r#"{"ApprovedVpceIds":"vpce-1a2b3c4d, vpce-0a1b2c3d","RequireSigV4":"true","RequireTlsVersion":"1.3"}"#)).unwrap();
        assert_eq!(p.approved_vpce, vec!["vpce-1a2b3c4d", "vpce-0a1b2c3d"]);
        assert!(p.require_sigv4);
        assert_eq!(
            p.require_tls_version,
            Some(crate::rules::params::TlsVersion::V1_3)
        );
        let param_error = |raw: &str| match parse_rule_parameters(Some(raw)) {
            Err(EventError::Param(e)) => e,
            other => panic!("{raw}: expected a parameter error, got {other:?}"),
        };
        let e = param_error(r#"{"ApprovedVpceIds":"vpc-1"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("ApprovedVpceIds", "--approved-vpce", "vpc-1")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `ApprovedVpceIds` (--approved-vpce) value `vpc-1`: expected a VPC \
             endpoint id such as `vpce-1a2b3c4d`"
        );
        let p = parse_rule_parameters(Some(r#"{"ApprovedEndpointScope":"account"}"#)).unwrap();
        assert_eq!(
            p.approved_endpoint_scope,
            crate::rules::params::EndpointScope::Account
        );
        let e = param_error(r#"{"ApprovedEndpointScope":"vpc"}"#);
        assert_eq!(e.param, "ApprovedEndpointScope");
        let e = param_error(r#"{"RequireTlsVersion":"2"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("RequireTlsVersion", "--require-tls-version", "2")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `RequireTlsVersion` (--require-tls-version) value `2`: expected \
             one of 1.0, 1.1, 1.2, 1.3"
        );
        let e = parse_rule_parameters(Some("{")).unwrap_err();
        assert_eq!(
            e,
            EventError::RuleParametersJson("EOF while parsing an object at line 1 column 1".into())
        );
        assert_eq!(
            e.to_string(),
            "`ruleParameters` is not a JSON object of strings: EOF while parsing an object at line 1 column 1"
        );
        let e = param_error(r#"{"Nope":"x"}"#);
        assert_eq!(
            (e.param, e.flag, e.value.as_str()),
            ("ruleParameters", "-", "Nope")
        );
        assert_eq!(
            e.to_string(),
            "invalid parameter `ruleParameters` (-) value `Nope`: unknown parameter (expected \
             ApprovedVpceIds, ApprovedVpcIds, ExemptPrincipalArns, GuardPrincipalArns, \
             RemediatorPrincipalArns, RequireSigV4, RequireTlsVersion, ApprovedEndpointScope, DisabledRules)"
        );
    }
}
