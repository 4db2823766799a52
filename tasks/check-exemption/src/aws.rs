//! The AWS adapters of [`Instances`], [`Principals`], [`Functions`], [`Buckets`], [`Databases`],
//! [`Claims`] and
//! [`Executions`].
//!
//! Each target read resolves the SDK configuration of the finding's account and region through
//! the [`SessionProvider`] (assuming the remediation role in member accounts; cached), builds
//! the client, and maps SDK errors to stable names with [`classify_sdk_error`]. Claims are
//! written with the task's own credentials to the claims table in the security account.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_ec2::types::{Filter, InstanceStateName};
use responder_aws::errors::error_code;
use responder_aws::{classify_sdk_error, ClientFactory, Clients, SessionProvider};
use responder_core::denies::parse_returned_document;
use responder_core::finding::Tag;
use responder_core::{names, TaskError};
use serde_json::Value;

use crate::claim::{Claim, ClaimOutcome, Claims, Executions};
use crate::state::{
    BucketNow, Buckets, DatabaseNow, Databases, FunctionNow, Functions, GroupRules, InstanceNow,
    Instances, InterfaceNow, Principals,
};
use crate::{Principal, Scope};

/// The IAM actions of every AWS call this task makes. The deploy template's least-privilege
/// test compares the task's role against this list, so keep it exact. `dynamodb:PutItem` is
/// called in the security account only (the claims table), never through the member role.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:PutItem",
    "states:DescribeExecution",
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetUserPolicy",
    "iam:ListAccessKeys",
    "iam:ListAttachedUserPolicies",
    "iam:ListRoleTags",
    "iam:ListUserTags",
    "lambda:GetFunction",
    "lambda:GetFunctionConcurrency",
    "rds:DescribeDBInstances",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "sts:AssumeRole",
];

/// Reads targets in the finding's account and region with the SDK.
#[derive(Debug)]
pub struct AwsTargets {
    ec2: Clients<aws_sdk_ec2::Client>,
    iam: Clients<aws_sdk_iam::Client>,
    lambda: Clients<aws_sdk_lambda::Client>,
    s3: Clients<aws_sdk_s3::Client>,
    rds: Clients<aws_sdk_rds::Client>,
    sessions: Arc<SessionProvider>,
}

impl AwsTargets {
    /// Adapters over the SDK's default clients.
    pub fn new(sessions: SessionProvider) -> Self {
        Self::with_factories(
            sessions,
            Box::new(aws_sdk_ec2::Client::new),
            Box::new(aws_sdk_iam::Client::new),
        )
    }

    /// Adapters with given client factories (tests add mock interceptors). Both share the
    /// sessions, so one assumed role serves both services.
    pub fn with_factories(
        sessions: SessionProvider,
        ec2: ClientFactory<aws_sdk_ec2::Client>,
        iam: ClientFactory<aws_sdk_iam::Client>,
    ) -> Self {
        Self::with_all_factories(sessions, ec2, iam, Box::new(aws_sdk_lambda::Client::new))
    }

    /// Like [`AwsTargets::with_factories`], with the Lambda client's factory too.
    pub fn with_all_factories(
        sessions: SessionProvider,
        ec2: ClientFactory<aws_sdk_ec2::Client>,
        iam: ClientFactory<aws_sdk_iam::Client>,
        lambda: ClientFactory<aws_sdk_lambda::Client>,
    ) -> Self {
        Self::with_every_factory(
            sessions,
            ec2,
            iam,
            lambda,
            Box::new(responder_aws::s3::client),
        )
    }

    /// Like [`AwsTargets::with_all_factories`], with the S3 client's factory too.
    pub fn with_every_factory(
        sessions: SessionProvider,
        ec2: ClientFactory<aws_sdk_ec2::Client>,
        iam: ClientFactory<aws_sdk_iam::Client>,
        lambda: ClientFactory<aws_sdk_lambda::Client>,
        s3: ClientFactory<aws_sdk_s3::Client>,
    ) -> Self {
        let sessions = Arc::new(sessions);
        AwsTargets {
            ec2: Clients::new(Arc::clone(&sessions), ec2),
            iam: Clients::new(Arc::clone(&sessions), iam),
            lambda: Clients::new(Arc::clone(&sessions), lambda),
            s3: Clients::new(Arc::clone(&sessions), s3),
            rds: Clients::new(Arc::clone(&sessions), aws_sdk_rds::Client::new),
            sessions,
        }
    }

