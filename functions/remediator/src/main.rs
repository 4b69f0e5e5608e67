//! vpce-guard remediator: attaches the `aws:SourceVpce` deny to a non-compliant bucket's policy
//! (opt-in; `REMEDIATION_MODE` Disabled, DryRun or Enforce), merged, verified, and reported as
//! a `vpce-guard Remediation` event.

// The SDK futures joined by the handlers are deep types; the layout query needs the room.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use vpce_guard::aws::AwsClients;
use vpce_guard::aws::{ConfiguredHistory, HistoryTable};
use vpce_guard::ports::load_long_settings;
use vpce_guard::remedy::apply::RemediationEvent;
use vpce_guard::remedy::remediator::{handle, RemediatorEvent, RemediatorSettings};
use vpce_guard::{parse_payload, FunctionError};

/// Lambda's `errorType` says what failed (`VpceGuard.InvalidEvent`, `VpceGuard.RemediationFailed`,
/// `VpceGuard.Transient.Throttled`, …).
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
    let mut cfg = RemediatorSettings::from_env(|k| std::env::var(k).ok())?;
    // The organization's RCPs, through the role the stack names (none: no RCP layer).
    let clients = AwsClients::load(None, None)
        .await
        .with_org_policy_role(cfg.org_policy_role.clone())
        // The mute list, read at each invocation (none: nothing muted).
        .with_mute_parameter(std::env::var("MUTED_RESOURCES_PARAMETER").ok());
    // Lists too long for Config's InputParameters, from SSM (read once per container).
    let long = load_long_settings(&clients, |k| std::env::var(k).ok()).await?;
    cfg.params = long.apply(&cfg.params);
    let history = match &cfg.history_table {
        Some(table) => ConfiguredHistory::Table(Box::new(HistoryTable {
            clients: clients.clone(),
            table: table.clone(),
            retention_days: cfg.history_retention_days,
        })),
        None => {
            lambda_runtime::tracing::warn!(
                "HISTORY_TABLE_NAME is not set: remediations are not recorded"
            );
            ConfiguredHistory::Off
        }
    };
    let (clients, cfg, history) = (&clients, &cfg, &history);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let payload: RemediatorEvent = parse_payload(event.payload).map_err(diagnostic)?;
            let out: Result<Option<RemediationEvent>, Diagnostic> = handle(
                clients,
                history,
                cfg,
                &payload,
                vpce_guard::now_epoch_seconds(),
            )
            .await
            .map_err(|e| {
                lambda_runtime::tracing::error!(error = %e, "remediation failed");
                diagnostic(e)
            });
            out
        },
    ))
    .await
}
