//! The `check-exemption` Lambda: responder document in, `ExemptionResult` out.

use check_exemption::aws::{AwsClaims, AwsExecutions, AwsTargets};
use check_exemption::{Claims, Executions, Readers};
use lambda_runtime::{service_fn, LambdaEvent};
use responder_aws::{load_base_config, SessionConfig, SessionProvider};
use responder_core::{Policy, TaskInput};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    // Configuration errors stop the Lambda at start, before any finding is judged.
    let (policy, session, table) = Policy::from_env()
        .and_then(|p| {
            Ok((
                p,
                SessionConfig::from_env("check-exemption")?
                    .with_session_policy(check_exemption::aws::IAM_ACTIONS),
            ))
        })
        .and_then(|(p, s)| Ok((p, s, check_exemption::claim::table_from_env()?)))
        .inspect_err(
            |e| tracing::error!(error = e.name.as_str(), message = %e.message, "cannot start"),
        )?;
    let base = load_base_config().await;
    // Claims and executions live in the security account: the base configuration, not a
    // member session.
    let claims = table.map(|t| AwsClaims::new(aws_sdk_dynamodb::Client::new(&base), t));
    if claims.is_none() {
        tracing::warn!(
            "CLAIMS_TABLE is not set: concurrent executions on one resource are not guarded"
        );
    }
    let executions = AwsExecutions::new(aws_sdk_sfn::Client::new(&base));
    let targets = AwsTargets::new(SessionProvider::new(base, session));
    let (policy, targets, executions) = (&policy, &targets, &executions);
    let claims = claims
        .as_ref()
        .map(|c| (c as &dyn Claims, executions as &dyn Executions));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input = TaskInput::from_value(event.payload)?;
        let span = input.span("check-exemption");
        let now = chrono::Utc::now();
        async {
            let result =
                check_exemption::check(policy, &input, Readers::all(targets), claims, now)
                    .await;
            match &result {
                Ok(r) => tracing::info!(status = ?r.status, target = %r.target, source = %r.source, reason = %r.reason, "checked"),
                Err(e) => tracing::warn!(error = e.name.as_str(), message = %e.message, "check failed"),
            }
            result
        }
        .instrument(span)
        .await
    }))
    .await
}
