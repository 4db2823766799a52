//! The `contain-task` task: cuts a compromised ECS task off the network without stopping it, so
//! its memory and files stay for forensics, and rolls the cut back.
//!
//! Why network ACLs and not security groups: an `awsvpc` task's network interface is created
//! and managed by ECS, a requester-managed interface, and "you can add or remove tags, but you
//! can't change other properties of a requester-managed network interface" (EC2 User Guide,
//! "Requester-managed network interfaces"). Its groups cannot be swapped for the quarantine
//! group. What can be done from outside is what `isolate` also does for the connections
//! security groups cannot cut: per-address deny entries in the network ACLs of the VPC's
//! other subnets ([`ec2_containment::contain::deny_interface_addresses`]), Session Manager's
//! HTTPS allowed first where the VPC has its endpoints (ECS Exec goes through it). The entries
//! are recorded on the interface's tags (which may be written) before they are made, read
//! back, and deleted by the rollback exactly.
//!
//! What this does not cut, said in the report: traffic to hosts in the task's own subnet
//! (it crosses no ACL), DNS to the Route 53 Resolver, and the task role's credentials. The
//! role is shared by every task of the definition and no condition key tells one task's
//! sessions from another's, so its sessions are denied only after an analyst approved (the
//! state machine runs `revoke` with the role this task reports). A task on EC2 capacity names
//! its container instance, for the analyst to inspect. Stopping the task is a policy option
//! (`ecs.stop_task`), off by default.
//!
//! A task in `bridge` or `host` network mode has no interface of its own: its traffic is its
//! container instance's, and the task refuses with `Remediation.Failed`, naming the instance.

pub mod aws;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use async_trait::async_trait;
use ec2_containment::caps::Ec2Isolation;
use ec2_containment::contain::{deny_interface_addresses, remove_address_denies, AclSubject};
use ec2_containment::model::Interface;
use ec2_containment::record;
use ec2_containment::IsolateConfig;
use responder_core::arn::Arn;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskReport};
use serde_json::json;

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "contain-task";

/// On the task: its VPC and addresses as containment saw them (`VPC ADDRESS...`), beside a copy
/// of its interface's record of network ACL entries. A stopped task's interface is deleted
/// with it, and its record with it; "stopped tasks appear in the returned results for at least
/// one hour" (ECS API Reference, `DescribeTasks`), so the rollback can find the entries there.
const TAG_TASK_NETWORK: &str = "guardduty-responder:task-network";

/// The longest reason `StopTask` takes (ECS API Reference, `StopTask`, `reason`: up to 255
/// characters).
const STOP_REASON_MAX: usize = 255;

/// An ECS task as `DescribeTasks` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    /// The task's ARN.
    pub arn: String,
    /// `PROVISIONING`, `RUNNING`, `STOPPED`, ...
    pub last_status: String,
    /// `FARGATE`, `EC2`, ...
    pub launch_type: Option<String>,
    /// `service:NAME` for a service's task.
    pub group: Option<String>,
    /// The task definition's ARN.
    pub definition_arn: Option<String>,
    /// The task role the task was started with in place of its definition's.
    pub role_override: Option<String>,
    /// The container instance of a task on EC2 capacity.
    pub container_instance_arn: Option<String>,
    /// Its `awsvpc` network interfaces (the attachments' `networkInterfaceId`).
    pub interfaces: Vec<String>,
    /// Its addresses as ECS reports them (the attachments' `privateIPv4Address` and
    /// `ipv6Address`), still reported for a stopped task.
    pub addresses: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

impl TaskState {
    fn stopped(&self) -> bool {
        matches!(
            self.last_status.as_str(),
            "STOPPED" | "DEPROVISIONING" | "DELETED"
        )
    }
}

