//! The `tag` Lambda: incident tags on the finding's instance, its volumes and interfaces.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use responder_aws::{Clients, SessionConfig, SessionProvider};
use tag::aws::handle;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = SessionConfig::from_env(tag::TASK)
        .map_err(|e| {
            tracing::error!(error = %e, "invalid configuration");
            e.to_string()
        })?
        .with_session_policy(tag::aws::IAM_ACTIONS);
    let base = responder_aws::load_base_config().await;
    let clients = Arc::new(Clients::new(
        SessionProvider::new(base, sessions),
        aws_sdk_ec2::Client::new,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let clients = Arc::clone(&clients);
        // Boxed: the SDK's nested futures are too deep to lay out inline in `main`'s future.
        async move {
            let ids = responder_core::lambda::invocation_ids(&event.payload);
            let run = Box::pin(handle(&clients, event.payload));
            responder_core::lambda::measured(tag::TASK, ids, run).await
        }
    }))
    .await
}