    /// The same adapters with the RDS client's factory replaced (tests add mock interceptors).
    pub fn with_rds_factory(mut self, rds: ClientFactory<aws_sdk_rds::Client>) -> Self {
        self.rds = Clients::new(Arc::clone(&self.sessions), rds);
        self
    }

    async fn ec2_client(&self, scope: Scope<'_>) -> Result<aws_sdk_ec2::Client, TaskError> {
        self.ec2
            .for_account(scope.partition, scope.account, scope.region)
            .await
    }

    async fn iam_client(&self, scope: Scope<'_>) -> Result<aws_sdk_iam::Client, TaskError> {
        self.iam
            .for_account(scope.partition, scope.account, scope.region)
            .await
    }
}

fn iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> impl Iterator<Item = Tag> + '_ {
    tags.iter().map(|t| Tag {
        key: t.key().to_string(),
        value: t.value().to_string(),
    })
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<Tag> {
    tags.iter()
        .filter_map(|t| {
            Some(Tag {
                key: t.key()?.to_string(),
                value: t.value().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

#[async_trait]
impl Functions for AwsTargets {
    async fn function(
        &self,
        scope: Scope<'_>,
        name: &str,
    ) -> Result<Option<FunctionNow>, TaskError> {
        let lambda = self
            .lambda
            .for_account(scope.partition, scope.account, scope.region)
            .await?;
        let Some((out, reserved)) = responder_aws::lambda::function(&lambda, name).await? else {
            return Ok(None);
        };
        let mut tags: Vec<Tag> = out
            .tags()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| Tag {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Some(FunctionNow {
            tags,
            reserved_concurrency: reserved,
        }))
    }
}

#[async_trait]
impl Databases for AwsTargets {
    async fn database(
        &self,
        scope: Scope<'_>,
        identifier: &str,
    ) -> Result<Option<DatabaseNow>, TaskError> {
        let rds = self
            .rds
            .for_account(scope.partition, scope.account, scope.region)
            .await?;
        let Some(db) = responder_aws::rds::instance(&rds, identifier).await? else {
            return Ok(None);
        };
        Ok(Some(DatabaseNow {
            groups: db.groups_in_force().to_vec(),
            vpc_id: db.vpc_id,
            tags: db
                .tags
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        }))
    }
}

#[async_trait]
impl Buckets for AwsTargets {
    async fn bucket(&self, scope: Scope<'_>, name: &str) -> Result<Option<BucketNow>, TaskError> {
        let s3 = self
            .s3
            .for_account(scope.partition, scope.account, scope.region)
            .await?;
        let Some(state) = responder_aws::s3::bucket(&s3, name, scope.account).await? else {
            return Ok(None);
        };
        Ok(Some(BucketNow {
            tags: state
                .tags
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
            public_access_block: state.public_access_block,
            policy: state.policy.transpose(),
        }))
    }
}

#[async_trait]
impl Instances for AwsTargets {
    async fn instance(
        &self,
        scope: Scope<'_>,
        instance_id: &str,
    ) -> Result<Option<InstanceNow>, TaskError> {
        let ec2 = self.ec2_client(scope).await?;
        // A filter instead of InstanceIds: an unknown id is then an empty answer rather than
        // an InvalidInstanceID.NotFound error, and both mean the same here.
        let out = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-id")
                    .values(instance_id)
                    .build(),
            )
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if error_code(&e).is_some_and(|c| c.starts_with("InvalidInstanceID")) => {
                return Ok(None)
            }
            Err(e) => return Err(classify_sdk_error("ec2:DescribeInstances", &e)),
        };
        let instance = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id));
        let Some(instance) = instance else {
            return Ok(None);
        };
        // A terminated instance cannot be contained; it is gone for this purpose.
        if instance
            .state()
            .and_then(|s| s.name())
            .is_some_and(|n| matches!(n, InstanceStateName::Terminated))
        {
            return Ok(None);
        }
        Ok(Some(InstanceNow {
            tags: ec2_tags(instance.tags()),
            interfaces: instance
                .network_interfaces()
                .iter()
                .filter_map(|n| {
                    Some(InterfaceNow {
                        id: n.network_interface_id()?.to_string(),
                        vpc_id: n.vpc_id().unwrap_or_default().to_string(),
                        groups: n
                            .groups()
                            .iter()
                            .filter_map(|g| {
                                Some((
                                    g.group_id()?.to_string(),
                                    g.group_name().unwrap_or_default().to_string(),
                                ))
                            })
                            .collect(),
                    })
                })
                .collect(),
        }))
    }

    async fn group_rules(
        &self,
        scope: Scope<'_>,
        group_ids: &[String],
    ) -> Result<Vec<GroupRules>, TaskError> {
        let ec2 = self.ec2_client(scope).await?;
        let out = match ec2
            .describe_security_groups()
            .set_group_ids(Some(group_ids.to_vec()))
            .send()
            .await
        {
            Ok(o) => o,
            // A group that vanished holds nothing: not contained.
            Err(e) if error_code(&e).is_some_and(|c| c.starts_with("InvalidGroup")) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(classify_sdk_error("ec2:DescribeSecurityGroups", &e)),
        };
        Ok(out
            .security_groups()
            .iter()
            .filter_map(|g| {
                Some(GroupRules {
                    id: g.group_id()?.to_string(),
                    name: g.group_name().unwrap_or_default().to_string(),
                    vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                    ingress: g.ip_permissions().len(),
                    egress: g
                        .ip_permissions_egress()
                        .iter()
                        .map(|p| {
                            (
                                p.ip_protocol().unwrap_or("-1").to_string(),
                                p.from_port(),
                                p.to_port(),
                            )
                        })
                        .collect(),
                })
            })
            .collect())
    }
}

#[async_trait]
impl Principals for AwsTargets {
    async fn principal_tags(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
    ) -> Result<Vec<Tag>, TaskError> {
        let iam = self.iam_client(scope).await?;
        let mut tags = Vec::new();
        let mut marker: Option<String> = None;
        // At most 50 tags fit on a principal, so this is one page; the loop keeps it correct
        // if a page is ever cut short.
        loop {
            let (page, truncated, next) = match principal {
                Principal::User(name) => {
                    let out = iam
                        .list_user_tags()
                        .user_name(name)
                        .set_marker(marker.clone())
                        .send()
                        .await
                        .map_err(|e| classify_sdk_error("iam:ListUserTags", &e))?;
                    (
                        iam_tags(out.tags()).collect::<Vec<_>>(),
                        out.is_truncated(),
                        out.marker().map(str::to_string),
                    )
                }
                Principal::Role(name) => {
                    let out = iam
                        .list_role_tags()
                        .role_name(name)
                        .set_marker(marker.clone())
                        .send()
                        .await
                        .map_err(|e| classify_sdk_error("iam:ListRoleTags", &e))?;
                    (
                        iam_tags(out.tags()).collect::<Vec<_>>(),
                        out.is_truncated(),
                        out.marker().map(str::to_string),
                    )
                }
            };
            tags.extend(page);
            match next {
                Some(m) if truncated => marker = Some(m),
                _ => return Ok(tags),
            }
        }
    }

    async fn role_path(&self, scope: Scope<'_>, role: &str) -> Result<String, TaskError> {
        let iam = self.iam_client(scope).await?;
        let out = iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(|e| classify_sdk_error("iam:GetRole", &e))?;
        Ok(out
            .role()
            .map(|r| r.path().to_string())
            .unwrap_or_else(|| "/".to_string()))
    }

    async fn key_active(
        &self,
        scope: Scope<'_>,
        user: &str,
        access_key_id: &str,
    ) -> Result<Option<bool>, TaskError> {
        let iam = self.iam_client(scope).await?;
        // A user has at most two access keys: one page holds them all.
        let out = iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify_sdk_error("iam:ListAccessKeys", &e))?;
        Ok(out
            .access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(access_key_id))
            .map(|k| k.status() == Some(&aws_sdk_iam::types::StatusType::Active)))
    }

    async fn attached_user_policies(
        &self,
        scope: Scope<'_>,
        user: &str,
    ) -> Result<Vec<String>, TaskError> {
        let iam = self.iam_client(scope).await?;
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = iam
                .list_attached_user_policies()
                .user_name(user)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error("iam:ListAttachedUserPolicies", &e))?;
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    async fn inline_policy(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
        policy_name: &str,
    ) -> Result<Option<Value>, TaskError> {
        let iam = self.iam_client(scope).await?;
        let text = match principal {
            Principal::User(name) => iam
                .get_user_policy()
                .user_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(|e| absent(e, "iam:GetUserPolicy")),
            Principal::Role(name) => iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(|e| absent(e, "iam:GetRolePolicy")),
        };
        match text {
            Ok(t) => Ok(parse_returned_document(&t)),
            Err(Absent::NoSuchEntity) => Ok(None),
            Err(Absent::Error(e)) => Err(e),
        }
    }
}

