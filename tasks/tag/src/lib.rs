//! The `tag` task: incident tags on the finding's instance (finding id, type, severity, time,
//! execution) and the finding id on its attached volumes and network interfaces, so evidence
//! can be found from any of them.
//!
//! Tags are compared with the current ones first, so re-tagging with the same values is
//! reported as unchanged; EC2's limit of 50 tags per resource is respected by writing the most
//! important tags first and recording what had to be left out. The quarantine marker
//! (`markers::TAG_STATUS`) belongs to `isolate` and is never written here.
//!
//! The logic talks to EC2 only through [`InstanceTagger`]; [`aws`] implements it with the SDK.

pub mod aws;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use responder_core::{
    markers, names, ActionRecord, Outcome, TaskError, TaskInput, TaskReport, Tier,
};
use serde_json::{json, Map, Value};

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "tag";

/// A tag as a key and a value.
pub type TagPair = (String, String);

/// The instance as the tagger needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceResources {
    /// The instance's current tags.
    pub tags: Vec<TagPair>,
    /// Its attached EBS volumes.
    pub volume_ids: Vec<String>,
    /// Its network interfaces.
    pub interface_ids: Vec<String>,
}

/// The answer of a write that may run as an EC2 dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The tags were written.
    Done,
    /// Dry run: EC2 answered `DryRunOperation`, the write would have succeeded.
    WouldSucceed,
}

/// The EC2 capability the task needs.
#[async_trait]
pub trait InstanceTagger: Send + Sync {
    /// The instance's tags, volumes and interfaces, or `None` when it does not exist.
    async fn describe_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<InstanceResources>, TaskError>;

    /// The current tags of the given resources (volumes, interfaces), by resource id.
    async fn resource_tags(
        &self,
        resource_ids: &[String],
    ) -> Result<HashMap<String, Vec<TagPair>>, TaskError>;

    /// Writes the same tags on every given resource.
    async fn create_tags(
        &self,
        resource_ids: &[String],
        tags: &[TagPair],
        dry_run: bool,
    ) -> Result<Written, TaskError>;
}

/// Which tags to write on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagPlan {
    /// Tags to write (new keys and changed values), in priority order.
    pub write: Vec<TagPair>,
    /// Wanted tags already in place with the same value.
    pub unchanged: Vec<String>,
    /// Wanted keys left out because the resource would exceed its tag limit.
    pub dropped: Vec<String>,
}

/// Plans the tags of one resource: `wanted` in priority order (most important first), against
/// its `current` tags. A key already present costs no slot (its value is overwritten); a new key
/// takes one of the resource's free slots, after keeping one free for each `reserved` key that
/// another task writes and that is not there yet.
pub fn plan_tags(current: &[TagPair], wanted: &[TagPair], reserved: &[&str]) -> TagPlan {
    let has = |k: &str| current.iter().any(|(ck, _)| ck == k);
    let reserve = reserved
        .iter()
        .filter(|r| !has(r) && !wanted.iter().any(|(k, _)| k == *r))
        .count();
    let mut free = markers::limits::TAGS_PER_RESOURCE.saturating_sub(current.len() + reserve);
    let mut plan = TagPlan::default();
    for (k, v) in wanted {
        match current.iter().find(|(ck, _)| ck == k) {
            Some((_, cv)) if cv == v => plan.unchanged.push(k.clone()),
            Some(_) => plan.write.push((k.clone(), v.clone())),
            None if free > 0 => {
                free -= 1;
                plan.write.push((k.clone(), v.clone()));
            }
            None => plan.dropped.push(k.clone()),
        }
    }
    plan
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Critical => "CRITICAL",
        Tier::High => "HIGH",
        Tier::Medium => "MEDIUM",
        Tier::Low => "LOW",
    }
}

