//! The interpreter: runs one execution of a state machine.
//!
//! This module holds what every state shares: the execution (`Run`), its threads (a branch or
//! an iteration), the per-state context, the state loop (`run_machine`) and the history. The
//! parts by concern:
//! - `jsonpath_states` and `jsonata_states`: the fields around a state in each query language;
//! - `retry`: `Retry` and `Catch`;
//! - `task`: Task states, task tokens waited on, heartbeats; `tokens`: the token registry;
//! - `parallel` and `map`: the branches and the iterations.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clock::{BoxFuture, Clock, Hold};
use crate::definition::{
    Catcher, JsonataFields, Kind, MapSpec, NumberOrPath, PathField, Retrier, State, StateMachine,
    StringOrDynamic, TaskSpec, WaitFor,
};
use crate::errors::{self, error_matches, Failure};
use crate::history::{self, DataDetails, EventDetails, HistoryEvent};
use crate::jsonata::{Host, JsonataValue};
use crate::path::Path;
use crate::query::JsonataTemplate;
use crate::rng::Random;
use crate::template::{EvalError, Scope, Template};

mod jsonata_states;
mod jsonpath_states;
mod map;
mod parallel;
mod retry;
mod task;
mod tokens;

use jsonata_states::*;
use jsonpath_states::*;
use map::*;
use parallel::*;
use retry::*;
use task::*;
pub use tokens::TokenError;
pub(crate) use tokens::TokenRegistry;
use tokens::*;

/// The largest payload a state may produce, in bytes (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// A failed task: an error name and an optional cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// Error name (`States.Timeout` is treated as a task timeout).
    pub error: String,
    /// Cause.
    pub cause: Option<String>,
}

impl TaskFailure {
    /// A failure with an error name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
}

/// What a task handler is told about the call.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The execution ARN.
    pub execution_arn: String,
    /// The Task state's name.
    pub state_name: String,
    /// The task token, for `.waitForTaskToken` resources.
    pub task_token: Option<String>,
    /// How many retries preceded this attempt.
    pub retry_count: u32,
    /// The effective `TimeoutSeconds`, if any.
    pub timeout_seconds: Option<u64>,
    /// The effective `HeartbeatSeconds`, if any.
    pub heartbeat_seconds: Option<u64>,
    /// The context object (`$$`) as the state saw it.
    pub context: Value,
}

/// Runs the work behind Task states. The interpreter knows nothing about AWS services: it
/// passes the resource ARN as written (with any `.sync` / `.waitForTaskToken` suffix) and the
/// effective input, and routes the result or failure through `ResultSelector`, `Retry` and
/// `Catch`.
///
/// For `.waitForTaskToken` resources the returned value is ignored (it is recorded as the
/// `TaskSubmitted` output); the state then waits for the token to come back through
/// [`crate::Engine::send_task_success`] and friends.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Performs the task.
    async fn invoke(
        &self,
        resource: &str,
        input: Value,
        ctx: TaskContext,
    ) -> Result<Value, TaskFailure>;
}

/// A message sent to a task waiting for its token.
#[derive(Debug)]
pub(crate) enum TokenMsg {
    Success(Value),
    Failure(Failure),
    Heartbeat,
}

/// Everything one execution shares across its branches and iterations.
pub(crate) struct Run {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub region: String,
    pub start: DateTime<Utc>,
    pub input: Value,
    pub handler: Arc<dyn TaskHandler>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub history: Mutex<Vec<HistoryEvent>>,
    pub tokens: Arc<TokenRegistry>,
    pub record_history: bool,
}

impl Run {
    pub(crate) fn emit(&self, prev: &mut u64, ty: &str, details: Option<EventDetails>) -> u64 {
        let mut h = lock(&self.history);
        let id = h.len() as u64 + 1;
        if self.record_history || h.is_empty() {
            h.push(HistoryEvent {
                timestamp: self.clock.now(),
                event_type: ty.to_string(),
                id,
                previous_event_id: *prev,
                details,
            });
        } else {
            // Keep ids right without storing the events: push a cheap placeholder.
            h.push(HistoryEvent {
                timestamp: DateTime::<Utc>::MIN_UTC,
                event_type: String::new(),
                id,
                previous_event_id: *prev,
                details: None,
            });
        }
        *prev = id;
        id
    }

