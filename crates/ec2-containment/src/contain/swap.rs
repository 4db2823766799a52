//! The cut: each interface's groups recorded on itself, then the move through the untrack
//! group to the quarantine group.
//!
//! The untrack group allows all traffic both ways, so for one step every flow the groups
//! tracked because of their rules becomes untracked, and "an untracked flow of traffic is
//! immediately interrupted if the rule that enables the flow is removed or modified" (EC2 User
//! Guide, "Security group connection tracking"): the move on to the quarantine group then
//! cuts it. Flows AWS tracks automatically (NAT gateways, load balancers, VPC endpoints...)
//! and all ICMP are not untracked by this; the network ACL step is for them.
//!
//! An interface must never stay in the allow-all group. The second move is retried within the
//! invocation (throttling, server errors, a quarantine group not visible yet); if it still
//! fails the interface is put back in its original groups and the task fails with the reason
//! and says so, so the state machine can try the whole containment again. A process killed
//! between the two moves is covered by the next attempt, which finds the interface in the
//! untrack group and moves it on, and by [`secure`], which the state machine runs when every
//! attempt failed.

use responder_aws::consistency::{self, not_visible};
use responder_core::{markers, names, ActionRecord, Outcome, TaskError};
use serde_json::{json, Value};

use super::groups::VpcPlan;
use super::{change, Run};
use crate::model::{GroupRole, Interface};
use crate::record;

/// Errors worth trying again at once while an interface is in the untrack group.
fn passing(e: &TaskError) -> bool {
    e.name == names::REMEDIATION_THROTTLED
        || e.name == names::REMEDIATION_TRANSIENT
        || not_visible(e)
}

