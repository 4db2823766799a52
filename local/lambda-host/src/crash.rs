//! Crash injection: ending an invocation from outside, as Lambda ends one that runs past its
//! timeout or out of memory, or whose process dies.
//!
//! Two ways in: a [`CrashPlan`] (the nth invocation of a function is killed so many
//! milliseconds in) and [`crate::LambdaHost::crash_running`] (every running invocation of a
//! function is killed now, e.g. when a fault-injecting endpoint sees a chosen call). Either way
//! the process is killed before the invocation returns, the invocation is reported with the
//! error Lambda reports, and the next invocation starts a fresh process.

use std::time::Duration;

use crate::error::{ErrorKind, FunctionError};

/// How an injected crash ends the invocation.
///
/// The error types are Lambda's: `Sandbox.Timedout` for a timeout and `Runtime.ExitError` for a
/// runtime that exited ("Troubleshoot invocation issues in Lambda",
/// <https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts>),
/// `Runtime.OutOfMemory` for a function over its memory size
/// (<https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-execution.html>). Step
/// Functions receives that error type as the Task state's error name. (Its guide still says
/// such unhandled errors reach a state machine as `Lambda.Unknown`,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>;
/// functions on the current runtime interface report the error type above.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// As a timeout: `Sandbox.Timedout`, "Task timed out after N seconds" (the function's
    /// configured timeout, which is what Lambda would say).
    Timeout,
    /// As running out of memory: `Runtime.OutOfMemory`.
    OutOfMemory,
    /// As a process that was killed: `Runtime.ExitError`, "signal: killed".
    Exit,
}

/// A crash planned for the nth invocation of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPlan {
    /// Which invocation, counting every invocation of the function since it was registered
    /// from 1 (see [`crate::FunctionStats::invocations`]).
    pub invocation: u64,
    /// How long after the event was handed to the runtime (after any cold start).
    pub after: Duration,
    /// How it ends.
    pub crash: Crash,
}

impl Crash {
    /// The error Lambda reports for an invocation ended this way.
    pub(crate) fn error(self, request_id: &str, timeout: Duration) -> FunctionError {
        match self {
            Crash::Timeout => FunctionError::new(
                ErrorKind::Timeout,
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                ),
            ),
            Crash::OutOfMemory => FunctionError::new(
                ErrorKind::OutOfMemory,
                "Runtime.OutOfMemory",
                format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            ),
            Crash::Exit => FunctionError::new(
                ErrorKind::Crash,
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            ),
        }
    }

    /// The REPORT line's status (`timeout` or `error`).
    pub(crate) fn status(self) -> &'static str {
        match self {
            Crash::Timeout => "timeout",
            Crash::OutOfMemory | Crash::Exit => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_worded_like_lambdas() {
        let t = Crash::Timeout.error("r-1", Duration::from_secs(120));
        assert_eq!(t.error_type, "Sandbox.Timedout");
        assert_eq!(
            t.error_message,
            "RequestId: r-1 Error: Task timed out after 120.00 seconds"
        );
        assert_eq!(t.kind, ErrorKind::Timeout);
        let e = Crash::Exit.error("r-2", Duration::from_secs(1));
        assert_eq!(e.error_type, "Runtime.ExitError");
        assert_eq!(
            e.error_message,
            "RequestId: r-2 Error: Runtime exited with error: signal: killed"
        );
        assert_eq!(
            Crash::OutOfMemory.error("r", Duration::ZERO).kind,
            ErrorKind::OutOfMemory
        );
        assert_eq!(Crash::Timeout.status(), "timeout");
        assert_eq!(Crash::Exit.status(), "error");
    }
}
