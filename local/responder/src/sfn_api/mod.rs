//! A local Step Functions endpoint speaking AWS's JSON protocol (`awsJson1_0`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), over the ASL interpreter's engine.
//!
//! `aws stepfunctions --endpoint-url ...` and `aws-sdk-sfn` work against it: the approval
//! callback uses this same SDK path locally as it does in AWS. Each operation answers as the
//! Step Functions API reference documents it: the model's constraints are checked first
//! (`shape.rs`), then the ARNs (`arn.rs`), then the engine answers; errors carry AWS's codes
//! (`error.rs`) and lists are paged (`page.rs`). Timestamps are epoch seconds with milliseconds.

mod arn;
mod error;
mod ops;
mod page;
mod shape;

use std::sync::Arc;

use asl::{Engine, TaskHandler};
use serde_json::{json, Value};

pub use error::{ApiError, Namespace};

/// The operations served.
pub const OPERATIONS: &[&str] = &[
    "ListStateMachines",
    "DescribeStateMachine",
    "StartExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
];

/// Serves one API call: `target` is the `X-Amz-Target` header, `body` the JSON request.
pub fn call(
    engine: &Engine,
    handler: &Arc<dyn TaskHandler>,
    target: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let op = target
        .strip_prefix("AWSStepFunctions.")
        .filter(|op| OPERATIONS.contains(op))
        .ok_or_else(|| {
            ApiError::protocol(
                "UnknownOperationException",
                format!(
                    "operation {target:?} is not served locally; served: {}",
                    OPERATIONS.join(", ")
                ),
            )
        })?;
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::protocol(
                "SerializationException",
                format!("request is not JSON: {e}"),
            )
        })?
    };
    if !req.is_object() {
        return Err(ApiError::protocol(
            "SerializationException",
            "the request body is not a JSON object",
        ));
    }
    shape::validate(shape::members(op), &req)?;
    let r = ops::Request { req: &req };
    match op {
        "ListStateMachines" => ops::list_state_machines(engine, r),
        "DescribeStateMachine" => ops::describe_state_machine(engine, r),
        "StartExecution" => ops::start_execution(engine, handler, r),
        "DescribeExecution" => ops::describe_execution(engine, r),
        "ListExecutions" => ops::list_executions(engine, r),
        "GetExecutionHistory" => ops::get_execution_history(engine, r),
        "StopExecution" => ops::stop_execution(engine, r),
        "SendTaskSuccess" => ops::send_task_success(engine, r),
        "SendTaskFailure" => ops::send_task_failure(engine, r),
        _ => ops::send_task_heartbeat(engine, r),
    }
}

/// Epoch seconds with milliseconds, as the JSON protocol sends timestamps.
pub(crate) fn epoch(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}
