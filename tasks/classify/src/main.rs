//! The `classify` Lambda: EventBridge GuardDuty event in, `{ finding, decision }` out.

use lambda_runtime::{service_fn, LambdaEvent};
use responder_core::Policy;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    // A bad policy stops the Lambda at start, before it can misclassify a finding.
    let policy = Policy::from_env().inspect_err(|e| {
        tracing::error!(error = e.name, message = %e.message, "cannot start classify");
    })?;
    tracing::info!(
        dry_run = policy.dry_run,
        high = policy.high_severity,
        "classify ready"
    );
    let policy = &policy;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let ids = responder_core::lambda::invocation_ids(&event.payload);
        responder_core::lambda::measured("classify", ids, async {
            classify::handle(policy, &event.payload)
        })
        .await
    }))
    .await
}
