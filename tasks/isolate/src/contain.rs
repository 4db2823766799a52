//! Containment of one EC2 instance: quarantine groups on every interface (cutting tracked
//! connections), termination protection, out of its Auto Scaling group and target groups,
//! verified, then marked. Never stops or terminates the instance.

use std::collections::{BTreeMap, BTreeSet};

use responder_core::finding::is_resource_id;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskInput, TaskReport};
use serde_json::{json, Value};

use crate::caps::{AutoScaling, Ec2Isolation, LoadBalancing};
use crate::config::IsolateConfig;
use crate::model::{GroupRole, GroupRule, Instance, Interface, SecurityGroup};
use crate::record::{self, ArnScope, OriginalAttributes};

/// The task's name in reports.
pub const TASK: &str = "isolate";

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
}

impl Target {
    /// The target of a task input: the finding's instance.
    pub fn from_input(input: &TaskInput) -> Result<Self, TaskError> {
        let f = &input.finding;
        let instance = f.instance().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not an EC2 instance",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        if !is_resource_id(&instance.instance_id, "i-") {
            return Err(TaskError::input(format!(
                "{:?} is not an instance id",
                instance.instance_id
            )));
        }
        Ok(Target {
            instance_id: instance.instance_id.clone(),
            finding_id: f.id.clone(),
            scope: ArnScope {
                partition: f.partition.clone(),
                region: f.region.clone(),
                account: f.account_id.clone(),
            },
            dry_run: input.decision.dry_run,
        })
    }
}

/// The outcome of a change: made, or in a dry run proven possible.
pub(crate) fn change(dry_run: bool) -> Outcome {
    if dry_run {
        Outcome::WouldChange
    } else {
        Outcome::Changed
    }
}