fn get<'a>(tags: &'a [TagPair], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The incident tags wanted on the instance, most important first.
///
/// The time and execution record when the pipeline first acted on this finding: when the
/// instance already carries this finding's id, the values in place are kept, so a re-delivery
/// or a GuardDuty update of the same finding changes nothing but what really changed (the
/// severity, for example).
pub fn instance_tags(input: &TaskInput, current: &[TagPair], now: DateTime<Utc>) -> Vec<TagPair> {
    let f = &input.finding;
    let same_finding = get(current, markers::TAG_FINDING_ID) == Some(f.id.as_str());
    let stamp = |key: &str, fresh: String| -> String {
        match get(current, key) {
            Some(v) if same_finding => v.to_string(),
            _ => markers::tag_value(&fresh),
        }
    };
    vec![
        (
            markers::TAG_FINDING_ID.to_string(),
            markers::tag_value(&f.id),
        ),
        (
            markers::TAG_SEVERITY.to_string(),
            markers::tag_value(&format!(
                "{:.1} {}",
                f.severity,
                tier_name(input.decision.tier)
            )),
        ),
        (
            markers::TAG_FINDING_TYPE.to_string(),
            markers::tag_value(&f.finding_type),
        ),
        (
            markers::TAG_TIME.to_string(),
            stamp(
                markers::TAG_TIME,
                now.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
        ),
        (
            markers::TAG_EXECUTION.to_string(),
            stamp(markers::TAG_EXECUTION, input.execution_name().to_string()),
        ),
    ]
}

/// Keys other tasks write on an instance; a slot is kept free for each one not there yet.
pub const INSTANCE_RESERVED: &[&str] = &[markers::TAG_STATUS, markers::TAG_ORIGINAL_ATTRIBUTES];
/// Keys other tasks write on a network interface.
pub const INTERFACE_RESERVED: &[&str] = &[markers::TAG_ORIGINAL_GROUPS];

/// Tags the finding's instance and its volumes and interfaces.
pub async fn run(
    input: &TaskInput,
    tagger: &dyn InstanceTagger,
    now: DateTime<Utc>,
) -> Result<TaskReport, TaskError> {
    // The finding's instance, or the instance whose role credentials were stolen.
    let instance_id = input.require_instance_id()?;
    let dry_run = input.decision.dry_run;
    let mut report = TaskReport::new(TASK, dry_run);
    let resources = tagger
        .describe_instance(&instance_id)
        .await?
        .ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_TARGET_NOT_FOUND,
                format!("instance {instance_id} does not exist"),
            )
        })?;

    // The instance.
    let wanted = instance_tags(input, &resources.tags, now);
    let plan = plan_tags(&resources.tags, &wanted, INSTANCE_RESERVED);
    let mut record = if plan.write.is_empty() {
        ActionRecord::new(
            "tag-instance",
            &instance_id,
            if plan.dropped.is_empty() {
                Outcome::Unchanged
            } else {
                Outcome::Skipped
            },
            if plan.dropped.is_empty() {
                "the incident tags are already in place".to_string()
            } else {
                format!(
                    "no room for {} under the limit of {} tags per resource",
                    plan.dropped.join(", "),
                    markers::limits::TAGS_PER_RESOURCE
                )
            },
        )
    } else {
        let written = tagger
            .create_tags(std::slice::from_ref(&instance_id), &plan.write, dry_run)
            .await?;
        let keys: Vec<&str> = plan.write.iter().map(|(k, _)| k.as_str()).collect();
        let mut detail = match written {
            Written::Done => format!("tagged {}", keys.join(", ")),
            Written::WouldSucceed => format!("would tag {}", keys.join(", ")),
        };
        if !plan.dropped.is_empty() {
            detail.push_str(&format!(
                "; left out {} (limit of {} tags per resource)",
                plan.dropped.join(", "),
                markers::limits::TAGS_PER_RESOURCE
            ));
        }
        let before: Map<String, Value> = plan
            .write
            .iter()
            .map(|(k, _)| (k.clone(), json!(get(&resources.tags, k))))
            .collect();
        let after: Map<String, Value> = plan
            .write
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        ActionRecord::new(
            "tag-instance",
            &instance_id,
            match written {
                Written::Done => Outcome::Changed,
                Written::WouldSucceed => Outcome::WouldChange,
            },
            detail,
        )
        .with_states(Value::Object(before), Value::Object(after))
    };
    if plan.write.is_empty() && plan.dropped.is_empty() {
        record.after = Some(Value::Object(
            wanted.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
        ));
    }
    report.push(record);

    // Volumes and interfaces carry the finding id only.
    let finding_tag = vec![(
        markers::TAG_FINDING_ID.to_string(),
        markers::tag_value(&input.finding.id),
    )];
    let subs: Vec<(&str, &String, &[&str])> = resources
        .volume_ids
        .iter()
        .map(|v| ("tag-volume", v, &[] as &[&str]))
        .chain(
            resources
                .interface_ids
                .iter()
                .map(|i| ("tag-interface", i, INTERFACE_RESERVED)),
        )
        .collect();
    let mut tagged: Vec<String> = Vec::new();
    if !subs.is_empty() {
        let ids: Vec<String> = subs.iter().map(|(_, id, _)| (*id).clone()).collect();
        let current = tagger.resource_tags(&ids).await?;
        let mut to_write: Vec<(&str, &String, Option<String>)> = Vec::new();
        for (action, id, reserved) in &subs {
            let tags = current.get(*id).map(Vec::as_slice).unwrap_or(&[]);
            let p = plan_tags(tags, &finding_tag, reserved);
            if !p.write.is_empty() {
                to_write.push((
                    action,
                    id,
                    get(tags, markers::TAG_FINDING_ID).map(str::to_string),
                ));
            } else if p.dropped.is_empty() {
                tagged.push((*id).clone());
                report.push(
                    ActionRecord::new(
                        *action,
                        *id,
                        Outcome::Unchanged,
                        "already carries the finding id",
                    )
                    .with_states(
                        json!({}),
                        json!({ markers::TAG_FINDING_ID: input.finding.id }),
                    ),
                );
            } else {
                report.push(ActionRecord::new(
                    *action,
                    *id,
                    Outcome::Skipped,
                    format!(
                        "no room for {} under the limit of {} tags per resource",
                        markers::TAG_FINDING_ID,
                        markers::limits::TAGS_PER_RESOURCE
                    ),
                ));
                note_dropped(&mut report, id, &[markers::TAG_FINDING_ID.to_string()]);
            }
        }
        if !to_write.is_empty() {
            let ids: Vec<String> = to_write.iter().map(|(_, id, _)| (*id).clone()).collect();
            let written = tagger.create_tags(&ids, &finding_tag, dry_run).await?;
            for (action, id, before) in to_write {
                let (outcome, detail) = match written {
                    Written::Done => (Outcome::Changed, "tagged with the finding id"),
                    Written::WouldSucceed => {
                        (Outcome::WouldChange, "would tag with the finding id")
                    }
                };
                if written == Written::Done {
                    tagged.push(id.clone());
                }
                report.push(ActionRecord::new(action, id, outcome, detail).with_states(
                    json!({ markers::TAG_FINDING_ID: before }),
                    json!({ markers::TAG_FINDING_ID: input.finding.id }),
                ));
            }
        }
    }

    report
        .evidence
        .insert("instanceId".into(), json!(instance_id));
    report.evidence.insert(
        "tags".into(),
        Value::Object(
            wanted
                .iter()
                .filter(|(k, _)| !plan.dropped.contains(k))
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        ),
    );
    report
        .evidence
        .insert("taggedResources".into(), json!(tagged));
    if !plan.dropped.is_empty() {
        note_dropped(&mut report, &instance_id, &plan.dropped);
    }
    Ok(report)
}

/// Records, under `evidence.droppedTags.<resource>`, the keys left out for the tag limit.
fn note_dropped(report: &mut TaskReport, resource: &str, keys: &[String]) {
    let entry = report
        .evidence
        .entry("droppedTags")
        .or_insert_with(|| json!({}));
    if let Some(m) = entry.as_object_mut() {
        m.insert(resource.to_string(), json!(keys));
    }
}

#[cfg(test)]
mod tests;
