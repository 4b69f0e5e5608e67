//! vpce-guard change watcher: CloudTrail "AWS API Call via CloudTrail" events from EventBridge,
//! the buckets and VPCs they touched evaluated by the Config rules' own code, one
//! `vpce-guard Finding` event per resource published within seconds of the call.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use vpce_guard::aws::AwsClients;
use vpce_guard::config::rule_functions::Warm;
use vpce_guard::ports::load_long_settings;
use vpce_guard::watcher::change_watcher::{handle, WatcherOutput, WatcherSettings};
use vpce_guard::watcher::WatcherEvent;
use vpce_guard::{parse_payload, FunctionError};

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
    let cfg = WatcherSettings::from_env(|k| std::env::var(k).ok())?;
    // The organization's RCPs, through the role the stack names (none: no RCP layer).
    let clients = AwsClients::load(None, None)
        .await
        .with_org_policy_role(cfg.org_policy_role())
        // The mute list, read at each invocation (none: nothing muted).
        .with_mute_parameter(std::env::var("MUTED_RESOURCES_PARAMETER").ok());
    // Lists too long for Config's InputParameters, from SSM (read once per container).
    let long = load_long_settings(&clients, |k| std::env::var(k).ok()).await?;
    let warm = Warm::with_long_settings(long);
    let (clients, warm, cfg) = (&clients, &warm, &cfg);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let payload: WatcherEvent = parse_payload(event.payload).map_err(diagnostic)?;
            let out: Result<WatcherOutput, Diagnostic> = handle(
                clients,
                warm,
                cfg,
                &payload,
                vpce_guard::now_epoch_seconds(),
            )
            .await
            .map_err(diagnostic);
            out
        },
    ))
    .await
}
