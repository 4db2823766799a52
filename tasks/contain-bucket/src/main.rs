//! The `contain-bucket` Lambda: Block Public Access on a bucket opened to the public, a deny of
//! a caller, or the quarantine of malicious objects, and their rollback (`mode: restore`).

use contain_bucket::{aws, TASK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = responder_aws::task_sessions(TASK, aws::IAM_ACTIONS).await?;
    responder_core::lambda::serve(TASK, |payload| aws::handle(payload, &sessions)).await
}
