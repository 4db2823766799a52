//! The AWS adapters of [`InstanceTags`], [`PrincipalTags`] and [`Claims`].
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
use responder_core::finding::Tag;
use responder_core::TaskError;

use crate::claim::{Claim, ClaimOutcome, Claims};
use crate::{InstanceTags, Principal, PrincipalTags, Scope};

/// The IAM actions of every AWS call this task makes. The deploy template's least-privilege
/// test compares the task's role against this list, so keep it exact. `dynamodb:PutItem` is
/// called in the security account only (the claims table), never through the member role.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:PutItem",
    "ec2:DescribeInstances",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetUserPolicy",
    "iam:ListRoleTags",
    "iam:ListUserTags",
    "sts:AssumeRole",
];

/// Reads targets in the finding's account and region with the SDK.
#[derive(Debug)]
pub struct AwsTargets {
    ec2: Clients<aws_sdk_ec2::Client>,
    iam: Clients<aws_sdk_iam::Client>,
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
        let sessions = Arc::new(sessions);
        AwsTargets {
            ec2: Clients::new(Arc::clone(&sessions), ec2),
            iam: Clients::new(sessions, iam),
        }
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

#[async_trait]
impl InstanceTags for AwsTargets {
    async fn instance_tags(
        &self,
        scope: Scope<'_>,
        instance_id: &str,
    ) -> Result<Option<Vec<Tag>>, TaskError> {
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
        Ok(Some(
            instance
                .tags()
                .iter()
                .filter_map(|t| {
                    Some(Tag {
                        key: t.key()?.to_string(),
                        value: t.value().unwrap_or_default().to_string(),
                    })
                })
                .collect(),
        ))
    }
}

#[async_trait]
impl PrincipalTags for AwsTargets {
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

    async fn has_inline_policy(
        &self,
        scope: Scope<'_>,
        principal: Principal<'_>,
        policy_name: &str,
    ) -> Result<bool, TaskError> {
        let iam = self.iam_client(scope).await?;
        let found = match principal {
            Principal::User(name) => iam
                .get_user_policy()
                .user_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| absent(e, "iam:GetUserPolicy")),
            Principal::Role(name) => iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map(|_| ())
                .or_else(|e| absent(e, "iam:GetRolePolicy")),
        };
        found.map(|()| true).or_else(|e| match e {
            Absent::NoSuchEntity => Ok(false),
            Absent::Error(e) => Err(e),
        })
    }
}

enum Absent {
    NoSuchEntity,
    Error(TaskError),
}

/// `NoSuchEntity` on a policy read means "no such policy"; anything else is an error.
fn absent<E, R>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    what: &str,
) -> Result<(), Absent>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if error_code(&err) == Some("NoSuchEntity") {
        Err(Absent::NoSuchEntity)
    } else {
        Err(Absent::Error(classify_sdk_error(what, &err)))
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

#[async_trait]
impl Claims for AwsClaims {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, TaskError> {
        let out = self
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
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#e", "execution")
            .expression_attribute_names("#x", "expiresAt")
            .expression_attribute_values(":me", s(&claim.execution))
            .expression_attribute_values(":now", AttributeValue::N(claim.now_epoch().to_string()))
            // The holder comes back with the refusal: no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
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

#[cfg(test)]
mod tests;
