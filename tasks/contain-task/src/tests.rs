//! The containment and rollback of an ECS task against the fakes of ECS and EC2.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use ec2_containment::fakes::FakeEc2;
use ec2_containment::model::{AclEntry, Interface, NetworkAcl, VpcEndpoint};
use ec2_containment::record;
use ec2_containment::IsolateConfig;
use responder_core::{markers, names, Outcome, TaskError};

use super::*;

const TASK_ARN: &str =
    "arn:aws:ecs:eu-west-1:222222222222:task/checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a";
const ENI: &str = "eni-0task00000000000a";

/// ECS as the tests arrange it.
#[derive(Default)]
struct FakeTasks {
    task: Mutex<Option<TaskState>>,
    roles: BTreeMap<String, String>,
    instances: BTreeMap<String, String>,
    calls: Mutex<Vec<String>>,
}

impl FakeTasks {
    fn running() -> Self {
        FakeTasks {
            task: Mutex::new(Some(TaskState {
                arn: TASK_ARN.into(),
                last_status: "RUNNING".into(),
                launch_type: Some("FARGATE".into()),
                group: Some("service:checkout-api".into()),
                definition_arn: Some(
                    "arn:aws:ecs:eu-west-1:222222222222:task-definition/checkout-api:42".into(),
                ),
                interfaces: vec![ENI.into()],
                addresses: vec!["10.0.1.25".into()],
                ..TaskState::default()
            })),
            roles: [(
                "arn:aws:ecs:eu-west-1:222222222222:task-definition/checkout-api:42".to_string(),
                "arn:aws:iam::222222222222:role/service/checkout-api-task".to_string(),
            )]
            .into(),
            ..FakeTasks::default()
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn tags(&self) -> BTreeMap<String, String> {
        self.task
            .lock()
            .expect("task")
            .as_ref()
            .map(|t| t.tags.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl Tasks for FakeTasks {
    async fn task(&self, _cluster: &str, task_arn: &str) -> Result<Option<TaskState>, TaskError> {
        self.calls
            .lock()
            .expect("calls")
            .push("describe_tasks".into());
        Ok(self
            .task
            .lock()
            .expect("task")
            .clone()
            .filter(|t| t.arn == task_arn))
    }

    async fn definition_role(&self, definition_arn: &str) -> Result<Option<String>, TaskError> {
        Ok(self.roles.get(definition_arn).cloned())
    }

    async fn container_instance(
        &self,
        _cluster: &str,
        arn: &str,
    ) -> Result<Option<String>, TaskError> {
        Ok(self.instances.get(arn).cloned())
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        self.calls.lock().expect("calls").push(format!("tag {arn}"));
        let mut t = self.task.lock().expect("task");
        let t = t.as_mut().expect("a task");
        for (k, v) in tags {
            t.tags.retain(|(key, _)| key != k);
            t.tags.push((k.clone(), v.clone()));
        }
        Ok(())
    }

    async fn untag(&self, _arn: &str, keys: &[String]) -> Result<(), TaskError> {
        let mut t = self.task.lock().expect("task");
        t.as_mut()
            .expect("a task")
            .tags
            .retain(|(k, _)| !keys.contains(k));
        Ok(())
    }

    async fn stop(&self, _cluster: &str, task_arn: &str, reason: &str) -> Result<(), TaskError> {
        self.calls
            .lock()
            .expect("calls")
            .push(format!("stop {task_arn} {reason}"));
        Ok(())
    }
}

fn entry(egress: bool, n: i32, allow: bool, cidr: &str) -> AclEntry {
    AclEntry {
        egress,
        rule_number: n,
        allow,
        protocol: "-1".into(),
        cidr: cidr.into(),
        ports: None,
    }
}

fn acl(id: &str, subnets: &[&str]) -> NetworkAcl {
    NetworkAcl {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
        entries: vec![
            entry(false, 100, true, "0.0.0.0/0"),
            entry(false, 32767, false, "0.0.0.0/0"),
            entry(true, 100, true, "0.0.0.0/0"),
            entry(true, 32767, false, "0.0.0.0/0"),
        ],
    }
}

/// A VPC with the task's subnet, a NAT gateway's subnet under its own ACL, and the endpoints
/// subnet of Session Manager.
fn ec2() -> FakeEc2 {
    let ec2 = FakeEc2::default();
    {
        let mut s = ec2.state.lock().expect("state");
        s.interfaces.insert(
            ENI.into(),
            Interface {
                id: ENI.into(),
                vpc_id: "vpc-1".into(),
                subnet_id: "subnet-tasks".into(),
                group_ids: vec!["sg-service".into()],
                ipv4: vec!["10.0.1.25".into()],
                ..Interface::default()
            },
        );
        s.acls.push(acl("acl-tasks", &["subnet-tasks"]));
        s.acls.push(acl("acl-nat", &["subnet-nat"]));
        s.acls.push(acl("acl-endpoints", &["subnet-endpoints"]));
        s.endpoints.insert(
            "vpc-1".into(),
            ["ssm", "ssmmessages"]
                .iter()
                .map(|svc| VpcEndpoint {
                    id: format!("vpce-{svc}"),
                    service_name: format!("com.amazonaws.eu-west-1.{svc}"),
                    endpoint_type: "Interface".into(),
                    state: "available".into(),
                    subnet_ids: vec!["subnet-endpoints".into()],
                    group_ids: vec!["sg-endpoints".into()],
                    ..VpcEndpoint::default()
                })
                .collect(),
        );
    }
    ec2
}

fn target() -> Target {
    Target {
        task_arn: TASK_ARN.into(),
        cluster: "checkout".into(),
        task_id: "4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a".into(),
        account: "222222222222".into(),
        finding_id: "2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c41".into(),
        stop: false,
        dry_run: false,
    }
}

/// Every entry of an ACL naming the task's address, as `direction rule allow/deny ports`.
fn entries_for(ec2: &FakeEc2, acl_id: &str) -> Vec<String> {
    let s = ec2.state.lock().expect("state");
    let acl = s.acls.iter().find(|a| a.id == acl_id).expect("acl");
    acl.entries
        .iter()
        .filter(|e| e.cidr == "10.0.1.25/32")
        .map(|e| {
            format!(
                "{} {} {} {:?}",
                if e.egress { "out" } else { "in" },
                e.rule_number,
                if e.allow { "allow" } else { "deny" },
                e.ports
            )
        })
        .collect()
}

fn eni_tags(ec2: &FakeEc2) -> BTreeMap<String, String> {
    ec2.state.lock().expect("state").interfaces[ENI]
        .tags
        .clone()
}

#[tokio::test]
async fn a_task_is_cut_off_in_the_acls_of_the_other_subnets_and_its_role_reported() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    let report = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    // Not its own subnet's ACL: an entry there never matches the task's traffic.
    assert_eq!(entries_for(&ec2, "acl-tasks"), Vec::<String>::new());
    assert_eq!(
        entries_for(&ec2, "acl-nat"),
        vec!["in 1 deny None", "out 1 deny None"]
    );
    // Session Manager (ECS Exec) keeps working: HTTPS in to the endpoints, replies out.
    assert_eq!(
        entries_for(&ec2, "acl-endpoints"),
        vec![
            "in 1 allow Some((443, 443))",
            "in 2 deny None",
            "out 1 allow Some((1024, 65535))",
            "out 2 deny None"
        ]
    );
    // Recorded on the interface, for the rollback.
    let recorded = record::decode_acl_entries(&eni_tags(&ec2)).expect("a record");
    assert_eq!(recorded.len(), 6);
    let outcome = |action: &str| {
        report
            .actions
            .iter()
            .find(|a| a.action == action)
            .map(|a| a.outcome)
    };
    assert_eq!(outcome("verify-network-acls"), Some(Outcome::Unchanged));
    assert_eq!(outcome("mark-task"), Some(Outcome::Changed));
    assert_eq!(
        report.evidence["taskRoleName"],
        serde_json::json!("checkout-api-task")
    );
    assert_eq!(
        tasks.tags().get(markers::TAG_STATUS).map(String::as_str),
        Some(markers::STATUS_QUARANTINED)
    );
    assert!(
        !tasks.calls().iter().any(|c| c.starts_with("stop")),
        "{:?}",
        tasks.calls()
    );
    // The security groups are ECS's: never touched.
    assert!(!ec2
        .state
        .lock()
        .expect("state")
        .calls
        .iter()
        .any(|c| c.starts_with("set_interface_groups")));

    // A repeat converges without a change.
    let again = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("again");
    assert_eq!(entries_for(&ec2, "acl-nat").len(), 2);
    assert!(again
        .actions
        .iter()
        .filter(|a| a.action == "deny-in-network-acls")
        .all(|a| a.outcome == Outcome::Unchanged));
}

#[tokio::test]
async fn the_rollback_deletes_exactly_the_recorded_entries_then_has_nothing_to_undo() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    // Someone else's entry for the same address stays.
    ec2.state.lock().expect("state").acls[1]
        .entries
        .push(entry(false, 50, false, "10.0.1.25/32"));
    let report = restore(&target(), &tasks, &ec2).await.expect("restored");
    assert_eq!(entries_for(&ec2, "acl-nat"), vec!["in 50 deny None"]);
    assert_eq!(entries_for(&ec2, "acl-endpoints"), Vec::<String>::new());
    assert!(record::decode_acl_entries(&eni_tags(&ec2)).is_none());
    assert_eq!(
        tasks.tags().get(markers::TAG_STATUS).map(String::as_str),
        Some(markers::STATUS_RESTORED)
    );
    assert!(report.changed());
    let again = restore(&target(), &tasks, &ec2)
        .await
        .expect_err("no record");
    assert_eq!(again.name, names::RESTORE_NO_RECORD);
}

#[tokio::test]
async fn a_task_without_its_own_interface_names_its_container_instance() {
    let tasks = FakeTasks {
        instances: [("arn:ci".to_string(), "i-0123456789abcdef0".to_string())].into(),
        ..FakeTasks::running()
    };
    {
        let mut t = tasks.task.lock().expect("task");
        let t = t.as_mut().expect("task");
        t.interfaces.clear();
        t.launch_type = Some("EC2".into());
        t.container_instance_arn = Some("arn:ci".into());
    }
    let e = contain(&target(), &IsolateConfig::default(), &tasks, &ec2())
        .await
        .expect_err("no interface");
    assert_eq!(e.name, names::REMEDIATION_FAILED);
    assert!(e.message.contains("i-0123456789abcdef0"), "{}", e.message);
}

#[tokio::test]
async fn stop_is_a_policy_option_and_a_dry_run_changes_nothing() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    let dry = Target {
        dry_run: true,
        stop: true,
        ..target()
    };
    let report = contain(&dry, &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("dry run");
    assert!(report
        .actions
        .iter()
        .any(|a| a.action == "stop-task" && a.outcome == Outcome::WouldChange));
    assert_eq!(entries_for(&ec2, "acl-nat"), Vec::<String>::new());
    assert!(eni_tags(&ec2).is_empty());
    assert!(tasks.tags().is_empty());
    assert!(!tasks.calls().iter().any(|c| c.starts_with("stop")));

    let stop = Target {
        stop: true,
        ..target()
    };
    contain(&stop, &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    let calls = tasks.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&format!("stop {TASK_ARN} GuardDuty Responder"))),
        "{calls:?}"
    );
    // Cut off first, then stopped.
    assert_eq!(entries_for(&ec2, "acl-nat").len(), 2);
}

#[tokio::test]
async fn a_role_of_another_account_or_a_stopped_task_is_left_alone() {
    let mut tasks = FakeTasks::running();
    tasks.roles = [(
        "arn:aws:ecs:eu-west-1:222222222222:task-definition/checkout-api:42".to_string(),
        "arn:aws:iam::999999999999:role/elsewhere".to_string(),
    )]
    .into();
    let ec2 = ec2();
    let report = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    assert!(!report.evidence.contains_key("taskRoleName"));
    assert!(report
        .actions
        .iter()
        .any(|a| a.action == "report-task-role" && a.outcome == Outcome::Skipped));

    let stopped = FakeTasks::running();
    stopped
        .task
        .lock()
        .expect("task")
        .as_mut()
        .expect("task")
        .last_status = "STOPPED".into();
    let fresh = self::ec2();
    let report = contain(&target(), &IsolateConfig::default(), &stopped, &fresh)
        .await
        .expect("nothing to do");
    assert!(!report.changed());
    assert_eq!(entries_for(&fresh, "acl-nat"), Vec::<String>::new());
    assert!(report.evidence.contains_key("taskRoleName"));

    // Without network ACL entries nothing would be cut: refused, never "contained".
    let off = IsolateConfig {
        network_acl_deny: false,
        ..IsolateConfig::default()
    };
    let e = contain(&target(), &off, &FakeTasks::running(), &self::ec2())
        .await
        .expect_err("refused");
    assert_eq!(e.name, names::REMEDIATION_FAILED);
}

#[test]
fn a_rollback_names_the_task_by_its_arn_in_the_account_it_acts_in() {
    let ok = aws::Request::from_value(serde_json::json!({
        "mode": "restore",
        "request": {"accountId": "222222222222", "region": "eu-west-1", "taskArn": TASK_ARN}
    }))
    .expect("a request");
    assert_eq!(ok.target.cluster, "checkout");
    assert_eq!(ok.target.task_id, "4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a");
    for bad in [
        "arn:aws:ecs:eu-west-1:222222222222:task/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a",
        "arn:aws:ecs:eu-west-1:222222222222:task/checkout/*",
        "checkout/4f1c2a7e9b3d4c5e8a6b0d1f2e3c4b5a",
    ] {
        let e = aws::Request::from_value(serde_json::json!({
            "mode": "restore",
            "request": {"accountId": "222222222222", "region": "eu-west-1", "taskArn": bad}
        }))
        .expect_err(bad);
        assert_eq!(e.name, names::INPUT_INVALID, "{bad}");
    }
}

/// An ACL at its entry quota: the entries that fit are made, the rest are a shortfall of the
/// report (`Remediation.NetworkAclFull`, which the state machine routes to
/// `partially-contained`), and the read-back counts them missing instead of failing.
#[tokio::test]
async fn a_full_network_acl_is_a_shortfall_not_a_failed_read_back() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    ec2.state.lock().expect("state").acl_entry_limit = Some(1);
    let report = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained in part");
    assert!(!report.incomplete.is_empty());
    assert!(
        report
            .incomplete
            .iter()
            .all(|s| s.error == names::REMEDIATION_NETWORK_ACL_FULL.as_str()),
        "{:?}",
        report.incomplete
    );
    let verified = report
        .actions
        .iter()
        .find(|a| a.action == "verify-network-acls")
        .expect("read back");
    assert!(
        verified.detail.contains("recorded but not made"),
        "{}",
        verified.detail
    );
}

