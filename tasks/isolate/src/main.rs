//! The `isolate` Lambda: contains the EC2 instance of a finding.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    let cfg = isolate::IsolateConfig::from_env()?;
    let sessions = responder_aws::task_sessions("isolate", isolate::IAM_ACTIONS).await?;
    responder_core::lambda::serve("isolate", |payload| {
        isolate::handle(payload, &sessions, &cfg)
    })
    .await
}
