//! Reading the containment back. EC2 is eventually consistent: a change just made may not
//! show in the next read ("Eventual consistency in the Amazon EC2 API"), so the read is
//! repeated for a few seconds before the task calls it unverified. The state machine retries
//! `Remediation.VerificationFailed` as well: every step is idempotent, so a re-run converges.

use std::collections::BTreeMap;

use responder_core::{names, ActionRecord, Outcome, TaskError};

use super::groups::VpcPlan;
use super::Run;
use crate::model::Interface;

/// Every interface holds exactly its VPC's quarantine group.
pub(super) async fn isolation(
    run: &mut Run<'_>,
    interfaces: &[Interface],
    plans: &BTreeMap<String, VpcPlan>,
) -> Result<(), TaskError> {
    let id = run.id().to_string();
    if run.dry() {
        run.report.push(ActionRecord::new(
            "verify-isolation",
            &id,
            Outcome::Skipped,
            "dry run: nothing was changed",
        ));
        return Ok(());
    }
    let ids: Vec<String> = interfaces.iter().map(|i| i.id.clone()).collect();
    let backoff = run.cfg.backoff;
    let mut last: Vec<Interface> = Vec::new();
    let mut held = None;
    for attempt in 1..=backoff.attempts.max(1) {
        last = run.ec2.describe_interfaces(&ids).await?;
        let ok = interfaces.iter().all(|iface| {
            let q = plans.get(&iface.vpc_id).and_then(|p| p.quarantine.clone());
            match (q, last.iter().find(|a| a.id == iface.id)) {
                (Some(q), Some(a)) => a.holds_exactly(std::slice::from_ref(&q)),
                _ => false,
            }
        });
        if ok {
            held = Some(attempt);
            break;
        }
        if attempt < backoff.attempts {
            let delay = backoff.delay(attempt);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }
    if held.is_none() {
        let wrong = interfaces
            .iter()
            .map(|iface| {
                let now = last.iter().find(|a| a.id == iface.id);
                format!(
                    "{} holds {:?}, expected only {}",
                    iface.id,
                    now.map(|a| a.group_ids.clone()).unwrap_or_default(),
                    plans
                        .get(&iface.vpc_id)
                        .and_then(|p| p.quarantine.clone())
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(TaskError::new(
            names::REMEDIATION_VERIFICATION_FAILED,
            format!("after isolation, read back: {wrong}"),
        ));
    }
    run.report.push(ActionRecord::new(
        "verify-isolation",
        &id,
        Outcome::Unchanged,
        format!(
            "every interface ({}) holds only its quarantine group",
            ids.join(", ")
        ),
    ));
    Ok(())
}
