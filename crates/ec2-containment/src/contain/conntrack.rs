//! The shortest connection-tracking idle timeouts on every interface.
//!
//! A connection the groups still track lives until it has been idle for the tracking timeout:
//! five days for established TCP by default. At the shortest timeouts EC2 accepts (60 s for
//! established TCP and UDP streams, 30 s for other UDP: EC2 API Reference,
//! `ConnectionTrackingSpecificationRequest`), such a flow ends a minute after it goes quiet.
//! These are idle timeouts: an active session is cut by the network ACL step, not by this.
//! The setting exists only on Nitro instances ("This feature is available only with
//! Nitro-based instances", EC2 User Guide, "Idle connection tracking timeout"); elsewhere EC2
//! refuses it, and the step is reported as skipped. It is a hardening, never a reason to fail
//! containment.

use responder_core::{markers, names, ActionRecord, Outcome, TaskError};
use serde_json::json;

use super::{change, Run};
use crate::model::{ConnTracking, Interface};
use crate::record;

/// The record of an interface's connection-tracking timeouts, when this containment will
/// change them and the interface has none yet: written with the groups' record before the
/// move, so the step after the move makes one call per interface.
pub(super) fn record_tag(run: &Run<'_>, iface: &Interface) -> Option<(String, String)> {
    let now = iface.conntrack.unwrap_or_default();
    (run.cfg.shorten_connection_tracking
        && now != ConnTracking::SHORTEST
        && record::decode_conntrack(&iface.tags).is_none())
    .then(|| record::encode_conntrack(&now))
}

/// Sets the shortest timeouts on each interface, recording the originals first; the
/// interfaces at once.
pub(super) async fn shorten(run: &mut Run<'_>, interfaces: &[Interface]) -> Result<(), TaskError> {
    if !run.cfg.shorten_connection_tracking {
        run.report.push(ActionRecord::new(
            "shorten-connection-tracking",
            run.id().to_string(),
            Outcome::Skipped,
            "turned off (SHORTEN_CONNECTION_TRACKING=false)",
        ));
        return Ok(());
    }
    let done = {
        let shared: &Run<'_> = run;
        futures::future::join_all(interfaces.iter().map(|iface| one(shared, iface))).await
    };
    let mut failed = None;
    for r in done {
        match r {
            Ok(record) => run.report.push(record),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// One interface.
async fn one(run: &Run<'_>, iface: &Interface) -> Result<ActionRecord, TaskError> {
    let dry = run.dry();
    let now = iface.conntrack.unwrap_or_default();
    if now == ConnTracking::SHORTEST {
        return Ok(ActionRecord::new(
            "shorten-connection-tracking",
            &iface.id,
            Outcome::Unchanged,
            "already at the shortest idle timeouts",
        )
        .with_states(json!(now), json!(now)));
    }
    if !run.conntrack_recorded.contains(&iface.id) {
        if let Some(tag) = record_tag(run, iface) {
            run.ec2.create_tags(&iface.id, &[tag], dry).await?;
        }
    }
    match run
        .ec2
        .set_connection_tracking(&iface.id, &ConnTracking::SHORTEST, dry)
        .await
    {
        Ok(()) => Ok(ActionRecord::new(
            "shorten-connection-tracking",
            &iface.id,
            change(dry),
            format!(
                "idle timeouts set to 60 s (TCP), 60 s (UDP stream), 30 s (UDP); originals recorded in {}",
                markers::TAG_ORIGINAL_CONNTRACK
            ),
        )
        .with_states(json!(now), json!(ConnTracking::SHORTEST))),
        // Throttling and outages are worth the state machine's retry like any other step.
        Err(e)
            if e.name == names::REMEDIATION_THROTTLED || e.name == names::REMEDIATION_TRANSIENT =>
        {
            Err(e)
        }
        Err(e) => Ok(ActionRecord::new(
            "shorten-connection-tracking",
            &iface.id,
            Outcome::Skipped,
            format!(
                "EC2 refused the connection-tracking timeouts (only Nitro instances support them): {}",
                e.message
            ),
        )),
    }
}
