//! The `contain-function` Lambda: reserved concurrency 0 for a compromised function, and its
//! rollback (`mode: restore`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use responder_aws::{load_base_config, SessionConfig, SessionProvider};

#[tokio::main]
async fn main() -> Result<(), Error> {
    responder_core::lambda::init_tracing();
    // Fail at cold start, with the variable's name, rather than on the first request.
    let session = SessionConfig::from_env(contain_function::TASK)
        .map_err(|e| e.to_string())?
        .with_session_policy(contain_function::aws::IAM_ACTIONS);
    let sessions = SessionProvider::new(load_base_config().await, session);
    let sessions = &sessions;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // A `TaskError` becomes a Lambda error whose errorType is its stable name.
            let ids = responder_core::lambda::invocation_ids(&event.payload);
            let run = Box::pin(contain_function::aws::handle(event.payload, sessions));
            responder_core::lambda::measured(contain_function::TASK, ids, run).await
        },
    ))
    .await
}
