//! The rollback of an isolation, for a false positive.

use std::collections::BTreeMap;

use ec2_containment::caps::{AutoScaling, Ec2Isolation, LoadBalancing};
use ec2_containment::model::{same_groups, ConnTracking, Interface};
use ec2_containment::record::{self, ArnScope, OriginalAttributes};
use responder_core::finding::is_resource_id;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskInput, TaskReport};
use serde::Deserialize;
use serde_json::{json, Value};

/// The task's name in reports.
pub const TASK: &str = "restore";

/// What to roll back: an instance, by account, region and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    /// The instance's account (12 digits).
    pub account_id: String,
    /// The instance's region.
    pub region: String,
    /// The partition (default `aws`).
    pub partition: String,
    /// The instance id.
    pub instance_id: String,
    /// Why, for the audit trail.
    pub reason: Option<String>,
    /// Who asked, for the audit trail.
    pub requested_by: Option<String>,
    /// Report only; change nothing.
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Direct {
    account_id: String,
    region: String,
    #[serde(default)]
    partition: Option<String>,
    instance_id: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    requested_by: Option<String>,
    #[serde(default)]
    dry_run: Option<bool>,
}

impl RestoreRequest {
    /// Reads `{ accountId, region, partition?, instanceId, reason?, requestedBy?, dryRun? }`, or a
    /// task input document (the instance taken from its finding; `reason`, `requestedBy` and
    /// `dryRun` may be given beside it).
    pub fn from_value(v: Value) -> Result<Self, TaskError> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let req = if v.get("finding").is_some() {
            let dry_run = v.get("dryRun").and_then(Value::as_bool);
            let (reason, requested_by) = (text("reason"), text("requestedBy"));
            let input = TaskInput::from_value(v)?;
            let f = &input.finding;
            let instance = f.instance().ok_or_else(|| {
                TaskError::input(format!(
                    "finding {} is about a {} resource, not an EC2 instance",
                    f.id,
                    f.resource.resource_type()
                ))
            })?;
            RestoreRequest {
                account_id: f.account_id.clone(),
                region: f.region.clone(),
                partition: f.partition.clone(),
                instance_id: instance.instance_id.clone(),
                reason,
                requested_by,
                dry_run: dry_run.unwrap_or(input.decision.dry_run),
            }
        } else {
            let d: Direct = serde_json::from_value(v).map_err(|e| {
                TaskError::input(format!(
                    "restore input needs accountId, region and instanceId (or a task input document): {e}"
                ))
            })?;
            RestoreRequest {
                account_id: d.account_id.trim().to_string(),
                region: d.region.trim().to_string(),
                partition: d
                    .partition
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "aws".into()),
                instance_id: d.instance_id.trim().to_string(),
                reason: d.reason,
                requested_by: d.requested_by,
                dry_run: d.dry_run.unwrap_or(false),
            }
        };
        req.validate()?;
        Ok(req)
    }

    fn validate(&self) -> Result<(), TaskError> {
        responder_core::document::check_account_and_region(&self.account_id, &self.region)?;
        if !is_resource_id(&self.instance_id, "i-") {
            return Err(TaskError::input(format!(
                "instanceId {:?} is not an instance id",
                self.instance_id
            )));
        }
        Ok(())
    }

    /// Partition, region and account, for the records' target group ARNs.
    pub fn scope(&self) -> ArnScope {
        ArnScope {
            partition: self.partition.clone(),
            region: self.region.clone(),
            account: self.account_id.clone(),
        }
    }
}

fn change(dry_run: bool) -> Outcome {
    if dry_run {
        Outcome::WouldChange
    } else {
        Outcome::Changed
    }
}

