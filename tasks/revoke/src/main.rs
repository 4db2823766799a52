//! The `revoke` Lambda: contains leaked IAM credentials (see the library docs).

use lambda_runtime::{service_fn, LambdaEvent};
use responder_aws::{load_base_config, Clients, SessionConfig, SessionProvider};
use responder_core::{lambda, Policy};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let policy = Policy::from_env()?;
    let session =
        SessionConfig::from_env(revoke::TASK)?.with_session_policy(revoke::aws::IAM_ACTIONS);
    let settings = revoke::Settings::new(&policy, &session.role_name);
    let clients = Clients::new(
        SessionProvider::new(load_base_config().await, session),
        aws_sdk_iam::Client::new,
    );
    let (clients, settings) = (&clients, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Boxed: the SDK's nested futures are too deep for the compiler's layout query otherwise.
        let ids = responder_core::lambda::invocation_ids(&event.payload);
        let run = Box::pin(revoke::aws::handle(event.payload, clients, settings));
        responder_core::lambda::measured(revoke::TASK, ids, run).await
    }))
    .await
}
