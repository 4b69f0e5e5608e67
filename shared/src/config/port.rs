//! The AWS Config port (evaluations out, inventory in) and the reporting logic: batches of
//! 100, failed evaluations retried, never silently lost. The adapter over `aws-sdk-config` is
//! `aws::config_service`; an in-memory one is `testing::memory`.

use crate::ports::{AwsError, ErrorKind};

use super::{ConfigEvaluation, ConfigItem, ResourceType};

/// `PutEvaluations` takes at most this many evaluations a call.
pub(crate) const MAX_BATCH: usize = 100;
/// `BatchGetResourceConfig` takes at most this many keys a call.
pub(crate) const MAX_KEYS: usize = 100;
/// Attempts for evaluations Config reports as failed.
pub const FAILED_ATTEMPTS: usize = 3;

/// A resource Config's inventory knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub(crate) resource_id: String,
    pub(crate) resource_name: Option<String>,
    pub(crate) deleted: bool,
}

/// Port: what the Config rules need from AWS Config.
#[allow(async_fn_in_trait)]
pub trait ConfigPort {
    /// Returns the evaluations Config reports as failed.
    async fn put_evaluations(
        &self,
        batch: &[ConfigEvaluation],
        token: &str,
        test_mode: bool,
    ) -> Result<Vec<ConfigEvaluation>, AwsError>;
    /// The latest item of a resource (`limit 1`); `None` when Config has none.
    async fn latest_item(
        &self,
        resource_type: &ResourceType,
        resource_id: &str,
    ) -> Result<Option<ConfigItem>, AwsError>;
    /// Every resource of a type Config has discovered in `region` (`None`: the function's
    /// own), deleted ones included.
    async fn list_discovered(
        &self,
        region: Option<&str>,
        resource_type: &ResourceType,
    ) -> Result<Vec<Discovered>, AwsError>;
    /// Items for up to 100 ids of `region`; ids Config could not return come back
    /// unprocessed.
    async fn batch_items(
        &self,
        region: Option<&str>,
        resource_type: &ResourceType,
        ids: &[String],
    ) -> Result<(Vec<ConfigItem>, Vec<String>), AwsError>;
    /// Does a configuration recorder of `region` record this type, and is it recording? (Its
    /// inventory is then current; otherwise it may be empty or stale.)
    async fn records(&self, region: &str, resource_type: &ResourceType) -> Result<bool, AwsError>;
    /// Resources this rule evaluated before (to mark vanished ones NOT_APPLICABLE).
    async fn evaluated_resources(
        &self,
        rule_name: &str,
    ) -> Result<Vec<(ResourceType, String)>, AwsError>;
    /// The IAM role of the account's configuration recorder (`roleARN`); `None` when the
    /// account has no recorder.
    async fn recorder_role(&self) -> Result<Option<String>, AwsError>;
}

/// A resource an AWS Config aggregator knows, in whichever source account and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AggregateResource {
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) resource_id: String,
    pub(crate) resource_name: Option<String>,
}

/// Port: an AWS Config aggregator (organization or multi-account), read from the account that
/// owns it with one set of credentials.
#[allow(async_fn_in_trait)]
pub trait AggregatorReader {
    /// Every resource of a type in every account and region the aggregator covers
    /// (`ListAggregateDiscoveredResources`, 100 a page), or only in one source account and
    /// region (`within`: account, region; the API's resource filters).
    async fn aggregate_discovered(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        within: Option<(&str, &str)>,
    ) -> Result<Vec<AggregateResource>, AwsError>;
    /// Items for up to 100 resources (`BatchGetAggregateResourceConfig`); those the aggregator
    /// could not return come back unprocessed.
    async fn aggregate_items(
        &self,
        aggregator: &str,
        resource_type: &ResourceType,
        keys: &[AggregateResource],
    ) -> Result<(Vec<ConfigItem>, Vec<AggregateResource>), AwsError>;
}

/// Send evaluations in batches of 100; evaluations Config fails are retried, and if they still
/// fail the whole report fails (the invocation errors, Lambda retries it). Returns the number
/// of `PutEvaluations` calls.
pub(crate) async fn report<P: ConfigPort>(
    port: &P,
    evals: &[ConfigEvaluation],
    token: &str,
    test_mode: bool,
) -> Result<usize, AwsError> {
    let mut calls = 0;
    for batch in evals.chunks(MAX_BATCH) {
        let mut pending: Vec<ConfigEvaluation> = batch.to_vec();
        for attempt in 1..=FAILED_ATTEMPTS {
            calls += 1;
            let failed = port.put_evaluations(&pending, token, test_mode).await?;
            if failed.is_empty() {
                pending.clear();
                break;
            }
            pending = failed;
            if attempt < FAILED_ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt as u64)).await;
            }
        }
        if !pending.is_empty() {
            let ids: Vec<&str> = pending.iter().map(|e| e.resource_id.as_str()).collect();
            return Err(AwsError {
                call: "config:PutEvaluations",
                kind: ErrorKind::Rejected,
                code: Some("FailedEvaluations".into()),
                message: format!(
                    "AWS Config rejected {} evaluation(s) after {FAILED_ATTEMPTS} attempts: {}",
                    pending.len(),
                    ids.join(", ")
                ),
            });
        }
    }
    Ok(calls)
}