enum Absent {
    NoSuchEntity,
    Error(TaskError),
}

/// `NoSuchEntity` on a policy read means "no such policy"; anything else is an error.
fn absent<E, R>(err: aws_smithy_runtime_api::client::result::SdkError<E, R>, what: &str) -> Absent
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if error_code(&err) == Some("NoSuchEntity") {
        Absent::NoSuchEntity
    } else {
        Absent::Error(classify_sdk_error(what, &err))
    }
}

/// Takes claims in the DynamoDB claims table (partition key `pk`, TTL attribute `expiresAt`)
/// of the security account.
#[derive(Debug, Clone)]
pub struct AwsClaims {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The claim condition: nobody holds the key, or this execution does (its own retry), or the
/// holder's lease has lapsed.
pub const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR #e = :me OR #x < :now";

impl AwsClaims {
    /// Claims in `table` through `client`, which acts in the security account (the task's own
    /// credentials, not a member-account session).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        AwsClaims {
            client,
            table: table.into(),
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn string_of(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(ToString::to_string)
}

impl AwsClaims {
    /// Writes the claim under `condition`; the refusal names the holder.
    async fn put(
        &self,
        claim: &Claim,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<ClaimOutcome, TaskError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&claim.key))
            .item("execution", s(&claim.execution))
            .item("findingId", s(&claim.finding_id))
            .item("resource", s(&claim.resource))
            .item("account", s(&claim.account))
            .item("claimedAt", s(claim.claimed_at_rfc3339()))
            .item(
                "expiresAt",
                AttributeValue::N(claim.expires_at().to_string()),
            )
            .condition_expression(condition)
            .expression_attribute_names("#e", "execution")
            // The holder comes back with the refusal: no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if condition.contains("#x") {
            req = req.expression_attribute_names("#x", "expiresAt");
        }
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        match req.send().await {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                    let held = c.item();
                    Ok(ClaimOutcome::Held {
                        execution: held.and_then(|i| string_of(i, "execution")),
                        claimed_at: held.and_then(|i| string_of(i, "claimedAt")),
                    })
                }
                _ => Err(classify_sdk_error("dynamodb:PutItem", &e)),
            },
        }
    }
}