/// Reads the instance and its real interfaces from EC2.
pub(crate) async fn read_instance(
    ec2: &dyn Ec2Isolation,
    instance_id: &str,
) -> Result<(Instance, Vec<Interface>), TaskError> {
    let instance = ec2.describe_instance(instance_id).await?.ok_or_else(|| {
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
    let interfaces = read_interfaces(ec2, &instance.interface_ids).await?;
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

/// The rules a group of a role must hold. Only the quarantine group loses rules it should not
/// have: extra rules in the allow-all group allow nothing more.
fn wanted_rules(role: GroupRole, cfg: &IsolateConfig) -> Vec<GroupRule> {
    match role {
        GroupRole::Quarantine => cfg
            .egress_cidrs
            .iter()
            .map(|c| GroupRule::all_traffic(true, c))
            .collect(),
        GroupRole::Untrack => ["0.0.0.0/0", "::/0"]
            .iter()
            .flat_map(|c| {
                [
                    GroupRule::all_traffic(false, c),
                    GroupRule::all_traffic(true, c),
                ]
            })
            .collect(),
    }
}

/// Finds or creates the group of a role in a VPC and brings its rules to the wanted set.
/// Returns its id (`None` in a dry run when it does not exist yet).
async fn ensure_group(
    ec2: &dyn Ec2Isolation,
    vpc_id: &str,
    role: GroupRole,
    cfg: &IsolateConfig,
    dry_run: bool,
    report: &mut TaskReport,
) -> Result<Option<String>, TaskError> {
    let action = match role {
        GroupRole::Quarantine => "ensure-quarantine-group",
        GroupRole::Untrack => "ensure-untrack-group",
    };
    let wanted = wanted_rules(role, cfg);
    let (group, created) = match ec2.find_group(vpc_id, role).await? {
        Some(g) => (g, false),
        None => {
            let Some(id) = ec2.create_group(vpc_id, role, dry_run).await? else {
                report.push(
                    ActionRecord::new(
                        action,
                        vpc_id,
                        Outcome::WouldChange,
                        format!(
                            "would create security group {} in {vpc_id}",
                            role.group_name()
                        ),
                    )
                    .with_states(Value::Null, json!({ "rules": wanted })),
                );
                return Ok(None);
            };
            // Read it back: a new group comes with EC2's default allow-all egress rule, and a
            // concurrent run may have created it already.
            let g = ec2
                .find_group(vpc_id, role)
                .await?
                .unwrap_or(SecurityGroup {
                    id: id.clone(),
                    vpc_id: vpc_id.to_string(),
                    rules: vec![GroupRule::all_traffic(true, "0.0.0.0/0")],
                });
            (g, true)
        }
    };
    let to_revoke: Vec<GroupRule> = if role == GroupRole::Quarantine {
        group
            .rules
            .iter()
            .filter(|r| !wanted.iter().any(|w| w.same_as(r)))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let to_add: Vec<GroupRule> = wanted
        .iter()
        .filter(|w| !group.rules.iter().any(|r| w.same_as(r)))
        .cloned()
        .collect();
    let changes_rules = !to_revoke.is_empty() || !to_add.is_empty();
    if changes_rules && !dry_run {
        if !to_revoke.is_empty() {
            ec2.revoke_rules(&group.id, &to_revoke).await?;
        }
        if !to_add.is_empty() {
            ec2.authorize_rules(&group.id, &to_add).await?;
        }
    }
    let outcome = if created || changes_rules {
        change(dry_run)
    } else {
        Outcome::Unchanged
    };
    let detail = match (created, changes_rules) {
        (true, _) => format!("created {} ({}) in {vpc_id}", role.group_name(), group.id),
        (false, true) => format!(
            "{} {} rule(s) and {} {} rule(s) of {} ({})",
            if dry_run { "would revoke" } else { "revoked" },
            to_revoke.len(),
            if dry_run { "would add" } else { "added" },
            to_add.len(),
            role.group_name(),
            group.id
        ),
        (false, false) => format!("{} ({}) is in place", role.group_name(), group.id),
    };
    report.push(
        ActionRecord::new(action, vpc_id, outcome, detail).with_states(
            json!({ "groupId": group.id, "rules": if created { Vec::new() } else { group.rules.clone() } }),
            json!({ "groupId": group.id, "rules": if role == GroupRole::Quarantine { wanted } else { group.rules.iter().chain(to_add.iter()).cloned().collect() } }),
        ),
    );
    Ok(Some(group.id))
}

/// Isolates the target instance. See the crate documentation for the steps.
pub async fn isolate(
    target: &Target,
    cfg: &IsolateConfig,
    ec2: &dyn Ec2Isolation,
    asg: &dyn AutoScaling,
    elb: &dyn LoadBalancing,
) -> Result<TaskReport, TaskError> {
    let dry = target.dry_run;
    let id = target.instance_id.as_str();
    let mut report = TaskReport::new(TASK, dry);

    // 1. The instance and its real interfaces.
    let (instance, interfaces) = read_instance(ec2, id).await?;
    let vpcs: BTreeSet<String> = interfaces.iter().map(|i| i.vpc_id.clone()).collect();

    // 2. The quarantine group per VPC, and the untrack group where an interface still needs
    //    to move.
    let mut quarantine: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut untrack: BTreeMap<String, Option<String>> = BTreeMap::new();
    for vpc in &vpcs {
        let q = ensure_group(ec2, vpc, GroupRole::Quarantine, cfg, dry, &mut report).await?;
        let pending = interfaces.iter().any(|i| {
            &i.vpc_id == vpc
                && q.as_ref()
                    .is_none_or(|q| !i.holds_exactly(std::slice::from_ref(q)))
        });
        if cfg.cut_tracked_connections && pending {
            let u = ensure_group(ec2, vpc, GroupRole::Untrack, cfg, dry, &mut report).await?;
            untrack.insert(vpc.clone(), u);
        }
        quarantine.insert(vpc.clone(), q);
    }

    // 3. Each interface: record its groups on itself, then swap (through untrack).
    let mut original_groups = serde_json::Map::new();
    for iface in &interfaces {
        let q = quarantine.get(&iface.vpc_id).cloned().flatten();
        let existing = record::decode_groups(&iface.tags);
        let quarantined = q
            .as_ref()
            .is_some_and(|q| iface.holds_exactly(std::slice::from_ref(q)));
        let originals = existing.clone().unwrap_or_else(|| iface.group_ids.clone());
        if !(quarantined && existing.is_none()) {
            original_groups.insert(iface.id.clone(), json!(originals));
        }
        if quarantined {
            report.push(
                ActionRecord::new(
                    "set-interface-groups",
                    &iface.id,
                    Outcome::Unchanged,
                    "already holds only the quarantine group",
                )
                .with_states(json!(iface.group_ids), json!(iface.group_ids)),
            );
            continue;
        }
        match &existing {
            Some(recorded) => report.push(
                ActionRecord::new(
                    "record-original-groups",
                    &iface.id,
                    Outcome::Unchanged,
                    "kept the existing record of the original groups",
                )
                .with_states(json!(recorded), json!(recorded)),
            ),
            None => {
                ec2.create_tags(&iface.id, &record::encode_groups(&iface.group_ids), dry)
                    .await?;
                report.push(
                    ActionRecord::new(
                        "record-original-groups",
                        &iface.id,
                        change(dry),
                        format!("tagged {} with its groups", markers::TAG_ORIGINAL_GROUPS),
                    )
                    .with_states(Value::Null, json!(iface.group_ids)),
                );
            }
        }
        let u = untrack.get(&iface.vpc_id).cloned().flatten();
        if dry {
            // Proves the permission; with the real group id when it exists already.
            let probe = q
                .clone()
                .map_or_else(|| iface.group_ids.clone(), |q| vec![q]);
            ec2.set_interface_groups(&iface.id, &probe, true).await?;
        } else {
            let q = q.clone().ok_or_else(|| {
                TaskError::new(
                    names::REMEDIATION_FAILED,
                    format!("no quarantine group in {}", iface.vpc_id),
                )
            })?;
            if let Some(u) = &u {
                if !iface.holds_exactly(std::slice::from_ref(u)) {
                    ec2.set_interface_groups(&iface.id, std::slice::from_ref(u), false)
                        .await?;
                }
            }
            ec2.set_interface_groups(&iface.id, std::slice::from_ref(&q), false)
                .await?;
        }
        let via = if u.is_some() || (dry && cfg.cut_tracked_connections) {
            " through the untrack group (cuts tracked connections)"
        } else {
            ""
        };
        report.push(
            ActionRecord::new(
                "set-interface-groups",
                &iface.id,
                change(dry),
                format!("moved to the quarantine group{via}"),
            )
            .with_states(json!(iface.group_ids), json!([q])),
        );
    }

    // 4. The instance-level record, then termination protection and shutdown behaviour.
    let attrs = ec2.instance_attributes(id).await?;
    let membership = asg.membership(id).await?;
    let vpc_list: Vec<String> = vpcs.iter().cloned().collect();
    let registrations = elb.registrations(id, &vpc_list).await?;
    let now = OriginalAttributes {
        termination_protection: Some(attrs.termination_protection),
        shutdown_behavior: Some(attrs.shutdown_behavior.clone()),
        auto_scaling_group: membership
            .as_ref()
            .filter(|m| !m.is_leaving())
            .map(|m| m.group.clone()),
        target_groups: registrations.clone(),
    };
    let recorded = OriginalAttributes::decode(&instance.tags, &target.scope);
    let merged = recorded
        .as_ref()
        .map_or_else(|| now.clone(), |r| r.merged_with(&now));
    if recorded.as_ref() == Some(&merged) {
        report.push(ActionRecord::new(
            "record-original-attributes",
            id,
            Outcome::Unchanged,
            "kept the existing record of the original attributes",
        ));
    } else {
        let tags = merged.encode(&target.scope);
        let foreign = instance
            .tags
            .keys()
            .filter(|k| !tags.iter().any(|(t, _)| t == *k))
            .count();
        // Room for the record and the two marker tags within the 50-tag limit.
        let markers_needed = [markers::TAG_STATUS, markers::TAG_FINDING_ID]
            .iter()
            .filter(|k| !instance.tags.contains_key(**k))
            .count();
        if foreign + tags.len() + markers_needed > markers::limits::TAGS_PER_RESOURCE {
            report.push(ActionRecord::new(
                "record-original-attributes",
                id,
                Outcome::Skipped,
                format!(
                    "the instance has {} tags; the record does not fit within {}: it is kept in this report only",
                    instance.tags.len(),
                    markers::limits::TAGS_PER_RESOURCE
                ),
            ));
        } else {
            ec2.create_tags(id, &tags, dry).await?;
            report.push(
                ActionRecord::new(
                    "record-original-attributes",
                    id,
                    change(dry),
                    format!("tagged {}", markers::TAG_ORIGINAL_ATTRIBUTES),
                )
                .with_states(json!(recorded), json!(merged)),
            );
        }
    }

    if attrs.termination_protection {
        report.push(
            ActionRecord::new(
                "enable-termination-protection",
                id,
                Outcome::Unchanged,
                "termination protection is on",
            )
            .with_states(json!(true), json!(true)),
        );
    } else {
        ec2.set_termination_protection(id, true, dry).await?;
        report.push(
            ActionRecord::new(
                "enable-termination-protection",
                id,
                change(dry),
                "turned termination protection on",
            )
            .with_states(json!(false), json!(true)),
        );
    }
    if attrs.shutdown_behavior == "stop" {
        report.push(
            ActionRecord::new(
                "set-shutdown-behavior",
                id,
                Outcome::Unchanged,
                "instance-initiated shutdown already stops",
            )
            .with_states(json!("stop"), json!("stop")),
        );
    } else {
        match ec2.set_shutdown_behavior(id, "stop", dry).await {
            Ok(()) => report.push(
                ActionRecord::new(
                    "set-shutdown-behavior",
                    id,
                    change(dry),
                    "instance-initiated shutdown now stops instead of terminating",
                )
                .with_states(json!(attrs.shutdown_behavior), json!("stop")),
            ),
            // Some instances cannot stop (instance-store root volumes, some Spot requests).
            // The interfaces are contained already: report it rather than fail containment.
            Err(e) if e.name == names::REMEDIATION_FAILED => report.push(ActionRecord::new(
                "set-shutdown-behavior",
                id,
                Outcome::Skipped,
                format!(
                    "EC2 refused to make shutdown stop the instance: {}",
                    e.message
                ),
            )),
            Err(e) => return Err(e),
        }
    }

    // 5. Auto Scaling: out of the group, which launches a replacement.
    match &membership {
        None => report.push(ActionRecord::new(
            "detach-from-auto-scaling-group",
            id,
            Outcome::Unchanged,
            "not in an Auto Scaling group",
        )),
        Some(m) if m.is_leaving() => report.push(ActionRecord::new(
            "detach-from-auto-scaling-group",
            &m.group,
            Outcome::Unchanged,
            format!("already leaving the group ({})", m.lifecycle_state),
        )),
        Some(m) => {
            // Auto Scaling has no DryRun: a dry run reports without calling it.
            if !dry {
                asg.detach(id, &m.group).await?;
            }
            report.push(
                ActionRecord::new(
                    "detach-from-auto-scaling-group",
                    &m.group,
                    change(dry),
                    "detached without decrementing the desired capacity; the group launches a replacement",
                )
                .with_states(
                    json!({ "group": m.group, "lifecycleState": m.lifecycle_state }),
                    json!({ "group": null }),
                ),
            );
        }
    }

    // 6. Load balancers: deregister from every target group.
    if registrations.is_empty() {
        report.push(ActionRecord::new(
            "deregister-from-target-groups",
            id,
            Outcome::Unchanged,
            "not registered in any target group",
        ));
    }
    for reg in &registrations {
        if !dry {
            elb.deregister(&reg.target_group_arn, id, &reg.ports)
                .await?;
        }
        report.push(
            ActionRecord::new(
                "deregister-from-target-groups",
                &reg.target_group_arn,
                change(dry),
                "deregistered the instance (connections drain)",
            )
            .with_states(json!({ "ports": reg.ports }), json!({ "ports": [] })),
        );
    }

    // 7. Verify: every interface holds exactly its VPC's quarantine group.
    if dry {
        report.push(ActionRecord::new(
            "verify-isolation",
            id,
            Outcome::Skipped,
            "dry run: nothing was changed",
        ));
    } else {
        let ids: Vec<String> = interfaces.iter().map(|i| i.id.clone()).collect();
        let after = ec2.describe_interfaces(&ids).await?;
        for iface in &interfaces {
            let q = quarantine.get(&iface.vpc_id).cloned().flatten();
            let now = after.iter().find(|a| a.id == iface.id);
            let ok = match (&q, now) {
                (Some(q), Some(a)) => a.holds_exactly(std::slice::from_ref(q)),
                _ => false,
            };
            if !ok {
                return Err(TaskError::new(
                    names::REMEDIATION_VERIFICATION_FAILED,
                    format!(
                        "interface {} holds {:?} after isolation; expected only {}",
                        iface.id,
                        now.map(|a| a.group_ids.clone()).unwrap_or_default(),
                        q.unwrap_or_default()
                    ),
                ));
            }
        }
        report.push(ActionRecord::new(
            "verify-isolation",
            id,
            Outcome::Unchanged,
            format!(
                "every interface ({}) holds only its quarantine group",
                ids.join(", ")
            ),
        ));
    }

    // 8. The marker check-exemption reads.
    let status_ok = instance.tags.get(markers::TAG_STATUS).map(String::as_str)
        == Some(markers::STATUS_QUARANTINED)
        && instance.tags.get(markers::TAG_FINDING_ID) == Some(&target.finding_id);
    if status_ok {
        report.push(ActionRecord::new(
            "mark-instance",
            id,
            Outcome::Unchanged,
            "already marked quarantined for this finding",
        ));
    } else {
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
        ec2.create_tags(id, &tags, dry).await?;
        report.push(
            ActionRecord::new(
                "mark-instance",
                id,
                change(dry),
                format!(
                    "tagged {}={}",
                    markers::TAG_STATUS,
                    markers::STATUS_QUARANTINED
                ),
            )
            .with_states(
                json!({
                    "status": instance.tags.get(markers::TAG_STATUS),
                    "findingId": instance.tags.get(markers::TAG_FINDING_ID),
                }),
                json!({ "status": markers::STATUS_QUARANTINED, "findingId": target.finding_id }),
            ),
        );
    }

    report
        .evidence
        .insert("instanceId".into(), json!(target.instance_id));
    report
        .evidence
        .insert("originalGroups".into(), Value::Object(original_groups));
    report
        .evidence
        .insert("quarantineGroups".into(), json!(quarantine));
    report
        .evidence
        .insert("autoScalingGroup".into(), json!(merged.auto_scaling_group));
    report
        .evidence
        .insert("targetGroups".into(), json!(merged.target_groups));
    report
        .evidence
        .insert("originalAttributes".into(), json!(merged));
    Ok(report)
}
