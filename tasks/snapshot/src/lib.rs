//! The `snapshot` task: crash-consistent evidence snapshots of every EBS volume attached to the
//! finding's instance, tagged so that a later run (a re-delivered finding, a GuardDuty update of
//! the same finding, a state machine retry) finds and reuses them instead of taking a second set.
//!
//! The logic here talks to EC2 only through [`SnapshotStore`]; [`aws`] implements it with the SDK.

pub mod aws;

use async_trait::async_trait;
use responder_core::{markers, names, ActionRecord, Outcome, TaskError, TaskInput, TaskReport};
use serde_json::{json, Value};

/// The task's name, as reported and as used for the session name.
pub const TASK: &str = "snapshot";

/// AWS's limit on a snapshot description, in characters.
pub const DESCRIPTION_MAX: usize = 255;

/// Which API took the snapshots, recorded in the evidence under `snapshotApi`.
pub mod api {
    /// One multi-volume, crash-consistent `CreateSnapshots` call.
    pub const CREATE_SNAPSHOTS: &str = "CreateSnapshots";
    /// One `CreateSnapshot` per volume (the fallback where `CreateSnapshots` is not offered).
    pub const CREATE_SNAPSHOT: &str = "CreateSnapshot";
    /// Nothing taken: this finding's snapshots of this instance already existed.
    pub const EXISTING: &str = "existing";
}

/// An EBS volume attached to the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    /// The volume id (`vol-...`).
    pub volume_id: String,
    /// The device name it is attached as (`/dev/xvda`), when known.
    pub device: Option<String>,
}

/// A snapshot, as created or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRef {
    /// The snapshot id (`snap-...`).
    pub snapshot_id: String,
    /// The volume it was taken from.
    pub volume_id: Option<String>,
    /// `pending`, `completed`, `error`..., when known.
    pub state: Option<String>,
}

/// What to snapshot and how to label it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSpec {
    /// The instance whose volumes are snapshotted.
    pub instance_id: String,
    /// The description put on every snapshot (at most [`DESCRIPTION_MAX`] characters).
    pub description: String,
    /// The tags put on every snapshot, keys and values within AWS's limits.
    pub tags: Vec<(String, String)>,
    /// Whether `CreateSnapshots` also copies each volume's own tags (`CopyTagsFromSource`).
    pub copy_volume_tags: bool,
}

/// The answer of a call that may run as an EC2 dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call<T> {
    /// The call was made.
    Done(T),
    /// Dry run: EC2 answered `DryRunOperation`, the call would have succeeded.
    WouldSucceed,
}

/// Why `CreateSnapshots` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// The endpoint does not offer `CreateSnapshots` (the error code is kept for the report);
    /// the task falls back to one `CreateSnapshot` per volume.
    Unsupported(String),
    /// The snapshots would carry more than 50 tags (the volumes' own, copied, plus ours);
    /// the task retries without copying the volumes' tags.
    TagLimit(String),
    /// Any other failure, already named.
    Failed(TaskError),
}

