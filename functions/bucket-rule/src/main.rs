//! AWS Config custom rule for `AWS::S3::Bucket`: the bucket rules of RULES.md.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use vpce_guard::aws::AwsClients;
use vpce_guard::config::rule_functions::{handle_bucket_rule, Warm};
use vpce_guard::config::ConfigRuleEvent;
use vpce_guard::ports::load_long_settings;
use vpce_guard::{parse_payload, FunctionError};

/// Lambda's `errorType` says what failed (`VpceGuard.Transient.Throttled`, …).
fn diagnostic(e: impl FunctionError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_string(),
        error_message: e.to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: configuration and clients once, reused by every invocation.
    // The organization's RCPs, through the role the stack names (none: no RCP layer).
    let clients = AwsClients::load(None, None)
        .await
        .with_org_policy_role(std::env::var("ORGANIZATION_POLICY_ROLE_ARN").ok())
        // The mute list, read at each invocation (none: nothing muted).
        .with_mute_parameter(std::env::var("MUTED_RESOURCES_PARAMETER").ok())
        // Findings in Security Hub too, when the stack turns it on.
        .with_security_hub(std::env::var("SECURITY_HUB_FINDINGS").ok());
    // Lists too long for Config's InputParameters, from SSM (read once per container).
    let long = load_long_settings(&clients, |k| std::env::var(k).ok()).await?;
    let warm = Warm::with_long_settings(long);
    let (clients, warm) = (&clients, &warm);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let now = vpce_guard::now_epoch_seconds();
            let payload: ConfigRuleEvent = parse_payload(event.payload).map_err(diagnostic)?;
            handle_bucket_rule(clients, warm, &payload, now)
                .await
                .map_err(diagnostic)
        },
    ))
    .await
}
