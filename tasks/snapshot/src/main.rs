//! The `snapshot` Lambda: evidence snapshots of the finding's instance.

use responder_aws::Clients;
use snapshot::{aws, TASK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let sessions = responder_aws::task_sessions(TASK, aws::IAM_ACTIONS).await?;
    let clients = Clients::new(sessions, aws_sdk_ec2::Client::new);
    responder_core::lambda::serve(TASK, |payload| aws::handle(&clients, payload)).await
}