/// A task that stopped after containment has lost its interface, and the interface's record
/// with it: the copy on the task (its VPC, addresses and entries) still lets the rollback
/// delete exactly the entries, then removes the copy.
#[tokio::test]
async fn a_stopped_tasks_rollback_finds_its_entries_in_the_copy_on_the_task() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    let report = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    assert!(report
        .actions
        .iter()
        .any(|a| a.action == "record-on-task" && a.outcome == Outcome::Changed));
    assert!(
        tasks.tags().contains_key(TAG_TASK_NETWORK),
        "{:?}",
        tasks.tags()
    );
    // ECS stops the task: its interface is deleted with it.
    ec2.state.lock().expect("state").interfaces.remove(ENI);
    tasks
        .task
        .lock()
        .expect("task")
        .as_mut()
        .expect("task")
        .last_status = "STOPPED".into();
    restore(&target(), &tasks, &ec2).await.expect("restored");
    assert_eq!(entries_for(&ec2, "acl-nat"), Vec::<String>::new());
    assert_eq!(entries_for(&ec2, "acl-endpoints"), Vec::<String>::new());
    let tags = tasks.tags();
    assert!(!tags.contains_key(TAG_TASK_NETWORK), "{tags:?}");
    assert!(
        !tags.contains_key(markers::TAG_NETWORK_ACL_ENTRIES),
        "{tags:?}"
    );
    assert_eq!(
        tags.get(markers::TAG_STATUS).map(String::as_str),
        Some(markers::STATUS_RESTORED)
    );
}

