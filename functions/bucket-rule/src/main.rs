//! AWS Config custom rule for `AWS::S3::Bucket`: the bucket rules of RULES.md.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use vpce_guard::aws::clients::AwsClients;
use vpce_guard::config::handler::{handle_bucket_rule, HandlerOutput};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Init phase: configuration and clients once, reused by every invocation.
    let clients = AwsClients::load(None, None).await;
    let clients = &clients;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let out: Result<HandlerOutput, Error> =
            handle_bucket_rule(clients, &event.payload, vpce_guard::now_epoch_seconds())
                .await
                .map_err(|e| {
                    lambda_runtime::tracing::error!(error = %e, "bucket rule invocation failed");
                    Error::from(e.to_string())
                });
        out
    }))
    .await
}
