//! The `await-approval` Lambda: wiring only; see the library for the behaviour.

use await_approval::aws::SnsPublisher;
use await_approval::{handle_event, Config};
use responder_core::lambda::{init_tracing, required_env, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = Config::from_env()?;
    let topic_arn = required_env("SNS_TOPIC_ARN")?;
    let sdk = responder_aws::load_base_config().await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), topic_arn);
    serve("await-approval", |payload| {
        handle_event(payload, &config, &publisher)
    })
    .await
}