/// The EC2 capability the task needs.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Snapshots owned by this account tagged with this finding id and this instance.
    async fn find_evidence(
        &self,
        finding_id: &str,
        instance_id: &str,
    ) -> Result<Vec<SnapshotRef>, TaskError>;

    /// The EBS volumes attached to the instance, or `None` when the instance does not exist.
    async fn instance_volumes(
        &self,
        instance_id: &str,
    ) -> Result<Option<Vec<VolumeRef>>, TaskError>;

    /// Snapshots every attached volume (boot volume included) in one crash-consistent call,
    /// copying the volumes' tags and adding `spec.tags`.
    async fn create_snapshots(
        &self,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<Vec<SnapshotRef>>, CreateError>;

    /// Snapshots one volume with `spec`'s description and tags.
    async fn create_volume_snapshot(
        &self,
        volume_id: &str,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<SnapshotRef>, TaskError>;
}

/// The tags and description of this finding's evidence snapshots.
pub fn snapshot_spec(input: &TaskInput, instance_id: &str) -> SnapshotSpec {
    let f = &input.finding;
    let short: String = f.id.chars().take(8).collect();
    let tags = vec![
        (
            markers::TAG_PURPOSE.to_string(),
            markers::PURPOSE_EVIDENCE.to_string(),
        ),
        (
            markers::TAG_FINDING_ID.to_string(),
            markers::tag_value(&f.id),
        ),
        (
            markers::TAG_INSTANCE.to_string(),
            markers::tag_value(instance_id),
        ),
        (
            markers::TAG_EXECUTION.to_string(),
            markers::tag_value(input.execution_name()),
        ),
        (
            "Name".to_string(),
            markers::tag_value(&format!("evidence {instance_id} {short}")),
        ),
    ];
    let description = format!(
        "Incident evidence: GuardDuty finding {} ({}, severity {}) on {instance_id}, execution {}",
        f.id,
        f.finding_type,
        f.severity,
        input.execution_name()
    );
    SnapshotSpec {
        instance_id: instance_id.to_string(),
        description: cut_chars(&description, DESCRIPTION_MAX),
        tags,
        copy_volume_tags: true,
    }
}

fn cut_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Takes (or finds) this finding's evidence snapshots of its instance.
///
/// Order matters for idempotency: existing evidence is looked up first, so a re-delivered
/// finding reuses it even when the instance has since been terminated; volumes attached since
/// (or left out by an interrupted per-volume fallback) are then snapshotted on their own, so the
/// set is completed, never duplicated.
pub async fn run(input: &TaskInput, store: &dyn SnapshotStore) -> Result<TaskReport, TaskError> {
    // The finding's instance, or the instance whose role credentials were stolen.
    let instance_id = input.require_instance_id()?;
    let dry_run = input.decision.dry_run;
    let mut report = TaskReport::new(TASK, dry_run);
    let spec = snapshot_spec(input, &instance_id);

    let existing = store.find_evidence(&input.finding.id, &instance_id).await?;
    let volumes = store.instance_volumes(&instance_id).await?;

    let mut taken: Vec<(SnapshotRef, Option<String>)> = Vec::new();
    let api_used;
    if !existing.is_empty() {
        for s in &existing {
            report.push(
                ActionRecord::new(
                    "reuse-snapshot",
                    s.volume_id.clone().unwrap_or_else(|| instance_id.clone()),
                    Outcome::Unchanged,
                    format!(
                        "snapshot {} of {} already holds this finding's evidence",
                        s.snapshot_id,
                        s.volume_id.as_deref().unwrap_or("an unknown volume")
                    ),
                )
                .with_after(snapshot_json(s, None)),
            );
        }
        let covered: Vec<&str> = existing
            .iter()
            .filter_map(|s| s.volume_id.as_deref())
            .collect();
        let missing: Vec<VolumeRef> = volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !covered.contains(&v.volume_id.as_str()))
            .collect();
        if missing.is_empty() {
            api_used = api::EXISTING;
        } else {
            per_volume(
                store,
                &spec,
                &missing,
                dry_run,
                "a volume without evidence yet; completing the set",
                &mut report,
                &mut taken,
            )
            .await?;
            api_used = api::CREATE_SNAPSHOT;
        }
    } else {
        let volumes = volumes.ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_TARGET_NOT_FOUND,
                format!("instance {instance_id} does not exist"),
            )
        })?;
        if volumes.is_empty() {
            report.push(ActionRecord::new(
                "create-snapshots",
                &instance_id,
                Outcome::Skipped,
                format!("instance {instance_id} has no attached EBS volumes to snapshot"),
            ));
            report
                .evidence
                .insert("instanceId".into(), json!(instance_id));
            report.evidence.insert("snapshotIds".into(), json!([]));
            report.evidence.insert("volumeIds".into(), json!([]));
            return Ok(report);
        }
        let mut spec = spec;
        let mut created = store.create_snapshots(&spec, dry_run).await;
        if let Err(CreateError::TagLimit(message)) = &created {
            // The evidence matters more than the copied volume tags: take it with ours only.
            tracing::warn!(%message, "volume tags not copied: too many tags");
            spec.copy_volume_tags = false;
            created = store.create_snapshots(&spec, dry_run).await;
        }
        let copied_note = if spec.copy_volume_tags {
            ""
        } else {
            "; the volumes' own tags were not copied (over 50 tags with ours)"
        };
        match created {
            Ok(Call::WouldSucceed) => {
                for v in &volumes {
                    report.push(
                        ActionRecord::new(
                            "create-snapshots",
                            &v.volume_id,
                            Outcome::WouldChange,
                            format!(
                                "would snapshot {}{} with one crash-consistent CreateSnapshots call",
                                v.volume_id,
                                device_suffix(v.device.as_deref())
                            ),
                        )
                        .with_after(volume_json(v)),
                    );
                }
                api_used = api::CREATE_SNAPSHOTS;
            }
            Ok(Call::Done(snaps)) => {
                for s in snaps {
                    let device = device_of(&volumes, s.volume_id.as_deref());
                    report.push(
                        ActionRecord::new(
                            "create-snapshots",
                            s.volume_id.clone().unwrap_or_else(|| instance_id.clone()),
                            Outcome::Changed,
                            format!(
                                "snapshot {} of {}{} (crash-consistent with the instance's other volumes){copied_note}",
                                s.snapshot_id,
                                s.volume_id.as_deref().unwrap_or("an unknown volume"),
                                device_suffix(device.as_deref())
                            ),
                        )
                        .with_after(snapshot_json(&s, device.as_deref())),
                    );
                    taken.push((s, device));
                }
                api_used = api::CREATE_SNAPSHOTS;
            }
            Err(CreateError::Unsupported(code)) => {
                tracing::warn!(%code, "CreateSnapshots is not offered here; one CreateSnapshot per volume");
                let why = format!("CreateSnapshots answered {code}; one snapshot per volume, not crash-consistent across volumes");
                per_volume(
                    store,
                    &spec,
                    &volumes,
                    dry_run,
                    &why,
                    &mut report,
                    &mut taken,
                )
                .await?;
                api_used = api::CREATE_SNAPSHOT;
            }
            Err(CreateError::Failed(e)) => return Err(e),
            Err(CreateError::TagLimit(message)) => {
                return Err(TaskError::new(
                    names::REMEDIATION_FAILED,
                    format!("CreateSnapshots refused the evidence tags: {message}"),
                ))
            }
        }
    }

    let all: Vec<&SnapshotRef> = existing
        .iter()
        .chain(taken.iter().map(|(s, _)| s))
        .collect();
    report
        .evidence
        .insert("instanceId".into(), json!(instance_id));
    report.evidence.insert(
        "snapshotIds".into(),
        json!(all
            .iter()
            .map(|s| s.snapshot_id.as_str())
            .collect::<Vec<_>>()),
    );
    report.evidence.insert(
        "volumeIds".into(),
        json!(all
            .iter()
            .filter_map(|s| s.volume_id.as_deref())
            .collect::<Vec<_>>()),
    );
    report
        .evidence
        .insert("snapshotApi".into(), json!(api_used));
    if dry_run {
        let would: Vec<&str> = report
            .actions
            .iter()
            .filter(|a| a.outcome == Outcome::WouldChange)
            .map(|a| a.target.as_str())
            .collect();
        report
            .evidence
            .insert("wouldSnapshotVolumeIds".into(), json!(would));
    }
    Ok(report)
}

