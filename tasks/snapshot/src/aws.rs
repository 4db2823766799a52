//! The EC2 adapter of [`SnapshotStore`], the per-finding EC2 client, and the Lambda handler.

use aws_sdk_ec2::types::{
    CopyTagsFromSource, Filter, InstanceSpecification, ResourceType, Tag, TagSpecification,
};
use responder_aws::ec2::describe_instance;
use responder_aws::errors::{error_code, is_dry_run_success};
use responder_aws::{classify_sdk_error, Clients};
use responder_core::{names, TaskError, TaskInput, TaskReport};
use tracing::Instrument;

use crate::{
    markers, Call, CreateError, SnapshotRef, SnapshotSpec, SnapshotStore, VolumeRef, TASK,
};
use async_trait::async_trait;

/// The IAM actions of every API call this task makes (the fallback's `CreateSnapshot`
/// included; `CreateTags` because the snapshots are tagged on creation).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:CreateSnapshot",
    "ec2:CreateSnapshots",
    "ec2:CreateTags",
    "ec2:DescribeInstances",
    "ec2:DescribeSnapshots",
    "sts:AssumeRole",
];

/// Error codes meaning "this endpoint does not offer the action": AWS answers `InvalidAction`
/// for an action unknown to the service or region and `UnsupportedOperation` where a partition
/// or Outpost lacks it; emulators use `NotImplemented`. Only these trigger the per-volume
/// fallback: any other failure could mean some snapshots were taken.
pub const UNSUPPORTED_CODES: &[&str] = &[
    "InvalidAction",
    "UnsupportedOperation",
    "NotImplemented",
    "UnknownOperationException",
];

/// One invocation: parse the document, act in the finding's account, report.
pub async fn handle(
    clients: &Clients<aws_sdk_ec2::Client>,
    payload: serde_json::Value,
) -> Result<TaskReport, TaskError> {
    let input = TaskInput::from_value(payload)?;
    let span = input.span(TASK);
    async {
        let client = clients.for_finding(&input.finding).await?;
        let result = crate::run(&input, &Ec2SnapshotStore::new(client)).await;
        match &result {
            Ok(r) => {
                responder_core::emf::actions(r, &input.finding.finding_type);
                tracing::info!(evidence = %serde_json::Value::Object(r.evidence.clone()), "snapshot done")
            }
            Err(e) => tracing::warn!(error = %e, "snapshot failed"),
        }
        result
    }
    .instrument(span)
    .await
}

/// [`SnapshotStore`] over the EC2 API.
#[derive(Debug, Clone)]
pub struct Ec2SnapshotStore {
    client: aws_sdk_ec2::Client,
}

impl Ec2SnapshotStore {
    /// An adapter over a client already in the right account and region.
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2SnapshotStore { client }
    }
}

fn tag_spec(spec: &SnapshotSpec) -> TagSpecification {
    let mut b = TagSpecification::builder().resource_type(ResourceType::Snapshot);
    for (k, v) in &spec.tags {
        b = b.tags(Tag::builder().key(k).value(v).build());
    }
    b.build()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[async_trait]
impl SnapshotStore for Ec2SnapshotStore {
    async fn find_evidence(
        &self,
        finding_id: &str,
        instance_id: &str,
    ) -> Result<Vec<SnapshotRef>, TaskError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_snapshots()
                .owner_ids("self")
                .filters(filter(
                    &format!("tag:{}", markers::TAG_FINDING_ID),
                    &markers::tag_value(finding_id),
                ))
                .filters(filter(
                    &format!("tag:{}", markers::TAG_INSTANCE),
                    instance_id,
                ))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error("ec2:DescribeSnapshots", &e))?;
            for s in out.snapshots() {
                // A snapshot that failed is no evidence: take it again.
                if s.state().map(|st| st.as_str()) == Some("error") {
                    continue;
                }
                if let Some(id) = s.snapshot_id() {
                    found.push(SnapshotRef {
                        snapshot_id: id.to_string(),
                        volume_id: s.volume_id().map(str::to_string),
                        state: s.state().map(|st| st.as_str().to_string()),
                    });
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn instance_volumes(
        &self,
        instance_id: &str,
    ) -> Result<Option<Vec<VolumeRef>>, TaskError> {
        let Some(instance) = describe_instance(&self.client, instance_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            instance
                .block_device_mappings()
                .iter()
                .filter_map(|m| {
                    Some(VolumeRef {
                        volume_id: m.ebs()?.volume_id()?.to_string(),
                        device: m.device_name().map(str::to_string),
                    })
                })
                .collect(),
        ))
    }

    async fn create_snapshots(
        &self,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<Vec<SnapshotRef>>, CreateError> {
        let result = self
            .client
            .create_snapshots()
            .instance_specification(
                InstanceSpecification::builder()
                    .instance_id(&spec.instance_id)
                    .exclude_boot_volume(false)
                    .build(),
            )
            .set_copy_tags_from_source(spec.copy_volume_tags.then_some(CopyTagsFromSource::Volume))
            .description(&spec.description)
            .tag_specifications(tag_spec(spec))
            .dry_run(dry_run)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Call::Done(
                out.snapshots()
                    .iter()
                    .filter_map(|s| {
                        Some(SnapshotRef {
                            snapshot_id: s.snapshot_id()?.to_string(),
                            volume_id: s.volume_id().map(str::to_string),
                            state: s.state().map(|st| st.as_str().to_string()),
                        })
                    })
                    .collect(),
            )),
            Err(e) if dry_run && is_dry_run_success(&e) => Ok(Call::WouldSucceed),
            Err(e) => match error_code(&e) {
                Some(code) if UNSUPPORTED_CODES.contains(&code) => {
                    Err(CreateError::Unsupported(code.to_string()))
                }
                Some("TagLimitExceeded") => Err(CreateError::TagLimit(
                    classify_sdk_error("ec2:CreateSnapshots", &e).message,
                )),
                _ => Err(CreateError::Failed(classify_sdk_error(
                    "ec2:CreateSnapshots",
                    &e,
                ))),
            },
        }
    }

    async fn create_volume_snapshot(
        &self,
        volume_id: &str,
        spec: &SnapshotSpec,
        dry_run: bool,
    ) -> Result<Call<SnapshotRef>, TaskError> {
        let result = self
            .client
            .create_snapshot()
            .volume_id(volume_id)
            .description(&spec.description)
            .tag_specifications(tag_spec(spec))
            .dry_run(dry_run)
            .send()
            .await;
        match result {
            Ok(out) => {
                let snapshot_id = out.snapshot_id().ok_or_else(|| {
                    TaskError::new(
                        names::REMEDIATION_FAILED,
                        format!("CreateSnapshot of {volume_id} returned no snapshot id"),
                    )
                })?;
                Ok(Call::Done(SnapshotRef {
                    snapshot_id: snapshot_id.to_string(),
                    volume_id: Some(out.volume_id().unwrap_or(volume_id).to_string()),
                    state: out.state().map(|st| st.as_str().to_string()),
                }))
            }
            Err(e) if dry_run && is_dry_run_success(&e) => Ok(Call::WouldSucceed),
            Err(e) => Err(classify_sdk_error("ec2:CreateSnapshot", &e)),
        }
    }
}

#[cfg(test)]
mod tests;
