//! The RDS adapter of [`Databases`], the invocation's input, and the handler.

use async_trait::async_trait;
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use ec2_containment::aws::Ec2Adapter;
use ec2_containment::IsolateConfig;
use responder_aws::errors::error_code;
use responder_aws::rds::DatabaseState;
use responder_aws::{classify_sdk_error, SessionProvider};
use responder_core::document::{RequestTarget, ResourceRequest, RollbackTarget};
use responder_core::finding::is_db_identifier;
use responder_core::{TaskError, TaskInput, TaskReport};
use serde_json::Value;

use crate::{contain, restore, Databases, Holder, Target, TASK};

/// The IAM actions of every API call this task makes: RDS for the database, EC2 for the
/// VPC's quarantine group (found or made, its rules put right, Session Manager's endpoints
/// read for its egress).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateSecurityGroup",
    "ec2:CreateTags",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "rds:AddTagsToResource",
    "rds:CreateDBClusterSnapshot",
    "rds:CreateDBSnapshot",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:ModifyDBCluster",
    "rds:ModifyDBInstance",
    "rds:RemoveTagsFromResource",
    "sts:AssumeRole",
];

/// What one invocation is asked to do, and where: a task input document about an RDS finding,
/// or a rollback request naming `dbInstanceIdentifier`.
pub type Request = ResourceRequest<Target>;

impl RequestTarget for Target {
    const TASK: &'static str = TASK;
    const KEY: &'static str = "dbInstanceIdentifier";
    const KIND: &'static str = "an RDS DB instance identifier";

    fn valid(name: &str) -> bool {
        is_db_identifier(name)
    }

    fn from_input(input: &TaskInput, _restore: bool) -> Result<Self, TaskError> {
        let f = &input.finding;
        let db = f.database().ok_or_else(|| {
            TaskError::input(format!(
                "finding {} is about a {} resource, not an RDS DB instance",
                f.id,
                f.resource.resource_type()
            ))
        })?;
        Ok(Target {
            identifier: db.db_instance_identifier.clone(),
            finding_id: f.id.clone(),
            idempotency_key: f.idempotency_key(),
            dry_run: input.decision.dry_run,
        })
    }

    fn from_rollback(r: &RollbackTarget) -> Self {
        Target {
            // RDS stores identifiers in lowercase.
            identifier: r.name.to_ascii_lowercase(),
            finding_id: String::new(),
            idempotency_key: String::new(),
            dry_run: r.dry_run,
        }
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
    let t = &req.target;
    responder_aws::run_resource_request(&req, sessions, "rds", &t.identifier, |conf| async move {
        let rds = RdsDatabases::new(Client::new(&conf));
        let ec2 = Ec2Adapter::from_conf(&conf);
        if req.restore {
            restore(&t.identifier, t.dry_run, &rds, &ec2).await
        } else {
            contain(t, cfg, &rds, &ec2).await
        }
    })
    .await
}

/// [`Databases`] over the RDS API.
#[derive(Debug, Clone)]
pub struct RdsDatabases {
    client: Client,
}

impl RdsDatabases {
    /// An adapter over a client already in the right account and region.
    pub fn new(client: Client) -> Self {
        RdsDatabases { client }
    }
}

fn rds_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

#[async_trait]
impl Databases for RdsDatabases {
    async fn database(&self, identifier: &str) -> Result<Option<DatabaseState>, TaskError> {
        responder_aws::rds::database(&self.client, identifier).await
    }

    async fn set_instance_groups(
        &self,
        identifier: &str,
        groups: &[String],
    ) -> Result<(), TaskError> {
        self.client
            .modify_db_instance()
            .db_instance_identifier(identifier)
            .set_vpc_security_group_ids(Some(groups.to_vec()))
            .apply_immediately(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("rds:ModifyDBInstance", &e))
    }

    async fn set_cluster_groups(
        &self,
        identifier: &str,
        groups: &[String],
    ) -> Result<(), TaskError> {
        self.client
            .modify_db_cluster()
            .db_cluster_identifier(identifier)
            .set_vpc_security_group_ids(Some(groups.to_vec()))
            .apply_immediately(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("rds:ModifyDBCluster", &e))
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), TaskError> {
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(rds_tags(tags)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("rds:AddTagsToResource", &e))
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), TaskError> {
        self.client
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("rds:RemoveTagsFromResource", &e))
    }

    async fn snapshot(
        &self,
        of: &Holder,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> Result<bool, TaskError> {
        let tags = Some(rds_tags(tags));
        match of {
            Holder::Instance { identifier, .. } => match self
                .client
                .create_db_snapshot()
                .db_instance_identifier(identifier)
                .db_snapshot_identifier(snapshot_id)
                .set_tags(tags)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if error_code(&e) == Some("DBSnapshotAlreadyExists") => Ok(false),
                Err(e) => Err(classify_sdk_error("rds:CreateDBSnapshot", &e)),
            },
            Holder::Cluster { identifier, .. } => match self
                .client
                .create_db_cluster_snapshot()
                .db_cluster_identifier(identifier)
                .db_cluster_snapshot_identifier(snapshot_id)
                .set_tags(tags)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if error_code(&e) == Some("DBClusterSnapshotAlreadyExistsFault") => {
                    Ok(false)
                }
                Err(e) => Err(classify_sdk_error("rds:CreateDBClusterSnapshot", &e)),
            },
        }
    }
}

#[cfg(test)]
mod tests;
