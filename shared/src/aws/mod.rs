//! Adapters: the AWS SDK clients behind the ports ([`crate::ports`]), returning the project's
//! own types. All AWS calls of the project live here (the `aws` feature);
//! `crate::testing::memory` is an in-memory stand-in behind the same ports, for fast tests of
//! the handlers.

mod clients;
mod config_service;
mod ec2;
mod events;
mod history_table;
mod organizations;
mod policy_store;
mod roles;
testing_pub_mod!(s3);
mod secrets;
mod securityhub;
mod ssm;
mod state_table;
mod trail_logs;

pub use clients::AwsClients;
pub use history_table::{ConfiguredHistory, HistoryTable};
pub use state_table::StateTable;
pub use trail_logs::LogObject;

// The adapters below name the ports as `super::…`.
use crate::ports::{
    s3_service_name, AccountReader, ApiCalls, AwsError, BucketReader, CallCounter, ErrorKind,
    ListedBucket, NetworkLocator, NetworkReader, OrgLayer, OrgPolicySource,
};

/// Map an SDK error to an [`AwsError`] from its code and its kind of failure.
pub(crate) fn map_sdk_error<E, R>(
    call: &'static str,
    err: &aws_sdk_s3::error::SdkError<E, R>,
) -> AwsError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
    let code = err.code().map(str::to_string);
    let message = match err {
        SdkError::ServiceError(_) => {
            let m = err.message().unwrap_or("no message");
            format!("{} ({m})", code.as_deref().unwrap_or("error"))
        }
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(e) = src {
                s.push_str(": ");
                s.push_str(&e.to_string());
                src = e.source();
            }
            s
        }
    };
    let lower = message.to_ascii_lowercase();
    let about_credentials =
        lower.contains("credential") || lower.contains("identity") || lower.contains("auth scheme");
    let kind = match err {
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => ErrorKind::Unreachable,
        SdkError::DispatchFailure(_) if about_credentials => ErrorKind::Credentials,
        SdkError::DispatchFailure(_) => ErrorKind::Unreachable,
        SdkError::TimeoutError(_) => ErrorKind::Unreachable,
        SdkError::ConstructionFailure(_) if about_credentials => ErrorKind::Credentials,
        SdkError::ResponseError(_) => ErrorKind::Unavailable,
        _ => match code.as_deref() {
            Some(
                "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "AllAccessDisabled",
            ) => ErrorKind::AccessDenied,
            Some(
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "InvalidClientTokenId"
                | "ExpiredToken"
                | "AuthFailure",
            ) => ErrorKind::Credentials,
            Some(
                "Throttling"
                | "ThrottlingException"
                | "SlowDown"
                | "RequestLimitExceeded"
                | "TooManyRequestsException",
            ) => ErrorKind::Throttled,
            Some(
                "InternalError"
                | "InternalFailure"
                | "InternalServerError"
                | "InternalServerException"
                | "InternalServiceError"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
                | "Unavailable",
            ) => ErrorKind::Unavailable,
            Some(c)
                if c.starts_with("NoSuch")
                    || c.ends_with("NotFound")
                    || c.ends_with("NotFoundError") =>
            {
                ErrorKind::NotFound
            }
            _ => ErrorKind::Other,
        },
    };
    AwsError {
        call,
        kind,
        code,
        message,
    }
}
