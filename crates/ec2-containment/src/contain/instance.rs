//! The instance itself: its rollback record, termination protection and shutdown behaviour,
//! its target groups, and the marker.

use std::collections::BTreeMap;

use responder_core::{markers, names, ActionRecord, Outcome, TaskError};
use serde_json::json;

use super::evidence::write_record;
use super::groups::VpcPlan;
use super::{change, Run};
use crate::model::{Instance, Registration};
use crate::record::OriginalAttributes;

/// Records the instance's attributes, then turns termination protection on and makes an
/// instance-initiated shutdown stop. Returns the target groups it is registered in.
pub(super) async fn protect(
    run: &mut Run<'_>,
    instance: &Instance,
    plans: &BTreeMap<String, VpcPlan>,
) -> Result<Vec<Registration>, TaskError> {
    let id = run.id().to_string();
    let dry = run.dry();
    let vpcs: Vec<String> = plans.keys().cloned().collect();
    let (attrs, registrations) = tokio::join!(
        run.ec2.instance_attributes(&id),
        run.elb.registrations(&id, &vpcs)
    );
    let (attrs, registrations) = (attrs?, registrations?);
    let before = run.record.clone();
    write_record(
        run,
        instance,
        OriginalAttributes {
            termination_protection: Some(attrs.termination_protection),
            shutdown_behavior: Some(attrs.shutdown_behavior.clone()),
            auto_scaling_removal: run.asg_removal,
            target_groups: registrations.clone(),
            ..Default::default()
        },
    )
    .await?;
    if before.is_some() && before == run.record {
        run.report.push(ActionRecord::new(
            "record-original-attributes",
            &id,
            Outcome::Unchanged,
            "kept the existing record of the original attributes",
        ));
    }

    if attrs.termination_protection {
        run.report.push(
            ActionRecord::new(
                "enable-termination-protection",
                &id,
                Outcome::Unchanged,
                "termination protection is on",
            )
            .with_states(json!(true), json!(true)),
        );
    } else {
        run.ec2.set_termination_protection(&id, true, dry).await?;
        run.report.push(
            ActionRecord::new(
                "enable-termination-protection",
                &id,
                change(dry),
                "turned termination protection on",
            )
            .with_states(json!(false), json!(true)),
        );
    }
    if attrs.shutdown_behavior == "stop" {
        run.report.push(
            ActionRecord::new(
                "set-shutdown-behavior",
                &id,
                Outcome::Unchanged,
                "instance-initiated shutdown already stops",
            )
            .with_states(json!("stop"), json!("stop")),
        );
    } else {
        match run.ec2.set_shutdown_behavior(&id, "stop", dry).await {
            Ok(()) => run.report.push(
                ActionRecord::new(
                    "set-shutdown-behavior",
                    &id,
                    change(dry),
                    "instance-initiated shutdown now stops instead of terminating",
                )
                .with_states(json!(attrs.shutdown_behavior), json!("stop")),
            ),
            // Some instances cannot stop (instance-store root volumes, some Spot requests).
            // The interfaces are contained already: report it rather than fail containment.
            Err(e) if e.name == names::REMEDIATION_FAILED => run.report.push(ActionRecord::new(
                "set-shutdown-behavior",
                &id,
                Outcome::Skipped,
                format!(
                    "EC2 refused to make shutdown stop the instance: {}",
                    e.message
                ),
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(registrations)
}

/// Deregisters the instance from every target group it is registered in.
pub(super) async fn deregister(
    run: &mut Run<'_>,
    registrations: &[Registration],
) -> Result<(), TaskError> {
    let id = run.id().to_string();
    let dry = run.dry();
    if registrations.is_empty() {
        run.report.push(ActionRecord::new(
            "deregister-from-target-groups",
            &id,
            Outcome::Unchanged,
            "not registered in any target group",
        ));
    }
    for reg in registrations {
        if !dry {
            run.elb
                .deregister(&reg.target_group_arn, &id, &reg.ports)
                .await?;
        }
        run.report.push(
            ActionRecord::new(
                "deregister-from-target-groups",
                &reg.target_group_arn,
                change(dry),
                "deregistered the instance (connections drain)",
            )
            .with_states(json!({ "ports": reg.ports }), json!({ "ports": [] })),
        );
    }
    Ok(())
}

/// The marker: the instance is quarantined for this finding. It informs people and tools;
/// the pipeline's own decisions read the real state, never this tag.
pub(super) async fn mark(run: &mut Run<'_>, instance: &Instance) -> Result<(), TaskError> {
    let id = run.id().to_string();
    let finding = run.target.finding_id.clone();
    let status_ok = instance.tags.get(markers::TAG_STATUS).map(String::as_str)
        == Some(markers::STATUS_QUARANTINED)
        && instance.tags.get(markers::TAG_FINDING_ID) == Some(&finding);
    if status_ok {
        run.report.push(ActionRecord::new(
            "mark-instance",
            &id,
            Outcome::Unchanged,
            "already marked quarantined for this finding",
        ));
        return Ok(());
    }
    let tags = vec![
        (
            markers::TAG_STATUS.to_string(),
            markers::STATUS_QUARANTINED.to_string(),
        ),
        (
            markers::TAG_FINDING_ID.to_string(),
            markers::tag_value(&finding),
        ),
    ];
    run.ec2.create_tags(&id, &tags, run.dry()).await?;
    run.report.push(
        ActionRecord::new(
            "mark-instance",
            &id,
            change(run.dry()),
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
            json!({ "status": markers::STATUS_QUARANTINED, "findingId": finding }),
        ),
    );
    Ok(())
}
