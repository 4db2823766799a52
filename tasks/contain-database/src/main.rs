//! The `contain-database` Lambda: an RDS DB instance's security groups swapped for its VPC's
//! quarantine group, and its rollback (`mode: restore`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use responder_aws::{load_base_config, SessionConfig, SessionProvider};

#[tokio::main]
async fn main() -> Result<(), Error> {
    responder_core::lambda::init_tracing();
    // Fail at cold start, with the variable's name, rather than on the first request.
    let session = SessionConfig::from_env(contain_database::TASK)
        .map_err(|e| e.to_string())?
        .with_session_policy(contain_database::aws::IAM_ACTIONS);
    let cfg = isolate::IsolateConfig::from_env().map_err(|e| e.to_string())?;
    let sessions = SessionProvider::new(load_base_config().await, session);
    let (sessions, cfg) = (&sessions, &cfg);
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // A `TaskError` becomes a Lambda error whose errorType is its stable name.
            let ids = responder_core::lambda::invocation_ids(&event.payload);
            let run = Box::pin(contain_database::aws::handle(event.payload, sessions, cfg));
            responder_core::lambda::measured(contain_database::TASK, ids, run).await
        },
    ))
    .await
}
