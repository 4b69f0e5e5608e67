//! vpce-guard route usage: S3 data events (and the network activity events an endpoint policy
//! refused) that CloudTrail puts on EventBridge, batched by SQS; the requests to guarded
//! buckets that did not come through an approved endpoint are aggregated per bucket,
//! principal, source and hour and published as `vpce-guard Route Usage` events for the Slack
//! notifier. Partial batch responses: only the messages that failed are retried.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use vpce_guard::aws::AwsClients;
use vpce_guard::ports::load_long_settings;
use vpce_guard::watcher::route_usage::{handle, RouteUsageContext, RouteUsageSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: the settings, and what they resolve to (the approved VPCs' endpoints, the
    // organization's accounts), once per container.
    let settings = RouteUsageSettings::from_env(|k| std::env::var(k).ok())?;
    let clients = AwsClients::load(None, None).await;
    let long = load_long_settings(&clients, |k| std::env::var(k).ok()).await?;
    let settings = settings.with_long_settings(&long);
    let region = std::env::var("AWS_REGION").unwrap_or_default();
    let mut ctx = RouteUsageContext::load(&clients, settings, &region).await?;
    if ctx.needs_org_accounts() {
        let accounts = clients.organization_accounts().await.map(|(_, a)| a);
        ctx = ctx.with_org_accounts(accounts);
    }
    let (clients, ctx) = (&clients, &ctx);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let payload: SqsEvent =
                vpce_guard::parse_payload(event.payload).map_err(|e| Diagnostic {
                    error_type: vpce_guard::FunctionError::error_type(&e).to_string(),
                    error_message: e.to_string(),
                })?;
            let (response, _summary) = handle(clients, ctx, &payload).await;
            Ok::<SqsBatchResponse, Diagnostic>(response)
        },
    ))
    .await
}