/// Puts the instance back as its isolation records say, then removes the records.
///
/// Order matters: interfaces first (verified), then attributes, Auto Scaling and target groups
/// (an instance back in a group or behind a load balancer while still quarantined would fail
/// health checks and be replaced), and the records last, so a retry after a throttled step
/// still finds them.
pub async fn restore(
    req: &RestoreRequest,
    ec2: &dyn Ec2Isolation,
    asg: &dyn AutoScaling,
    elb: &dyn LoadBalancing,
) -> Result<TaskReport, TaskError> {
    let dry = req.dry_run;
    let id = req.instance_id.as_str();
    let mut report = TaskReport::new(TASK, dry);

    let instance = ec2.describe_instance(id).await?.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_TARGET_NOT_FOUND,
            format!("instance {id} does not exist"),
        )
    })?;
    let found = ec2.describe_interfaces(&instance.interface_ids).await?;
    let recorded: Vec<(Interface, Vec<String>)> = instance
        .interface_ids
        .iter()
        .filter_map(|i| found.iter().find(|f| &f.id == i))
        .filter_map(|i| record::decode_groups(&i.tags).map(|g| (i.clone(), g)))
        .collect();
    if recorded.is_empty() {
        return Err(TaskError::new(
            names::RESTORE_NO_RECORD,
            format!(
                "no interface of {id} has a {} record: nothing to roll back",
                markers::TAG_ORIGINAL_GROUPS
            ),
        ));
    }

    // 1. Interfaces back to their recorded groups.
    let mut restored_groups = serde_json::Map::new();
    for (iface, groups) in &recorded {
        restored_groups.insert(iface.id.clone(), json!(groups));
        if iface.holds_exactly(groups) {
            report.push(
                ActionRecord::new(
                    "set-interface-groups",
                    &iface.id,
                    Outcome::Unchanged,
                    "already holds its original groups",
                )
                .with_states(json!(iface.group_ids), json!(groups)),
            );
            continue;
        }
        if groups.is_empty() {
            return Err(TaskError::new(
                names::RESTORE_NO_RECORD,
                format!("the record on {} names no groups", iface.id),
            ));
        }
        ec2.set_interface_groups(&iface.id, groups, dry).await?;
        report.push(
            ActionRecord::new(
                "set-interface-groups",
                &iface.id,
                change(dry),
                "put back its original groups",
            )
            .with_states(json!(iface.group_ids), json!(groups)),
        );
    }
    if dry {
        report.push(ActionRecord::new(
            "verify-restore",
            id,
            Outcome::Skipped,
            "dry run: nothing was changed",
        ));
    } else {
        let ids: Vec<String> = recorded.iter().map(|(i, _)| i.id.clone()).collect();
        let after = ec2.describe_interfaces(&ids).await?;
        for (iface, groups) in &recorded {
            let now = after.iter().find(|a| a.id == iface.id);
            if !now.is_some_and(|a| same_groups(&a.group_ids, groups)) {
                return Err(TaskError::new(
                    names::REMEDIATION_VERIFICATION_FAILED,
                    format!(
                        "interface {} holds {:?} after restore; expected {:?}",
                        iface.id,
                        now.map(|a| a.group_ids.clone()).unwrap_or_default(),
                        groups
                    ),
                ));
            }
        }
        report.push(ActionRecord::new(
            "verify-restore",
            id,
            Outcome::Unchanged,
            format!(
                "every recorded interface ({}) holds its original groups",
                ids.join(", ")
            ),
        ));
    }

    // 2. What the interfaces' records say isolation added around them: network ACL entries
    //    and shortened connection-tracking timeouts.
    let recorded_interfaces: Vec<&Interface> = recorded.iter().map(|(i, _)| i).collect();
    ec2_containment::contain::remove_address_denies(&mut report, ec2, &recorded_interfaces, dry)
        .await?;
    connection_tracking(&mut report, ec2, &recorded, dry).await?;

    // 3. Instance attributes, Auto Scaling group and target groups, where recorded.
    let scope = req.scope();
    let attrs_record = OriginalAttributes::decode(&instance.tags, &scope);
    let rec = attrs_record.clone().unwrap_or_default();
    if attrs_record.is_none() {
        report.push(ActionRecord::new(
            "restore-attributes",
            id,
            Outcome::Skipped,
            format!(
                "no {} record on the instance",
                markers::TAG_ORIGINAL_ATTRIBUTES
            ),
        ));
    }
    if rec.termination_protection.is_some() || rec.shutdown_behavior.is_some() {
        let now = ec2.instance_attributes(id).await?;
        if let Some(dat) = rec.termination_protection {
            if now.termination_protection == dat {
                report.push(
                    ActionRecord::new(
                        "restore-termination-protection",
                        id,
                        Outcome::Unchanged,
                        "as recorded",
                    )
                    .with_states(json!(dat), json!(dat)),
                );
            } else {
                ec2.set_termination_protection(id, dat, dry).await?;
                report.push(
                    ActionRecord::new(
                        "restore-termination-protection",
                        id,
                        change(dry),
                        format!("set termination protection back to {dat}"),
                    )
                    .with_states(json!(now.termination_protection), json!(dat)),
                );
            }
        }
        if let Some(isb) = &rec.shutdown_behavior {
            if &now.shutdown_behavior == isb {
                report.push(
                    ActionRecord::new(
                        "restore-shutdown-behavior",
                        id,
                        Outcome::Unchanged,
                        "as recorded",
                    )
                    .with_states(json!(isb), json!(isb)),
                );
            } else {
                ec2.set_shutdown_behavior(id, isb, dry).await?;
                report.push(
                    ActionRecord::new(
                        "restore-shutdown-behavior",
                        id,
                        change(dry),
                        format!("set instance-initiated shutdown back to {isb}"),
                    )
                    .with_states(json!(now.shutdown_behavior), json!(isb)),
                );
            }
        }
    }

    if let Some(m) = &rec.metadata {
        let now = instance.metadata.as_ref();
        if now == Some(m) {
            report.push(ActionRecord::new(
                "restore-metadata-options",
                id,
                Outcome::Unchanged,
                "as recorded",
            ));
        } else {
            ec2.set_metadata_options(id, m, dry).await?;
            report.push(
                ActionRecord::new(
                    "restore-metadata-options",
                    id,
                    change(dry),
                    format!(
                        "put back the metadata options (tokens {}, hop limit {})",
                        m.http_tokens, m.hop_limit
                    ),
                )
                .with_states(json!(now), json!(m)),
            );
        }
    }

    // Pushed after the attach record; its sentence also goes into the evidence.
    let mut capacity = None;
    if let Some(group) = &rec.auto_scaling_group {
        let action = "attach-to-auto-scaling-group";
        let member = asg.membership(id).await?;
        let in_group = member
            .as_ref()
            .filter(|m| &m.group == group && !m.is_leaving());
        if let Some(m) = in_group.filter(|m| m.is_standby()) {
            // Isolation put it in standby because the group refused the detach.
            if !dry {
                asg.exit_standby(id, group).await?;
            }
            report.push(
                ActionRecord::new(
                    "exit-standby",
                    group,
                    change(dry),
                    "returned the instance to service from standby",
                )
                .with_states(
                    json!({ "lifecycleState": m.lifecycle_state }),
                    json!({ "lifecycleState": "InService" }),
                ),
            );
        } else if in_group.is_some() {
            report.push(ActionRecord::new(
                action,
                group,
                Outcome::Unchanged,
                "already in the group",
            ));
        } else if !asg.group_exists(group).await? {
            report.push(ActionRecord::new(
                action,
                group,
                Outcome::Skipped,
                "the Auto Scaling group no longer exists",
            ));
        } else if dry {
            report.push(ActionRecord::new(
                action,
                group,
                Outcome::WouldChange,
                "would attach the instance",
            ));
            capacity = Some(capacity_review(asg, group, true).await);
        } else {
            match asg.attach(id, group).await {
                Ok(()) => {
                    report.push(
                        ActionRecord::new(action, group, Outcome::Changed, "attached the instance")
                            .with_states(json!({ "group": null }), json!({ "group": group })),
                    );
                    capacity = Some(capacity_review(asg, group, false).await);
                }
                Err(e) if e.name == names::REMEDIATION_TARGET_NOT_FOUND => {
                    report.push(ActionRecord::new(
                        action,
                        group,
                        Outcome::Skipped,
                        format!("could not attach: {}", e.message),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }
    let capacity_note = capacity.as_ref().map(|review| review.detail.clone());
    if let Some(review) = capacity {
        report.push(review);
    }
    if let (Some(group), Some(protected)) = (&rec.auto_scaling_group, rec.scale_in_protection) {
        scale_in_protection(&mut report, asg, id, group, protected, dry).await?;
    }

    for tg in &rec.target_groups {
        let action = "register-in-target-group";
        let arn = tg.target_group_arn.as_str();
        let Some(now) = elb.registered_ports(arn, id).await? else {
            report.push(ActionRecord::new(
                action,
                arn,
                Outcome::Skipped,
                "the target group no longer exists",
            ));
            continue;
        };
        let missing: Vec<i32> = tg
            .ports
            .iter()
            .copied()
            .filter(|p| !now.contains(p))
            .collect();
        if missing.is_empty() {
            report.push(ActionRecord::new(
                action,
                arn,
                Outcome::Unchanged,
                "already registered",
            ));
            continue;
        }
        if dry {
            report.push(
                ActionRecord::new(
                    action,
                    arn,
                    Outcome::WouldChange,
                    "would register the instance",
                )
                .with_states(json!({ "ports": now }), json!({ "ports": tg.ports })),
            );
            continue;
        }
        match elb.register(arn, id, &missing).await {
            Ok(()) => report.push(
                ActionRecord::new(action, arn, Outcome::Changed, "registered the instance")
                    .with_states(json!({ "ports": now }), json!({ "ports": tg.ports })),
            ),
            Err(e) if e.name == names::REMEDIATION_TARGET_NOT_FOUND => {
                report.push(ActionRecord::new(
                    action,
                    arn,
                    Outcome::Skipped,
                    format!("could not register: {}", e.message),
                ))
            }
            Err(e) => return Err(e),
        }
    }

    // 4. The records go, the status says restored; the finding id stays for the audit trail.
    for (iface, _) in &recorded {
        let mut keys = record::present_keys(&iface.tags, markers::TAG_ORIGINAL_GROUPS);
        keys.extend(record::present_keys(
            &iface.tags,
            markers::TAG_NETWORK_ACL_ENTRIES,
        ));
        keys.extend(record::present_keys(
            &iface.tags,
            markers::TAG_ORIGINAL_CONNTRACK,
        ));
        ec2.delete_tags(&iface.id, &keys, dry).await?;
        report.push(ActionRecord::new(
            "remove-original-groups-record",
            &iface.id,
            change(dry),
            format!("removed {}", keys.join(", ")),
        ));
    }
    let keys = record::present_keys(&instance.tags, markers::TAG_ORIGINAL_ATTRIBUTES);
    if !keys.is_empty() {
        ec2.delete_tags(id, &keys, dry).await?;
        report.push(ActionRecord::new(
            "remove-original-attributes-record",
            id,
            change(dry),
            format!("removed {}", keys.join(", ")),
        ));
    }
    let status = vec![(
        markers::TAG_STATUS.to_string(),
        markers::STATUS_RESTORED.to_string(),
    )];
    ec2.create_tags(id, &status, dry).await?;
    report.push(
        ActionRecord::new(
            "mark-instance",
            id,
            change(dry),
            format!(
                "tagged {}={}",
                markers::TAG_STATUS,
                markers::STATUS_RESTORED
            ),
        )
        .with_states(
            json!({ "status": instance.tags.get(markers::TAG_STATUS) }),
            json!({ "status": markers::STATUS_RESTORED }),
        ),
    );

    let e = &mut report.evidence;
    e.insert("instanceId".into(), json!(id));
    e.insert("restoredGroups".into(), Value::Object(restored_groups));
    e.insert("originalAttributes".into(), json!(attrs_record));
    e.insert(
        "findingId".into(),
        json!(instance.tags.get(markers::TAG_FINDING_ID)),
    );
    if let Some(note) = capacity_note {
        e.insert(DESIRED_CAPACITY_NOTE.into(), json!(note));
    }
    let audit: BTreeMap<&str, &Option<String>> =
        [("reason", &req.reason), ("requestedBy", &req.requested_by)].into();
    for (k, v) in audit {
        if let Some(v) = v {
            e.insert(k.into(), json!(v));
        }
    }
    Ok(report)
}

/// Puts back the connection-tracking timeouts recorded on the interfaces. A timeout EC2 did
/// not report before isolation goes back to its documented default for most instance types
/// (TCP established 432,000 s, UDP stream 180 s, UDP 30 s).
async fn connection_tracking(
    report: &mut TaskReport,
    ec2: &dyn Ec2Isolation,
    recorded: &[(Interface, Vec<String>)],
    dry: bool,
) -> Result<(), TaskError> {
    for (iface, _) in recorded {
        let Some(orig) = record::decode_conntrack(&iface.tags) else {
            continue;
        };
        let wanted = ConnTracking {
            tcp_established: orig.tcp_established.or(Some(432_000)),
            udp_stream: orig.udp_stream.or(Some(180)),
            udp: orig.udp.or(Some(30)),
        };
        if iface.conntrack == Some(wanted) {
            report.push(ActionRecord::new(
                "restore-connection-tracking",
                &iface.id,
                Outcome::Unchanged,
                "as recorded",
            ));
            continue;
        }
        match ec2.set_connection_tracking(&iface.id, &wanted, dry).await {
            Ok(()) => report.push(
                ActionRecord::new(
                    "restore-connection-tracking",
                    &iface.id,
                    change(dry),
                    "put back the recorded connection-tracking idle timeouts",
                )
                .with_states(json!(iface.conntrack), json!(wanted)),
            ),
            Err(e)
                if e.name == names::REMEDIATION_THROTTLED
                    || e.name == names::REMEDIATION_TRANSIENT =>
            {
                return Err(e)
            }
            Err(e) => report.push(ActionRecord::new(
                "restore-connection-tracking",
                &iface.id,
                Outcome::Skipped,
                format!("EC2 refused the timeouts: {}", e.message),
            )),
        }
    }
    Ok(())
}

/// Puts back the instance's scale-in protection in its Auto Scaling group, as recorded.
async fn scale_in_protection(
    report: &mut TaskReport,
    asg: &dyn AutoScaling,
    id: &str,
    group: &str,
    protected: bool,
    dry: bool,
) -> Result<(), TaskError> {
    let action = "restore-scale-in-protection";
    let now = asg.membership(id).await?;
    let Some(m) = now.filter(|m| m.group == group && !m.is_leaving()) else {
        report.push(ActionRecord::new(
            action,
            group,
            Outcome::Skipped,
            "the instance is not in the group",
        ));
        return Ok(());
    };
    if m.protected_from_scale_in == protected {
        report.push(ActionRecord::new(
            action,
            group,
            Outcome::Unchanged,
            "as recorded",
        ));
        return Ok(());
    }
    if !dry {
        asg.set_scale_in_protection(id, group, protected).await?;
    }
    report.push(
        ActionRecord::new(
            action,
            group,
            change(dry),
            format!("set scale-in protection back to {protected}"),
        )
        .with_states(json!(m.protected_from_scale_in), json!(protected)),
    );
    Ok(())
}

/// The evidence key of the sentence telling analysts that re-attaching the instance raised its
/// Auto Scaling group's desired capacity (the notification repeats it in its next steps).
pub const DESIRED_CAPACITY_NOTE: &str = "desiredCapacityNote";

/// The action that tells analysts the group's capacity needs a look: isolation detached the
/// instance without decrementing the desired capacity, so the group launched a replacement, and
/// `AttachInstances` raises the desired capacity by one. The responder does not scale the group
/// in itself (which instance goes is the analysts' call), so the outcome is `skipped`.
///
/// A failure to read the capacity does not fail the rollback: the instance is attached already,
/// and a retry would find it in the group and could no longer tell.
async fn capacity_review(asg: &dyn AutoScaling, group: &str, dry: bool) -> ActionRecord {
    let action = "review-desired-capacity";
    let read = asg.desired_capacity(group).await;
    let (now, after) = match (&read, dry) {
        (Ok(Some(n)), true) => (Some(*n), Some(n.saturating_add(1))),
        (Ok(Some(n)), false) => (Some(n.saturating_sub(1)), Some(*n)),
        _ => (None, None),
    };
    let replacement = "the replacement the group launched while the instance was contained is \
        still running: scale the group in if the extra instance is not wanted";
    let detail = match (&read, after) {
        (_, Some(after)) if dry => format!(
            "Attaching the instance would raise the desired capacity of Auto Scaling group {group} \
             by one, to {after}; {replacement}."
        ),
        (_, Some(after)) => format!(
            "Attaching the instance raised the desired capacity of Auto Scaling group {group} by \
             one, to {after}; {replacement}."
        ),
        (Err(e), None) => format!(
            "Attaching the instance raises the desired capacity of Auto Scaling group {group} by \
             one (the capacity could not be read: {}); {replacement}.",
            e.name
        ),
        (Ok(_), None) => format!(
            "Attaching the instance raises the desired capacity of Auto Scaling group {group} by \
             one (the group reported no desired capacity); {replacement}."
        ),
    };
    let record = ActionRecord::new(action, group, Outcome::Skipped, detail);
    match (now, after) {
        (Some(now), Some(after)) => record.with_states(
            json!({ "desiredCapacity": now }),
            json!({ "desiredCapacity": after }),
        ),
        _ => record,
    }
}
