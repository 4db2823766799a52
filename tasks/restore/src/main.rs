//! The `restore` Lambda: rolls back the isolation of an instance.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = responder_aws::task_sessions("restore", restore::IAM_ACTIONS).await?;
    responder_core::lambda::serve("restore", |payload| restore::handle(payload, &sessions)).await
}
