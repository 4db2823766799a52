//! Containment of one EC2 instance, as a sequence of small steps. Never stops or terminates
//! the instance: its memory, processes and disks stay for forensics.
//!
//! The order is deliberate:
//! 1. read the instance, its real interfaces and its Auto Scaling membership;
//! 2. take it out of its Auto Scaling group's hands ([`evidence`]) BEFORE its interfaces move:
//!    a quarantined instance fails its health checks, and Auto Scaling terminates unhealthy
//!    instances whatever their termination protection;
//! 3. per VPC, the quarantine group (egress only TCP 443 to the VPC's Session Manager
//!    endpoints) and the untrack group ([`groups`]);
//! 4. per interface, record its groups on itself, then move it through the untrack group to
//!    the quarantine group ([`swap`]); no path leaves it in the untrack group;
//! 5. per-address deny entries in the network ACLs its traffic crosses ([`acl`]): the only
//!    control that cuts connections AWS tracks whatever the groups say;
//! 6. the shortest connection-tracking idle timeouts ([`conntrack`]);
//! 7. termination protection and shutdown behaviour, recorded first ([`instance`]);
//! 8. out of its target groups ([`instance`]);
//! 9. read back ([`verify`]), then mark it.
//!
//! Every change is recorded on the resource before it is made, so `restore` undoes exactly
//! it, and every step is idempotent, so a retried execution converges. What a step could not
//! do that leaves the instance contained (a full network ACL) is a [`Shortfall`] of the
//! report; what containment cannot cut at all is a caveat of the report.
//!
//! [`Shortfall`]: responder_core::Shortfall

mod acl;
mod conntrack;
mod evidence;
mod groups;
mod imds;
mod instance;
mod swap;
mod verify;

use std::collections::BTreeMap;

use responder_core::finding::is_resource_id;
use responder_core::{names, Outcome, TaskError, TaskInput, TaskReport};
use serde_json::json;

use crate::caps::{AutoScaling, Ec2Isolation, LoadBalancing};
use crate::config::IsolateConfig;
use crate::model::{Instance, Interface};
use crate::record::{ArnScope, OriginalAttributes};

pub use acl::{deny_interface_addresses, remove_address_denies, AclSubject};
pub use groups::{quarantine_group, VpcPlan};

/// The task's name in reports.
pub const TASK: &str = "isolate";

/// What the invocation is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The whole containment.
    Contain,
    /// Only make sure no interface of the instance is left in the allow-all untrack group:
    /// the state machine's last step when containment failed after its retries.
    Secure,
    /// Only harden the metadata service of an instance whose role credentials were stolen
    /// (when the policy does not isolate it).
    Harden,
}

/// The instance to act on, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The instance id.
    pub instance_id: String,
    /// The finding id written in the marker tag.
    pub finding_id: String,
    /// Partition, region and account of the instance.
    pub scope: ArnScope,
    /// Report only; change nothing.
    pub dry_run: bool,
    /// Containment, or securing after a failure.
    pub mode: Mode,
    /// The instance is the source of stolen role credentials (the finding names the
    /// credentials): its metadata service is hardened as part of containment.
    pub credential_source: bool,
    /// The VPCs of the instance's interfaces as GuardDuty recorded them: their groups and
    /// endpoints are read beside the instance (one round trip less before the move). Only a
    /// hint: what is used is what EC2 answers now.
    pub vpc_hint: Vec<String>,
}

impl Target {
    /// The target of a task input: the finding's instance.
    pub fn from_input(input: &TaskInput) -> Result<Self, TaskError> {
        let f = &input.finding;
        // The finding's instance, or the instance that received the stolen role credentials.
        let instance_id = input.instance_id().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not an EC2 instance",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        if !is_resource_id(instance_id, "i-") {
            return Err(TaskError::input(format!(
                "{instance_id:?} is not an instance id"
            )));
        }
        Ok(Target {
            instance_id: instance_id.to_string(),
            finding_id: f.id.clone(),
            scope: ArnScope {
                partition: f.partition.clone(),
                region: f.region.clone(),
                account: f.account_id.clone(),
            },
            dry_run: input.decision.dry_run,
            mode: Mode::Contain,
            credential_source: f.instance().is_none(),
            vpc_hint: vpc_hint(input),
        })
    }
}

