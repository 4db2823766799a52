//! The `isolate` task: contains a compromised EC2 instance without stopping or terminating it,
//! so its memory, processes and disks stay available for forensics.
//!
//! Steps, each recorded with its before and after state (see [`contain::isolate`]):
//! 1. read the instance and its real interfaces from EC2 (the finding may list none);
//! 2. per VPC, find or create the quarantine group (no inbound rules, outbound only to
//!    `QUARANTINE_EGRESS_CIDRS`) and the untrack group (allows all traffic);
//! 3. per interface, record its groups in a tag on the interface, then move it to the untrack
//!    group and on to the quarantine group: the first step turns tracked connections into
//!    untracked ones, which the second step then cuts;
//! 4. record termination protection and shutdown behaviour on the instance, then turn
//!    protection on and make an instance-initiated shutdown stop;
//! 5. detach it from its Auto Scaling group, keeping the desired capacity;
//! 6. deregister it from its target groups;
//! 7. verify every interface holds exactly its VPC's quarantine group;
//! 8. mark it `quarantined` with the finding id.
//!
//! The rollback records ([`record`]) are shared with the `restore` task, which depends on
//! this library for them, for the capability traits and for the adapters.

pub mod aws;
pub mod caps;
pub mod config;
pub mod contain;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod model;
pub mod record;

#[cfg(test)]
mod aws_tests;
#[cfg(test)]
mod logic_tests;

pub use caps::{AutoScaling, Ec2Isolation, LoadBalancing};
pub use config::IsolateConfig;
pub use contain::{isolate, Target};

use responder_aws::SessionProvider;
use responder_core::{TaskError, TaskInput, TaskReport};
use tracing::Instrument;

/// One invocation: reads the task input, acts in the finding's account and region through the
/// remediation role, and returns the report.
pub async fn handle(
    event: serde_json::Value,
    sessions: &SessionProvider,
    cfg: &IsolateConfig,
) -> Result<TaskReport, TaskError> {
    let input = TaskInput::from_value(event)?;
    let span = input.span(contain::TASK);
    // `instrument`, not `span.enter()`: a guard held across `.await` would leave the span
    // entered while the task is suspended, so other work's log lines could land under it.
    // Boxed: the containment's future is deeply nested, and wrapped in `Instrumented` the
    // binary's future would otherwise exceed the compiler's layout depth limit.
    Box::pin(
        async {
            let target = Target::from_input(&input)?;
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
                &aws::LoadBalancingAdapter::from_conf(&conf),
            )
            .await?;
            tracing::info!(
                instance = %target.instance_id,
                changed = report.changed(),
                dry_run = report.dry_run,
                "isolation done"
            );
            Ok(report)
        }
        .instrument(span),
    )
    .await
}
