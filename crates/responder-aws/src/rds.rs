//! The DB instance read shared by the tasks that judge and contain RDS databases (cargo
//! feature `rds`, so the other tasks do not link its SDK).
//!
//! Which security groups are in force depends on the instance: a standalone instance has its
//! own (`ModifyDBInstance`), while an Aurora instance's are the cluster's: "the associated list
//! of EC2 VPC security groups is managed by the DB cluster" (RDS API Reference,
//! `ModifyDBInstance`, `VpcSecurityGroupIds`), set with `ModifyDBCluster`.

use aws_sdk_rds::types::{DbCluster, DbInstance, Tag, VpcSecurityGroupMembership};
use responder_core::TaskError;

use crate::errors::{classify_sdk_error, error_code};

/// A DB cluster as RDS shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    /// The cluster identifier.
    pub identifier: String,
    /// Its ARN.
    pub arn: String,
    /// Its VPC security groups (those in force for every member).
    pub security_groups: Vec<String>,
    /// The identifiers of its DB instances.
    pub members: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

/// A DB instance as RDS shows it (`DescribeDBInstances`, and `DescribeDBClusters` for a cluster
/// member).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseState {
    /// The instance identifier.
    pub identifier: String,
    /// Its ARN.
    pub arn: String,
    /// `available`, `modifying`, ...
    pub status: Option<String>,
    /// The engine.
    pub engine: Option<String>,
    /// The VPC of its DB subnet group.
    pub vpc_id: Option<String>,
    /// The instance's own VPC security groups (for a cluster member, RDS shows the cluster's).
    pub security_groups: Vec<String>,
    /// Whether the instance is publicly accessible.
    pub publicly_accessible: bool,
    /// The instance's tags.
    pub tags: Vec<(String, String)>,
    /// The identifier of the cluster it belongs to, if any.
    pub cluster_identifier: Option<String>,
    /// The cluster it belongs to, when read ([`database`]).
    pub cluster: Option<ClusterState>,
}

impl DatabaseState {
    /// The security groups in force: the cluster's for a member, else the instance's.
    pub fn groups_in_force(&self) -> &[String] {
        match &self.cluster {
            Some(c) => &c.security_groups,
            None => &self.security_groups,
        }
    }

    /// A tag of the instance.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn tags(list: &[Tag]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The groups of a membership list, without those RDS shows as `removing` (on their way out
/// after a `Modify...` call).
fn in_force(list: &[VpcSecurityGroupMembership]) -> Vec<String> {
    list.iter()
        .filter(|g| g.status() != Some("removing"))
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect()
}

fn instance_state(db: &DbInstance) -> DatabaseState {
    DatabaseState {
        identifier: db.db_instance_identifier().unwrap_or_default().to_string(),
        arn: db.db_instance_arn().unwrap_or_default().to_string(),
        status: db.db_instance_status().map(str::to_string),
        engine: db.engine().map(str::to_string),
        vpc_id: db
            .db_subnet_group()
            .and_then(|g| g.vpc_id())
            .map(str::to_string),
        security_groups: in_force(db.vpc_security_groups()),
        publicly_accessible: db.publicly_accessible().unwrap_or(false),
        tags: tags(db.tag_list()),
        cluster_identifier: db.db_cluster_identifier().map(str::to_string),
        cluster: None,
    }
}

fn cluster_state(c: &DbCluster) -> ClusterState {
    ClusterState {
        identifier: c.db_cluster_identifier().unwrap_or_default().to_string(),
        arn: c.db_cluster_arn().unwrap_or_default().to_string(),
        security_groups: in_force(c.vpc_security_groups()),
        members: c
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_string))
            .collect(),
        tags: tags(c.tag_list()),
    }
}

/// The DB instance alone (`DescribeDBInstances`), without its cluster: its tags, its VPC and
/// the groups RDS lists on it. `Ok(None)` when it does not exist. Enough to judge it
/// (`check-exemption`), where reading the cluster too would link `DescribeDBClusters`'
/// deserializer into one more binary; what acts reads the cluster ([`database`]).
pub async fn instance(
    client: &aws_sdk_rds::Client,
    identifier: &str,
) -> Result<Option<DatabaseState>, TaskError> {
    let out = match client
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if error_code(&e) == Some("DBInstanceNotFound") => return Ok(None),
        Err(e) => return Err(classify_sdk_error("rds:DescribeDBInstances", &e)),
    };
    Ok(out
        .db_instances()
        .iter()
        .find(|d| d.db_instance_identifier() == Some(identifier))
        .map(instance_state))
}

/// The DB instance and, for a cluster member, its cluster. `Ok(None)` when the instance does
/// not exist (`DBInstanceNotFound`); any other error is classified under a stable name.
pub async fn database(
    client: &aws_sdk_rds::Client,
    identifier: &str,
) -> Result<Option<DatabaseState>, TaskError> {
    let Some(mut state) = instance(client, identifier).await? else {
        return Ok(None);
    };
    if let Some(cluster) = state.cluster_identifier.clone() {
        state.cluster = Some(self::cluster(client, &cluster).await?.ok_or_else(|| {
            TaskError::new(
                responder_core::names::REMEDIATION_TARGET_NOT_FOUND,
                format!(
                    "DB instance {identifier} names cluster {cluster}, which RDS does not find"
                ),
            )
        })?);
    }
    Ok(Some(state))
}

/// A DB cluster; `Ok(None)` when it does not exist (`DBClusterNotFoundFault`).
pub async fn cluster(
    client: &aws_sdk_rds::Client,
    identifier: &str,
) -> Result<Option<ClusterState>, TaskError> {
    match client
        .describe_db_clusters()
        .db_cluster_identifier(identifier)
        .send()
        .await
    {
        Ok(o) => Ok(o
            .db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(identifier))
            .map(cluster_state)),
        Err(e) if error_code(&e) == Some("DBClusterNotFoundFault") => Ok(None),
        Err(e) => Err(classify_sdk_error("rds:DescribeDBClusters", &e)),
    }
}
