//! The `contain-task` Lambda: an ECS task cut off at its VPC's network ACLs, and its rollback
//! (`mode: restore`).

use contain_task::{aws, TASK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = responder_aws::task_sessions(TASK, aws::IAM_ACTIONS).await?;
    let cfg = ec2_containment::IsolateConfig::from_env()?;
    responder_core::lambda::serve(TASK, |payload| aws::handle(payload, &sessions, &cfg)).await
}
