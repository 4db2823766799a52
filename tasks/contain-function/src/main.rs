//! The `contain-function` Lambda: reserved concurrency 0 for a compromised function, and its
//! rollback (`mode: restore`).

use contain_function::{aws, TASK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = responder_aws::task_sessions(TASK, aws::IAM_ACTIONS).await?;
    responder_core::lambda::serve(TASK, |payload| aws::handle(payload, &sessions)).await
}
