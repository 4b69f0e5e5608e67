//! vpce-guard remediator: attaches the `aws:SourceVpce` deny to a non-compliant bucket's policy
//! (opt-in; `REMEDIATION_MODE` Disabled, DryRun or Enforce), merged, verified, and reported as
//! a `vpce-guard Remediation` event.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use vpce_guard::aws::clients::AwsClients;
use vpce_guard::remedy::apply::RemediationEvent;
use vpce_guard::remedy::handler::{handle, RemediatorConfig, RemediatorEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: configuration and clients once, reused by every invocation.
    let cfg = RemediatorConfig::from_env(|k| std::env::var(k).ok())?;
    let clients = AwsClients::load(None, None).await;
    let (clients, cfg) = (&clients, &cfg);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RemediatorEvent>| async move {
            let out: Result<Option<RemediationEvent>, Error> = handle(
                clients,
                cfg,
                &event.payload,
                vpce_guard::now_epoch_seconds(),
            )
            .await
            .map_err(|e| {
                lambda_runtime::tracing::error!(error = %e, "remediation failed");
                Error::from(e.to_string())
            });
            out
        },
    ))
    .await
}