/// Moves every interface to its VPC's quarantine group, all at once: a multi-interface
/// instance is cut in the time of one. Each interface's record is written before its move;
/// an interface whose move fails does not hold back the others, and the first failure is the
/// task's error once every interface has been tried.
pub(super) async fn quarantine_interfaces(
    run: &mut Run<'_>,
    interfaces: &[Interface],
    plans: &std::collections::BTreeMap<String, VpcPlan>,
) -> Result<(), TaskError> {
    let moves = {
        let shared: &Run<'_> = run;
        futures::future::join_all(
            interfaces
                .iter()
                .filter_map(|iface| plans.get(&iface.vpc_id).map(|plan| (iface, plan)))
                .map(|(iface, plan)| async move {
                    let mut records = Vec::new();
                    let mut conntrack = false;
                    let moved = one(shared, &mut records, &mut conntrack, iface, plan).await;
                    (iface, records, conntrack, moved)
                }),
        )
        .await
    };
    let mut original_groups = serde_json::Map::new();
    let mut failed = None;
    for (iface, records, conntrack, moved) in moves {
        for r in records {
            run.report.push(r);
        }
        if conntrack {
            run.conntrack_recorded.insert(iface.id.clone());
        }
        match moved {
            Ok(Some(originals)) => {
                original_groups.insert(iface.id.clone(), json!(originals));
            }
            Ok(None) => {}
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    run.report
        .evidence
        .insert("originalGroups".into(), Value::Object(original_groups));
    failed.map_or(Ok(()), Err)
}

/// The groups to record as an interface's originals: never this project's own groups (an
/// interface found in them without a record was moved by a run whose record was removed).
fn originals_of(iface: &Interface, plan: &VpcPlan) -> Vec<String> {
    iface
        .group_ids
        .iter()
        .filter(|g| Some(*g) != plan.quarantine.as_ref() && Some(*g) != plan.untrack.as_ref())
        .cloned()
        .collect()
}

/// One interface. Returns its original groups when it has a record (or would get one).
async fn one(
    run: &Run<'_>,
    out: &mut Vec<ActionRecord>,
    conntrack_recorded: &mut bool,
    iface: &Interface,
    plan: &VpcPlan,
) -> Result<Option<Vec<String>>, TaskError> {
    let dry = run.dry();
    let q = plan.quarantine.clone();
    let existing = record::decode_groups(&iface.tags);
    let quarantined = q
        .as_ref()
        .is_some_and(|q| iface.holds_exactly(std::slice::from_ref(q)));
    if quarantined {
        out.push(
            ActionRecord::new(
                "set-interface-groups",
                &iface.id,
                Outcome::Unchanged,
                "already holds only the quarantine group",
            )
            .with_states(json!(iface.group_ids), json!(iface.group_ids)),
        );
        return Ok(existing);
    }
    let originals = match existing {
        Some(recorded) => {
            out.push(
                ActionRecord::new(
                    "record-original-groups",
                    &iface.id,
                    Outcome::Unchanged,
                    "kept the existing record of the original groups",
                )
                .with_states(json!(recorded), json!(recorded)),
            );
            recorded
        }
        None => {
            let originals = originals_of(iface, plan);
            let mut tags = record::encode_groups(&originals);
            let conntrack = super::conntrack::record_tag(run, iface);
            tags.extend(conntrack.clone());
            run.ec2.create_tags(&iface.id, &tags, dry).await?;
            *conntrack_recorded = conntrack.is_some();
            out.push(
                ActionRecord::new(
                    "record-original-groups",
                    &iface.id,
                    change(dry),
                    if *conntrack_recorded {
                        format!(
                            "tagged {} with its groups and {} with its connection-tracking timeouts",
                            markers::TAG_ORIGINAL_GROUPS,
                            markers::TAG_ORIGINAL_CONNTRACK
                        )
                    } else {
                        format!("tagged {} with its groups", markers::TAG_ORIGINAL_GROUPS)
                    },
                )
                .with_states(Value::Null, json!(originals)),
            );
            originals
        }
    };
    let u = plan.untrack.clone();
    if dry {
        // Proves the permission; with the real group id when it exists already.
        let probe = q
            .clone()
            .map_or_else(|| iface.group_ids.clone(), |q| vec![q]);
        run.ec2
            .set_interface_groups(&iface.id, &probe, true)
            .await?;
        let via = if run.cfg.cut_tracked_connections {
            " through the untrack group (cuts tracked connections)"
        } else {
            ""
        };
        out.push(
            ActionRecord::new(
                "set-interface-groups",
                &iface.id,
                Outcome::WouldChange,
                format!("would move to the quarantine group{via}"),
            )
            .with_states(json!(iface.group_ids), json!([q])),
        );
        return Ok(Some(originals));
    }
    let q = q.ok_or_else(|| {
        TaskError::new(
            names::REMEDIATION_FAILED,
            format!("no quarantine group in {}", iface.vpc_id),
        )
    })?;
    let ec2 = run.ec2;
    let backoff = run.cfg.backoff;
    // First move. If it fails the interface still holds its own groups: nothing to undo.
    if let Some(u) = &u {
        if !iface.holds_exactly(std::slice::from_ref(u)) {
            consistency::retry(backoff, passing, || {
                ec2.set_interface_groups(&iface.id, std::slice::from_ref(u), false)
            })
            .await
            .0?;
        }
    }
    // Second move: the interface is in the allow-all group now when `u` is set.
    let (moved, tries) = consistency::retry(backoff, passing, || {
        ec2.set_interface_groups(&iface.id, std::slice::from_ref(&q), false)
    })
    .await;
    match moved {
        Ok(()) => {
            let via = if u.is_some() {
                " through the untrack group (cuts tracked connections)"
            } else {
                ""
            };
            let tried = if tries > 1 {
                format!(" ({tries} tries)")
            } else {
                String::new()
            };
            out.push(
                ActionRecord::new(
                    "set-interface-groups",
                    &iface.id,
                    Outcome::Changed,
                    format!("moved to the quarantine group{via}{tried}"),
                )
                .with_states(json!(iface.group_ids), json!([q])),
            );
            Ok(Some(originals))
        }
        Err(e) if u.is_some() => Err(put_back(run, out, iface, &originals, &q, e).await),
        Err(e) => Err(e),
    }
}

/// The move to the quarantine group failed with the interface in the untrack group: it goes
/// back to its original groups. Returns the error the task fails with, which says where the
/// interface is.
async fn put_back(
    run: &Run<'_>,
    out: &mut Vec<ActionRecord>,
    iface: &Interface,
    originals: &[String],
    quarantine: &str,
    cause: TaskError,
) -> TaskError {
    let ec2 = run.ec2;
    let (back, _) = consistency::retry(run.cfg.backoff, passing, || {
        ec2.set_interface_groups(&iface.id, originals, false)
    })
    .await;
    let message = match back {
        Ok(()) => {
            out.push(
                ActionRecord::new(
                    "revert-interface-groups",
                    &iface.id,
                    Outcome::Changed,
                    "the move to the quarantine group failed: put back in its original groups, never left in the allow-all group",
                )
                .with_states(json!(["untrack"]), json!(originals)),
            );
            format!(
                "{}; interface {} could not be moved to the quarantine group {quarantine} and was put back in its original groups {} (NOT contained; the next attempt starts over)",
                cause.message,
                iface.id,
                originals.join(" ")
            )
        }
        Err(e2) => format!(
            "{}; interface {} could not be moved to the quarantine group {quarantine}, and putting it back in its original groups failed too ({e2}): it IS IN THE ALLOW-ALL UNTRACK GROUP; move it to {quarantine} by hand now",
            cause.message, iface.id
        ),
    };
    let mut err = TaskError::new(cause.name, message);
    err.aws_code = cause.aws_code;
    err
}

/// Makes sure no interface is left in its VPC's untrack group: each one found there moves to
/// the quarantine group, or back to its recorded groups when there is none.
pub(super) async fn secure(run: &mut Run<'_>, interfaces: &[Interface]) -> Result<(), TaskError> {
    let dry = run.dry();
    let ec2 = run.ec2;
    let backoff = run.cfg.backoff;
    let mut found = false;
    for iface in interfaces {
        let Some(u) = super::groups::existing(run, &iface.vpc_id, GroupRole::Untrack).await? else {
            continue;
        };
        if !iface.group_ids.contains(&u.id) {
            continue;
        }
        found = true;
        let q = super::groups::existing(run, &iface.vpc_id, GroupRole::Quarantine)
            .await?
            .map(|g| g.id);
        let (target, what) = match (&q, record::decode_groups(&iface.tags)) {
            (Some(q), _) => (vec![q.clone()], "the quarantine group"),
            (None, Some(originals)) if !originals.is_empty() => {
                (originals, "its recorded original groups")
            }
            _ => {
                return Err(TaskError::new(
                    names::REMEDIATION_FAILED,
                    format!(
                        "interface {} is in the allow-all untrack group {} and there is neither a quarantine group nor a record of its groups: move it by hand",
                        iface.id, u.id
                    ),
                ))
            }
        };
        if !dry {
            consistency::retry(backoff, passing, || {
                ec2.set_interface_groups(&iface.id, &target, false)
            })
            .await
            .0?;
        }
        run.report.push(
            ActionRecord::new(
                "secure-interface",
                &iface.id,
                change(dry),
                format!("was left in the allow-all untrack group: moved to {what}"),
            )
            .with_states(json!(iface.group_ids), json!(target)),
        );
    }
    if !found {
        run.report.push(ActionRecord::new(
            "secure-interface",
            run.id().to_string(),
            Outcome::Unchanged,
            "no interface of the instance is in the untrack group",
        ));
    }
    Ok(())
}