    fn context_base(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "Execution".into(),
            json!({
                "Id": self.arn,
                "Input": self.input,
                "StartTime": fmt_time(self.start),
                "Name": self.name,
                "RoleArn": self.role_arn,
                "RedriveCount": 0,
            }),
        );
        m.insert(
            "StateMachine".into(),
            json!({"Id": self.state_machine_arn, "Name": self.state_machine_name}),
        );
        m
    }
}

/// Formats a time the way Step Functions does in the context object.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

type Vars = HashMap<String, Value>;

/// One line of execution: the top level, a Parallel branch or a Map iteration.
pub(crate) struct Branch {
    pub prev: u64,
    pub hold: Hold,
    pub vars: Vars,
}

/// Per-state information for the context object and error messages.
struct StateContext {
    name: String,
    entered_time: DateTime<Utc>,
    entered_id: u64,
    retry_count: u32,
    token: Option<String>,
    is_task: bool,
    map_item: Option<(usize, Value)>,
    /// Whether the last failure was reported by the task itself (a task's own
    /// `States.DataLimitExceeded` can be caught by `States.ALL`).
    task_reported: bool,
}

struct PathScope<'a> {
    input: &'a Value,
    run: &'a Run,
    vars: &'a Vars,
    state_ctx: &'a StateContext,
}

impl Scope for PathScope<'_> {
    fn input(&self) -> &Value {
        self.input
    }

    fn context(&self) -> Value {
        let mut m = self.run.context_base();
        let mut state = Map::new();
        state.insert("Name".into(), Value::String(self.state_ctx.name.clone()));
        state.insert(
            "EnteredTime".into(),
            Value::String(fmt_time(self.state_ctx.entered_time)),
        );
        if self.state_ctx.is_task {
            state.insert("RetryCount".into(), Value::from(self.state_ctx.retry_count));
        }
        m.insert("State".into(), Value::Object(state));
        if let Some(t) = &self.state_ctx.token {
            m.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((i, v)) = &self.state_ctx.map_item {
            m.insert("Map".into(), json!({"Item": {"Index": i, "Value": v}}));
        }
        Value::Object(m)
    }

    fn variable(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    fn random_u64(&self) -> u64 {
        self.run.random.next_u64()
    }
}

fn to_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn runtime(state_ctx: &StateContext, msg: impl AsRef<str>) -> Failure {
    Failure::new(
        errors::RUNTIME,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            state_ctx.name,
            state_ctx.entered_id,
            msg.as_ref()
        ),
    )
}

fn eval_failure(state_ctx: &StateContext, input: &Value, e: EvalError) -> Failure {
    match e {
        EvalError::PathNotFound {
            field: Some(f),
            path,
            ..
        } => runtime(
            state_ctx,
            format!(
                "The JSONPath '{path}' specified for the field '{f}' could not be found in the input '{}'",
                to_json(input)
            ),
        ),
        EvalError::PathNotFound {
            field: None,
            path,
            missing,
        } => runtime(state_ctx, missing.invalid_path_message(&path)),
        EvalError::VariableNotFound { path, name, .. } => runtime(
            state_ctx,
            format!("Invalid path '{path}': the variable '{name}' is not defined"),
        ),
        EvalError::Intrinsic(m) => {
            let f = runtime(state_ctx, m);
            Failure {
                error: Some(errors::INTRINSIC_FAILURE.into()),
                cause: f.cause,
            }
        }
    }
}

/// What evaluating a field of the current state reads: the execution, the branch's variables
/// and the state's context (for `$$`, `$states.context` and the error messages). Every path,
/// template and JSONata expression of a state is evaluated through it.
#[derive(Clone, Copy)]
struct StateView<'a> {
    run: &'a Run,
    vars: &'a Vars,
    state: &'a StateContext,
}

