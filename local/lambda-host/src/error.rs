//! What can go wrong: errors of the host itself ([`HostError`], like the Lambda
//! `Invoke` API's exceptions) and errors of a function run ([`FunctionError`],
//! like an `Invoke` response with `FunctionError: Unhandled`).

use std::path::PathBuf;

use serde_json::{json, Value};

/// The host could not run the invocation at all (the Lambda `Invoke` API would
/// answer with an exception, not a function error).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No function of that name is registered (`ResourceNotFoundException`).
    #[error("Function not found: {0}")]
    FunctionNotFound(String),
    /// The function or the host is at its concurrency limit (`TooManyRequestsException`).
    #[error("Rate Exceeded: {function} is at its concurrency limit of {limit}")]
    TooManyRequests {
        /// The function invoked.
        function: String,
        /// The limit that was hit.
        limit: usize,
    },
    /// The request payload is larger than Lambda accepts (`RequestTooLargeException`).
    #[error("request payload of {size} bytes exceeds the limit of {limit} bytes")]
    RequestTooLarge {
        /// Size of the serialized payload.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The function configuration is not one Lambda would accept (`InvalidParameterValueException`).
    #[error("invalid configuration of function {function}: {reason}")]
    InvalidConfig {
        /// The function registered.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// The executable could not be started, or the Runtime API could not listen.
    #[error("could not start function {function} ({}): {source}", executable.display())]
    Spawn {
        /// The function invoked.
        function: String,
        /// Its executable.
        executable: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// [`crate::LambdaHost::shutdown`] was called; no more invocations are run.
    #[error("the Lambda host is shutting down")]
    ShuttingDown,
}

impl HostError {
    /// The name of the Lambda `Invoke` API exception this error stands for, so a
    /// caller emulating Step Functions can build `Lambda.<Exception>` error names.
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            HostError::FunctionNotFound(_) => "ResourceNotFoundException",
            HostError::TooManyRequests { .. } => "TooManyRequestsException",
            HostError::RequestTooLarge { .. } => "RequestTooLargeException",
            HostError::InvalidConfig { .. } => "InvalidParameterValueException",
            HostError::Spawn { .. } | HostError::ShuttingDown => "ServiceException",
        }
    }
}

/// How a function run failed. The `error_type` string already tells them apart;
/// this is the same fact as an enum, for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The runtime reported the error through `/invocation/{id}/error`
    /// (a handler error; `error_type` is whatever the function named it).
    Function,
    /// The invocation ran past the function's timeout; the process was killed
    /// (`Sandbox.Timedout`).
    Timeout,
    /// The process exited during the invocation (`Runtime.ExitError`).
    Crash,
    /// Initialization failed: the runtime posted `/init/error`, or the process
    /// exited or hung before asking for its first event.
    Init,
    /// The process used more memory than the function's memory size
    /// (`Runtime.OutOfMemory`); it was killed.
    OutOfMemory,
    /// The response was larger than Lambda accepts (`Function.ResponseSizeTooLarge`).
    ResponseTooLarge,
}

/// A failed function run, as Lambda reports it in the `Invoke` response payload
/// (`{"errorType", "errorMessage", "stackTrace"}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    /// `errorType`: e.g. `Remediation.Throttled`, `Sandbox.Timedout`, `Runtime.ExitError`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace`, when the runtime sent one.
    pub stack_trace: Vec<String>,
    /// Which way the run failed.
    pub kind: ErrorKind,
}

impl FunctionError {
    pub(crate) fn new(kind: ErrorKind, error_type: &str, error_message: String) -> Self {
        FunctionError {
            error_type: error_type.to_owned(),
            error_message,
            stack_trace: Vec::new(),
            kind,
        }
    }

    /// The error as the JSON payload Lambda's `Invoke` returns for it (what
    /// Step Functions reads as the error `Cause`).
    pub fn to_payload(&self) -> Value {
        let mut payload = json!({
            "errorType": self.error_type,
            "errorMessage": self.error_message,
        });
        if !self.stack_trace.is_empty() {
            payload["stackTrace"] = json!(self.stack_trace);
        }
        payload
    }

    /// Parses an error body a runtime posted to `/invocation/{id}/error` or
    /// `/init/error`. The `Lambda-Runtime-Function-Error-Type` header is the
    /// fallback for the error type when the body has none (runtimes send
    /// `unhandled` there and the real type in the body).
    pub(crate) fn from_runtime_body(kind: ErrorKind, header: Option<&str>, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let header = header.filter(|h| !h.is_empty() && !h.eq_ignore_ascii_case("unhandled"));
        let error_type = field("errorType")
            .or_else(|| header.map(str::to_owned))
            .unwrap_or_else(|| "Unhandled".to_owned());
        let error_message = field("errorMessage").unwrap_or_else(|| {
            if parsed.is_some() {
                String::new()
            } else {
                String::from_utf8_lossy(body).into_owned()
            }
        });
        let stack_trace = match parsed.as_ref().and_then(|v| v.get("stackTrace")) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect(),
            Some(Value::String(s)) => s.lines().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        FunctionError {
            error_type,
            error_message,
            stack_trace,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_error_bodies() {
        let e = FunctionError::from_runtime_body(
            ErrorKind::Function,
            Some("unhandled"),
            br#"{"errorType":"Remediation.Throttled","errorMessage":"slow down","stackTrace":["a","b"]}"#,
        );
        assert_eq!(e.error_type, "Remediation.Throttled");
        assert_eq!(e.error_message, "slow down");
        assert_eq!(e.stack_trace, ["a", "b"]);
        assert_eq!(
            e.to_payload(),
            json!({"errorType":"Remediation.Throttled","errorMessage":"slow down","stackTrace":["a","b"]})
        );

        let e = FunctionError::from_runtime_body(ErrorKind::Init, Some("Runtime.InitError"), b"{}");
        assert_eq!(e.error_type, "Runtime.InitError");

        let e = FunctionError::from_runtime_body(ErrorKind::Function, None, b"not json");
        assert_eq!(e.error_type, "Unhandled");
        assert_eq!(e.error_message, "not json");
        assert_eq!(
            e.to_payload(),
            json!({"errorType":"Unhandled","errorMessage":"not json"})
        );
    }

    #[test]
    fn aws_error_codes() {
        assert_eq!(
            HostError::FunctionNotFound("x".into()).aws_error_code(),
            "ResourceNotFoundException"
        );
        assert_eq!(
            HostError::TooManyRequests {
                function: "x".into(),
                limit: 1
            }
            .aws_error_code(),
            "TooManyRequestsException"
        );
    }
}
