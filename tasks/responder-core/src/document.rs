//! The JSON document the state machine passes from task to task.
//!
//! `classify` turns the EventBridge event into `{ "finding": ..., "decision": ... }`; the state
//! machine adds the execution id and hands the same document to every later task, which add
//! their own results under `results.<task>`. Tasks read only the fields they need.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::Decision;
use crate::error::TaskError;
use crate::finding::Finding;

/// The input every task after `classify` receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    /// The normalized finding.
    pub finding: Finding,
    /// The decision taken by `classify`.
    pub decision: Decision,
    /// The Step Functions execution id (`$$.Execution.Id`), recorded on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// Results of earlier tasks, by task name, for the tasks that report on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    /// How long a MEDIUM finding waits for an analyst (set by the state machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u64>,
    /// When the execution started (`$$.Execution.StartTime`, RFC 3339), for the time to
    /// contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_start_time: Option<String>,
}

impl TaskInput {
    /// Reads a task input document, with a named error that says which field is wrong.
    pub fn from_value(v: Value) -> Result<Self, TaskError> {
        serde_json::from_value(v)
            .map_err(|e| TaskError::input(format!("task input is not a responder document: {e}")))
    }

    /// The EC2 instance the EC2 tasks act on: the finding's instance, or the source instance
    /// of stolen instance credentials.
    pub fn instance_id(&self) -> Option<&str> {
        self.finding
            .instance()
            .map(|i| i.instance_id.as_str())
            .or(self.decision.source_instance.as_deref())
    }

    /// The execution id, or a placeholder naming a run outside Step Functions.
    pub fn execution_name(&self) -> &str {
        self.execution.as_deref().unwrap_or("manual")
    }

    /// A tracing span carrying the finding id and execution, entered for the whole task.
    pub fn span(&self, task: &'static str) -> tracing::Span {
        tracing::info_span!(
            "task",
            task,
            finding_id = %self.finding.id,
            execution = %self.execution_name(),
            account = %self.finding.account_id,
        )
    }
}
