//! The remediation history: one record per applied remediation or rollback (bucket, time,
//! actor, trigger, the policy before and after, the verdicts before and after), written before
//! the policy is, so that every write the product makes can be undone. Behind the
//! [`HistoryStore`] port: the stack's DynamoDB table (`aws::history_table`), a local JSON-lines
//! file for the CLI ([`HistoryFile`]), or memory in the unit tests (`MemoryHistory`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::date::format_date;
use crate::rules::Finding;

/// What a record is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Remediate,
    Rollback,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Remediate => "remediate",
            Action::Rollback => "rollback",
        }
    }
}

/// Where a record stands: written before the policy (`pending`), then updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordStatus {
    /// Recorded; the write may or may not have happened (the bucket holds the previous or the
    /// new policy: a rollback checks which).
    Pending,
    /// Written and verified.
    Applied,
    /// Not written, or written and restored: the bucket holds the previous policy.
    Failed,
}

/// One remediation or rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationRecord {
    pub bucket: String,
    pub region: String,
    pub account: String,
    /// When, ISO 8601 UTC with milliseconds (`2026-12-04T20:44:26.123Z`): with `bucket`, the
    /// record's key; sorts in time order.
    pub at: String,
    pub action: Action,
    /// The principal that wrote (`aws:PrincipalArn`, or the caller's ARN).
    pub actor: String,
    /// What asked for it: `finding`, `config-compliance`, `config-remediation`, `cli`.
    pub trigger: String,
    pub status: RecordStatus,
    /// The policy before the write (`null`: the bucket had none).
    pub previous_policy: Option<Value>,
    /// The policy written (`null`: the bucket policy was deleted).
    pub new_policy: Option<Value>,
    pub verdicts_before: Vec<Finding>,
    pub verdicts_after: Vec<Finding>,
    pub reason: String,
    /// For a rollback: the `at` of the record it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

/// A record's time from epoch seconds: ISO 8601 UTC with milliseconds.
pub(crate) fn record_time(now: f64) -> String {
    let base = format_date(now);
    let ms = ((now - now.floor()) * 1000.0).floor().clamp(0.0, 999.0) as u32;
    match base.strip_suffix('Z') {
        Some(b) => format!("{b}.{ms:03}Z"),
        None => base,
    }
}

/// A history store that cannot keep or give back records (its message names the store and
/// what failed: a file that cannot be written, a table call that was refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HistoryError(pub String);

impl From<String> for HistoryError {
    fn from(message: String) -> Self {
        HistoryError(message)
    }
}

/// Why no record can be undone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UndoLookupError {
    #[error("no remediation of `{bucket}` is recorded")]
    NoneRecorded { bucket: String },
    #[error("no record of `{bucket}` at {at}; recorded: {}", recorded.join(", "))]
    NoRecordAt {
        bucket: String,
        at: String,
        recorded: Vec<String>,
    },
    #[error("{count} records of `{bucket}` match {at}: give the full time")]
    Ambiguous {
        bucket: String,
        at: String,
        count: usize,
    },
    #[error("no applied remediation of `{bucket}` is recorded (only failed ones or rollbacks)")]
    NoneApplied { bucket: String },
    #[error("the record of `{bucket}` at {at} is a rollback: undo a remediation instead")]
    IsRollback { bucket: String, at: String },
    #[error("the remediation of `{bucket}` at {at} was not applied ({reason}): nothing to undo")]
    NotApplied {
        bucket: String,
        at: String,
        reason: String,
    },
}

/// Neither `XDG_STATE_HOME` nor `HOME` is set, so the history file has no default place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("neither XDG_STATE_HOME nor HOME is set: name a file with --history-file")]
pub struct NoStateDir;

