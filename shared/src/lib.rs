//! vpce-guard: keep Amazon S3 buckets reachable only through the account's own S3 VPC endpoints
//! (gateway or interface).
//!
//! The modules follow the data flow, pure parts first: [`policy`] (IAM policy documents and an
//! evaluator with IAM semantics), [`facts`] (what was observed), [`rules`] (the rule catalog:
//! facts → findings), [`events`] (every event the product publishes or reads, one type each), then the I/O: [`aws`] (adapters behind ports) and [`scan`] (a sweep).

// Built with neither the SDK adapters (`aws`) nor the test doubles (`testing`), the crate is
// the engine alone, and the few helpers only adapters use (the event source, the call
// counter's increment, the no-history store) are unused there.
#![cfg_attr(
    not(any(feature = "aws", feature = "testing")),
    allow(dead_code, unused_imports)
)]

/// Declares a module that is public with the `testing` feature (what the tests, the fuzz
/// targets and the demo reach into) and crate-private in the product's own builds. Items
/// inside that only tests use say so with
/// `#[cfg_attr(feature = "testing", visibility::make(pub))] pub(crate)`.
macro_rules! testing_pub_mod {
    ($name:ident) => {
        #[cfg(feature = "testing")]
        pub mod $name;
        #[cfg(not(feature = "testing"))]
        pub(crate) mod $name;
    };
}

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
testing_pub_mod!(events);
pub mod export;
pub(crate) mod metrics;
testing_pub_mod!(facts);
pub mod notify;
pub mod policy;
pub mod ports;
pub mod remedy;
pub mod rules;
pub mod scan;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod usage;
pub mod watcher;

/// Seconds since the epoch, now (the evaluation time of `aws:CurrentTime`).
pub fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What a function reports to Lambda when it fails: an `errorType` of the product's own
/// (`VpceGuard.*`, `VpceGuard.Transient.*` when a retry can help) and a message.
pub trait FunctionError: std::fmt::Display {
    fn error_type(&self) -> &'static str;
}

/// A payload that does not have the shape a function takes (a Config event whose
/// `invokingEvent` is a number, a list where an object belongs): `VpceGuard.InvalidEvent`,
/// never the runtime's own deserializer type.
#[derive(Debug, thiserror::Error)]
#[error("the event does not have the shape this function takes: {0}")]
pub struct InvalidPayload(String);

impl FunctionError for InvalidPayload {
    fn error_type(&self) -> &'static str {
        "VpceGuard.InvalidEvent"
    }
}

/// A function's payload, read as `T` (each function takes raw JSON from the runtime and reads
/// it here, so that a payload of the wrong shape fails with [`InvalidPayload`]).
pub fn parse_payload<T: serde::de::DeserializeOwned>(
    payload: serde_json::Value,
) -> Result<T, InvalidPayload> {
    serde_json::from_value(payload).map_err(|e| InvalidPayload(e.to_string()))
}

#[cfg(test)]
mod payload_tests {
    use super::*;

    #[test]
    fn a_payload_of_the_wrong_shape_is_an_invalid_event() {
        let e =
            parse_payload::<config::ConfigRuleEvent>(serde_json::json!({"invokingEvent": 5})).err();
        assert_eq!(
            e.as_ref().map(FunctionError::error_type),
            Some("VpceGuard.InvalidEvent")
        );
        let e = parse_payload::<watcher::WatcherEvent>(serde_json::json!([1, 2])).err();
        assert!(e.is_some_and(|e| e.to_string().contains("shape")));
    }
}
