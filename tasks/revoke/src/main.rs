//! The `revoke` Lambda: contains leaked IAM credentials (see the library docs).

use responder_aws::{Clients, SessionConfig};
use responder_core::{lambda, Policy};
use revoke::{aws, Settings, TASK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let policy = Policy::from_env()?;
    let settings = Settings::new(&policy, &SessionConfig::from_env(TASK)?.role_name);
    let sessions = responder_aws::task_sessions(TASK, aws::IAM_ACTIONS).await?;
    let clients = Clients::new(sessions, aws_sdk_iam::Client::new);
    lambda::serve(TASK, |payload| aws::handle(payload, &clients, &settings)).await
}
