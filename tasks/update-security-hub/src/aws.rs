//! The Security Hub adapter and the Lambda handler wiring.

use async_trait::async_trait;
use aws_config::{Region, SdkConfig};
use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsOutput;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus as SdkWorkflowStatus, WorkflowUpdate,
};
use aws_sdk_securityhub::Client;
use responder_aws::classify_sdk_error;
use responder_aws::errors::error_code;
use responder_core::{names, TaskError};
use serde_json::Value;

use crate::{FindingUpdate, FindingUpdater, Settings, WorkflowStatus, UPDATED_BY};

/// Exactly the IAM actions of the calls this task makes.
pub const IAM_ACTIONS: &[&str] = &["securityhub:BatchUpdateFindings"];

/// Security Hub's own names for "slow down" and "try again": `LimitExceededException` is its
/// throttling answer ("beyond the current account or throttling limits"), and
/// `InternalException` its server error; the shared classification knows neither.
const THROTTLING_CODES: &[&str] = &["LimitExceededException", "TooManyRequestsException"];
const TRANSIENT_CODES: &[&str] = &["InternalException"];

/// `BatchUpdateFindingsUnprocessedFinding.ErrorCode` values a retry can fix
/// (<https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindingsUnprocessedFinding.html>):
/// an update racing another (GuardDuty's own `BatchImportFindings` of the same finding), or a
/// failure inside Security Hub.
const UNPROCESSED_TRANSIENT: &[&str] = &["ConcurrentUpdateError", "InternalFailure"];

/// [`FindingUpdater`] over Security Hub's `BatchUpdateFindings`, in the finding's region.
#[derive(Debug, Clone)]
pub struct SecurityHubUpdater {
    clients: Clients,
}

#[derive(Debug, Clone)]
enum Clients {
    /// A client per call, in the finding's region, from the base configuration (credentials,
    /// endpoint settings, retry settings).
    PerRegion(Box<SdkConfig>),
    /// One client for every region (tests).
    Fixed(Client),
}

impl SecurityHubUpdater {
    /// Calls Security Hub with the task's own credentials, in each finding's region.
    pub fn new(base: SdkConfig) -> Self {
        SecurityHubUpdater {
            clients: Clients::PerRegion(Box::new(base)),
        }
    }

    /// Calls Security Hub through `client` whatever the region (for tests).
    pub fn with_client(client: Client) -> Self {
        SecurityHubUpdater {
            clients: Clients::Fixed(client),
        }
    }

    /// The client for a region: the finding's copy lives in Security Hub in the finding's
    /// region (with cross-region aggregation it is also seen in the aggregation region, and an
    /// update in either shows in both), whichever region the pipeline runs in.
    pub fn client_for(&self, region: &str) -> Client {
        match &self.clients {
            Clients::PerRegion(base) => Client::from_conf(
                aws_sdk_securityhub::config::Builder::from(base.as_ref())
                    .region(Region::new(region.to_string()))
                    .build(),
            ),
            Clients::Fixed(client) => client.clone(),
        }
    }
}

#[async_trait]
impl FindingUpdater for SecurityHubUpdater {
    async fn update(&self, u: &FindingUpdate) -> Result<(), TaskError> {
        let identifier = AwsSecurityFindingIdentifier::builder()
            .id(&u.target.finding_arn)
            .product_arn(&u.target.product_arn)
            .build();
        let note = NoteUpdate::builder()
            .text(&u.note)
            .updated_by(UPDATED_BY)
            .build();
        let mut request = self
            .client_for(&u.target.region)
            .batch_update_findings()
            .finding_identifiers(identifier)
            .note(note);
        if let Some(status) = u.status {
            let status = match status {
                WorkflowStatus::Notified => SdkWorkflowStatus::Notified,
                WorkflowStatus::Resolved => SdkWorkflowStatus::Resolved,
            };
            request = request.workflow(WorkflowUpdate::builder().status(status).build());
        }
        let out = request.send().await.map_err(|e| {
            let classified = classify_sdk_error("securityhub:BatchUpdateFindings", &e);
            let code = error_code(&e);
            let name = if classified.name == names::REMEDIATION_THROTTLED
                || code.is_some_and(|c| THROTTLING_CODES.contains(&c))
            {
                names::REMEDIATION_THROTTLED
            } else if classified.name == names::REMEDIATION_TRANSIENT
                || code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
            {
                names::REMEDIATION_TRANSIENT
            } else {
                names::SECURITY_HUB_UPDATE_FAILED
            };
            let hint = match (code, e.raw_response()) {
                (Some("InvalidAccessException"), _) => " (is Security Hub enabled in this account and region? Without it, set SECURITY_HUB_UPDATES=false)".to_string(),
                // An answer without an AWS error code: not Security Hub (an emulator without
                // the operation, a proxy); the status is all there is to go on.
                (None, Some(raw)) => format!(" (HTTP {} without an AWS error code)", raw.status().as_u16()),
                _ => String::new(),
            };
            TaskError::new(name, format!("{}{hint}", classified.message))
        })?;
        processed(&out, &u.target.finding_arn)
    }
}

/// Reads the answer: a 200 can still leave the finding unprocessed, with a per-finding code.
fn processed(out: &BatchUpdateFindingsOutput, finding_arn: &str) -> Result<(), TaskError> {
    if let Some(u) = out.unprocessed_findings().first() {
        let code = u.error_code().unwrap_or("Unknown");
        let message = format!(
            "securityhub:BatchUpdateFindings left {finding_arn} unprocessed: {code}: {}",
            u.error_message().unwrap_or("")
        );
        let name = if code == "FindingNotFound" {
            // GuardDuty sends a new finding to Security Hub on its own, usually within five
            // minutes (GuardDuty user guide, "Latency for sending findings"), and the pipeline
            // can be faster than that; the state machine waits and tries again.
            names::SECURITY_HUB_FINDING_NOT_FOUND
        } else if UNPROCESSED_TRANSIENT.contains(&code) {
            names::REMEDIATION_TRANSIENT
        } else {
            names::SECURITY_HUB_UPDATE_FAILED
        };
        return Err(TaskError::new(name, message).with_aws_code(code));
    }
    if !out
        .processed_findings()
        .iter()
        .any(|p| p.id() == Some(finding_arn))
    {
        return Err(TaskError::new(
            names::SECURITY_HUB_UPDATE_FAILED,
            format!("securityhub:BatchUpdateFindings did not report {finding_arn} as processed"),
        ));
    }
    Ok(())
}

/// Handles one invocation: `{outcome, execution, state}` in, the task report out.
pub async fn handle(
    payload: &Value,
    updater: &dyn FindingUpdater,
    settings: &Settings,
) -> Result<Value, TaskError> {
    let report = crate::update(payload, updater, settings).await?;
    serde_json::to_value(&report).map_err(|e| {
        TaskError::new(
            names::SECURITY_HUB_UPDATE_FAILED,
            format!("report not serialisable: {e}"),
        )
    })
}

#[cfg(test)]
mod tests;
