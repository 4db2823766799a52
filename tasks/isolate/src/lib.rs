//! The `isolate` task: contains a compromised EC2 instance without stopping or terminating it,
//! so its memory, processes and disks stay available for forensics.
//!
//! The steps, each recorded with its before and after state, are listed and explained in
//! [`contain`]: out of the Auto Scaling group's hands first, then the quarantine groups (the
//! move through the untrack group), per-address deny entries in the network ACLs the
//! instance's traffic crosses, the shortest connection-tracking timeouts, termination
//! protection, out of its target groups, read back, marked.
//!
//! The steps, their rollback records, the capability traits and the adapters live in the
//! `ec2-containment` library, shared with `restore`, `contain-database` and `contain-task`;
//! this crate is the Lambda around them.

pub use ec2_containment::{aws, contain, isolate, IsolateConfig, Mode, Target};

use responder_aws::SessionProvider;
use responder_core::{TaskError, TaskInput, TaskReport};
use tracing::Instrument;

/// The IAM actions of the calls the isolate task makes through `ec2-containment`, exactly (the deploy template's
/// least-privilege test compares against this list).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyInstanceMetadataOptions",
    "ec2:CreateTags",
    "ec2:DescribeNetworkAcls",
    "ec2:CreateNetworkAclEntry",
    "ec2:DescribeVpcEndpoints",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:SetInstanceProtection",
    "autoscaling:DetachInstances",
    "autoscaling:EnterStandby",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DeregisterTargets",
    "sts:AssumeRole",
];

/// One invocation: reads the task input, acts in the finding's account and region through the
/// remediation role, and returns the report.
pub async fn handle(
    event: serde_json::Value,
    sessions: &SessionProvider,
    cfg: &IsolateConfig,
) -> Result<TaskReport, TaskError> {
    // The state machine's last step after a failed containment asks only to secure the
    // interfaces (no interface left in the allow-all untrack group).
    // A mode set by the state machine: `secure` after a failed containment, `harden` for the
    // source instance of stolen credentials the policy does not isolate.
    let mode = match event.get("mode").and_then(serde_json::Value::as_str) {
        Some("secure") => Mode::Secure,
        Some("harden") => Mode::Harden,
        _ => Mode::Contain,
    };
    let input = TaskInput::from_value(event)?;
    let span = input.span(contain::TASK);
    // `instrument`, not `span.enter()`: a guard held across `.await` would leave the span
    // entered while the task is suspended, so other work's log lines could land under it.
    // Boxed: the containment's future is deeply nested, and wrapped in `Instrumented` the
    // binary's future would otherwise exceed the compiler's layout depth limit.
    Box::pin(
        async {
            let mut target = Target::from_input(&input)?;
            target.mode = mode;
            let conf = sessions
                .config_for(
                    &target.scope.partition,
                    &target.scope.account,
                    &target.scope.region,
                )
                .await?;
            let report = isolate(
                &target,
                cfg,
                &aws::Ec2Adapter::from_conf(&conf),
                &aws::AutoScalingAdapter::from_conf(&conf),
                &aws::LoadBalancingAdapter::from_conf(&conf).with_index(format!(
                    "{}/{}/{}",
                    target.scope.partition, target.scope.account, target.scope.region
                )),
            )
            .await?;
            tracing::info!(
                instance = %target.instance_id,
                changed = report.changed(),
                dry_run = report.dry_run,
                "isolation done"
            );
            responder_core::emf::actions(&report, &input.finding.finding_type);
            if target.mode == Mode::Contain {
                responder_core::emf::contained(
                    &report,
                    "ec2",
                    input.execution_start_time.as_deref(),
                );
            }
            Ok(report)
        }
        .instrument(span),
    )
    .await
}
