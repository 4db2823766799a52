//! The `notify` Lambda: publishes the outcome of a finding's handling to SNS.

use aws_config::Region;
use notify::aws::{SnsPublisher, TopicArn};
use responder_core::lambda::{self, required_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let topic = TopicArn::parse(&required_env("SNS_TOPIC_ARN")?)?;
    let settings = notify::Settings {
        restore_state_machine_arn: std::env::var("RESTORE_STATE_MACHINE_ARN")
            .ok()
            .filter(|v| !v.trim().is_empty()),
    };
    // The topic lives in the security account; SNS is called in the topic's own region.
    let config = responder_aws::load_base_config()
        .await
        .into_builder()
        .region(Region::new(topic.region.clone()))
        .build();
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&config), &topic);
    let (publisher, settings) = (&publisher, &settings);
    lambda::serve("notify", |payload| async move {
        notify::aws::handle(&payload, publisher, settings).await
    })
    .await
}
