//! A local Step Functions endpoint speaking AWS's JSON protocol (`awsJson1_0`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), over the ASL interpreter's engine.
//!
//! `aws stepfunctions --endpoint-url ...` and `aws-sdk-sfn` work against it: the approval
//! callback uses this same SDK path locally as it does in AWS.

use std::sync::Arc;

use asl::{Engine, EngineError, ExecutionStatus, TaskHandler, TokenError};
use serde_json::{json, Value};

/// An API error: the HTTP status, the AWS error code and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (400 for client errors).
    pub status: u16,
    /// The AWS error code (`__type`).
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The JSON error body AWS sends.
    pub fn body(&self) -> Value {
        json!({ "__type": format!("com.amazonaws.states#{}", self.code), "message": self.message })
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        let code = match e {
            TokenError::InvalidToken => "InvalidToken",
            TokenError::TaskDoesNotExist => "TaskDoesNotExist",
            TokenError::TaskTimedOut => "TaskTimedOut",
            TokenError::InvalidOutput(_) => "InvalidOutput",
        };
        ApiError::new(code, e.to_string())
    }
}

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
    let op = target.strip_prefix("AWSStepFunctions.").ok_or_else(|| {
        ApiError::new(
            "UnknownOperationException",
            format!("unknown target {target:?}"),
        )
    })?;
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "SerializationException",
                format!("request is not JSON: {e}"),
            )
        })?
    };
    let s = |k: &str| req.get(k).and_then(Value::as_str);
    let required = |k: &str| {
        s(k).ok_or_else(|| ApiError::new("ValidationException", format!("1 validation error detected: Value null at '{k}' failed to satisfy constraint: Member must not be null")))
    };
    match op {
        "ListStateMachines" => {
            let machines: Vec<Value> = engine
                .list_state_machines()
                .into_iter()
                .map(|m| {
                    json!({
                        "stateMachineArn": m.state_machine_arn,
                        "name": m.name,
                        "type": m.machine_type,
                        "creationDate": epoch(m.creation_date),
                    })
                })
                .collect();
            Ok(json!({ "stateMachines": machines }))
        }
        "DescribeStateMachine" => {
            let m = engine.describe_state_machine(required("stateMachineArn")?)?;
            Ok(serde_json::to_value(m).unwrap_or_default())
        }
        "StartExecution" => {
            let arn = required("stateMachineArn")?;
            let input = s("input").unwrap_or("{}");
            let started = engine.start_execution(arn, s("name"), input, handler.clone())?;
            Ok(serde_json::to_value(started).unwrap_or_default())
        }
        "DescribeExecution" => {
            let d = engine.describe_execution(required("executionArn")?)?;
            Ok(serde_json::to_value(d).unwrap_or_default())
        }
        "ListExecutions" => {
            let status = match s("statusFilter") {
                None => None,
                Some("RUNNING") => Some(ExecutionStatus::Running),
                Some("SUCCEEDED") => Some(ExecutionStatus::Succeeded),
                Some("FAILED") => Some(ExecutionStatus::Failed),
                Some("TIMED_OUT") => Some(ExecutionStatus::TimedOut),
                Some("ABORTED") => Some(ExecutionStatus::Aborted),
                Some(other) => {
                    return Err(ApiError::new(
                        "ValidationException",
                        format!("statusFilter {other:?} is not a status"),
                    ))
                }
            };
            let list: Vec<Value> = engine
                .list_executions(s("stateMachineArn"), status)
                .into_iter()
                .map(|d| {
                    let mut v = serde_json::to_value(&d).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        for k in ["input", "output", "error", "cause"] {
                            o.remove(k);
                        }
                    }
                    v
                })
                .collect();
            Ok(json!({ "executions": list }))
        }
        "GetExecutionHistory" => {
            let mut events = engine.get_execution_history(required("executionArn")?)?;
            if req.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
                events.reverse();
            }
            // Pages are offsets into the full history, carried as the next token.
            let start: usize = s("nextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let max = req
                .get("maxResults")
                .and_then(Value::as_u64)
                .filter(|m| *m > 0)
                .unwrap_or(1000) as usize;
            let page: Vec<Value> = events
                .iter()
                .skip(start)
                .take(max)
                .map(|e| serde_json::to_value(e).unwrap_or_default())
                .collect();
            let mut out = json!({ "events": page });
            if start + max < events.len() {
                out["nextToken"] = json!((start + max).to_string());
            }
            Ok(out)
        }
        "StopExecution" => {
            let stopped =
                engine.stop_execution(required("executionArn")?, s("error"), s("cause"))?;
            Ok(json!({ "stopDate": epoch(stopped) }))
        }
        "SendTaskSuccess" => {
            engine.send_task_success(required("taskToken")?, required("output")?)?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            engine.send_task_failure(required("taskToken")?, s("error"), s("cause"))?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            engine.send_task_heartbeat(required("taskToken")?)?;
            Ok(json!({}))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!(
                "operation {other} is not served locally; served: {}",
                OPERATIONS.join(", ")
            ),
        )),
    }
}

fn epoch(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}
