//! An interpreter for the Amazon States Language (ASL), the language of AWS Step Functions.
//!
//! It knows nothing about AWS services: Task states call a [`TaskHandler`] with the resource
//! ARN and the effective input. Everything else behaves like Step Functions: validation with
//! located diagnostics, every state type in JSONPath mode, the data-flow pipeline
//! (`InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`), the context
//! object, variables (`Assign`), the 18 intrinsic functions, JSONata mode (`QueryLanguage:
//! "JSONata"`: `Arguments`, `Output`, `Assign`, `Condition`, `Items`, `$states`, with the
//! evaluator in [`jsonata`]), `Retry`/`Catch`, timeouts and
//! heartbeats, task tokens (`.waitForTaskToken`), execution history in the shape of
//! `GetExecutionHistory`, and many concurrent executions owned by an [`Engine`].
//!
//! Time and randomness are injected: [`VirtualClock`] makes a one-hour Wait finish at once in
//! tests, [`SeededRandom`] makes jitter and UUIDs reproducible.
//!
//! ```
//! use std::sync::Arc;
//! use asl::{Engine, EngineConfig, TaskContext, TaskFailure, TaskHandler, VirtualClock, ExecutionStatus};
//! use serde_json::{json, Value};
//!
//! struct Echo;
//! #[async_trait::async_trait]
//! impl TaskHandler for Echo {
//!     async fn invoke(&self, _resource: &str, input: Value, _ctx: TaskContext) -> Result<Value, TaskFailure> {
//!         Ok(json!({ "echo": input }))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Engine::new(EngineConfig {
//!     clock: Arc::new(VirtualClock::new()),
//!     ..EngineConfig::default()
//! });
//! let definition = r#"{
//!   "StartAt": "Wait",
//!   "States": {
//!     "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Call"},
//!     "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}
//!   }
//! }"#;
//! let sm = engine.create_state_machine("demo", definition, "arn:aws:iam::123456789012:role/demo").unwrap();
//! let started = engine.start_execution(&sm.state_machine_arn, Some("run-1"), r#"{"a": 1}"#, Arc::new(Echo)).unwrap();
//! let done = engine.wait_for_execution(&started.execution_arn).await.unwrap();
//! assert_eq!(done.status, ExecutionStatus::Succeeded);
//! assert_eq!(done.output_json(), Some(json!({"echo": {"a": 1}})));
//! # });
//! ```

mod choice;
mod clock;
mod definition;
mod digest;
mod engine;
mod errors;
mod executor;
mod history;
mod intrinsics;
mod jsonata;
mod path;
mod query;
mod rng;
mod template;
mod validate;

pub use clock::{Clock, FastClock, Hold, RealClock, VirtualClock};
pub use definition::StateMachine;
pub use engine::{
    Engine, EngineConfig, EngineError, ExecutionDescription, ExecutionStatus, StartedExecution,
    StateMachineInfo,
};
pub use errors::Failure;
pub use executor::{TaskContext, TaskFailure, TaskHandler, TokenError, MAX_PAYLOAD_BYTES};
pub use history::{EventDetails, HistoryEvent};
pub use rng::{OsRandom, Random, SeededRandom};
pub use validate::{Diagnostic, DiagnosticCode, ValidationError};
