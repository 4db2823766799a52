//! The ECS adapter of [`Tasks`], the invocation's input, and the handler.

use async_trait::async_trait;
use aws_sdk_ecs::types::{Tag, TaskField};
use aws_sdk_ecs::Client;
use ec2_containment::aws::Ec2Adapter;
use ec2_containment::IsolateConfig;
use responder_aws::{classify_sdk_error, SessionProvider};
use responder_core::document::{RequestTarget, ResourceRequest, RollbackTarget};
use responder_core::finding::task_arn_parts;
use responder_core::{TaskError, TaskInput, TaskReport};
use serde_json::Value;

use crate::{contain, restore, Target, TaskState, Tasks, TASK};

/// The IAM actions of every API call this task makes: ECS for the task, EC2 for the network
/// ACL entries, the records on the interface and Session Manager's endpoints.
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:CreateNetworkAclEntry",
    "ec2:CreateTags",
    "ec2:DeleteNetworkAclEntry",
    "ec2:DeleteTags",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcEndpoints",
    "ecs:DescribeContainerInstances",
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeTasks",
    "ecs:StopTask",
    "ecs:TagResource",
    "ecs:UntagResource",
    "sts:AssumeRole",
];

/// What one invocation is asked to do, and where: a task input document about an ECS finding,
/// or a rollback request naming `taskArn`.
pub type Request = ResourceRequest<Target>;

impl RequestTarget for Target {
    const TASK: &'static str = TASK;
    const KEY: &'static str = "taskArn";
    const KIND: &'static str = "an ECS task ARN (arn:PARTITION:ecs:REGION:ACCOUNT:task/CLUSTER/ID)";

    fn valid(name: &str) -> bool {
        task_arn_parts(name).is_some()
    }

    fn from_input(input: &TaskInput, _restore: bool) -> Result<Self, TaskError> {
        let f = &input.finding;
        let t = f.task().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not an ECS task",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        Ok(Target {
            task_arn: t.task_arn.clone(),
            cluster: t.cluster.clone(),
            task_id: t.task_id.clone(),
            account: f.account_id.clone(),
            finding_id: f.id.clone(),
            stop: input.decision.stop_task,
            dry_run: input.decision.dry_run,
        })
    }

    fn from_rollback(r: &RollbackTarget) -> Self {
        let (cluster, task_id) = task_arn_parts(&r.name).unwrap_or_default();
        Target {
            task_arn: r.name.clone(),
            cluster,
            task_id,
            account: r.account_id.clone(),
            finding_id: String::new(),
            stop: false,
            dry_run: r.dry_run,
        }
    }
}

/// The task ARN must be in the account and region the request acts in: the member role is
/// assumed there, and a task named elsewhere is not this request's.
fn check_placement(req: &Request) -> Result<(), TaskError> {
    let arn = responder_core::arn::Arn::parse(&req.target.task_arn);
    match arn {
        Some(a)
            if a.partition == req.partition
                && a.account == req.account_id
                && a.region == req.region =>
        {
            Ok(())
        }
        _ => Err(TaskError::input(format!(
            "task {:?} is not in partition {} account {} region {}",
            req.target.task_arn, req.partition, req.account_id, req.region
        ))),
    }
}

/// One invocation: reads the request, acts in its account and region through the remediation
/// role, and returns the report.
pub async fn handle(
    event: Value,
    sessions: &SessionProvider,
    cfg: &IsolateConfig,
) -> Result<TaskReport, TaskError> {
    let req = Request::from_value(event)?;
    check_placement(&req)?;
    let t = &req.target;
    responder_aws::run_resource_request(&req, sessions, "ecs", &t.task_arn, |conf| async move {
        let ecs = EcsTasks::new(Client::new(&conf));
        let ec2 = Ec2Adapter::from_conf(&conf);
        if req.restore {
            restore(t, &ecs, &ec2).await
        } else {
            contain(t, cfg, &ecs, &ec2).await
        }
    })
    .await
}

/// [`Tasks`] over the ECS API.
#[derive(Debug, Clone)]
pub struct EcsTasks {
    client: Client,
}

impl EcsTasks {
    /// An adapter over a client already in the right account and region.
    pub fn new(client: Client) -> Self {
        EcsTasks { client }
    }
}

/// The task's state from one `DescribeTasks` entry.
fn state_of(t: &aws_sdk_ecs::types::Task) -> TaskState {
    let detail = |names: &[&str]| -> Vec<String> {
        t.attachments()
            .iter()
            .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details())
            .filter(|d| d.name().is_some_and(|n| names.contains(&n)))
            .filter_map(|d| d.value().map(str::to_string))
            .collect()
    };
    let interfaces = detail(&["networkInterfaceId"]);
    let addresses = detail(&["privateIPv4Address", "ipv6Address"]);
    TaskState {
        arn: t.task_arn().unwrap_or_default().to_string(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        launch_type: t.launch_type().map(|l| l.as_str().to_string()),
        group: t.group().map(str::to_string),
        definition_arn: t.task_definition_arn().map(str::to_string),
        role_override: t
            .overrides()
            .and_then(|o| o.task_role_arn())
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        container_instance_arn: t.container_instance_arn().map(str::to_string),
        interfaces,
        addresses,
        tags: t
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
            .collect(),
    }
}

#[async_trait]
impl Tasks for EcsTasks {
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskState>, TaskError> {
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .include(TaskField::Tags)
            .send()
            .await
            .map_err(|e| classify_sdk_error("ecs:DescribeTasks", &e))?;
        // A task ECS does not know is a failure entry (`MISSING`), not an error.
        Ok(out
            .tasks()
            .iter()
            .find(|t| t.task_arn() == Some(task_arn))
            .map(state_of))
    }

    async fn definition_role(&self, definition_arn: &str) -> Result<Option<String>, TaskError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(definition_arn)
            .send()
            .await
            .map_err(|e| classify_sdk_error("ecs:DescribeTaskDefinition", &e))?;
        Ok(out
            .task_definition()
            .and_then(|d| d.task_role_arn())
            .filter(|r| !r.is_empty())
            .map(str::to_string))
    }

    async fn container_instance(
        &self,
        cluster: &str,
        arn: &str,
    ) -> Result<Option<String>, TaskError> {
        let out = self
            .client
            .describe_container_instances()
            .cluster(cluster)
            .container_instances(arn)
            .send()
            .await
            .map_err(|e| classify_sdk_error("ecs:DescribeContainerInstances", &e))?;
        Ok(out
            .container_instances()
            .iter()
            .find_map(|c| c.ec2_instance_id().map(str::to_string)))
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("ecs:TagResource", &e))
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("ecs:UntagResource", &e))
    }

    async fn stop(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), TaskError> {
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("ecs:StopTask", &e))
    }
}

#[cfg(test)]
mod tests;
