//! The notifier's state table, in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::ports::{ApiCalls, AwsError, ErrorKind};

/// The notifier's state table in memory, with DynamoDB's conditional-write semantics and
/// injectable failures.
#[derive(Debug, Default)]
pub struct MemoryStateTable {
    items: Mutex<BTreeMap<String, crate::notify::SentState>>,
    /// The next `n` reads fail (the table unreachable).
    pub fail_reads: Mutex<usize>,
    /// The next `n` writes fail.
    pub fail_writes: Mutex<usize>,
    pub calls: ApiCalls,
}

impl MemoryStateTable {
    pub fn items(&self) -> BTreeMap<String, crate::notify::SentState> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }

    fn take(counter: &Mutex<usize>) -> bool {
        let mut n = match counter.lock() {
            Ok(n) => n,
            Err(p) => p.into_inner(),
        };
        if *n > 0 {
            *n -= 1;
            true
        } else {
            false
        }
    }

    fn unreachable(call: &'static str) -> AwsError {
        AwsError {
            call,
            kind: ErrorKind::Unreachable,
            code: None,
            message: "connection refused".into(),
        }
    }
}

impl crate::notify::StateStore for MemoryStateTable {
    async fn get_state(&self, key: &str) -> Result<Option<crate::notify::SentState>, AwsError> {
        self.calls.count("dynamodb:GetItem");
        if Self::take(&self.fail_reads) {
            return Err(Self::unreachable("dynamodb:GetItem"));
        }
        let items = match self.items.lock() {
            Ok(i) => i,
            Err(p) => p.into_inner(),
        };
        Ok(items.get(key).cloned())
    }

    async fn put_state(
        &self,
        key: &str,
        new: &crate::notify::SentState,
        expected: Option<u64>,
    ) -> Result<crate::notify::Written, AwsError> {
        self.calls.count("dynamodb:PutItem");
        if Self::take(&self.fail_writes) {
            return Err(Self::unreachable("dynamodb:PutItem"));
        }
        let mut items = match self.items.lock() {
            Ok(i) => i,
            Err(p) => p.into_inner(),
        };
        if items.get(key).map(|s| s.version) != expected {
            return Ok(crate::notify::Written::Conflict);
        }
        items.insert(key.to_string(), new.clone());
        Ok(crate::notify::Written::Yes)
    }
}