/// Port: durable remediation records.
#[allow(async_fn_in_trait)]
pub trait HistoryStore {
    /// Where records go, for messages ("table vpce-guard-history", "file ~/.local/…").
    fn location(&self) -> String;
    /// Does this store keep anything? ([`NoHistory`] does not.)
    fn records_anything(&self) -> bool {
        true
    }
    /// Create or replace the record with this (`bucket`, `at`).
    async fn put_record(&self, record: &RemediationRecord) -> Result<(), HistoryError>;
    /// Every record (of one bucket, when given), oldest first.
    async fn records(&self, bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError>;
}

/// No history configured: nothing is recorded (the function without `HISTORY_TABLE_NAME`).
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoHistory;

impl HistoryStore for NoHistory {
    fn location(&self) -> String {
        "nowhere (no history store configured)".into()
    }
    fn records_anything(&self) -> bool {
        false
    }
    async fn put_record(&self, _record: &RemediationRecord) -> Result<(), HistoryError> {
        Ok(())
    }
    async fn records(&self, _bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError> {
        Ok(Vec::new())
    }
}

/// Records in memory (tests; a failure can be injected).
#[derive(Debug, Default)]
#[cfg(test)]
pub(crate) struct MemoryHistory {
    pub(crate) records: std::sync::Mutex<Vec<RemediationRecord>>,
    /// When set, every write fails with this message.
    pub(crate) fail_writes: std::sync::Mutex<Option<String>>,
}

#[cfg(test)]
impl HistoryStore for MemoryHistory {
    fn location(&self) -> String {
        "memory".into()
    }
    async fn put_record(&self, record: &RemediationRecord) -> Result<(), HistoryError> {
        if let Some(why) = self
            .fail_writes
            .lock()
            .map_err(|_| "history lock poisoned".to_string())?
            .clone()
        {
            return Err(HistoryError(why));
        }
        let mut all = self
            .records
            .lock()
            .map_err(|_| "history lock poisoned".to_string())?;
        match all
            .iter_mut()
            .find(|r| r.bucket == record.bucket && r.at == record.at)
        {
            Some(r) => *r = record.clone(),
            None => all.push(record.clone()),
        }
        Ok(())
    }
    async fn records(&self, bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError> {
        let all = self
            .records
            .lock()
            .map_err(|_| "history lock poisoned".to_string())?;
        Ok(sorted(
            all.iter()
                .filter(|r| bucket.is_none_or(|b| r.bucket == b))
                .cloned()
                .collect(),
        ))
    }
}

fn sorted(mut v: Vec<RemediationRecord>) -> Vec<RemediationRecord> {
    v.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.bucket.cmp(&b.bucket)));
    v
}

/// Records in a local JSON-lines file (the CLI without a table): each write appends the whole
/// record and syncs the file; the last line of a (`bucket`, `at`) wins.
#[derive(Debug, Clone)]
pub struct HistoryFile {
    pub path: PathBuf,
}

impl HistoryFile {
    /// `$XDG_STATE_HOME/vpce-guard/remediations.jsonl`, else
    /// `$HOME/.local/state/vpce-guard/remediations.jsonl`.
    pub fn default_path(get: impl Fn(&str) -> Option<String>) -> Result<PathBuf, NoStateDir> {
        let base = match get("XDG_STATE_HOME").filter(|v| Path::new(v).is_absolute()) {
            Some(dir) => PathBuf::from(dir),
            None => match get("HOME").filter(|v| !v.is_empty()) {
                Some(home) => Path::new(&home).join(".local").join("state"),
                None => return Err(NoStateDir),
            },
        };
        Ok(base.join("vpce-guard").join("remediations.jsonl"))
    }
}

impl HistoryStore for HistoryFile {
    fn location(&self) -> String {
        format!("file {}", self.path.display())
    }

    async fn put_record(&self, record: &RemediationRecord) -> Result<(), HistoryError> {
        let line =
            serde_json::to_string(record).map_err(|e| format!("cannot encode the record: {e}"))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()).into())
    }

    async fn records(&self, bucket: Option<&str>) -> Result<Vec<RemediationRecord>, HistoryError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display()).into()),
        };
        let mut out: Vec<RemediationRecord> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: RemediationRecord = serde_json::from_str(line).map_err(|e| {
                format!(
                    "{} line {}: not a remediation record: {e}",
                    self.path.display(),
                    n + 1
                )
            })?;
            if bucket.is_some_and(|b| r.bucket != b) {
                continue;
            }
            match out
                .iter_mut()
                .find(|x| x.bucket == r.bucket && x.at == r.at)
            {
                Some(x) => *x = r,
                None => out.push(r),
            }
        }
        Ok(sorted(out))
    }
}