async fn per_volume(
    store: &dyn SnapshotStore,
    spec: &SnapshotSpec,
    volumes: &[VolumeRef],
    dry_run: bool,
    why: &str,
    report: &mut TaskReport,
    taken: &mut Vec<(SnapshotRef, Option<String>)>,
) -> Result<(), TaskError> {
    for v in volumes {
        match store
            .create_volume_snapshot(&v.volume_id, spec, dry_run)
            .await?
        {
            Call::WouldSucceed => report.push(
                ActionRecord::new(
                    "create-snapshot",
                    &v.volume_id,
                    Outcome::WouldChange,
                    format!(
                        "would snapshot {}{} ({why})",
                        v.volume_id,
                        device_suffix(v.device.as_deref())
                    ),
                )
                .with_after(volume_json(v)),
            ),
            Call::Done(mut s) => {
                if s.volume_id.is_none() {
                    s.volume_id = Some(v.volume_id.clone());
                }
                report.push(
                    ActionRecord::new(
                        "create-snapshot",
                        &v.volume_id,
                        Outcome::Changed,
                        format!(
                            "snapshot {} of {}{} ({why})",
                            s.snapshot_id,
                            v.volume_id,
                            device_suffix(v.device.as_deref())
                        ),
                    )
                    .with_after(snapshot_json(&s, v.device.as_deref())),
                );
                taken.push((s, v.device.clone()));
            }
        }
    }
    Ok(())
}

/// Records the state a creation leads to; there is no state before it.
trait WithAfter {
    fn with_after(self, after: Value) -> Self;
}

impl WithAfter for ActionRecord {
    fn with_after(mut self, after: Value) -> Self {
        self.after = Some(after);
        self
    }
}

fn device_of(volumes: &[VolumeRef], volume_id: Option<&str>) -> Option<String> {
    volumes
        .iter()
        .find(|v| Some(v.volume_id.as_str()) == volume_id)
        .and_then(|v| v.device.clone())
}

fn device_suffix(device: Option<&str>) -> String {
    device.map(|d| format!(" ({d})")).unwrap_or_default()
}

fn snapshot_json(s: &SnapshotRef, device: Option<&str>) -> Value {
    let mut v = json!({ "snapshotId": s.snapshot_id, "volumeId": s.volume_id });
    if let Some(state) = &s.state {
        v["state"] = json!(state);
    }
    if let Some(d) = device {
        v["device"] = json!(d);
    }
    v
}

fn volume_json(v: &VolumeRef) -> Value {
    json!({ "volumeId": v.volume_id, "device": v.device })
}

#[cfg(test)]
mod tests;
