//! The IAM adapter and the Lambda handler wiring.

use async_trait::async_trait;
use aws_sdk_iam::types::StatusType;
use responder_aws::errors::error_code;
use responder_aws::{classify_sdk_error, Clients};
use responder_core::{names, TaskError, TaskInput};
use serde_json::Value;
use tracing::Instrument;

use crate::{AccessKey, Iam, KeyStatus, Principal, Settings};
use responder_core::denies::parse_returned_document;

/// Exactly the IAM actions of the calls this task makes (the deploy template's least-privilege
/// test compares against this list).
pub const IAM_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "iam:GetRole",
    "iam:ListAttachedUserPolicies",
    "iam:AttachUserPolicy",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
    "iam:GetUserPolicy",
    "iam:PutUserPolicy",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
];

/// [`Iam`] over the AWS SDK.
#[derive(Debug, Clone)]
pub struct IamClient {
    client: aws_sdk_iam::Client,
}

impl IamClient {
    /// Wraps an IAM client.
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        IamClient { client }
    }
}

#[async_trait]
impl Iam for IamClient {
    async fn role_path(&self, role: &str) -> Result<String, TaskError> {
        let out = self
            .client
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(|e| classify_sdk_error("iam:GetRole", &e))?;
        out.role().map(|r| r.path().to_string()).ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_FAILED,
                format!("iam:GetRole returned no role for {role}"),
            )
        })
    }

    async fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, TaskError> {
        // A user has at most two access keys: one page holds them all.
        let out = self
            .client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify_sdk_error("iam:ListAccessKeys", &e))?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|m| {
                Some(AccessKey {
                    access_key_id: m.access_key_id()?.to_string(),
                    status: match m.status() {
                        Some(StatusType::Active) => KeyStatus::Active,
                        Some(StatusType::Inactive) => KeyStatus::Inactive,
                        _ => KeyStatus::Other,
                    },
                })
            })
            .collect())
    }

    async fn deactivate_key(&self, user: &str, access_key_id: &str) -> Result<(), TaskError> {
        self.client
            .update_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(|e| classify_sdk_error("iam:UpdateAccessKey", &e))?;
        Ok(())
    }

    async fn inline_policy(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<Option<Value>, TaskError> {
        // IAM answers NoSuchEntity for a missing policy; the principal itself was read before.
        let text = match principal {
            Principal::User(n) => {
                match self
                    .client
                    .get_user_policy()
                    .user_name(n)
                    .policy_name(name)
                    .send()
                    .await
                {
                    Ok(out) => out.policy_document,
                    Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(None),
                    Err(e) => return Err(classify_sdk_error("iam:GetUserPolicy", &e)),
                }
            }
            Principal::Role(n) => {
                match self
                    .client
                    .get_role_policy()
                    .role_name(n)
                    .policy_name(name)
                    .send()
                    .await
                {
                    Ok(out) => out.policy_document,
                    Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(None),
                    Err(e) => return Err(classify_sdk_error("iam:GetRolePolicy", &e)),
                }
            }
        };
        parse_returned_document(&text).map(Some).ok_or_else(|| {
            TaskError::new(
                names::REMEDIATION_VERIFICATION_FAILED,
                format!(
                    "inline policy {name} on {} is not readable JSON",
                    principal.label()
                ),
            )
        })
    }

    async fn attached_user_policies(&self, user: &str) -> Result<Vec<String>, TaskError> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
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

    async fn attach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), TaskError> {
        self.client
            .attach_user_policy()
            .user_name(user)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_sdk_error("iam:AttachUserPolicy", &e))
    }

    async fn put_inline_policy(
        &self,
        principal: &Principal,
        name: &str,
        document: &str,
    ) -> Result<(), TaskError> {
        match principal {
            Principal::User(n) => self
                .client
                .put_user_policy()
                .user_name(n)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify_sdk_error("iam:PutUserPolicy", &e)),
            Principal::Role(n) => self
                .client
                .put_role_policy()
                .role_name(n)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify_sdk_error("iam:PutRolePolicy", &e)),
        }
    }
}

/// Handles one invocation: parses the document, gets the IAM client of the finding's account
/// (IAM is global; the finding's region is used for the client configuration), runs
/// [`crate::revoke`] and returns the report as JSON. Tests give `clients` a builder of mocked
/// clients.
pub async fn handle(
    payload: Value,
    clients: &Clients<aws_sdk_iam::Client>,
    settings: &Settings,
) -> Result<Value, TaskError> {
    let input = TaskInput::from_value(payload)?;
    let span = input.span(crate::TASK);
    async {
        let iam = IamClient::new(clients.for_finding(&input.finding).await?);
        let report = crate::revoke(&input, &iam, settings, chrono::Utc::now()).await?;
        responder_core::emf::actions(&report, &input.finding.finding_type);
        responder_core::emf::contained(&report, "iam", input.execution_start_time.as_deref());
        tracing::info!(
            changed = report.changed(),
            dry_run = report.dry_run,
            actions = report.actions.len(),
            "revoke finished"
        );
        serde_json::to_value(&report).map_err(|e| {
            TaskError::new(
                names::REMEDIATION_FAILED,
                format!("report not serialisable: {e}"),
            )
        })
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests;
