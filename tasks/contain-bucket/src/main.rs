//! The `contain-bucket` Lambda: Block Public Access on a bucket opened to the public, and its
//! rollback (`mode: restore`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use responder_aws::{load_base_config, SessionConfig, SessionProvider};

#[tokio::main]
async fn main() -> Result<(), Error> {
    responder_core::lambda::init_tracing();
    // Fail at cold start, with the variable's name, rather than on the first request.
    let session = SessionConfig::from_env(contain_bucket::TASK)
        .map_err(|e| e.to_string())?
        .with_session_policy(contain_bucket::aws::IAM_ACTIONS);
    let sessions = SessionProvider::new(load_base_config().await, session);
    let sessions = &sessions;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // A `TaskError` becomes a Lambda error whose errorType is its stable name.
            let ids = responder_core::lambda::invocation_ids(&event.payload);
            let run = Box::pin(contain_bucket::aws::handle(event.payload, sessions));
            responder_core::lambda::measured(contain_bucket::TASK, ids, run).await
        },
    ))
    .await
}
