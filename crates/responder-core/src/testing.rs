//! Fixtures for the tasks' tests (cargo feature `test-util`).

use crate::finding::{InstanceTarget, Resource};
use crate::{Finding, Policy, TaskInput};

/// A HIGH (8.0) `Backdoor:EC2/C&CActivity.B!DNS` finding `5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4` on
/// `instance_id`, in account `111111111111` (which delivered it) and region `eu-west-1`, with no
/// interfaces or tags listed. Tests change fields with struct update syntax.
pub fn instance_finding(instance_id: &str) -> Finding {
    Finding {
        id: "5ab0f1c3d2e4a6b8c0d2e4f6a8b0c2d4".into(),
        arn: None,
        finding_type: "Backdoor:EC2/C&CActivity.B!DNS".into(),
        severity: 8.0,
        account_id: "111111111111".into(),
        delivered_by_account: "111111111111".into(),
        region: "eu-west-1".into(),
        partition: "aws".into(),
        title: None,
        updated_at: None,
        count: 1,
        sample: false,
        archived: false,
        resource: Resource::Instance(InstanceTarget {
            instance_id: instance_id.into(),
            network_interfaces: vec![],
            tags: vec![],
            instance_profile_arn: None,
            instance_type: None,
            instance_state: None,
            eks_cluster: None,
        }),
        resource_role: None,
        local_ports: vec![],
        sources: Default::default(),
        requested_by_analyst: false,
        security_hub: None,
        host_evidence: None,
        kubernetes: None,
        sequence: None,
    }
}

/// The task input of a HIGH finding on `instance_id` with id `finding_id` in `account`, as
/// JSON, as the state machine passes it to the EC2 tasks.
pub fn instance_input_json(
    instance_id: &str,
    finding_id: &str,
    account: &str,
    dry_run: bool,
) -> serde_json::Value {
    let finding = Finding {
        id: finding_id.into(),
        account_id: account.into(),
        ..instance_finding(instance_id)
    };
    serde_json::to_value(task_input(finding, dry_run, "exec-1")).expect("a task input is JSON")
}

/// The document a task receives for `finding` in `execution`: the default policy's decision,
/// with `dry_run` set as given.
pub fn task_input(finding: Finding, dry_run: bool, execution: &str) -> TaskInput {
    let mut decision = Policy::default().decide(&finding);
    decision.dry_run = dry_run;
    TaskInput {
        finding,
        decision,
        execution: Some(execution.into()),
        results: None,
        approval_timeout_seconds: None,
        execution_start_time: None,
    }
}
