//! vpce-guard: keep Amazon S3 buckets reachable only through the account's own S3 gateway VPC
//! endpoints.
//!
//! The modules follow the data flow, pure parts first: [`policy`] (IAM policy documents and an
//! evaluator with IAM semantics), [`facts`] (what was observed), [`rules`] (the rule catalog:
//! facts → findings), then the I/O: [`aws`] (adapters behind ports) and [`scan`] (a sweep).

pub mod aws;
pub mod config;
pub mod facts;
pub mod notify;
pub mod policy;
pub mod remedy;
pub mod rules;
pub mod scan;
pub mod watcher;

/// Seconds since the epoch, now (the evaluation time of `aws:CurrentTime`).
pub fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
