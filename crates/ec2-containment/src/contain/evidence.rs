//! The evidence first: an instance in an Auto Scaling group is taken out of the group's hands
//! before its interfaces move.
//!
//! A quarantined instance fails its load balancer and EC2 health checks, and Auto Scaling
//! then terminates it. Termination protection does not stop that ("Enabling termination
//! protection does not prevent Amazon EC2 Auto Scaling from terminating an instance when the
//! instance is unhealthy", EC2 User Guide), nor does scale-in protection ("Instance scale-in
//! protection does not protect Auto Scaling instances from [...] Health check replacement",
//! Auto Scaling User Guide, "Use instance scale-in protection"). So, strongest first:
//! 1. detach it, keeping the desired capacity: the group launches a replacement and never
//!    touches the instance again;
//! 2. when the group refuses (the instance is not `InService`, a warm pool...), put it in
//!    standby: "Amazon EC2 Auto Scaling does not perform health checks on instances that are in
//!    a standby state";
//! 3. when that is refused too, at least scale-in protection, and say plainly that a failed
//!    health check can still replace it. The forensic snapshot runs beside containment, so
//!    the disks are captured either way.

use responder_core::{markers, names, ActionRecord, Outcome, TaskError};
use serde_json::json;

use super::{change, Run};
use crate::model::{AsgMembership, Instance};
use crate::record::{AsgRemoval, OriginalAttributes};

fn passing(e: &TaskError) -> bool {
    e.name == names::REMEDIATION_THROTTLED || e.name == names::REMEDIATION_TRANSIENT
}

/// Merges `now` into the instance's rollback record and writes it when it changed. The record
/// shares the instance's 50 tags: when it does not fit, it stays in the report only.
pub(super) async fn write_record(
    run: &mut Run<'_>,
    instance: &Instance,
    now: OriginalAttributes,
) -> Result<(), TaskError> {
    let merged = run
        .record
        .as_ref()
        .map_or_else(|| now.clone(), |r| r.merged_with(&now));
    if run.record.as_ref() == Some(&merged) {
        return Ok(());
    }
    let tags = merged.encode(&run.target.scope);
    let foreign = instance
        .tags
        .keys()
        .filter(|k| !tags.iter().any(|(t, _)| t == *k))
        .filter(|k| !k.starts_with(markers::TAG_ORIGINAL_ATTRIBUTES))
        .count();
    // Room for the record and the two marker tags within the 50-tag limit.
    let markers_needed = [markers::TAG_STATUS, markers::TAG_FINDING_ID]
        .iter()
        .filter(|k| !instance.tags.contains_key(**k))
        .count();
    let id = run.id().to_string();
    if foreign + tags.len() + markers_needed > markers::limits::TAGS_PER_RESOURCE {
        run.report.push(ActionRecord::new(
            "record-original-attributes",
            &id,
            Outcome::Skipped,
            format!(
                "the instance has {} tags; the record does not fit within {}: it is kept in this report only",
                instance.tags.len(),
                markers::limits::TAGS_PER_RESOURCE
            ),
        ));
    } else {
        run.ec2.create_tags(&id, &tags, run.dry()).await?;
        run.report.push(
            ActionRecord::new(
                "record-original-attributes",
                &id,
                change(run.dry()),
                format!("tagged {}", markers::TAG_ORIGINAL_ATTRIBUTES),
            )
            .with_states(json!(run.record), json!(merged)),
        );
    }
    run.record = Some(merged);
    Ok(())
}

/// Takes the instance out of its Auto Scaling group's hands.
pub(super) async fn protect_from_auto_scaling(
    run: &mut Run<'_>,
    instance: &Instance,
    membership: Option<&AsgMembership>,
) -> Result<(), TaskError> {
    const ACTION: &str = "protect-from-auto-scaling";
    let id = run.id().to_string();
    let m = match membership {
        None => {
            run.report.push(ActionRecord::new(
                ACTION,
                &id,
                Outcome::Unchanged,
                "not in an Auto Scaling group",
            ));
            return Ok(());
        }
        Some(m) if m.is_leaving() => {
            run.report.push(ActionRecord::new(
                ACTION,
                &m.group,
                Outcome::Unchanged,
                format!("already leaving the group ({})", m.lifecycle_state),
            ));
            return Ok(());
        }
        Some(m) if m.is_standby() => {
            run.report.push(ActionRecord::new(
                ACTION,
                &m.group,
                Outcome::Unchanged,
                format!(
                    "in standby ({}): the group does not health-check or replace it",
                    m.lifecycle_state
                ),
            ));
            return Ok(());
        }
        Some(m) => m,
    };
    // The record first: which group to give the instance back to, and its protection there.
    write_record(
        run,
        instance,
        OriginalAttributes {
            auto_scaling_group: Some(m.group.clone()),
            scale_in_protection: Some(m.protected_from_scale_in),
            ..Default::default()
        },
    )
    .await?;
    let before = json!({ "group": m.group, "lifecycleState": m.lifecycle_state });
    if run.dry() {
        // Auto Scaling has no DryRun: a dry run reports without calling it.
        run.report.push(
            ActionRecord::new(
                ACTION,
                &m.group,
                Outcome::WouldChange,
                "would detach the instance without decrementing the desired capacity (standby if the group refuses), before its interfaces move",
            )
            .with_states(before, json!({ "group": null })),
        );
        return Ok(());
    }
    let detach_refused = match run.asg.detach(&id, &m.group).await {
        Ok(()) => {
            run.asg_removal = Some(AsgRemoval::Detached);
            run.report.push(
                ActionRecord::new(
                    ACTION,
                    &m.group,
                    Outcome::Changed,
                    "detached before its interfaces moved, without decrementing the desired capacity; the group launches a replacement",
                )
                .with_states(before, json!({ "group": null })),
            );
            return Ok(());
        }
        Err(e) if passing(&e) => return Err(e),
        Err(e) => e,
    };
    let standby_refused = match run.asg.enter_standby(&id, &m.group).await {
        Ok(()) => {
            run.asg_removal = Some(AsgRemoval::Standby);
            run.report.push(
                ActionRecord::new(
                    ACTION,
                    &m.group,
                    Outcome::Changed,
                    format!(
                        "the group refused the detach ({}); put in standby instead, where it is not health-checked or replaced",
                        detach_refused.message
                    ),
                )
                .with_states(before, json!({ "group": m.group, "lifecycleState": "Standby" })),
            );
            return Ok(());
        }
        Err(e) if passing(&e) => return Err(e),
        Err(e) => e,
    };
    let protection = if m.protected_from_scale_in {
        "scale-in protection was already on".to_string()
    } else {
        match run.asg.set_scale_in_protection(&id, &m.group, true).await {
            Ok(()) => "scale-in protection is now on".to_string(),
            Err(e) if passing(&e) => return Err(e),
            Err(e) => format!("scale-in protection was refused too ({})", e.message),
        }
    };
    run.report.push(
        ActionRecord::new(
            ACTION,
            &m.group,
            Outcome::Skipped,
            format!(
                "the group refused the detach ({}) and standby ({}); {protection}. A failed health check can still make the group replace (terminate) the instance: the evidence snapshot runs beside containment; to hold the instance, suspend the group's ReplaceUnhealthy process by hand (aws autoscaling suspend-processes --auto-scaling-group-name {} --scaling-processes ReplaceUnhealthy)",
                detach_refused.message, standby_refused.message, m.group
            ),
        )
        .with_states(before.clone(), before),
    );
    run.report.caveat(format!(
        "Auto Scaling group {} may still replace the instance after a failed health check: it refused both detach and standby.",
        m.group
    ));
    Ok(())
}
