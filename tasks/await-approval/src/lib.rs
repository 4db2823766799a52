//! `await-approval`: asks an analyst to approve the containment of a MEDIUM finding.
//!
//! The state machine invokes this Lambda with `lambda:invoke.waitForTaskToken`, passing the
//! task token. It publishes one SNS message holding two signed links (approve, reject) that
//! expire when the state's timeout does, and returns. The state machine keeps waiting until
//! `approval-callback` answers the token, or the state times out (`States.Timeout`).
//!
//! Input (the state's `Payload`):
//!
//! ```json
//! {
//!   "taskToken": "<$$.Task.Token>",
//!   "timeoutSeconds": 3600,
//!   "finding": { "...": "the normalized finding" },
//!   "decision": { "...": "the classify decision" },
//!   "execution": "<$$.Execution.Id>"
//! }
//! ```
//!
//! `timeoutSeconds` must equal the state's `TimeoutSeconds(Path)`, from 60 seconds to 7 days.
//! `results` may also be present and is ignored. Output: `{ "messageId": "...",
//! "expiresAt": "2024-05-01T12:00:00Z" }` (Step Functions discards it while it waits).

pub mod aws;
mod message;

use approval_link::{FindingSummary, Intent, Payload, Signer, TaskToken};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use responder_core::{TaskError, TaskInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use message::{build_message, ApprovalMessage, Attribute};

/// The shortest approval window accepted.
pub const MIN_TIMEOUT_SECONDS: u64 = 60;
/// The longest approval window accepted: a week. Longer waits are a policy mistake, and the
/// link would outlive any reasonable incident response.
pub const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// The longest task token Step Functions issues.
pub const MAX_TASK_TOKEN_LEN: usize = 2048;

/// The task's input. `Debug` never shows the task token.
#[derive(Debug, Clone)]
pub struct ApprovalInput {
    /// `$$.Task.Token` of the waiting state.
    pub task_token: TaskToken,
    /// How long the state waits, in seconds; the links expire at the same moment.
    pub timeout_seconds: u64,
    /// The finding, decision and execution, as every task receives them.
    pub document: TaskInput,
}

impl ApprovalInput {
    /// Reads and checks the input, with an `Input.Invalid` error naming what is wrong.
    pub fn from_value(v: Value) -> Result<Self, TaskError> {
        // The two fields of this task are read by hand so that an error names the field; the
        // rest is the shared document, which ignores fields it does not know.
        let task_token = v
            .get("taskToken")
            .and_then(Value::as_str)
            .map(TaskToken::new)
            .ok_or_else(|| TaskError::input("taskToken is missing or not a string"))?;
        let timeout_seconds = v
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .ok_or_else(|| TaskError::input("timeoutSeconds is missing or not a whole number"))?;
        let input = ApprovalInput {
            task_token,
            timeout_seconds,
            document: TaskInput::from_value(v)?,
        };
        let token = input.task_token.expose();
        if token.trim().is_empty() || token.len() > MAX_TASK_TOKEN_LEN {
            return Err(TaskError::input(format!(
                "taskToken must be 1 to {MAX_TASK_TOKEN_LEN} characters; got {}",
                token.len()
            )));
        }
        if !(MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&input.timeout_seconds) {
            return Err(TaskError::input(format!(
                "timeoutSeconds is {}; expected {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}",
                input.timeout_seconds
            )));
        }
        Ok(input)
    }
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalOutput {
    /// The SNS message id.
    pub message_id: String,
    /// When the links stop working (RFC 3339, UTC).
    pub expires_at: String,
}

/// The configuration, read once at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `approval-callback` is served (`APPROVAL_BASE_URL`), without trailing slash.
    pub base_url: String,
    /// Signs the links (`APPROVAL_SECRET`).
    pub signer: Signer,
}

impl Config {
    /// Reads `APPROVAL_BASE_URL` and `APPROVAL_SECRET`, failing with a message naming the
    /// variable at fault.
    pub fn from_env() -> Result<Self, TaskError> {
        let raw = responder_core::lambda::required_env("APPROVAL_BASE_URL")?;
        Ok(Config {
            base_url: approval_link::validate_base_url(&raw)?,
            signer: Signer::from_env()?,
        })
    }
}

/// Publishes the approval request: the one capability this task needs.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes a message and returns its id.
    async fn publish(&self, message: &ApprovalMessage) -> Result<String, TaskError>;
}

/// Signs both links, builds the message and publishes it.
pub async fn request_approval(
    input: &ApprovalInput,
    config: &Config,
    publisher: &dyn Publisher,
    now: DateTime<Utc>,
) -> Result<ApprovalOutput, TaskError> {
    // The bound on `timeout_seconds` keeps this addition far from overflow.
    let expires_at = now.timestamp() + input.timeout_seconds as i64;
    let summary = FindingSummary::from_finding(&input.document.finding).with_plan(
        &message::containment_plan(&input.document.finding, &input.document.decision),
    );
    let link = |intent| -> Result<String, TaskError> {
        let payload = Payload::new(
            input.task_token.clone(),
            summary.clone(),
            expires_at,
            intent,
        )?;
        config.signer.link(&config.base_url, &payload)
    };
    let approve = link(Intent::Approve)?;
    let reject = link(Intent::Reject)?;
    let deadline = DateTime::<Utc>::from_timestamp(expires_at, 0)
        .ok_or_else(|| TaskError::input("the approval deadline is out of range"))?;
    let message = build_message(&input.document, &approve, &reject, deadline, now);
    let message_id = publisher.publish(&message).await?;
    tracing::info!(
        message_id = %message_id,
        token = %input.task_token.fingerprint(),
        expires_at = %deadline.to_rfc3339(),
        "approval requested"
    );
    Ok(ApprovalOutput {
        message_id,
        expires_at: deadline.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

/// The whole invocation: parse, request approval within the finding's span, serialize.
pub async fn handle_event(
    event: Value,
    config: &Config,
    publisher: &dyn Publisher,
) -> Result<ApprovalOutput, TaskError> {
    use tracing::Instrument as _;
    let input = ApprovalInput::from_value(event)?;
    let span = input.document.span("await-approval");
    request_approval(&input, config, publisher, Utc::now())
        .instrument(span)
        .await
}

#[cfg(test)]
mod tests;
