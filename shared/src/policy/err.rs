//! Errors of the policy module: why a document is not a valid IAM policy.

use thiserror::Error;

/// The largest bucket policy S3 accepts, in bytes.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A policy document that AWS would reject, with the place that is wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the policy is not JSON: {0}")]
    NotJson(String),
    /// One object names a key twice. JSON parsers keep one of the two silently (which one
    /// varies), so the policy AWS enforces may not be the one its author meant: refused.
    #[error(
        "the key `{0}` appears twice in one object: only one would count; merge them into one"
    )]
    DuplicateKey(String),
    #[error("the policy is {size} bytes; S3 accepts at most {MAX_POLICY_BYTES} (20 KB)")]
    TooLarge { size: usize },
    #[error("the policy must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("the policy has no `Statement`")]
    NoStatement,
    #[error("unknown top-level element `{0}` (expected `Version`, `Id`, `Statement`)")]
    UnknownTopLevel(String),
    #[error("`Version` must be `2012-10-17` or `2008-10-17`, found `{0}`")]
    BadVersion(String),
    #[error("`{element}` must be a string, found {found}")]
    TopLevelType {
        element: &'static str,
        found: &'static str,
    },
    #[error("{at}: {message}")]
    Statement { at: String, message: String },
}

impl PolicyError {
    pub(crate) fn at(at: &str, message: impl Into<String>) -> Self {
        PolicyError::Statement {
            at: at.to_string(),
            message: message.into(),
        }
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