/// The ECS calls of containment and rollback.
#[async_trait]
pub trait Tasks: Send + Sync {
    /// `DescribeTasks` with its tags; `None` when ECS does not know the task (any more).
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskState>, TaskError>;
    /// `DescribeTaskDefinition`: its task role's ARN, if it has one.
    async fn definition_role(&self, definition_arn: &str) -> Result<Option<String>, TaskError>;
    /// `DescribeContainerInstances`: the EC2 instance id of a container instance.
    async fn container_instance(
        &self,
        cluster: &str,
        arn: &str,
    ) -> Result<Option<String>, TaskError>;
    /// `TagResource` (adds or overwrites the given keys).
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError>;
    /// `UntagResource` of the given keys.
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError>;
    /// `StopTask` with a reason.
    async fn stop(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), TaskError>;
}

/// The task to act on, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The task's ARN.
    pub task_arn: String,
    /// Its cluster's name.
    pub cluster: String,
    /// Its id.
    pub task_id: String,
    /// The account it is in (its role must be of this account to be reported for revocation).
    pub account: String,
    /// The finding id recorded on the task (containment).
    pub finding_id: String,
    /// Stop the task once it is cut off (policy `ecs.stop_task`).
    pub stop: bool,
    /// Report only; change nothing.
    pub dry_run: bool,
}

fn would(dry: bool, o: Outcome) -> Outcome {
    if dry {
        Outcome::WouldChange
    } else {
        o
    }
}

async fn read(tasks: &dyn Tasks, target: &Target) -> Result<TaskState, TaskError> {
    tasks
        .task(&target.cluster, &target.task_arn)
        .await?
        .ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_TARGET_NOT_FOUND,
                format!(
                    "ECS task {} was not found in cluster {}",
                    target.task_id, target.cluster
                ),
            )
        })
}

