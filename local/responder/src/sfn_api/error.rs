//! Errors as Step Functions' JSON protocol sends them: HTTP 400 and a body
//! `{"__type": "<namespace>#<Code>", "message": "..."}`.

use asl::{EngineError, TokenError};
use serde_json::{json, Value};

/// Where an error's `__type` comes from. AWS names an exception of Step Functions itself in the
/// service's model namespace, a request that breaks a constraint of the API model (a missing
/// member, a name too long, `maxResults` over 1000) in its request validator's, and a body it
/// cannot read in its protocol layer's. The SDKs keep only what follows `#`, so the namespace
/// matters only to a client that compares the whole string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `com.amazonaws.swf.service.v2.model`: the service's own exceptions.
    Service,
    /// `com.amazon.coral.validate`: constraint violations (`ValidationException`).
    Validation,
    /// `com.amazon.coral.service`: unreadable bodies and unknown operations.
    Protocol,
}

impl Namespace {
    fn prefix(self) -> &'static str {
        match self {
            Namespace::Service => "com.amazonaws.swf.service.v2.model",
            Namespace::Validation => "com.amazon.coral.validate",
            Namespace::Protocol => "com.amazon.coral.service",
        }
    }
}

/// An API error: the HTTP status, the AWS error code and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (400 for every error Step Functions reports).
    pub status: u16,
    /// The AWS error code, e.g. `ExecutionDoesNotExist`.
    pub code: String,
    /// The message.
    pub message: String,
    /// Where the code's `__type` comes from.
    pub namespace: Namespace,
}

impl ApiError {
    /// An exception of the service, e.g. `StateMachineDoesNotExist`.
    pub fn service(code: &str, message: impl Into<String>) -> Self {
        Self::new(Namespace::Service, code, message)
    }

    /// A `ValidationException` for requests that break the API model's constraints.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(Namespace::Validation, "ValidationException", message)
    }

    /// An error of the protocol layer, e.g. `SerializationException`.
    pub fn protocol(code: &str, message: impl Into<String>) -> Self {
        Self::new(Namespace::Protocol, code, message)
    }

    /// `InvalidToken` for a page token this endpoint did not issue for the same request.
    pub fn invalid_page_token() -> Self {
        Self::service("InvalidToken", "Invalid Token: 'Invalid token'")
    }

    fn new(namespace: Namespace, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: code.to_string(),
            message: message.into(),
            namespace,
        }
    }

    /// The `__type` of the body, e.g. `com.amazonaws.swf.service.v2.model#InvalidArn`.
    pub fn error_type(&self) -> String {
        format!("{}#{}", self.namespace.prefix(), self.code)
    }

    /// The JSON error body AWS sends.
    pub fn body(&self) -> Value {
        json!({ "__type": self.error_type(), "message": self.message })
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::service(e.code(), without_code(e.to_string(), e.code()))
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::service(e.code(), without_code(e.to_string(), e.code()))
    }
}

/// The engine's texts start with the code ("ExecutionDoesNotExist: Execution Does Not Exist:
/// '...'"); AWS's message is what follows it.
fn without_code(text: String, code: &str) -> String {
    match text.strip_prefix(code).and_then(|t| t.strip_prefix(": ")) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}
