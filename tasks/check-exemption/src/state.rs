//! What `check-exemption` reads of the target's real state, behind two narrow capabilities,
//! and the test of an instance's containment from that state.

use async_trait::async_trait;
use responder_core::finding::Tag;
use responder_core::{markers, TaskError};
use serde_json::Value;

use crate::{Principal, Scope};

/// An instance as EC2 shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceNow {
    /// Its tags now (the `aws:` ones included).
    pub tags: Vec<Tag>,
    /// Its network interfaces.
    pub interfaces: Vec<InterfaceNow>,
}

/// A network interface of an instance, with its security groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceNow {
    /// The interface id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its groups as `(id, name)`.
    pub groups: Vec<(String, String)>,
}

/// A security group's rules, as far as the containment test needs them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupRules {
    /// The group id.
    pub id: String,
    /// The group name.
    pub name: String,
    /// Its VPC.
    pub vpc_id: String,
    /// How many inbound permissions it has.
    pub ingress: usize,
    /// Its outbound permissions as `(protocol, from port, to port)`.
    pub egress: Vec<(String, Option<i32>, Option<i32>)>,
}

/// A Lambda function as Lambda shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionNow {
    /// Its tags now.
    pub tags: Vec<Tag>,
    /// Its reserved concurrency; `None` when it has none (it draws on the account's pool).
    pub reserved_concurrency: Option<i32>,
}

/// An S3 bucket as S3 shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketNow {
    /// Its tags now.
    pub tags: Vec<Tag>,
    /// Its own Block Public Access settings; `None` when it has no configuration.
    pub public_access_block: Option<responder_aws::s3::PublicAccessBlock>,
    /// Its policy as stored (`None`: it has none); `Err` when S3 refused to show it.
    pub policy: Option<Result<String, TaskError>>,
}

/// Reads S3 buckets.
#[async_trait]
pub trait Buckets: Send + Sync {
    /// `GetPublicAccessBlock` and `GetBucketTagging`, naming the finding's account as the
    /// owner; `None` when the bucket does not exist.
    async fn bucket(&self, scope: Scope<'_>, name: &str) -> Result<Option<BucketNow>, TaskError>;
}

/// An RDS DB instance as RDS shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseNow {
    /// The instance's tags now.
    pub tags: Vec<Tag>,
    /// The VPC of its DB subnet group.
    pub vpc_id: Option<String>,
    /// The security groups RDS lists on the instance (`DescribeDBInstances`; for an Aurora
    /// member they are its cluster's, which this read does not check further: an answer that
    /// misses a quarantine in place only lets containment run, and it finds the groups in
    /// place and changes nothing).
    pub groups: Vec<String>,
}

/// Reads RDS DB instances.
#[async_trait]
pub trait Databases: Send + Sync {
    /// `DescribeDBInstances`; `None` when the instance does not exist.
    async fn database(
        &self,
        scope: Scope<'_>,
        identifier: &str,
    ) -> Result<Option<DatabaseNow>, TaskError>;
}

/// Reads Lambda functions.
#[async_trait]
pub trait Functions: Send + Sync {
    /// `GetFunction`: the function's tags and reserved concurrency; `None` when it does not
    /// exist.
    async fn function(
        &self,
        scope: Scope<'_>,
        name: &str,
    ) -> Result<Option<FunctionNow>, TaskError>;
}

/// Reads instances and security groups.
#[async_trait]
pub trait Instances: Send + Sync {
    /// The instance now; `None` when it does not exist or is terminated.
    async fn instance(
        &self,
        scope: Scope<'_>,
        instance_id: &str,
    ) -> Result<Option<InstanceNow>, TaskError>;
    /// The rules of these groups.
    async fn group_rules(
        &self,
        scope: Scope<'_>,
        group_ids: &[String],
    ) -> Result<Vec<GroupRules>, TaskError>;
}

/// Reads IAM principals.
#[async_trait]
pub trait Principals: Send + Sync {
    /// The principal's tags. A principal that does not exist is `Remediation.TargetNotFound`.
    async fn principal_tags(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
    ) -> Result<Vec<Tag>, TaskError>;
    /// A role's path (`/aws-service-role/...` for service-linked roles).
    async fn role_path(&self, scope: Scope<'_>, role: &str) -> Result<String, TaskError>;
    /// Whether a key of a user is active; `None` when the user has no such key.
    async fn key_active(
        &self,
        scope: Scope<'_>,
        user: &str,
        access_key_id: &str,
    ) -> Result<Option<bool>, TaskError>;
    /// The managed policies attached to a user, by ARN.
    async fn attached_user_policies(
        &self,
        scope: Scope<'_>,
        user: &str,
    ) -> Result<Vec<String>, TaskError>;
    /// An inline policy of a principal, parsed; `None` when it does not exist.
    async fn inline_policy(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
        name: &str,
    ) -> Result<Option<Value>, TaskError>;
}

/// Whether every interface of the instance holds exactly one group, the quarantine group of
/// its VPC, and that group admits nothing and lets out only TCP 443 (what `isolate` makes of
/// it). Returns the groups when it does. A group of that name with other rules (someone made
/// it, or changed it) does not count: containment runs and puts its rules right.
pub(crate) async fn quarantined(
    scope: Scope<'_>,
    state: &InstanceNow,
    instances: &dyn Instances,
) -> Result<Option<Vec<String>>, TaskError> {
    if state.interfaces.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    for iface in &state.interfaces {
        match iface.groups.as_slice() {
            [(id, name)] if name == markers::QUARANTINE_GROUP_NAME => {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            _ => return Ok(None),
        }
    }
    let rules = instances.group_rules(scope, &ids).await?;
    let all = state
        .interfaces
        .iter()
        .all(|i| sound_quarantine(&rules, &i.groups[0].0, &i.vpc_id));
    Ok(all.then_some(ids))
}

/// Whether `id` is the quarantine group of `vpc` as `isolate` makes it: named so, admitting
/// nothing, letting out only TCP 443.
fn sound_quarantine(rules: &[GroupRules], id: &str, vpc: &str) -> bool {
    rules.iter().any(|g| {
        g.id == id
            && g.vpc_id == vpc
            && g.name == markers::QUARANTINE_GROUP_NAME
            && g.ingress == 0
            && g.egress.iter().all(|(p, from, to)| {
                (p == "tcp" || p == "6") && *from == Some(443) && *to == Some(443)
            })
    })
}

/// Whether the only group in force on a DB instance is its VPC's sound quarantine group.
/// Returns that group when it is.
pub(crate) async fn database_quarantined(
    scope: Scope<'_>,
    db: &DatabaseNow,
    instances: &dyn Instances,
) -> Result<Option<String>, TaskError> {
    let ([id], Some(vpc)) = (db.groups.as_slice(), db.vpc_id.as_deref()) else {
        return Ok(None);
    };
    let rules = instances
        .group_rules(scope, std::slice::from_ref(id))
        .await?;
    Ok(sound_quarantine(&rules, id, vpc).then(|| id.clone()))
}
