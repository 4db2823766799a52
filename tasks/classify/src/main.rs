//! The `classify` Lambda: EventBridge GuardDuty event in, `{ finding, decision }` out.

use classify::AllowedRegions;
use responder_core::Policy;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    responder_core::lambda::init_tracing();
    // A bad policy or region list stops the Lambda at start, before it can misclassify a
    // finding.
    let (policy, regions) = Policy::from_env()
        .and_then(|p| Ok((p, AllowedRegions::from_env()?)))
        .inspect_err(|e| {
            tracing::error!(error = e.name.as_str(), message = %e.message, "cannot start classify");
        })?;
    tracing::info!(
        dry_run = policy.dry_run,
        high = policy.high_severity,
        allowed_regions = ?regions.list(),
        "classify ready"
    );
    let (policy, regions) = (&policy, &regions);
    responder_core::lambda::serve("classify", |payload| async move {
        classify::handle(policy, regions, &payload)
    })
    .await
}