/// The record a rollback undoes: with `at`, the bucket's record whose time is `at` or starts
/// with it (one only); without, the bucket's latest remediation that may have written. A
/// rollback record is never undone by another (roll forward with `remediate`).
pub fn record_to_undo<'a>(
    records: &'a [RemediationRecord],
    bucket: &str,
    at: Option<&str>,
) -> Result<&'a RemediationRecord, UndoLookupError> {
    let b = || bucket.to_string();
    let mine: Vec<&RemediationRecord> = records.iter().filter(|r| r.bucket == bucket).collect();
    if mine.is_empty() {
        return Err(UndoLookupError::NoneRecorded { bucket: b() });
    }
    let pick = match at {
        Some(at) => {
            let hits: Vec<&&RemediationRecord> =
                mine.iter().filter(|r| r.at.starts_with(at)).collect();
            match hits.as_slice() {
                [one] => **one,
                [] => {
                    return Err(UndoLookupError::NoRecordAt {
                        bucket: b(),
                        at: at.to_string(),
                        recorded: mine.iter().map(|r| r.at.clone()).collect(),
                    })
                }
                _ => {
                    return Err(UndoLookupError::Ambiguous {
                        bucket: b(),
                        at: at.to_string(),
                        count: hits.len(),
                    })
                }
            }
        }
        None => match mine
            .iter()
            .rev()
            .find(|r| r.action == Action::Remediate && r.status != RecordStatus::Failed)
        {
            Some(r) => r,
            None => return Err(UndoLookupError::NoneApplied { bucket: b() }),
        },
    };
    if pick.action == Action::Rollback {
        return Err(UndoLookupError::IsRollback {
            bucket: b(),
            at: pick.at.clone(),
        });
    }
    if pick.status == RecordStatus::Failed {
        return Err(UndoLookupError::NotApplied {
            bucket: b(),
            at: pick.at.clone(),
            reason: pick.reason.clone(),
        });
    }
    Ok(pick)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(bucket: &str, at: &str, action: Action, status: RecordStatus) -> RemediationRecord {
        RemediationRecord {
            bucket: bucket.into(),
            region: "us-east-1".into(),
            account: "111122223333".into(),
            at: at.into(),
            action,
            actor: "arn:aws:iam::111122223333:role/vpce-guard/Remediator".into(),
            trigger: "cli".into(),
            status,
            previous_policy: Some(json!({"Statement": []})),
            new_policy: Some(json!({"Statement": [{"Sid": "x"}]})),
            verdicts_before: Vec::new(),
            verdicts_after: Vec::new(),
            reason: String::new(),
            undoes: None,
        }
    }

    #[test]
    fn record_times_sort_and_carry_milliseconds() {
        assert_eq!(record_time(0.25), "1970-01-01T00:00:00.250Z");
        assert_eq!(record_time(1_796_416_466.123_4), "2026-12-04T20:34:26.123Z");
        assert!(record_time(9.999) < record_time(10.0));
    }

    #[test]
    fn the_latest_applied_remediation_is_undone() {
        let all = vec![
            rec(
                "b",
                "2026-01-01T00:00:00.000Z",
                Action::Remediate,
                RecordStatus::Applied,
            ),
            rec(
                "b",
                "2026-01-02T00:00:00.000Z",
                Action::Remediate,
                RecordStatus::Failed,
            ),
            rec(
                "c",
                "2026-01-03T00:00:00.000Z",
                Action::Remediate,
                RecordStatus::Applied,
            ),
        ];
        assert_eq!(record_to_undo(&all, "b", None).unwrap().at, all[0].at);
        assert_eq!(
            record_to_undo(&all, "b", Some("2026-01-01")).unwrap().at,
            all[0].at
        );
        let e = record_to_undo(&all, "b", Some("2026-01-02"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("was not applied"), "{e}");
        let e = record_to_undo(&all, "b", Some("2026-01"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 records"), "{e}");
        let e = record_to_undo(&all, "d", None).unwrap_err().to_string();
        assert!(e.contains("no remediation of `d`"), "{e}");
        let rb = vec![rec(
            "b",
            "2026-01-01T00:00:00.000Z",
            Action::Rollback,
            RecordStatus::Applied,
        )];
        assert!(record_to_undo(&rb, "b", None).is_err());
    }

    #[tokio::test]
    async fn the_file_keeps_the_last_line_of_each_record() {
        let dir = std::env::temp_dir().join(format!("vpce-guard-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let f = HistoryFile {
            path: dir.join("nested").join("remediations.jsonl"),
        };
        assert!(f.records(None).await.unwrap().is_empty());
        let mut r = rec(
            "b",
            "2026-01-01T00:00:00.000Z",
            Action::Remediate,
            RecordStatus::Pending,
        );
        f.put_record(&r).await.unwrap();
        r.status = RecordStatus::Applied;
        f.put_record(&r).await.unwrap();
        f.put_record(&rec(
            "c",
            "2026-01-02T00:00:00.000Z",
            Action::Remediate,
            RecordStatus::Applied,
        ))
        .await
        .unwrap();
        let all = f.records(None).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].status, RecordStatus::Applied);
        assert_eq!(f.records(Some("c")).await.unwrap().len(), 1);
        std::fs::write(&f.path, "not json\n").unwrap();
        let e = f.records(None).await.unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_default_file_follows_xdg() {
        let p = HistoryFile::default_path(|k| (k == "XDG_STATE_HOME").then(|| "/s".to_string()))
            .unwrap();
        assert_eq!(p, PathBuf::from("/s/vpce-guard/remediations.jsonl"));
        let p = HistoryFile::default_path(|k| (k == "HOME").then(|| "/h".to_string())).unwrap();
        assert_eq!(
            p,
            PathBuf::from("/h/.local/state/vpce-guard/remediations.jsonl")
        );
        assert!(HistoryFile::default_path(|_| None).is_err());
    }
}