impl<'a> StateView<'a> {
    fn of(run: &'a Run, branch: &'a Branch, state: &'a StateContext) -> Self {
        StateView {
            run,
            vars: &branch.vars,
            state,
        }
    }

    fn scope<'b>(&'b self, input: &'b Value) -> PathScope<'b> {
        PathScope {
            input,
            run: self.run,
            vars: self.vars,
            state_ctx: self.state,
        }
    }

    /// A path against `input` (and `$$`, variables).
    fn resolve(&self, path: &Path, input: &Value) -> Result<Value, Failure> {
        self.scope(input)
            .resolve(path)
            .map_err(|e| eval_failure(self.state, input, e))
    }

    /// `InputPath` or `OutputPath` applied to `v`.
    fn path_field(&self, f: &PathField, v: Value) -> Result<Value, Failure> {
        match f {
            PathField::Default => Ok(v),
            PathField::Null => Ok(Value::Object(Map::new())),
            PathField::Path(p) if p.is_root() => Ok(v),
            PathField::Path(p) => self.resolve(p, &v),
        }
    }

    /// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`).
    fn template(&self, t: &Template, input: &Value) -> Result<Value, Failure> {
        t.eval(&self.scope(input))
            .map_err(|e| eval_failure(self.state, input, e))
    }
}

fn apply_result_path(
    state_ctx: &StateContext,
    f: &PathField,
    raw: Value,
    result: Value,
) -> Result<Value, Failure> {
    match f {
        PathField::Default => Ok(result),
        PathField::Null => Ok(raw),
        PathField::Path(p) if p.is_root() => Ok(result),
        PathField::Path(p) => {
            let mut raw = raw;
            match p.set(&mut raw, result) {
                Ok(()) => Ok(raw),
                Err(m) => Err(Failure::new(
                    errors::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "An error occurred while executing the state '{}' (entered at the event id #{}). {m}",
                        state_ctx.name, state_ctx.entered_id
                    ),
                )),
            }
        }
    }
}

/// The result of running one state: its output and where to go next (`None`: the end).
struct Step {
    output: Value,
    next: Option<String>,
    emit_exit: bool,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Succeeded(Value),
    Failed(Failure),
    TimedOut,
}

/// Runs a whole execution, recording its start and end events.
pub(crate) async fn execute(run: Arc<Run>, sm: Arc<StateMachine>, hold: Hold) -> Outcome {
    let mut prev = 0;
    run.emit(
        &mut prev,
        "ExecutionStarted",
        Some(EventDetails::ExecutionStartedEventDetails(
            history::ExecutionStarted {
                input: to_json(&run.input),
                input_details: DataDetails::default(),
                role_arn: run.role_arn.clone(),
            },
        )),
    );
    let branch = Branch {
        prev,
        hold,
        vars: Vars::new(),
    };
    let fut = run_machine(run.clone(), sm.clone(), run.input.clone(), branch);
    let result = match sm.timeout_seconds {
        Some(t) => {
            let deadline =
                run.start + chrono::Duration::seconds(i64::try_from(t).unwrap_or(i64::MAX / 2000));
            let timer = run.clock.sleep_until(deadline, Hold::none());
            tokio::select! {
                biased;
                r = fut => Some(r),
                _h = timer => None,
            }
        }
        None => Some(fut.await),
    };
    let last = lock(&run.history).len() as u64;
    let mut prev = last;
    let outcome = match result {
        None => {
            run.emit(
                &mut prev,
                "ExecutionTimedOut",
                Some(EventDetails::ExecutionTimedOutEventDetails(
                    history::ErrorCause {
                        error: Some(errors::TIMEOUT.into()),
                        cause: Some("The execution timed out.".into()),
                    },
                )),
            );
            Outcome::TimedOut
        }
        Some((Ok(out), branch)) => {
            let mut p = branch.prev;
            run.emit(
                &mut p,
                "ExecutionSucceeded",
                Some(EventDetails::ExecutionSucceededEventDetails(
                    history::Output {
                        output: to_json(&out),
                        output_details: DataDetails::default(),
                    },
                )),
            );
            Outcome::Succeeded(out)
        }
        Some((Err(mut f), branch)) => {
            if f.cause.as_deref() == Some("") {
                f.cause = None;
            }
            let mut p = branch.prev;
            run.emit(
                &mut p,
                "ExecutionFailed",
                Some(EventDetails::ExecutionFailedEventDetails(
                    history::ErrorCause {
                        error: f.error.clone(),
                        cause: f.cause.clone(),
                    },
                )),
            );
            Outcome::Failed(f)
        }
    };
    run.tokens.finish_execution(&run.arn);
    outcome
}

