//! The `restore` task: rolls back an isolation after a false positive, from the records
//! isolation left on the interfaces and the instance (see `ec2_containment::record`).
//!
//! Each interface gets back its recorded groups (verified); the network ACL entries isolation
//! added for its addresses are deleted (each checked to still be one isolation adds, then read
//! back) and its connection-tracking timeouts put back; the instance gets back its termination
//! protection and shutdown behaviour, its Auto Scaling group (out of standby, or attached
//! again) with its scale-in protection, and its target groups (skipped with the reason when
//! they no longer exist); then the records are removed and the instance is marked `restored`,
//! keeping the finding id tag for the audit trail. With no record on any interface it refuses
//! with `Restore.NoRecord`.

pub mod restore;

pub use restore::{restore, RestoreRequest};

use ec2_containment::aws::{AutoScalingAdapter, Ec2Adapter, LoadBalancingAdapter};
use responder_aws::SessionProvider;
use responder_core::{TaskError, TaskReport};
use tracing::Instrument;

#[cfg(test)]
mod tests;

/// The IAM actions of the calls the restore task makes, exactly (the deploy template's
/// least-privilege test compares against this list).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeNetworkInterfaces",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyInstanceMetadataOptions",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "ec2:DescribeNetworkAcls",
    "ec2:DeleteNetworkAclEntry",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:AttachInstances",
    "autoscaling:ExitStandby",
    "autoscaling:SetInstanceProtection",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:RegisterTargets",
    "sts:AssumeRole",
];

/// One invocation: reads the request, acts in its account and region through the remediation
/// role, and returns the report.
pub async fn handle(
    event: serde_json::Value,
    sessions: &SessionProvider,
) -> Result<TaskReport, TaskError> {
    let req = RestoreRequest::from_value(event)?;
    let span = tracing::info_span!(
        "task",
        task = restore::TASK,
        instance = %req.instance_id,
        account = %req.account_id,
        requested_by = req.requested_by.as_deref().unwrap_or("-"),
    );
    // `instrument`, not `span.enter()`: a guard held across `.await` would leave the span
    // entered while the task is suspended, so other work's log lines could land under it.
    // Boxed: the rollback's future is deeply nested, and wrapped in `Instrumented` the
    // binary's future would otherwise exceed the compiler's layout depth limit.
    Box::pin(
        async {
            let conf = sessions
                .config_for(&req.partition, &req.account_id, &req.region)
                .await?;
            let report = restore(
                &req,
                &Ec2Adapter::from_conf(&conf),
                &AutoScalingAdapter::from_conf(&conf),
                &LoadBalancingAdapter::from_conf(&conf),
            )
            .await?;
            tracing::info!(
                changed = report.changed(),
                dry_run = report.dry_run,
                reason = req.reason.as_deref().unwrap_or("-"),
                "restore done"
            );
            responder_core::emf::actions(&report, "rollback");
            Ok(report)
        }
        .instrument(span),
    )
    .await
}
