//! DynamoDB: the notifier's last state sent per resource. Item: `pk` (resource type `#` id),
//! `compliance`, `failing` (rule ids, comma-separated; absent when unknown), `expires_at` (the
//! TTL attribute, epoch seconds) and `version` (the condition of the next write).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::clients::AwsClients;
use super::{map_sdk_error, AwsError, ErrorKind};
use crate::notify::{SentState, StateStore, Written};
use crate::rules::{Compliance, RuleId};

/// The table, through the account's clients.
#[derive(Debug, Clone)]
pub struct StateTable {
    pub clients: AwsClients,
    pub table: String,
}

fn malformed(what: &str) -> AwsError {
    AwsError {
        call: "dynamodb:GetItem",
        kind: ErrorKind::Other,
        code: None,
        message: format!("the state item is malformed: {what}"),
    }
}

/// An item as the notifier wrote it; an unreadable one is an error (never taken as absent).
pub(crate) fn state_of(item: &HashMap<String, AttributeValue>) -> Result<SentState, AwsError> {
    let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let compliance = match s("compliance") {
        Some("COMPLIANT") => Compliance::Compliant,
        Some("NON_COMPLIANT") => Compliance::NonCompliant,
        Some("NOT_APPLICABLE") => Compliance::NotApplicable,
        _ => return Err(malformed("compliance")),
    };
    let failing = match s("failing") {
        None => None,
        Some("") => Some(Vec::new()),
        Some(list) => Some(
            list.split(',')
                .map(|r| RuleId::parse(r).ok_or_else(|| malformed("failing")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(SentState {
        compliance,
        failing,
        expires_at: n("expires_at").ok_or_else(|| malformed("expires_at"))?,
        version: n("version")
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| malformed("version"))?,
    })
}

impl StateStore for StateTable {
    async fn get_state(&self, key: &str) -> Result<Option<SentState>, AwsError> {
        self.clients.calls.count("dynamodb:GetItem");
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error("dynamodb:GetItem", &e))?;
        out.item().map(state_of).transpose()
    }

    async fn put_state(
        &self,
        key: &str,
        new: &SentState,
        expected: Option<u64>,
    ) -> Result<Written, AwsError> {
        self.clients.calls.count("dynamodb:PutItem");
        let mut req = self
            .clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_string()))
            .item(
                "compliance",
                AttributeValue::S(new.compliance.as_str().into()),
            )
            .item("expires_at", AttributeValue::N(new.expires_at.to_string()))
            .item("version", AttributeValue::N(new.version.to_string()));
        if let Some(f) = &new.failing {
            let list: Vec<&str> = f.iter().map(|r| r.as_str()).collect();
            req = req.item("failing", AttributeValue::S(list.join(",")));
        }
        req = match expected {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match req.send().await {
            Ok(_) => Ok(Written::Yes),
            Err(e) => {
                let mapped = map_sdk_error("dynamodb:PutItem", &e);
                if mapped.code.as_deref() == Some("ConditionalCheckFailedException") {
                    Ok(Written::Conflict)
                } else {
                    Err(mapped)
                }
            }
        }
    }
}
