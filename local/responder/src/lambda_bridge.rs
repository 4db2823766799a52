//! Task states call Lambda functions: this bridge resolves a state's resource to a function of
//! the local Lambda host and reports results and errors the way Step Functions does.
//!
//! - `arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]` (the optimized form): the
//!   effective input is the payload, the function's output is the result.
//! - `arn:aws:states:::lambda:invoke`: `Parameters` hold `FunctionName` and `Payload`; the
//!   result is Lambda's `Invoke` response (`Payload`, `StatusCode`, `ExecutedVersion`).
//! - `arn:aws:states:::lambda:invoke.waitForTaskToken`: as above; the state then waits for the
//!   token (the interpreter does the waiting).
//!
//! A function error reaches Retry/Catch with the function's `errorType` as the error name and
//! Lambda's error payload (`{"errorType","errorMessage"}`) as the cause, as on AWS; a failure
//! of Lambda itself is `Lambda.<Exception>`.

use std::sync::{Arc, Mutex};

use asl::{TaskContext, TaskFailure, TaskHandler};
use async_trait::async_trait;
use lambda_host::{HostError, LambdaHost, Report};
use serde_json::{json, Value};

/// One task invocation, kept for reports and `responder history`.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    /// The execution.
    pub execution_arn: String,
    /// The Task state.
    pub state_name: String,
    /// The attempt (0 first, then one more per retry).
    pub attempt: u32,
    /// The function.
    pub function: String,
    /// Lambda's REPORT figures.
    pub report: Report,
    /// The error type, when the function failed.
    pub error: Option<String>,
    /// The function's log lines during the invocation.
    pub logs: Vec<String>,
}

/// The bridge. Cheap to share.
pub struct LambdaTasks {
    host: Arc<LambdaHost>,
    records: Mutex<Vec<InvocationRecord>>,
}

impl std::fmt::Debug for LambdaTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaTasks").finish_non_exhaustive()
    }
}

impl LambdaTasks {
    /// A bridge over a host whose functions are registered.
    pub fn new(host: Arc<LambdaHost>) -> Self {
        LambdaTasks {
            host,
            records: Mutex::new(Vec::new()),
        }
    }

    /// The invocations of one execution, in order.
    pub fn invocations(&self, execution_arn: &str) -> Vec<InvocationRecord> {
        self.records
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|i| i.execution_arn == execution_arn)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every invocation so far, in order.
    pub fn all_invocations(&self) -> Vec<InvocationRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The Lambda host.
    pub fn host(&self) -> &Arc<LambdaHost> {
        &self.host
    }
}

/// The function name in a Lambda ARN or a plain name (`name`, `name:alias`, full ARN).
pub fn function_name(reference: &str) -> &str {
    match reference.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => reference.split(':').next().unwrap_or(reference),
    }
}

#[async_trait]
impl TaskHandler for LambdaTasks {
    async fn invoke(
        &self,
        resource: &str,
        input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let (function, payload, wrapped) = if let Some(rest) =
            resource.strip_prefix("arn:aws:states:::lambda:invoke")
        {
            if !(rest.is_empty() || rest == ".waitForTaskToken") {
                return Err(TaskFailure::new(
                    "States.Runtime",
                    format!("resource {resource} is not served by the local runtime"),
                ));
            }
            let name = input
                .get("FunctionName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TaskFailure::new(
                        "States.Runtime",
                        "lambda:invoke needs Parameters.FunctionName",
                    )
                })?
                .to_string();
            let payload = input.get("Payload").cloned().unwrap_or(json!({}));
            (name, payload, rest.is_empty())
        } else if resource.starts_with("arn:aws:lambda:") {
            (function_name(resource).to_string(), input, false)
        } else {
            return Err(TaskFailure::new(
                "States.Runtime",
                format!("resource {resource} is not a Lambda function; the local runtime runs only Lambda tasks"),
            ));
        };
        let function = function_name(&function).to_string();
        let invocation = match self.host.invoke(&function, payload).await {
            Ok(i) => i,
            Err(e) => {
                let code = e.aws_error_code();
                let name = match e {
                    HostError::TooManyRequests { .. } => "Lambda.TooManyRequestsException",
                    HostError::FunctionNotFound(_) => "Lambda.ResourceNotFoundException",
                    _ => "Lambda.ServiceException",
                };
                return Err(TaskFailure::new(
                    name,
                    json!({ "errorType": code, "errorMessage": e.to_string() }).to_string(),
                ));
            }
        };
        if let Ok(mut r) = self.records.lock() {
            r.push(InvocationRecord {
                execution_arn: ctx.execution_arn.clone(),
                state_name: ctx.state_name.clone(),
                attempt: ctx.retry_count,
                function: function.clone(),
                report: invocation.report.clone(),
                error: invocation
                    .result
                    .as_ref()
                    .err()
                    .map(|e| e.error_type.clone()),
                logs: invocation.logs.iter().map(|l| l.line.clone()).collect(),
            });
        }
        match invocation.result {
            Ok(v) if wrapped => Ok(json!({
                "ExecutedVersion": "$LATEST",
                "Payload": v,
                "StatusCode": 200,
            })),
            Ok(v) => Ok(v),
            Err(fe) => Err(TaskFailure::new(
                fe.error_type.clone(),
                fe.to_payload().to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn function_names_from_arns_and_names() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:classify"),
            "classify"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:classify:live"),
            "classify"
        );
        assert_eq!(function_name("notify"), "notify");
        assert_eq!(function_name("notify:live"), "notify");
    }
}
