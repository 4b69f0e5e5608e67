//! vpce-guard Slack notifier: findings and Config compliance changes from SQS, one Slack
//! message per real change of state (a digest when a batch holds many), the last state sent per
//! resource in DynamoDB. Partial batch responses: only the records that failed are retried.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use tokio::sync::OnceCell;
use vpce_guard::aws::AwsClients;
use vpce_guard::aws::StateTable;
use vpce_guard::notify::notifier::{handle, NotifierSettings};
use vpce_guard::notify::webhook::{url_from_secret, Webhook, WebhookError};
use vpce_guard::ports::SecretReader;
use vpce_guard::FunctionError;

/// Time kept back from the invocation's deadline for recording state and answering.
const MARGIN: Duration = Duration::from_secs(3);

fn required(k: &str) -> Result<String, Error> {
    std::env::var(k)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::from(format!("{k} is not set")))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: configuration and clients; the secret is read on the first invocation (and
    // again only if that read failed), never logged.
    let cfg = NotifierSettings::from_env(|k| std::env::var(k).ok()).map_err(Error::from)?;
    let secret_arn = required("SLACK_WEBHOOK_SECRET_ARN")?;
    let clients = AwsClients::load(None, None).await;
    let store = StateTable {
        clients: clients.clone(),
        table: required("STATE_TABLE_NAME")?,
    };
    let webhook: OnceCell<Webhook> = OnceCell::new();
    let (clients, store, cfg, webhook, secret_arn) =
        (&clients, &store, &cfg, &webhook, &secret_arn);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let payload: SqsEvent =
                vpce_guard::parse_payload(event.payload).map_err(|e| Diagnostic {
                    error_type: vpce_guard::FunctionError::error_type(&e).to_string(),
                    error_message: e.to_string(),
                })?;
            let sink = webhook
                .get_or_try_init(|| async {
                    let secret =
                        clients
                            .secret_string(secret_arn)
                            .await
                            .map_err(|e| Diagnostic {
                                error_type: "VpceGuard.SecretUnreadable".into(),
                                error_message: e.to_string(),
                            })?;
                    let invalid = |e: WebhookError| Diagnostic {
                        error_type: e.error_type().into(),
                        error_message: e.to_string(),
                    };
                    let url = url_from_secret(&secret).map_err(invalid)?;
                    Webhook::new(url).map_err(invalid)
                })
                .await?;
            let deadline_ms = event.context.deadline;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let left =
                Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(MARGIN);
            let now = vpce_guard::now_epoch_seconds() as i64;
            let (response, _summary) = handle(store, sink, cfg, &payload, now, left).await;
            Ok::<SqsBatchResponse, Diagnostic>(response)
        },
    ))
    .await
}
