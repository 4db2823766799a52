//! Error names defined by the Amazon States Language, and the failure value that flows
//! through `Retry` and `Catch`.

use serde::{Deserialize, Serialize};

/// Wildcard that matches every error name except [`RUNTIME`] and [`DATA_LIMIT_EXCEEDED`].
pub const ALL: &str = "States.ALL";
/// Wildcard that matches every error name except [`TIMEOUT`] (and the non-retriable errors).
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A runtime error: bad path, bad type... Never caught by `States.ALL`.
pub const RUNTIME: &str = "States.Runtime";
/// A Task ran longer than `TimeoutSeconds`, or the execution ran longer than its own timeout.
pub const TIMEOUT: &str = "States.Timeout";
/// A Task did not send a heartbeat within `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// A payload grew over the 256 KiB limit. Never caught by `States.ALL`.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Choice state matched no rule and has no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// A `ResultPath` could not be applied to the state input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A query (JSONata) evaluation failed.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// An error raised while running a state: an error name and an optional cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Error name, for example `States.Timeout` or a name a task chose.
    pub error: Option<String>,
    /// Human-readable cause.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure with both an error name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// A failure with an error name only.
    pub fn named(error: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            cause: None,
        }
    }

    /// The error name used for matching (`""` when there is none).
    pub fn name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Whether no `Retry` or `Catch` may handle this failure by a wildcard.
    pub fn is_terminal(&self) -> bool {
        matches!(self.name(), RUNTIME | DATA_LIMIT_EXCEEDED)
    }

    /// The JSON object a `Catch` passes on: `{"Error": ..., "Cause": ...}`.
    pub fn to_catch_output(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".into(), e.clone().into());
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), c.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

/// Whether an `ErrorEquals` entry matches an error name, following the wildcard rules:
/// `States.ALL` matches everything but `States.Runtime` and `States.DataLimitExceeded`;
/// `States.TaskFailed` also leaves out `States.Timeout`.
pub fn error_matches(pattern: &str, failure: &Failure) -> bool {
    let name = failure.name();
    if pattern == name {
        // Runtime errors can never be handled, even by name.
        return !(failure.is_terminal() && name == RUNTIME);
    }
    match pattern {
        ALL => !failure.is_terminal(),
        TASK_FAILED => !failure.is_terminal() && name != TIMEOUT && name != ALL,
        _ => false,
    }
}
