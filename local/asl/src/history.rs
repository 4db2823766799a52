//! Execution history, shaped like the `events` of AWS's `GetExecutionHistory` response.
//!
//! Each [`HistoryEvent`] serializes to the same JSON AWS returns: `timestamp` (epoch seconds),
//! `type`, `id`, `previousEventId` and one `...EventDetails` object.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// `inputDetails` / `outputDetails`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct DataDetails {
    /// Whether the data was truncated (never, here).
    pub truncated: bool,
}

/// `executionStartedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStarted {
    /// Execution input (JSON text).
    pub input: String,
    /// Always not truncated.
    pub input_details: DataDetails,
    /// Execution role.
    pub role_arn: String,
}

/// `executionSucceededEventDetails`, `stateExitedEventDetails`-like data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Output (JSON text).
    pub output: String,
    /// Always not truncated.
    pub output_details: DataDetails,
}

/// Error and cause, as in `executionFailedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    /// Error name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// `stateEnteredEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateEntered {
    /// State name.
    pub name: String,
    /// State input (JSON text).
    pub input: String,
    /// Always not truncated.
    pub input_details: DataDetails,
}

/// `stateExitedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateExited {
    /// State name.
    pub name: String,
    /// State output (JSON text).
    pub output: String,
    /// Always not truncated.
    pub output_details: DataDetails,
}

/// `taskScheduledEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskScheduled {
    /// Service, e.g. `lambda`.
    pub resource_type: String,
    /// Action, e.g. `invoke`.
    pub resource: String,
    /// Region.
    pub region: String,
    /// The effective parameters (JSON text).
    pub parameters: String,
    /// `TimeoutSeconds`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_seconds: Option<u64>,
    /// `HeartbeatSeconds`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_in_seconds: Option<u64>,
}

/// `taskStartedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRef {
    /// Service.
    pub resource_type: String,
    /// Action.
    pub resource: String,
}

/// `taskSucceededEventDetails`, `taskSubmittedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutput {
    /// Service.
    pub resource_type: String,
    /// Action.
    pub resource: String,
    /// Output (JSON text).
    pub output: String,
    /// Always not truncated.
    pub output_details: DataDetails,
}

/// `taskFailedEventDetails`, `taskTimedOutEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskError {
    /// Service.
    pub resource_type: String,
    /// Action.
    pub resource: String,
    /// Error name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// `lambdaFunctionScheduledEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaScheduled {
    /// Function ARN.
    pub resource: String,
    /// Payload (JSON text).
    pub input: String,
    /// Always not truncated.
    pub input_details: DataDetails,
    /// `TimeoutSeconds`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_seconds: Option<u64>,
}

/// `mapStateStartedEventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapStarted {
    /// Number of items.
    pub length: usize,
}

/// `mapIteration...EventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapIteration {
    /// The Map state's name.
    pub name: String,
    /// Iteration index.
    pub index: usize,
}

/// The details object of an event; it serializes as `{"<kind>EventDetails": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::enum_variant_names)]
pub enum EventDetails {
    /// ExecutionStarted.
    ExecutionStartedEventDetails(ExecutionStarted),
    /// ExecutionSucceeded.
    ExecutionSucceededEventDetails(Output),
    /// ExecutionFailed.
    ExecutionFailedEventDetails(ErrorCause),
    /// ExecutionAborted.
    ExecutionAbortedEventDetails(ErrorCause),
    /// ExecutionTimedOut.
    ExecutionTimedOutEventDetails(ErrorCause),
    /// `*StateEntered`.
    StateEnteredEventDetails(StateEntered),
    /// `*StateExited`.
    StateExitedEventDetails(StateExited),
    /// TaskScheduled.
    TaskScheduledEventDetails(TaskScheduled),
    /// TaskStarted.
    TaskStartedEventDetails(TaskRef),
    /// TaskSubmitted.
    TaskSubmittedEventDetails(TaskOutput),
    /// TaskSucceeded.
    TaskSucceededEventDetails(TaskOutput),
    /// TaskFailed.
    TaskFailedEventDetails(TaskError),
    /// TaskTimedOut.
    TaskTimedOutEventDetails(TaskError),
    /// LambdaFunctionScheduled.
    LambdaFunctionScheduledEventDetails(LambdaScheduled),
    /// LambdaFunctionSucceeded.
    LambdaFunctionSucceededEventDetails(Output),
    /// LambdaFunctionFailed.
    LambdaFunctionFailedEventDetails(ErrorCause),
    /// LambdaFunctionTimedOut.
    LambdaFunctionTimedOutEventDetails(ErrorCause),
    /// MapStateStarted.
    MapStateStartedEventDetails(MapStarted),
    /// MapIterationStarted.
    MapIterationStartedEventDetails(MapIteration),
    /// MapIterationSucceeded.
    MapIterationSucceededEventDetails(MapIteration),
    /// MapIterationFailed.
    MapIterationFailedEventDetails(MapIteration),
    /// MapIterationAborted.
    MapIterationAbortedEventDetails(MapIteration),
}

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// When it happened (serialized as epoch seconds, like the AWS JSON protocol).
    #[serde(serialize_with = "epoch_seconds")]
    pub timestamp: DateTime<Utc>,
    /// Event type, e.g. `PassStateEntered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Sequential id, from 1.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// The details object.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<EventDetails>,
}

fn epoch_seconds<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let v = t.timestamp_millis() as f64 / 1000.0;
    s.serialize_f64(v)
}

/// Splits a Task resource ARN into AWS's `resourceType` and `resource` (e.g.
/// `arn:aws:states:::lambda:invoke` gives `lambda` and `invoke`; a suffix such as `.sync` or
/// `.waitForTaskToken` stays on the resource).
pub fn split_resource(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() >= 6 && parts[2] == "states" {
        let rest = parts[5];
        // `lambda:invoke`, `aws-sdk:s3:getObject`, `activity:name`
        if let Some(r) = rest.strip_prefix("aws-sdk:") {
            if let Some((svc, action)) = r.split_once(':') {
                return (svc.to_string(), action.to_string());
            }
        }
        if let Some((svc, action)) = rest.split_once(':') {
            return (svc.to_string(), action.to_string());
        }
        return (rest.to_string(), String::new());
    }
    if parts.len() >= 3 {
        return (parts[2].to_string(), "invoke".to_string());
    }
    (String::new(), arn.to_string())
}

/// Whether a resource ARN names a Lambda function directly (not through `states:::lambda`).
pub fn is_lambda_function_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function"
}
