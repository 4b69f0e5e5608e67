//! AWS Config custom rule for `AWS::EC2::VPC` (triggered by VPC, endpoint, route table and
//! security group changes): the network rules of RULES.md.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use vpce_guard::aws::clients::AwsClients;
use vpce_guard::config::handler::{handle_network_rule, HandlerOutput};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: configuration and clients once, reused by every invocation.
    let clients = AwsClients::load(None, None).await;
    let region = clients.default_region();
    let (clients, region) = (&clients, region.as_deref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let out: Result<HandlerOutput, Error> = handle_network_rule(
            clients,
            &event.payload,
            region,
            vpce_guard::now_epoch_seconds(),
        )
        .await
        .map_err(|e| {
            lambda_runtime::tracing::error!(error = %e, "network rule invocation failed");
            Error::from(e.to_string())
        });
        out
    }))
    .await
}
