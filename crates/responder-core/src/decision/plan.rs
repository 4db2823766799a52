//! The containment plan of an attack sequence: one item per resource the pipeline can contain,
//! each a task input of its own (the finding pointed at that resource, and its decision), run
//! by the state machine's `Map` over the per-type tasks.
//!
//! Each resource is contained at most once however often the sequence lists it, only in the
//! finding's own account and region, and by the same rules as a finding of its own on that
//! resource (root credentials are never changed, an instance's credentials deny only its
//! sessions...). The plan as a whole is approved once: a MEDIUM sequence, or one above the
//! blast-radius limit (`sequence.max_resources`), asks an analyst for the whole plan.

use serde::{Deserialize, Serialize};

use super::{Decision, Disposition, Route};
use crate::finding::Finding;
use crate::policy::Policy;

/// The most resources one execution contains: each item's report travels in the execution's
/// state, which Step Functions caps at 256 KiB ("Step Functions service quotas", payload size).
/// A sequence naming more is notified for containment by hand.
pub const MAX_PLAN_ITEMS: usize = 20;

/// The containment plan of an attack sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The sequence's uid.
    pub sequence: String,
    /// What is contained, one item per resource.
    pub items: Vec<PlanItem>,
    /// What the sequence names and the plan does not contain, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_contained: Vec<NotContained>,
    /// How many more resources the sequence names than the finding keeps (none of them
    /// contained): listed in GuardDuty only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_listed: usize,
    /// How many items run at once (policy: `sequence.max_concurrency`).
    pub max_concurrency: u32,
}

/// One resource to contain: the task input the per-type tasks read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    /// The sequence's finding, pointed at this resource.
    pub finding: Finding,
    /// Its decision: the route of its resource type, contain.
    pub decision: Decision,
}

/// A resource of the sequence the plan leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotContained {
    /// Its `resourceType`.
    pub resource_type: String,
    /// Its uid.
    pub uid: String,
    /// Why.
    pub why: String,
}

impl Plan {
    /// One line per item, for the approval request and the notification.
    pub fn describe(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| {
                let what = match i.decision.route {
                    Route::Ec2 => "isolate instance",
                    Route::Iam => "revoke credentials",
                    _ => "contain",
                };
                format!("{what} {}", i.finding.resource.identity())
            })
            .collect()
    }
}

/// The plan of a sequence finding: its containable resources, each decided as a finding of its
/// own would be on that resource (with the sequence's type allowed on its route), duplicates
/// and other accounts' or regions' resources left out.
pub(super) fn plan(policy: &Policy, finding: &Finding) -> Option<Plan> {
    let seq = finding.sequence.as_ref()?;
    // The item decisions: the sequence's type allowed on every route it can reach, and every
    // severity contained (the plan's own disposition decides approval, once).
    let mut p = policy.clone();
    let allow = vec![finding.finding_type.clone()];
    for r in [&mut p.ec2, &mut p.iam] {
        r.enabled = true;
        r.finding_type_prefixes = allow.clone();
        r.dry_run |= policy.sequence.dry_run;
    }
    p.medium_severity = 0.0;
    p.high_severity = 0.0;
    let mut items: Vec<PlanItem> = Vec::new();
    let mut not_contained = Vec::new();
    for (n, r) in seq.resources.iter().enumerate() {
        let skip = |why: String| NotContained {
            resource_type: r.resource_type.clone(),
            uid: r.uid.clone(),
            why,
        };
        let Some(target) = &r.target else {
            not_contained.push(skip(
                r.not_contained
                    .clone()
                    .unwrap_or_else(|| "no automatic containment".into()),
            ));
            continue;
        };
        let elsewhere = r
            .account_id
            .as_ref()
            .filter(|a| *a != &finding.account_id)
            .map(|a| format!("account {a}"))
            .or_else(|| {
                r.region
                    .as_ref()
                    .filter(|g| *g != &finding.region)
                    .map(|g| format!("region {g}"))
            });
        if let Some(place) = elsewhere {
            not_contained.push(skip(format!(
                "in {place}, not the finding's ({} {}): contain it from its own finding",
                finding.account_id, finding.region
            )));
            continue;
        }
        if items
            .iter()
            .any(|i| i.finding.resource.identity() == target.identity())
        {
            continue;
        }
        let mut item = finding.clone();
        item.resource = target.clone();
        item.sequence = None;
        item.kubernetes = None;
        item.host_evidence = None;
        item.local_ports = Vec::new();
        item.resource_role = None;
        let mut d = p.decide(&item);
        if d.disposition == Disposition::Notify {
            let why = d
                .reasons
                .last()
                .cloned()
                .unwrap_or_else(|| "not contained by policy".into());
            not_contained.push(skip(why));
            continue;
        }
        d.disposition = Disposition::Contain;
        d.tier = policy.tier(finding.severity);
        // The instance that received stolen credentials is an item of its own when the
        // sequence names it; the plan's items run only the resource's own containment.
        if d.source_instance.take().is_some() {
            d.isolate_source = false;
            d.reasons.push(
                "within the plan only its sessions are denied: the instance that received them is isolated as an item of its own when the sequence names it".into(),
            );
        }
        d.reasons.insert(
            0,
            format!(
                "resource {} of attack sequence {} ({} {:?}, from the finding: detail.service.detection.sequence.resources)",
                n + 1,
                seq.uid,
                r.resource_type,
                r.uid
            ),
        );
        items.push(PlanItem {
            finding: item,
            decision: d,
        });
    }
    Some(Plan {
        sequence: seq.uid.clone(),
        items,
        not_contained,
        not_listed: seq.resources_left_out,
        max_concurrency: policy.sequence.max_concurrency.max(1),
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
