//! The `await-approval` Lambda: wiring only; see the library for the behaviour.

use await_approval::aws::SnsPublisher;
use await_approval::{handle_event, Config};
use lambda_runtime::{service_fn, LambdaEvent};
use responder_core::lambda::{init_tracing, required_env};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = Config::from_env()?;
    let topic_arn = required_env("SNS_TOPIC_ARN")?;
    let sdk = responder_aws::load_base_config().await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), topic_arn);
    let (config, publisher) = (&config, &publisher);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let ids = responder_core::lambda::invocation_ids(&event.payload);
        responder_core::lambda::measured(
            "await-approval",
            ids,
            handle_event(event.payload, config, publisher),
        )
        .await
    }))
    .await
}