/// The VPCs whose groups and endpoints are read beside the instance: those `check-exemption`
/// read from EC2 moments ago when it passed them on (`results.exemption.vpcs`), else those
/// GuardDuty recorded at detection. Malformed ids are dropped; a wrong VPC costs only a read.
fn vpc_hint(input: &TaskInput) -> Vec<String> {
    let checked: Vec<String> = input
        .results
        .as_ref()
        .and_then(|r| r.pointer("/exemption/vpcs"))
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let recorded = || {
        input
            .finding
            .instance()
            .map(|i| {
                i.network_interfaces
                    .iter()
                    .filter_map(|n| n.vpc_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut hint = if checked.is_empty() {
        recorded()
    } else {
        checked
    };
    hint.retain(|v| is_resource_id(v, "vpc-"));
    hint.sort();
    hint.dedup();
    hint
}

/// The outcome of a change: made, or in a dry run proven possible.
pub(crate) fn change(dry_run: bool) -> Outcome {
    if dry_run {
        Outcome::WouldChange
    } else {
        Outcome::Changed
    }
}

/// One invocation's collaborators and what it has learned so far.
pub(crate) struct Run<'a> {
    pub target: &'a Target,
    pub cfg: &'a IsolateConfig,
    pub ec2: &'a dyn Ec2Isolation,
    pub asg: &'a dyn AutoScaling,
    pub elb: &'a dyn LoadBalancing,
    pub report: TaskReport,
    /// The instance's rollback record as it stands on the instance now (this run's writes
    /// included), so each step merges into what earlier steps wrote.
    pub record: Option<OriginalAttributes>,
    /// How this run took the instance out of its Auto Scaling group, for the record (written
    /// with the instance's other attributes, after the cut, to keep calls off the critical
    /// path: rollback reads the live membership anyway).
    pub asg_removal: Option<crate::record::AsgRemoval>,
    /// The interfaces whose connection-tracking record went out with their groups' record
    /// (one `CreateTags` before the move instead of two).
    pub conntrack_recorded: std::collections::BTreeSet<String>,
}

impl Run<'_> {
    pub fn dry(&self) -> bool {
        self.target.dry_run
    }

    pub fn id(&self) -> &str {
        &self.target.instance_id
    }
}

/// Reads the instance and its real interfaces from EC2.
pub(crate) async fn read_instance(
    ec2: &dyn Ec2Isolation,
    instance_id: &str,
) -> Result<(Instance, Vec<Interface>), TaskError> {
    // The instance and its attached interfaces in one round trip: the filtered read is used
    // when it names exactly the instance's interfaces, else (an interface attached or
    // detached between the two reads) they are read again by id. It only saves a round trip,
    // so any failure of it falls back to the read by id too: the EC2 API reference says an
    // unpaginated DescribeNetworkInterfaces fails in an account with many interfaces unless
    // it filters by group-id, mac-address, private-dns-name, private-ip-address, subnet-id
    // or vpc-id, and attachment.instance-id is not among them (moto never fails it).
    let (instance, attached) = tokio::join!(
        ec2.describe_instance(instance_id),
        ec2.instance_interfaces(instance_id)
    );
    let instance = instance?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("instance {instance_id} does not exist"),
        )
    })?;
    if instance.interface_ids.is_empty() {
        return Err(TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!(
                "instance {instance_id} has no network interfaces (state {})",
                instance.state.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    let attached = attached.unwrap_or_default();
    let same = attached.len() == instance.interface_ids.len()
        && instance
            .interface_ids
            .iter()
            .all(|id| attached.iter().any(|i| &i.id == id));
    let interfaces = if same {
        instance
            .interface_ids
            .iter()
            .filter_map(|id| attached.iter().find(|i| &i.id == id).cloned())
            .collect()
    } else {
        read_interfaces(ec2, &instance.interface_ids).await?
    };
    Ok((instance, interfaces))
}

/// Reads interfaces, in the order asked, failing if one is missing.
pub(crate) async fn read_interfaces(
    ec2: &dyn Ec2Isolation,
    ids: &[String],
) -> Result<Vec<Interface>, TaskError> {
    let found = ec2.describe_interfaces(ids).await?;
    ids.iter()
        .map(|id| {
            found.iter().find(|i| &i.id == id).cloned().ok_or_else(|| {
                TaskError::new(
                    names::REMEDIATION_TARGET_NOT_FOUND,
                    format!("network interface {id} does not exist"),
                )
            })
        })
        .collect()
}

/// Contains the instance (or, in [`Mode::Secure`], only makes sure none of its interfaces is
/// left in the untrack group) and returns the report.
pub async fn isolate(
    target: &Target,
    cfg: &IsolateConfig,
    ec2: &dyn Ec2Isolation,
    asg: &dyn AutoScaling,
    elb: &dyn LoadBalancing,
) -> Result<TaskReport, TaskError> {
    let mut run = Run {
        target,
        cfg,
        ec2,
        asg,
        elb,
        report: TaskReport::new(TASK, target.dry_run),
        record: None,
        asg_removal: None,
        conntrack_recorded: Default::default(),
    };
    // 1. The instance, its real interfaces and its Auto Scaling membership, read together.
    // The instance, its Auto Scaling membership and, for containment, the groups and
    // endpoints of the VPCs GuardDuty recorded, all at once.
    let hinted: std::collections::BTreeSet<String> = if target.mode == Mode::Contain {
        target.vpc_hint.iter().cloned().collect()
    } else {
        Default::default()
    };
    let (read, membership, prefetched) = tokio::join!(
        read_instance(ec2, &target.instance_id),
        asg.membership(&target.instance_id),
        groups::look_up_all(ec2, cfg, &hinted)
    );
    let (instance, interfaces) = read?;
    run.record = OriginalAttributes::decode(&instance.tags, &target.scope);
    match target.mode {
        Mode::Secure => {
            swap::secure(&mut run, &interfaces).await?;
            return Ok(run.report);
        }
        Mode::Harden => {
            imds::harden(&mut run, &instance).await?;
            return Ok(run.report);
        }
        Mode::Contain => {}
    }
    let membership = membership?;

    // 2. Evidence first: out of the Auto Scaling group's hands before the health checks fail.
    evidence::protect_from_auto_scaling(&mut run, &instance, membership.as_ref()).await?;
    // 3. The groups of each VPC.
    let plans = groups::prepare(&mut run, &interfaces, prefetched).await?;
    // 4. The cut.
    swap::quarantine_interfaces(&mut run, &interfaces, &plans).await?;
    // 5-6. What the groups cannot cut.
    acl::deny_addresses(&mut run, &interfaces, &plans).await?;
    conntrack::shorten(&mut run, &interfaces).await?;
    if target.credential_source {
        imds::harden(&mut run, &instance).await?;
    }
    // 7-8. The instance.
    let registrations = instance::protect(&mut run, &instance, &plans).await?;
    instance::deregister(&mut run, &registrations).await?;
    // 9. Read back, then mark.
    verify::isolation(&mut run, &interfaces, &plans).await?;
    instance::mark(&mut run, &instance).await?;

    caveats(&mut run, &interfaces, &plans);
    let quarantine: BTreeMap<&String, &Option<String>> =
        plans.iter().map(|(v, p)| (v, &p.quarantine)).collect();
    let record = run.record.clone().unwrap_or_default();
    let ev = &mut run.report.evidence;
    ev.insert("instanceId".into(), json!(target.instance_id));
    ev.insert("quarantineGroups".into(), json!(quarantine));
    ev.insert(
        "sessionManager".into(),
        json!(plans
            .iter()
            .map(|(v, p)| (v.clone(), p.session_manager.describe()))
            .collect::<BTreeMap<_, _>>()),
    );
    ev.insert("autoScalingGroup".into(), json!(record.auto_scaling_group));
    ev.insert("targetGroups".into(), json!(record.target_groups));
    ev.insert("originalAttributes".into(), json!(record));
    Ok(run.report)
}

/// What this containment does not cut, said plainly in the report and the notification.
fn caveats(run: &mut Run<'_>, interfaces: &[Interface], plans: &BTreeMap<String, VpcPlan>) {
    // Security Groups and network ACLs: "Security groups have no effect on DNS traffic to or
    // from the Route 53 Resolver" (EC2 User Guide, "Security group connection tracking");
    // "Network ACLs can't block DNS requests to or from the Route 53 Resolver" and "can't
    // block traffic to the Instance Metadata Service" (VPC User Guide, "Control subnet
    // traffic with network access control lists").
    run.report.caveat(
        "DNS is not cut: neither security groups nor network ACLs filter queries to the Route 53 Resolver (the VPC+2 address), so DNS tunnelling from the instance still works. Route 53 Resolver DNS Firewall filters per VPC, not per instance: block the attacker's domains there by hand if the finding shows DNS use.",
    );
    run.report.caveat(
        "The instance metadata service stays reachable: the instance can still read its role's credentials. They are usable only through what stays open (the Session Manager endpoints, DNS); for a stolen-credential finding, the credential containment applies.",
    );
    run.report.caveat(
        "Network ACLs act where traffic enters or leaves a subnet, never between two interfaces of the same subnet: there only the quarantine group holds, and a connection it tracked before the move lasts until it is idle for the tracking timeout.",
    );
    run.report.caveat(
        "Traffic that leaves the VPC without entering another of its subnets (straight to an internet gateway from a public subnet, over a peering connection) crosses no ACL with deny entries: the quarantine group cuts it, except ICMP, which is always tracked and continues until idle.",
    );
    let _ = interfaces;
    if !run.cfg.network_acl_deny {
        run.report.caveat(
            "Network ACL entries are turned off (NETWORK_ACL_DENY=false): connections AWS tracks automatically (through NAT gateways, load balancers, transit gateways, VPC endpoints) and all ICMP survive the security group change until they are idle.",
        );
    }
    for (vpc, plan) in plans {
        if let groups::SessionManager::Unavailable(why) = &plan.session_manager {
            run.report.caveat(format!(
                "Session Manager is unavailable in {vpc}: {why}. The quarantine group allows no egress there."
            ));
        }
    }
}

#[cfg(test)]
mod tests;