/// The take-over condition: the ended holder still holds the key.
pub const TAKE_OVER_CONDITION: &str = "#e = :holder";

#[async_trait]
impl Claims for AwsClaims {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, TaskError> {
        self.put(
            claim,
            CLAIM_CONDITION,
            &[
                (":me", s(&claim.execution)),
                (":now", AttributeValue::N(claim.now_epoch().to_string())),
            ],
        )
        .await
    }

    async fn take_over(&self, claim: &Claim, holder: &str) -> Result<ClaimOutcome, TaskError> {
        self.put(claim, TAKE_OVER_CONDITION, &[(":holder", s(holder))])
            .await
    }
}

/// Reads executions of the pipeline's state machines (in the security account).
#[derive(Debug, Clone)]
pub struct AwsExecutions {
    client: aws_sdk_sfn::Client,
}

impl AwsExecutions {
    /// Reads through `client`, which acts in the security account.
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        AwsExecutions { client }
    }
}

#[async_trait]
impl Executions for AwsExecutions {
    async fn running(&self, execution_arn: &str) -> Result<Option<bool>, TaskError> {
        if !execution_arn.starts_with("arn:") {
            // A manual run names no execution: nothing to ask.
            return Ok(None);
        }
        match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.status() == &aws_sdk_sfn::types::ExecutionStatus::Running,
            )),
            // Expired from the history (90 days after it ended): it ended.
            Err(e) if error_code(&e) == Some("ExecutionDoesNotExist") => Ok(Some(false)),
            Err(e) => {
                let err = classify_sdk_error("states:DescribeExecution", &e);
                if err.name == names::REMEDIATION_THROTTLED
                    || err.name == names::REMEDIATION_TRANSIENT
                {
                    Err(err)
                } else {
                    // Cannot tell (no permission, another account's execution): the claim
                    // stands, as without this check.
                    tracing::warn!(error = %err, "cannot tell whether the claim's holder runs");
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
