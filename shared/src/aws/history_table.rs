//! DynamoDB: the stack's remediation history (`RemediationHistoryTable`). Item: `bucket` (hash
//! key), `at` (range key, ISO 8601 with milliseconds), `action`, `status`, `actor`, `record`
//! (the whole [`RemediationRecord`] as JSON: both policies and both verdict lists) and
//! `expires_at` (the TTL attribute, epoch seconds: the retention the template sets).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::remedy::history::{
    HistoryError, HistoryFile, HistoryStore, NoHistory, RemediationRecord,
};

/// The table, through the account's clients.
#[derive(Debug, Clone)]
pub struct HistoryTable {
    pub clients: AwsClients,
    pub table: String,
    /// Days a record is kept (`HISTORY_RETENTION_DAYS`; the TTL attribute).
    pub retention_days: u32,
}

fn record_of(item: &HashMap<String, AttributeValue>) -> Result<RemediationRecord, String> {
    let text = item
        .get("record")
        .and_then(|v| v.as_s().ok())
        .ok_or("a history item has no `record`")?;
    serde_json::from_str(text).map_err(|e| format!("a history item's `record` is malformed: {e}"))
}

impl HistoryStore for HistoryTable {
    fn location(&self) -> String {
        format!("table {}", self.table)
    }

    async fn put_record(&self, record: &RemediationRecord) -> Result<(), HistoryError> {
        self.clients.calls.count("dynamodb:PutItem");
        let text =
            serde_json::to_string(record).map_err(|e| format!("cannot encode the record: {e}"))?;
        let at = crate::policy::date::parse_date(&record.at)
            .ok_or_else(|| format!("the record time `{}` is not a date", record.at))?;
        let expires = at.floor() as i64 + i64::from(self.retention_days) * 86_400;
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .item("bucket", AttributeValue::S(record.bucket.clone()))
            .item("at", AttributeValue::S(record.at.clone()))
            .item("action", AttributeValue::S(record.action.as_str().into()))
            .item(
                "status",
                AttributeValue::S(
                    serde_json::to_value(record.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
            )
            .item("actor", AttributeValue::S(record.actor.clone()))
            .item("record", AttributeValue::S(text))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| HistoryError(map_sdk_error("dynamodb:PutItem", &e).to_string()))
    }

    async fn records(&self, bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let (items, next) = match bucket {
                Some(b) => {
                    self.clients.calls.count("dynamodb:Query");
                    let o = self
                        .clients
                        .dynamodb()
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("#b = :b")
                        .expression_attribute_names("#b", "bucket")
                        .expression_attribute_values(":b", AttributeValue::S(b.to_string()))
                        .consistent_read(true)
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| map_sdk_error("dynamodb:Query", &e).to_string())?;
                    (o.items().to_vec(), o.last_evaluated_key().cloned())
                }
                None => {
                    self.clients.calls.count("dynamodb:Scan");
                    let o = self
                        .clients
                        .dynamodb()
                        .scan()
                        .table_name(&self.table)
                        .consistent_read(true)
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| map_sdk_error("dynamodb:Scan", &e).to_string())?;
                    (o.items().to_vec(), o.last_evaluated_key().cloned())
                }
            };
            for item in &items {
                out.push(record_of(item)?);
            }
            match next {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.bucket.cmp(&b.bucket)));
        Ok(out)
    }
}

/// The history a function or the CLI is configured with.
#[derive(Debug, Clone)]
pub enum ConfiguredHistory {
    /// None configured: nothing recorded.
    Off,
    Table(Box<HistoryTable>),
    File(HistoryFile),
}

impl HistoryStore for ConfiguredHistory {
    fn location(&self) -> String {
        match self {
            ConfiguredHistory::Off => NoHistory.location(),
            ConfiguredHistory::Table(t) => t.location(),
            ConfiguredHistory::File(f) => f.location(),
        }
    }
    fn records_anything(&self) -> bool {
        !matches!(self, ConfiguredHistory::Off)
    }
    async fn put_record(&self, record: &RemediationRecord) -> Result<(), HistoryError> {
        match self {
            ConfiguredHistory::Off => NoHistory.put_record(record).await,
            ConfiguredHistory::Table(t) => t.put_record(record).await,
            ConfiguredHistory::File(f) => f.put_record(record).await,
        }
    }
    async fn records(&self, bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError> {
        match self {
            ConfiguredHistory::Off => NoHistory.records(bucket).await,
            ConfiguredHistory::Table(t) => t.records(bucket).await,
            ConfiguredHistory::File(f) => f.records(bucket).await,
        }
    }
}