/// The interfaces of the task that EC2 still knows (a stopped task's are deleted).
async fn interfaces(
    ec2: &dyn Ec2Isolation,
    state: &TaskState,
) -> Result<Vec<Interface>, TaskError> {
    if state.interfaces.is_empty() {
        return Ok(Vec::new());
    }
    match ec2.describe_interfaces(&state.interfaces).await {
        Ok(found) => Ok(found),
        Err(e) if e.has_aws_code("InvalidNetworkInterfaceID.NotFound") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The task role's ARN and, when it is a role of the task's own account, its name.
fn role_of(arn: &str, account: &str) -> Option<String> {
    Arn::parse(arn)
        .filter(|a| a.service == "iam" && a.account == account)
        .and_then(|a| a.resource.strip_prefix("role/"))
        .and_then(|path| path.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// Contains the task: deny entries for its addresses in the network ACLs of the VPC's other
/// subnets (recorded on its interfaces first), read back; its role and container instance
/// reported; marked; stopped only when the policy says so.
pub async fn contain(
    target: &Target,
    cfg: &IsolateConfig,
    tasks: &dyn Tasks,
    ec2: &dyn Ec2Isolation,
) -> Result<TaskReport, TaskError> {
    let dry = target.dry_run;
    if !cfg.network_acl_deny {
        // The network ACLs are the one control an ECS task's interface leaves: without them
        // nothing would be cut, and "contained" would be false.
        return Err(TaskError::new(
            names::REMEDIATION_FAILED,
            "network ACL entries are turned off (NETWORK_ACL_DENY=false): they are the only way to cut an ECS task off, so nothing would be contained",
        ));
    }
    let mut report = TaskReport::new(TASK, dry);
    let state = read(tasks, target).await?;
    evidence(&mut report, &state);
    // The role first, whatever follows: a task the attacker stopped (or one without an
    // interface of its own) still leaves its role's credentials with them, and an approved
    // revocation must still find the role.
    role(&mut report, target, tasks, &state).await?;
    if state.stopped() {
        report.push(ActionRecord::new(
            "deny-in-network-acls",
            &target.task_arn,
            Outcome::Skipped,
            format!(
                "the task is {}: nothing of it runs to cut off",
                state.last_status
            ),
        ));
        return Ok(report);
    }
    // What runs on EC2 capacity has a host to inspect; a task without its own interface has
    // only the host's.
    let host = match &state.container_instance_arn {
        Some(ci) => tasks.container_instance(&target.cluster, ci).await?,
        None => None,
    };
    if let Some(i) = &host {
        report
            .evidence
            .insert("containerInstanceId".into(), json!(i));
        report.caveat(format!(
            "The task runs on EC2 container instance {i}, which is not contained: code that escaped the container holds the instance. Inspect it, and contain it if the finding suggests an escape."
        ));
    }
    let ifaces = interfaces(ec2, &state).await?;
    if ifaces.is_empty() {
        return Err(TaskError::new(
            names::REMEDIATION_FAILED,
            format!(
                "ECS task {} has no network interface of its own (network mode bridge or host): its traffic is its container instance's{}; contain the instance instead",
                target.task_id,
                host.as_deref()
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default()
            ),
        ));
    }
    let subject = AclSubject {
        id: &target.task_arn,
        noun: "task",
        meanwhile: "The task's interface keeps its security groups (ECS manages it), so its connections through that ACL's subnets continue.",
    };
    deny_interface_addresses(ec2, cfg, subject, &ifaces, dry, &mut report).await?;
    report.caveat("The task's security groups are ECS's and unchanged: traffic to hosts in its own subnet crosses no network ACL and is not cut, and DNS queries to the Route 53 Resolver are never filtered.");
    let copied = if dry {
        true
    } else {
        // An ACL without room is a shortfall of the report already: its entries are recorded
        // (for a rerun to add) but absent, and the read-back says so rather than failing.
        let short = !report.incomplete.is_empty();
        let (verified, now) = verify(ec2, &state, short).await?;
        report.push(verified);
        record_on_task(&mut report, target, tasks, &now, &state).await
    };
    mark(&mut report, target, tasks, &state).await;
    if target.stop && !copied {
        // Stopping deletes the interface and its record: without the copy on the task, the
        // rollback could not find the entries.
        report.push(ActionRecord::new(
            "stop-task",
            &target.task_arn,
            Outcome::Skipped,
            "not stopped (policy ecs.stop_task): the record of its network ACL entries could not be copied onto the task, and stopping it would delete the only record with its interface",
        ));
    } else if target.stop {
        stop(&mut report, target, tasks).await?;
    } else {
        report.caveat("The task keeps running, for its memory and files as evidence (policy ecs.stop_task is off); its service does not replace it while it runs.");
    }
    Ok(report)
}

fn evidence(report: &mut TaskReport, state: &TaskState) {
    let ev = &mut report.evidence;
    ev.insert("taskArn".into(), json!(state.arn));
    ev.insert("lastStatus".into(), json!(state.last_status));
    ev.insert("launchType".into(), json!(state.launch_type));
    ev.insert("group".into(), json!(state.group));
    ev.insert("taskDefinitionArn".into(), json!(state.definition_arn));
    ev.insert("networkInterfaces".into(), json!(state.interfaces));
}

/// Reads the interfaces and their VPCs' ACLs back: every entry recorded on an interface is in
/// its ACL, or, when an ACL had no room (`short`), is counted as missing. Returns the
/// interfaces as read back, with their records.
async fn verify(
    ec2: &dyn Ec2Isolation,
    state: &TaskState,
    short: bool,
) -> Result<(ActionRecord, Vec<Interface>), TaskError> {
    let now = interfaces(ec2, state).await?;
    let mut acls = BTreeMap::new();
    let mut checked = 0;
    let mut missing = 0;
    for iface in &now {
        let recorded = record::decode_acl_entries(&iface.tags).unwrap_or_default();
        if !acls.contains_key(&iface.vpc_id) {
            acls.insert(iface.vpc_id.clone(), ec2.network_acls(&iface.vpc_id).await?);
        }
        let vpc_acls = &acls[&iface.vpc_id];
        // The entry itself, not only its number: at that number, for one of the interface's
        // addresses.
        let addresses = iface.address_cidrs();
        for r in &recorded {
            let present = vpc_acls.iter().any(|a| {
                a.id == r.acl_id
                    && a.entries.iter().any(|e| {
                        e.egress == r.egress
                            && e.rule_number == r.rule_number
                            && addresses.contains(&e.cidr)
                    })
            });
            if !present && short {
                missing += 1;
                continue;
            }
            if !present {
                return Err(TaskError::new(
                    names::REMEDIATION_VERIFICATION_FAILED,
                    format!(
                        "network ACL {} has no rule {} ({}) though interface {} records it",
                        r.acl_id,
                        r.rule_number,
                        if r.egress { "outbound" } else { "inbound" },
                        iface.id
                    ),
                ));
            }
            checked += 1;
        }
    }
    let mut detail = format!("read back: {checked} recorded entries in place");
    if missing > 0 {
        detail.push_str(&format!(
            "; {missing} recorded but not made (no room in the network ACL: see the shortfall)"
        ));
    }
    let record = ActionRecord::new(
        "verify-network-acls",
        &state.arn,
        Outcome::Unchanged,
        detail,
    );
    Ok((record, now))
}

/// Copies the interface's record of network ACL entries onto the task, with its VPC and
/// addresses, so a rollback after the task stopped (its interface deleted) still finds them.
/// A copy the task refuses is reported: the interface's record stays the rollback's source.
async fn record_on_task(
    report: &mut TaskReport,
    target: &Target,
    tasks: &dyn Tasks,
    now: &[Interface],
    state: &TaskState,
) -> bool {
    let Some(iface) = now
        .iter()
        .find(|i| record::decode_acl_entries(&i.tags).is_some_and(|e| !e.is_empty()))
    else {
        // Nothing was recorded: nothing to copy (no other subnet's ACL to deny in).
        return true;
    };
    let entries = record::decode_acl_entries(&iface.tags).unwrap_or_default();
    let mut tags = record::encode_acl_entries(&entries);
    let mut network = vec![iface.vpc_id.clone()];
    network.extend(iface.address_cidrs());
    tags.push((TAG_TASK_NETWORK.to_string(), network.join(" ")));
    let keys: Vec<&str> = tags
        .iter()
        .map(|(k, _)| k.as_str())
        .chain([markers::TAG_STATUS, markers::TAG_FINDING_ID])
        .collect();
    let room = markers::limits::room_for(state.tags.iter().map(|(k, _)| k.as_str()), &keys);
    let outcome = if room {
        tasks.tag(&target.task_arn, &tags).await.err()
    } else {
        Some(TaskError::new(
            names::REMEDIATION_FAILED,
            "no room within the tags an AWS resource may carry",
        ))
    };
    let copied = outcome.is_none();
    report.push(match outcome {
        None => ActionRecord::new(
            "record-on-task",
            &target.task_arn,
            Outcome::Changed,
            format!(
                "copied the record of {} network ACL entries onto the task: a rollback after the task stops (its interface deleted with it) still finds them",
                entries.len()
            ),
        ),
        Some(e) => ActionRecord::new(
            "record-on-task",
            &target.task_arn,
            Outcome::Skipped,
            format!(
                "the copy onto the task was refused ({}: {}); the record on its interface stays, and goes if the task stops",
                e.name, e.message
            ),
        ),
    });
    copied
}

/// The record a stopped task keeps of its entries, as an interface for the rollback: the
/// entries, and the VPC and addresses they name.
///
/// The tags can be written by whoever may tag the task, so what they name is checked against
/// what ECS itself reports: only the addresses of the task's own attachments are kept.
fn recorded_on_task(state: &TaskState) -> Option<Interface> {
    let tags: BTreeMap<String, String> = state.tags.iter().cloned().collect();
    let entries = record::decode_acl_entries(&tags)?;
    if entries.is_empty() {
        return None;
    }
    let mut network = tags.get(TAG_TASK_NETWORK)?.split_whitespace();
    let vpc_id = network.next()?.to_string();
    let (mut ipv4, mut ipv6) = (Vec::new(), Vec::new());
    for cidr in network {
        let own = |a: &str| state.addresses.iter().any(|x| x == a);
        match cidr.split_once('/') {
            Some((a, "32")) if own(a) => ipv4.push(a.to_string()),
            Some((a, "128")) if own(a) => ipv6.push(a.to_string()),
            _ => {}
        }
    }
    if ipv4.is_empty() && ipv6.is_empty() {
        return None;
    }
    Some(Interface {
        id: state
            .interfaces
            .first()
            .cloned()
            .unwrap_or_else(|| "(deleted interface)".into()),
        vpc_id,
        ipv4,
        ipv6,
        tags,
        ..Interface::default()
    })
}

/// Reports the task role: its sessions are denied by `revoke` only with an analyst's approval.
async fn role(
    report: &mut TaskReport,
    target: &Target,
    tasks: &dyn Tasks,
    state: &TaskState,
) -> Result<(), TaskError> {
    let arn = match (&state.role_override, &state.definition_arn) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(def)) => tasks.definition_role(def).await?,
        (None, None) => None,
    };
    let Some(arn) = arn else {
        report.push(ActionRecord::new(
            "report-task-role",
            &target.task_arn,
            Outcome::Unchanged,
            "the task has no task role: it holds no credentials of its own",
        ));
        return Ok(());
    };
    report.evidence.insert("taskRoleArn".into(), json!(arn));
    match role_of(&arn, &target.account) {
        Some(name) => {
            report.evidence.insert("taskRoleName".into(), json!(name));
            report.push(ActionRecord::new(
                "report-task-role",
                &target.task_arn,
                Outcome::Unchanged,
                format!("task role {name}: shared by every task of the definition; its sessions are denied only with an analyst's approval"),
            ));
            report.caveat(format!(
                "Any process in the task can read the credentials of task role {name} from the task's credential endpoint: they stay valid until they expire unless an analyst approved denying the role's sessions."
            ));
        }
        None => report.push(ActionRecord::new(
            "report-task-role",
            &target.task_arn,
            Outcome::Skipped,
            format!(
                "task role {arn:?} is not a role of account {}: not reported for revocation",
                target.account
            ),
        )),
    }
    Ok(())
}

/// The marker on the task, when there is room; a refusal is reported, not a failure.
async fn mark(report: &mut TaskReport, target: &Target, tasks: &dyn Tasks, state: &TaskState) {
    let tags = vec![
        (
            markers::TAG_STATUS.to_string(),
            markers::STATUS_QUARANTINED.to_string(),
        ),
        (
            markers::TAG_FINDING_ID.to_string(),
            markers::tag_value(&target.finding_id),
        ),
    ];
    let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
    if !markers::limits::room_for(state.tags.iter().map(|(k, _)| k.as_str()), &keys) {
        report.push(ActionRecord::new(
            "mark-task",
            &target.task_arn,
            Outcome::Skipped,
            format!(
                "no room for the markers within the {} tags an AWS resource may carry",
                markers::limits::TAGS_PER_RESOURCE
            ),
        ));
        return;
    }
    write_marker(report, target, tasks, &tags, "the task is cut off").await;
}

/// Writes the marker tags on the task (`tags`, the first naming the status); a refusal is
/// reported, never a failure of what was done (`done`).
async fn write_marker(
    report: &mut TaskReport,
    target: &Target,
    tasks: &dyn Tasks,
    tags: &[(String, String)],
    done: &str,
) {
    let result = if target.dry_run {
        Ok(())
    } else {
        tasks.tag(&target.task_arn, tags).await
    };
    let (key, value) = &tags[0];
    report.push(match result {
        Ok(()) => ActionRecord::new(
            "mark-task",
            &target.task_arn,
            would(target.dry_run, Outcome::Changed),
            format!("tagged {key}={value}"),
        ),
        Err(e) => ActionRecord::new(
            "mark-task",
            &target.task_arn,
            Outcome::Skipped,
            format!("the marker was refused ({}: {}); {done}", e.name, e.message),
        ),
    });
}

async fn stop(
    report: &mut TaskReport,
    target: &Target,
    tasks: &dyn Tasks,
) -> Result<(), TaskError> {
    let mut reason = format!(
        "GuardDuty Responder: contained for finding {}",
        target.finding_id
    );
    reason.truncate(
        (0..=STOP_REASON_MAX.min(reason.len()))
            .rev()
            .find(|i| reason.is_char_boundary(*i))
            .unwrap_or(0),
    );
    if !target.dry_run {
        tasks
            .stop(&target.cluster, &target.task_arn, &reason)
            .await?;
    }
    report.push(ActionRecord::new(
        "stop-task",
        &target.task_arn,
        would(target.dry_run, Outcome::Changed),
        "stopped (policy ecs.stop_task): its memory is lost; its service may start a replacement",
    ));
    report.caveat("The task was stopped: its network interface is deleted with it, and with it the interface's record of the network ACL entries. Roll back within the hour ECS still describes a stopped task (the task carries a copy of the record), or delete the entries listed under actions by hand, so the address is not denied when ECS gives it to another task.");
    Ok(())
}

/// Rolls the cut back: the recorded network ACL entries deleted (each checked to still be one
/// containment added for the interface's addresses, then read back), the records removed, the
/// task marked `restored`. With no record on any interface it refuses with `Restore.NoRecord`.
pub async fn restore(
    target: &Target,
    tasks: &dyn Tasks,
    ec2: &dyn Ec2Isolation,
) -> Result<TaskReport, TaskError> {
    let dry = target.dry_run;
    let mut report = TaskReport::new(TASK, dry);
    let state = read(tasks, target).await?;
    evidence(&mut report, &state);
    let ifaces = interfaces(ec2, &state).await?;
    let mut recorded: Vec<&Interface> = ifaces
        .iter()
        .filter(|i| record::decode_acl_entries(&i.tags).is_some_and(|e| !e.is_empty()))
        .collect();
    // The interface is gone with a stopped task: the copy on the task names the entries.
    // Only when the interface itself is gone: a record removed from an interface that still
    // exists is not replaced by tags anyone who may tag the task could have written.
    let interface_gone = ifaces.is_empty();
    let from_task = recorded_on_task(&state);
    if interface_gone {
        recorded.extend(from_task.as_ref());
    }
    if recorded.is_empty() {
        return Err(TaskError::new(
            names::RESTORE_NO_RECORD,
            format!(
                "ECS task {} has no record of network ACL entries on {}: nothing to roll back{}",
                target.task_id,
                if ifaces.is_empty() {
                    "any interface (a stopped task's interfaces are deleted with it)"
                } else {
                    "its interfaces"
                },
                if ifaces.is_empty() {
                    "; delete entries for its former address by hand"
                } else {
                    ""
                }
            ),
        ));
    }
    remove_address_denies(&mut report, ec2, &recorded, dry).await?;
    if from_task.is_some() {
        let mut keys = record::present_keys(
            &state.tags.iter().cloned().collect(),
            markers::TAG_NETWORK_ACL_ENTRIES,
        );
        keys.push(TAG_TASK_NETWORK.to_string());
        if !dry {
            tasks.untag(&target.task_arn, &keys).await?;
        }
        report.push(ActionRecord::new(
            "remove-records",
            &target.task_arn,
            would(dry, Outcome::Changed),
            format!("removed {} from the task", keys.join(", ")),
        ));
    }
    for iface in recorded.iter().filter(|_| !interface_gone) {
        let keys = record::present_keys(&iface.tags, markers::TAG_NETWORK_ACL_ENTRIES);
        ec2.delete_tags(&iface.id, &keys, dry).await?;
        report.push(ActionRecord::new(
            "remove-records",
            &iface.id,
            would(dry, Outcome::Changed),
            format!("removed {}", keys.join(", ")),
        ));
    }
    if state
        .tags
        .iter()
        .any(|(k, v)| k == markers::TAG_STATUS && v == markers::STATUS_QUARANTINED)
    {
        let restored = [(
            markers::TAG_STATUS.to_string(),
            markers::STATUS_RESTORED.to_string(),
        )];
        write_marker(
            &mut report,
            target,
            tasks,
            &restored,
            "the rollback is done",
        )
        .await;
    }
    Ok(report)
}
