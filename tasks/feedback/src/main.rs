//! The `feedback` Lambda: the false-positive ledger (`read`, `record`, `mark`).

use feedback::aws::DynamoLedger;
use lambda_runtime::{service_fn, LambdaEvent};
use responder_core::{lambda, Policy};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    // Configuration errors stop the Lambda at start, before any finding is read.
    let (policy, table) = Policy::from_env()
        .and_then(|p| Ok((p, lambda::required_env(feedback::TABLE_SETTING)?)))
        .inspect_err(
            |e| tracing::error!(error = e.name.as_str(), message = %e.message, "cannot start"),
        )?;
    // The ledger is in the security account: the task's own credentials, no member session.
    let base = responder_aws::load_base_config().await;
    let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&base), table);
    let (policy, ledger) = (&policy, &ledger);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let p = &event.payload;
        let text = |k: &str| p.pointer(k).and_then(Value::as_str).map(str::to_string);
        let finding = text("/event/detail/id").or_else(|| text("/state/finding/id"));
        let ids = (
            finding,
            text("/state/execution").or_else(|| text("/execution")),
        );
        lambda::measured(feedback::TASK, ids, async {
            feedback::handle(&event.payload, policy, ledger, chrono::Utc::now()).await
        })
        .await
    }))
    .await
}
