//! The `update-security-hub` Lambda: records an execution's outcome on the finding's Security
//! Hub copy.

use lambda_runtime::{service_fn, LambdaEvent};
use responder_core::lambda;
use serde_json::Value;
use update_security_hub::aws::SecurityHubUpdater;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let settings = update_security_hub::Settings::from_env()?;
    // Security Hub is called with the task's own role in this (the security) account, which
    // Security Hub lets update its member accounts' findings when it is their administrator.
    let updater = SecurityHubUpdater::new(responder_aws::load_base_config().await);
    let (updater, settings) = (&updater, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        update_security_hub::aws::handle(&event.payload, updater, settings).await
    }))
    .await
}
