//! The EC2 adapter of [`InstanceTagger`], the per-finding EC2 client, and the Lambda handler.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Tag};
use responder_aws::ec2::describe_instance;
use responder_aws::errors::is_dry_run_success;
use responder_aws::{classify_sdk_error, Clients};
use responder_core::{TaskError, TaskInput, TaskReport};
use tracing::Instrument;

use crate::{InstanceResources, InstanceTagger, TagPair, Written, TASK};

/// The IAM actions of every API call this task makes.
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:CreateTags",
    "ec2:DescribeInstances",
    "ec2:DescribeTags",
    "sts:AssumeRole",
];

/// Resource ids per `DescribeTags` call, so one filter never grows with the instance's size.
const DESCRIBE_TAGS_BATCH: usize = 200;

/// One invocation: parse the document, act in the finding's account, report.
pub async fn handle(
    clients: &Clients<aws_sdk_ec2::Client>,
    payload: serde_json::Value,
) -> Result<TaskReport, TaskError> {
    let input = TaskInput::from_value(payload)?;
    let span = input.span(TASK);
    async {
        let client = clients.for_finding(&input.finding).await?;
        let result = crate::run(&input, &Ec2InstanceTagger::new(client), chrono::Utc::now()).await;
        match &result {
            Ok(r) => {
                responder_core::emf::actions(r, &input.finding.finding_type);
                tracing::info!(changed = r.changed(), "tag done")
            }
            Err(e) => tracing::warn!(error = %e, "tag failed"),
        }
        result
    }
    .instrument(span)
    .await
}

/// [`InstanceTagger`] over the EC2 API.
#[derive(Debug, Clone)]
pub struct Ec2InstanceTagger {
    client: aws_sdk_ec2::Client,
}

impl Ec2InstanceTagger {
    /// An adapter over a client already in the right account and region.
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2InstanceTagger { client }
    }
}

#[async_trait]
impl InstanceTagger for Ec2InstanceTagger {
    async fn describe_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<InstanceResources>, TaskError> {
        let Some(i) = describe_instance(&self.client, instance_id).await? else {
            return Ok(None);
        };
        Ok(Some(InstanceResources {
            tags: i
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect(),
            volume_ids: i
                .block_device_mappings()
                .iter()
                .filter_map(|m| Some(m.ebs()?.volume_id()?.to_string()))
                .collect(),
            interface_ids: i
                .network_interfaces()
                .iter()
                .filter_map(|n| n.network_interface_id().map(str::to_string))
                .collect(),
        }))
    }

    async fn resource_tags(
        &self,
        resource_ids: &[String],
    ) -> Result<HashMap<String, Vec<TagPair>>, TaskError> {
        let mut tags: HashMap<String, Vec<TagPair>> = HashMap::new();
        for batch in resource_ids.chunks(DESCRIBE_TAGS_BATCH) {
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .client
                    .describe_tags()
                    .filters(
                        Filter::builder()
                            .name("resource-id")
                            .set_values(Some(batch.to_vec()))
                            .build(),
                    )
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| classify_sdk_error("ec2:DescribeTags", &e))?;
                for t in out.tags() {
                    if let (Some(id), Some(k)) = (t.resource_id(), t.key()) {
                        tags.entry(id.to_string())
                            .or_default()
                            .push((k.to_string(), t.value().unwrap_or("").to_string()));
                    }
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(tags)
    }

    async fn create_tags(
        &self,
        resource_ids: &[String],
        tags: &[TagPair],
        dry_run: bool,
    ) -> Result<Written, TaskError> {
        let mut req = self
            .client
            .create_tags()
            .set_resources(Some(resource_ids.to_vec()))
            .dry_run(dry_run);
        for (k, v) in tags {
            req = req.tags(Tag::builder().key(k).value(v).build());
        }
        match req.send().await {
            Ok(_) => Ok(Written::Done),
            Err(e) if dry_run && is_dry_run_success(&e) => Ok(Written::WouldSucceed),
            Err(e) => Err(classify_sdk_error("ec2:CreateTags", &e)),
        }
    }
}

#[cfg(test)]
mod tests;
