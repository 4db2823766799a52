//! The `check-exemption` Lambda: responder document in, `ExemptionResult` out.

use check_exemption::aws::AwsTargets;
use lambda_runtime::{service_fn, LambdaEvent};
use responder_aws::{load_base_config, SessionConfig, SessionProvider};
use responder_core::{Policy, TaskInput};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    // Configuration errors stop the Lambda at start, before any finding is judged.
    let (policy, session) = Policy::from_env()
        .and_then(|p| Ok((p, SessionConfig::from_env("check-exemption")?)))
        .inspect_err(|e| tracing::error!(error = e.name, message = %e.message, "cannot start"))?;
    let sessions = SessionProvider::new(load_base_config().await, session);
    let targets = AwsTargets::new(sessions);
    let (policy, targets) = (&policy, &targets);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input = TaskInput::from_value(event.payload)?;
        let span = input.span("check-exemption");
        async {
            let result = check_exemption::check(policy, &input, targets, targets).await;
            match &result {
                Ok(r) => tracing::info!(status = ?r.status, target = %r.target, reason = %r.reason, "checked"),
                Err(e) => tracing::warn!(error = e.name, message = %e.message, "check failed"),
            }
            result
        }
        .instrument(span)
        .await
    }))
    .await
}