/// Runs states from `StartAt` until the end or a failure.
pub(crate) fn run_machine(
    run: Arc<Run>,
    sm: Arc<StateMachine>,
    input: Value,
    branch: Branch,
) -> BoxFuture<(Result<Value, Failure>, Branch)> {
    Box::pin(async move {
        let mut branch = branch;
        let mut name = sm.start_at.clone();
        let mut input = input;
        loop {
            let Some(st) = sm.states.get(&name).cloned() else {
                return (
                    Err(Failure::new(
                        errors::RUNTIME,
                        format!("State '{name}' does not exist"),
                    )),
                    branch,
                );
            };
            let ty = st.kind.type_name();
            let entered_id = run.emit(
                &mut branch.prev,
                entered_type(ty),
                Some(EventDetails::StateEnteredEventDetails(
                    history::StateEntered {
                        name: st.name.clone(),
                        input: if run.record_history {
                            to_json(&input)
                        } else {
                            String::new()
                        },
                        input_details: DataDetails::default(),
                    },
                )),
            );
            let mut state_ctx = StateContext {
                name: st.name.clone(),
                entered_time: run.clock.now(),
                entered_id,
                retry_count: 0,
                token: None,
                is_task: matches!(st.kind, Kind::Task(_)),
                map_item: None,
                task_reported: false,
            };
            match run_jsonpath_state(&run, &st, input, &mut branch, &mut state_ctx).await {
                Ok(step) => {
                    let text = to_json(&step.output);
                    if text.len() > MAX_PAYLOAD_BYTES {
                        return (
                            Err(Failure::new(
                                errors::DATA_LIMIT_EXCEEDED,
                                format!(
                                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                                    st.name
                                ),
                            )),
                            branch,
                        );
                    }
                    if step.emit_exit {
                        run.emit(
                            &mut branch.prev,
                            exited_type(ty),
                            Some(EventDetails::StateExitedEventDetails(
                                history::StateExited {
                                    name: st.name.clone(),
                                    output: if run.record_history {
                                        text
                                    } else {
                                        String::new()
                                    },
                                    output_details: DataDetails::default(),
                                },
                            )),
                        );
                    }
                    match step.next {
                        Some(n) => {
                            name = n;
                            input = step.output;
                        }
                        None => return (Ok(step.output), branch),
                    }
                }
                Err(f) => return (Err(f), branch),
            }
        }
    })
}

fn entered_type(ty: &str) -> &'static str {
    match ty {
        "Pass" => "PassStateEntered",
        "Task" => "TaskStateEntered",
        "Choice" => "ChoiceStateEntered",
        "Wait" => "WaitStateEntered",
        "Succeed" => "SucceedStateEntered",
        "Fail" => "FailStateEntered",
        "Parallel" => "ParallelStateEntered",
        _ => "MapStateEntered",
    }
}

fn exited_type(ty: &str) -> &'static str {
    match ty {
        "Pass" => "PassStateExited",
        "Task" => "TaskStateExited",
        "Choice" => "ChoiceStateExited",
        "Wait" => "WaitStateExited",
        "Succeed" => "SucceedStateExited",
        "Fail" => "FailStateExited",
        "Parallel" => "ParallelStateExited",
        _ => "MapStateExited",
    }
}

fn apply_assign(branch: &mut Branch, a: Option<Map<String, Value>>) {
    if let Some(m) = a {
        for (k, v) in m {
            branch.vars.insert(k, v);
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_json(other),
    }
}

fn secs(s: u64) -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(s)
            .unwrap_or(i64::MAX / 2000)
            .min(10_000_000_000),
    )
}