/// The copy on the task can be written by whoever may tag the task: once the interface is gone,
/// only addresses ECS itself reports for the task are acted on, so a forged copy naming
/// another address rolls nothing back.
#[tokio::test]
async fn a_forged_copy_on_the_task_rolls_nothing_back() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    tasks
        .tag(
            TASK_ARN,
            &[(
                TAG_TASK_NETWORK.to_string(),
                "vpc-1 10.9.9.9/32".to_string(),
            )],
        )
        .await
        .expect("tagged");
    ec2.state.lock().expect("state").interfaces.remove(ENI);
    let e = restore(&target(), &tasks, &ec2)
        .await
        .expect_err("no record");
    assert_eq!(e.name, names::RESTORE_NO_RECORD);
    assert_eq!(entries_for(&ec2, "acl-nat").len(), 2);
}

/// The read-back checks the entries themselves: a recorded rule number that now holds an
/// entry for another address (someone rewrote it) does not count as in place, and the run
/// says so with `Remediation.VerificationFailed` rather than report the record as holding.
#[tokio::test]
async fn the_read_back_checks_each_entry_not_only_its_number() {
    let (tasks, ec2) = (FakeTasks::running(), ec2());
    contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect("contained");
    {
        let mut s = ec2.state.lock().expect("state");
        let acl = s.acls.iter_mut().find(|a| a.id == "acl-nat").expect("acl");
        for e in acl.entries.iter_mut().filter(|e| e.cidr == "10.0.1.25/32") {
            e.cidr = "10.0.7.7/32".into();
        }
    }
    let e = contain(&target(), &IsolateConfig::default(), &tasks, &ec2)
        .await
        .expect_err("not in place");
    assert_eq!(e.name, names::REMEDIATION_VERIFICATION_FAILED);
}
