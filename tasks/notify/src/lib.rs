//! The `notify` task: publishes what happened to a finding to an SNS topic.
//!
//! It runs at the end of every path of the state machine, including failures that happen before
//! `classify` produced a finding, so it reads its input leniently: every part of the state
//! document is optional, and a part that does not parse is reported raw instead of failing the
//! notification. The message is JSON for people and tools (finding summary, decision, every
//! action with its outcome and evidence, the execution and its console link, next steps with
//! the rollback), with a short ASCII subject for email and String attributes for subscription
//! filters. A message that would exceed SNS's 256 KiB limit is trimmed, never refused.

pub mod aws;
pub mod fit;
pub mod message;

use std::collections::BTreeMap;

use async_trait::async_trait;
use responder_core::TaskError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use message::{compose, Notification, Settings};

/// The task name.
pub const TASK: &str = "notify";

/// Publishes one message. Errors are already named (`Remediation.Throttled`, `Notify.Failed`).
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes and returns the message id.
    async fn publish(
        &self,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError>;
}

/// What the task returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    /// The SNS message id.
    pub message_id: String,
    /// The subject sent.
    pub subject: String,
    /// The size SNS counts against its limit: body, subject and attributes, in bytes.
    pub bytes: usize,
    /// Whether the body was trimmed to fit.
    pub trimmed: bool,
    /// The outcome notified: the one asked for, except for an attack sequence's plan, whose
    /// items decide it (`partially-contained` when one of them failed). The state machine
    /// routes on it.
    #[serde(default)]
    pub outcome: String,
}

/// The outcomes that change nothing, counted in the `Skipped` metric by outcome.
pub const SKIPPED_OUTCOMES: &[&str] = &[
    "skipped",
    "recorded",
    "approval-rejected",
    "approval-timed-out",
];

/// Composes the notification for a state document and publishes it.
pub async fn notify(
    document: &Value,
    publisher: &dyn Publisher,
    settings: &Settings,
) -> Result<NotifyOutput, TaskError> {
    let n = compose(document, settings);
    let message_id = publisher
        .publish(&n.subject, &n.body, &n.attributes)
        .await?;
    let outcome = n
        .attributes
        .get("outcome")
        .map(String::as_str)
        .unwrap_or("")
        .to_string();
    let outcome = outcome.as_str();
    if SKIPPED_OUTCOMES.contains(&outcome) {
        responder_core::emf::skipped(outcome);
    }
    tracing::info!(
        %message_id,
        bytes = n.bytes,
        trimmed = n.trimmed,
        outcome,
        "notification published"
    );
    Ok(NotifyOutput {
        message_id,
        subject: n.subject,
        bytes: n.bytes,
        trimmed: n.trimmed,
        outcome: outcome.to_string(),
    })
}

#[cfg(test)]
mod tests;
