//! The interpreter: runs one execution of a state machine.

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
use crate::jsonata::{Host, Val};
use crate::path::Path;
use crate::query::JValue;
use crate::rng::Random;
use crate::template::{EvalError, Scope, Template};

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

struct TokenEntry {
    tx: mpsc::UnboundedSender<(TokenMsg, Hold)>,
    execution: String,
}

/// Live and finished task tokens.
#[derive(Default)]
pub(crate) struct TokenRegistry {
    live: Mutex<HashMap<String, TokenEntry>>,
    finished: Mutex<HashSet<String>>,
}

/// Why a task token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not one this engine could have issued (`InvalidToken`).
    #[error("InvalidToken: Invalid token")]
    InvalidToken,
    /// No task ever had this token (`TaskDoesNotExist`).
    #[error("TaskDoesNotExist: Task does not exist")]
    TaskDoesNotExist,
    /// The task is over: it succeeded, failed, timed out or its execution stopped
    /// (`TaskTimedOut`).
    #[error("TaskTimedOut: Task Timed Out: 'Provided task does not exist anymore'")]
    TaskTimedOut,
    /// The output is not valid JSON (`InvalidOutput`).
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
}

impl TokenError {
    /// The AWS error code (`InvalidToken`, `TaskDoesNotExist`, `TaskTimedOut`, `InvalidOutput`).
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidToken => "InvalidToken",
            TokenError::TaskDoesNotExist => "TaskDoesNotExist",
            TokenError::TaskTimedOut => "TaskTimedOut",
            TokenError::InvalidOutput(_) => "InvalidOutput",
        }
    }
}

const TOKEN_PREFIX: &str = "AQB";
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 64;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenRegistry {
    fn issue(&self, random: &dyn Random) -> String {
        let mut s = String::with_capacity(TOKEN_LEN);
        s.push_str(TOKEN_PREFIX);
        for _ in 0..4 {
            s.push_str(&format!("{:016x}", random.next_u64()));
        }
        s
    }

    fn register(&self, token: &str, execution: &str, tx: mpsc::UnboundedSender<(TokenMsg, Hold)>) {
        lock(&self.live).insert(
            token.to_string(),
            TokenEntry {
                tx,
                execution: execution.to_string(),
            },
        );
    }

    fn finish(&self, token: &str) {
        lock(&self.live).remove(token);
        lock(&self.finished).insert(token.to_string());
    }

    /// Marks every token of an execution as finished.
    pub(crate) fn finish_execution(&self, execution: &str) {
        let mut live = lock(&self.live);
        let gone: Vec<String> = live
            .iter()
            .filter(|(_, e)| e.execution == execution)
            .map(|(k, _)| k.clone())
            .collect();
        let mut fin = lock(&self.finished);
        for t in gone {
            live.remove(&t);
            fin.insert(t);
        }
    }

    pub(crate) fn send(&self, token: &str, msg: TokenMsg, hold: Hold) -> Result<(), TokenError> {
        if token.len() != TOKEN_LEN
            || !token.starts_with(TOKEN_PREFIX)
            || !token[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit())
        {
            return Err(TokenError::InvalidToken);
        }
        let live = lock(&self.live);
        match live.get(token) {
            Some(e) => e.tx.send((msg, hold)).map_err(|_| TokenError::TaskTimedOut),
            None => {
                if lock(&self.finished).contains(token) {
                    Err(TokenError::TaskTimedOut)
                } else {
                    Err(TokenError::TaskDoesNotExist)
                }
            }
        }
    }
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
pub(crate) struct Thread {
    pub prev: u64,
    pub hold: Hold,
    pub vars: Vars,
}

/// Per-state information for the context object and error messages.
struct StateCtx {
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

struct Env<'a> {
    input: &'a Value,
    run: &'a Run,
    vars: &'a Vars,
    sc: &'a StateCtx,
}

impl Scope for Env<'_> {
    fn input(&self) -> &Value {
        self.input
    }

    fn context(&self) -> Value {
        let mut m = self.run.context_base();
        let mut state = Map::new();
        state.insert("Name".into(), Value::String(self.sc.name.clone()));
        state.insert(
            "EnteredTime".into(),
            Value::String(fmt_time(self.sc.entered_time)),
        );
        if self.sc.is_task {
            state.insert("RetryCount".into(), Value::from(self.sc.retry_count));
        }
        m.insert("State".into(), Value::Object(state));
        if let Some(t) = &self.sc.token {
            m.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((i, v)) = &self.sc.map_item {
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

fn runtime(sc: &StateCtx, msg: impl AsRef<str>) -> Failure {
    Failure::new(
        errors::RUNTIME,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            sc.name,
            sc.entered_id,
            msg.as_ref()
        ),
    )
}

fn eval_failure(sc: &StateCtx, input: &Value, e: EvalError) -> Failure {
    match e {
        EvalError::PathNotFound {
            field: Some(f),
            path,
            ..
        } => runtime(
            sc,
            format!(
                "The JSONPath '{path}' specified for the field '{f}' could not be found in the input '{}'",
                to_json(input)
            ),
        ),
        EvalError::PathNotFound {
            field: None,
            path,
            missing,
        } => runtime(sc, missing.invalid_path_message(&path)),
        EvalError::VariableNotFound { path, name, .. } => runtime(
            sc,
            format!("Invalid path '{path}': the variable '{name}' is not defined"),
        ),
        EvalError::Intrinsic(m) => {
            let f = runtime(sc, m);
            Failure {
                error: Some(errors::INTRINSIC_FAILURE.into()),
                cause: f.cause,
            }
        }
    }
}

fn resolve_path(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    path: &Path,
    input: &Value,
) -> Result<Value, Failure> {
    let env = Env {
        input,
        run,
        vars: &th.vars,
        sc,
    };
    env.resolve(path).map_err(|e| eval_failure(sc, input, e))
}

fn apply_path_field(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    f: &PathField,
    v: Value,
) -> Result<Value, Failure> {
    match f {
        PathField::Default => Ok(v),
        PathField::Null => Ok(Value::Object(Map::new())),
        PathField::Path(p) if p.is_root() => Ok(v),
        PathField::Path(p) => resolve_path(run, th, sc, p, &v),
    }
}

fn eval_template(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    t: &Template,
    input: &Value,
) -> Result<Value, Failure> {
    let env = Env {
        input,
        run,
        vars: &th.vars,
        sc,
    };
    t.eval(&env).map_err(|e| eval_failure(sc, input, e))
}

fn apply_result_path(
    sc: &StateCtx,
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
                        sc.name, sc.entered_id
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
    let th = Thread {
        prev,
        hold,
        vars: Vars::new(),
    };
    let fut = run_machine(run.clone(), sm.clone(), run.input.clone(), th);
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
        Some((Ok(out), th)) => {
            let mut p = th.prev;
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
        Some((Err(mut f), th)) => {
            if f.cause.as_deref() == Some("") {
                f.cause = None;
            }
            let mut p = th.prev;
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
    th: Thread,
) -> BoxFuture<(Result<Value, Failure>, Thread)> {
    Box::pin(async move {
        let mut th = th;
        let mut name = sm.start_at.clone();
        let mut input = input;
        loop {
            let Some(st) = sm.states.get(&name).cloned() else {
                return (
                    Err(Failure::new(
                        errors::RUNTIME,
                        format!("State '{name}' does not exist"),
                    )),
                    th,
                );
            };
            let ty = st.kind.type_name();
            let entered_id = run.emit(
                &mut th.prev,
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
            let mut sc = StateCtx {
                name: st.name.clone(),
                entered_time: run.clock.now(),
                entered_id,
                retry_count: 0,
                token: None,
                is_task: matches!(st.kind, Kind::Task(_)),
                map_item: None,
                task_reported: false,
            };
            match exec_state(&run, &st, input, &mut th, &mut sc).await {
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
                            th,
                        );
                    }
                    if step.emit_exit {
                        run.emit(
                            &mut th.prev,
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
                        None => return (Ok(step.output), th),
                    }
                }
                Err(f) => return (Err(f), th),
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

/// Evaluates `Assign` (against `value`, with the variables as they were before the state)
/// and returns the assignments to apply once the state's output is known.
fn eval_assign(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    assign: Option<&Template>,
    value: &Value,
) -> Result<Option<Map<String, Value>>, Failure> {
    let Some(t) = assign else { return Ok(None) };
    match eval_template(run, th, sc, t, value)? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(None),
    }
}

fn apply_assign(th: &mut Thread, a: Option<Map<String, Value>>) {
    if let Some(m) = a {
        for (k, v) in m {
            th.vars.insert(k, v);
        }
    }
}

/// ResultSelector, Assign, ResultPath, OutputPath: the tail of the pipeline.
fn finish(
    run: &Run,
    st: &State,
    th: &mut Thread,
    sc: &StateCtx,
    raw: Value,
    result: Value,
    select: bool,
) -> Result<Step, Failure> {
    let result = match (&st.result_selector, select) {
        (Some(t), true) => eval_template(run, th, sc, t, &result)?,
        _ => result,
    };
    let assign = eval_assign(run, th, sc, st.assign.as_ref(), &result)?;
    let combined = apply_result_path(sc, &st.result_path, raw, result)?;
    let output = apply_path_field(run, th, sc, &st.output_path, combined)?;
    apply_assign(th, assign);
    Ok(Step {
        output,
        next: st.next.clone(),
        emit_exit: true,
    })
}

async fn exec_state(
    run: &Arc<Run>,
    st: &Arc<State>,
    raw: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Step, Failure> {
    if let Some(jf) = &st.jsonata {
        return exec_jsonata(run, st, jf, raw, th, sc).await;
    }
    match &st.kind {
        Kind::Pass { result } => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw.clone())?;
            let res = match (result, &st.parameters) {
                (Some(r), _) => r.clone(),
                (None, Some(p)) => eval_template(run, th, sc, p, &eff)?,
                (None, None) => eff,
            };
            finish(run, st, th, sc, raw, res, false)
        }
        Kind::Succeed => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            Ok(Step {
                output,
                next: None,
                emit_exit: true,
            })
        }
        Kind::Fail { error, cause } => Err(fail_failure(run, th, sc, error, cause, &raw)?),
        Kind::Choice { rules, default } => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let mut chosen: Option<(&String, Option<&Template>)> = None;
            {
                let env = Env {
                    input: &eff,
                    run,
                    vars: &th.vars,
                    sc,
                };
                for r in rules {
                    let hit = r
                        .condition
                        .eval(&env)
                        .map_err(|e| match e {
                            EvalError::PathNotFound { path, .. } => runtime(
                                sc,
                                format!("Invalid path '{path}': The choice state's condition path references an invalid value."),
                            ),
                            other => eval_failure(sc, &eff, other),
                        })?;
                    if hit {
                        chosen = Some((&r.next, r.assign.as_ref()));
                        break;
                    }
                }
            }
            let (next, assign_t) = match chosen {
                Some(c) => c,
                None => match default {
                    Some(d) => (d, st.assign.as_ref()),
                    None => return Err(no_choice_matched(sc)),
                },
            };
            let assign = eval_assign(run, th, sc, assign_t, &eff)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            apply_assign(th, assign);
            Ok(Step {
                output,
                next: Some(next.clone()),
                emit_exit: true,
            })
        }
        Kind::Wait(w) => {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw)?;
            let now = run.clock.now();
            let deadline = match w {
                WaitFor::Seconds(s) => now + secs(*s),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsExpr(_) | WaitFor::TimestampExpr(_) => now,
                WaitFor::SecondsPath(p) => {
                    let v = resolve_path(run, th, sc, p, &eff)?;
                    match v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)) {
                        Some(n) if n >= 0 => now + secs(n as u64),
                        Some(n) => {
                            return Err(runtime(
                                sc,
                                format!("The SecondsPath parameter references a negative value: {} == {n}", p.text),
                            ))
                        }
                        None => {
                            return Err(runtime(
                                sc,
                                format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                                    p.text,
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::TimestampPath(p) => {
                    let v = resolve_path(run, th, sc, p, &eff)?;
                    match v.as_str().and_then(crate::choice::parse_timestamp) {
                        Some(t) => t.with_timezone(&Utc),
                        None => {
                            return Err(runtime(
                                sc,
                                format!(
                                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                    p.text,
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
            };
            if deadline > now {
                pause_until(run, th, deadline).await;
            }
            let assign = eval_assign(run, th, sc, st.assign.as_ref(), &eff)?;
            let output = apply_path_field(run, th, sc, &st.output_path, eff)?;
            apply_assign(th, assign);
            Ok(Step {
                output,
                next: st.next.clone(),
                emit_exit: true,
            })
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            with_retry(run, st, raw, th, sc).await
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

/// Runs a Task, Parallel or Map state with its `Retry` and `Catch` rules.
async fn with_retry(
    run: &Arc<Run>,
    st: &Arc<State>,
    raw: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Step, Failure> {
    let mut counts = vec![0u32; st.retry.len()];
    loop {
        let attempt = async {
            let eff = apply_path_field(run, th, sc, &st.input_path, raw.clone())?;
            let result = attempt_kind(run, st, eff, th, sc).await?;
            finish(run, st, th, sc, raw.clone(), result, true)
        }
        .await;
        let f = match attempt {
            Ok(step) => return Ok(step),
            Err(f) => f,
        };
        let Some((c, f)) = retry_or_catch(run, st, th, sc, &mut counts, f).await? else {
            continue;
        };
        let err_out = f.to_catch_output();
        let assign = eval_assign(run, th, sc, c.assign.as_ref(), &err_out)?;
        let output = apply_result_path(sc, &c.result_path, raw, err_out)?;
        apply_assign(th, assign);
        return Ok(Step {
            output,
            next: Some(c.next.clone()),
            emit_exit: true,
        });
    }
}

/// Sleeps the thread until `deadline` on the run's clock.
async fn pause_until(run: &Arc<Run>, th: &mut Thread, deadline: DateTime<Utc>) {
    let hold = std::mem::replace(&mut th.hold, Hold::none());
    th.hold = run.clock.sleep_until(deadline, hold).await;
}

/// One attempt of a Task, Parallel or Map state on `input` (its effective input).
async fn attempt_kind(
    run: &Arc<Run>,
    st: &Arc<State>,
    input: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Value, Failure> {
    Ok(match &st.kind {
        Kind::Task(spec) => task_attempt(run, st, spec, input, th, sc).await?,
        Kind::Parallel { branches } => parallel_attempt(run, st, branches, input, th, sc).await?,
        Kind::Map(spec) => map_attempt(run, st, spec, input, th, sc).await?,
        _ => input,
    })
}

/// After a failed attempt: `Ok(None)` once a retrier has waited its delay (attempt again),
/// `Ok(Some((catcher, failure)))` when a catcher takes it, `Err` when the state fails with it.
async fn retry_or_catch<'a>(
    run: &Arc<Run>,
    st: &'a State,
    th: &mut Thread,
    sc: &mut StateCtx,
    counts: &mut [u32],
    f: Failure,
) -> Result<Option<(&'a Catcher, Failure)>, Failure> {
    if f.name() == errors::RUNTIME {
        return Err(f);
    }
    let relaxed = std::mem::take(&mut sc.task_reported);
    if let Some(delay) = retry_delay(&st.retry, counts, &f, run.random.as_ref(), relaxed) {
        pause_until(
            run,
            th,
            run.clock.now() + chrono::Duration::milliseconds(delay),
        )
        .await;
        sc.retry_count += 1;
        return Ok(None);
    }
    match find_catcher(&st.catch, &f, relaxed) {
        Some(c) => Ok(Some((c, f))),
        None => Err(f),
    }
}

/// The failure a Fail state raises, with its `Error` and `Cause` (a literal, a JSONPath
/// template or a JSONata expression; a non-string value is given as JSON text).
fn fail_failure(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    error: &Option<StringOrDynamic>,
    cause: &Option<StringOrDynamic>,
    raw: &Value,
) -> Result<Failure, Failure> {
    let get = |f: &Option<StringOrDynamic>, field: &str| -> Result<Option<String>, Failure> {
        let v = match f {
            None => return Ok(None),
            Some(StringOrDynamic::Value(s)) => return Ok(Some(s.clone())),
            Some(StringOrDynamic::Expr(j)) => q_eval(run, th, sc, j, field, raw, None)?,
            Some(StringOrDynamic::Dynamic(t)) => eval_template(run, th, sc, t, raw)?,
        };
        Ok(Some(value_text(&v)))
    };
    Ok(Failure {
        error: get(error, "Error")?,
        cause: get(cause, "Cause")?,
    })
}

/// No Choice rule matched and there is no `Default`.
fn no_choice_matched(sc: &StateCtx) -> Failure {
    Failure::new(
        errors::NO_CHOICE_MATCHED,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). Failed to transition out of the state. No Choice rule matched and no Default target was specified.",
            sc.name, sc.entered_id
        ),
    )
}

/// The delay before the next attempt, in milliseconds, or `None` when no retrier applies.
fn retry_delay(
    retry: &[Retrier],
    counts: &mut [u32],
    f: &Failure,
    random: &dyn Random,
    relaxed: bool,
) -> Option<i64> {
    for (i, r) in retry.iter().enumerate() {
        if r.error_equals.iter().any(|p| matches_error(p, f, relaxed)) {
            if counts[i] >= r.max_attempts {
                return None;
            }
            let n = counts[i];
            counts[i] += 1;
            let mut delay =
                r.interval_seconds * r.backoff_rate.powi(i32::try_from(n).unwrap_or(i32::MAX));
            if let Some(max) = r.max_delay_seconds {
                delay = delay.min(max);
            }
            if r.jitter_full {
                let frac = (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                delay *= frac;
            }
            return Some((delay * 1000.0).min(1.0e13) as i64);
        }
    }
    None
}

fn find_catcher<'a>(catch: &'a [Catcher], f: &Failure, relaxed: bool) -> Option<&'a Catcher> {
    catch
        .iter()
        .find(|c| c.error_equals.iter().any(|p| matches_error(p, f, relaxed)))
}

/// `error_matches`, except that a task's own `States.DataLimitExceeded` counts as an ordinary
/// task error when `relaxed`.
fn matches_error(pattern: &str, f: &Failure, relaxed: bool) -> bool {
    if relaxed && f.name() == errors::DATA_LIMIT_EXCEEDED && pattern == errors::ALL {
        return true;
    }
    error_matches(pattern, f)
}

fn number_or_path(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    v: &Option<NumberOrPath>,
    input: &Value,
    field: &str,
) -> Result<Option<u64>, Failure> {
    match v {
        None => Ok(None),
        Some(NumberOrPath::Value(n)) => Ok(Some(*n)),
        Some(NumberOrPath::Expr(j)) => {
            let val = q_eval(run, th, sc, j, field, input, None)?;
            match val.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(q_fail(
                    sc,
                    format!(
                        "The {field} field must be a positive integer, but was: {}",
                        to_json(&val)
                    ),
                )),
            }
        }
        Some(NumberOrPath::Path(p)) => {
            let val = resolve_path(run, th, sc, p, input)?;
            match val.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(runtime(
                    sc,
                    format!("The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}", value_text(&val), p.text),
                )),
            }
        }
    }
}

async fn task_attempt(
    run: &Arc<Run>,
    st: &State,
    spec: &TaskSpec,
    eff: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Value, Failure> {
    let timeout = number_or_path(run, th, sc, &spec.timeout, &eff, "TimeoutSeconds")?;
    let heartbeat = number_or_path(run, th, sc, &spec.heartbeat, &eff, "HeartbeatSeconds")?;
    sc.token = if spec.wait_for_token {
        Some(run.tokens.issue(run.random.as_ref()))
    } else {
        None
    };
    let params = match (&st.jsonata, &st.parameters) {
        (Some(jf), _) => match &jf.arguments {
            Some(a) => q_eval(run, th, sc, a, "Arguments", &eff, None)?,
            None => eff.clone(),
        },
        (None, Some(p)) => eval_template(run, th, sc, p, &eff)?,
        (None, None) => eff.clone(),
    };
    let params_text = to_json(&params);
    let lambda_direct = history::is_lambda_function_arn(&spec.resource);
    let (rtype, rname) = history::split_resource(&spec.resource);
    if lambda_direct {
        run.emit(
            &mut th.prev,
            "LambdaFunctionScheduled",
            Some(EventDetails::LambdaFunctionScheduledEventDetails(
                history::LambdaScheduled {
                    resource: spec.resource.clone(),
                    input: params_text,
                    input_details: DataDetails::default(),
                    timeout_in_seconds: timeout,
                },
            )),
        );
        run.emit(&mut th.prev, "LambdaFunctionStarted", None);
    } else {
        run.emit(
            &mut th.prev,
            "TaskScheduled",
            Some(EventDetails::TaskScheduledEventDetails(
                history::TaskScheduled {
                    resource_type: rtype.clone(),
                    resource: rname.clone(),
                    region: run.region.clone(),
                    parameters: params_text,
                    timeout_in_seconds: timeout,
                    heartbeat_in_seconds: heartbeat,
                },
            )),
        );
        run.emit(
            &mut th.prev,
            "TaskStarted",
            Some(EventDetails::TaskStartedEventDetails(history::TaskRef {
                resource_type: rtype.clone(),
                resource: rname.clone(),
            })),
        );
    }
    let ctx = TaskContext {
        execution_arn: run.arn.clone(),
        state_name: st.name.clone(),
        task_token: sc.token.clone(),
        retry_count: sc.retry_count,
        timeout_seconds: timeout,
        heartbeat_seconds: heartbeat,
        context: Env {
            input: &eff,
            run,
            vars: &th.vars,
            sc,
        }
        .context(),
    };
    let started = run.clock.now();
    let outcome = if let Some(token) = sc.token.clone() {
        wait_for_token(
            run, spec, &rtype, &rname, params, ctx, token, timeout, heartbeat, th,
        )
        .await
    } else {
        let call = run.handler.invoke(&spec.resource, params, ctx);
        match timeout {
            Some(t) => {
                let timer = run.clock.sleep_until(started + secs(t), Hold::none());
                tokio::select! {
                    biased;
                    r = call => r.map_err(|e| Failure { error: Some(e.error), cause: e.cause }),
                    _h = timer => Err(Failure::named(errors::TIMEOUT)),
                }
            }
            None => call.await.map_err(|e| Failure {
                error: Some(e.error),
                cause: e.cause,
            }),
        }
    };
    match outcome {
        Ok(v) => {
            let out = to_json(&v);
            if out.len() > MAX_PAYLOAD_BYTES {
                sc.task_reported = true;
                let who = if lambda_direct {
                    spec.resource.clone()
                } else {
                    rtype
                };
                return Err(Failure::new(
                    errors::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
                    ),
                ));
            }
            if lambda_direct {
                run.emit(
                    &mut th.prev,
                    "LambdaFunctionSucceeded",
                    Some(EventDetails::LambdaFunctionSucceededEventDetails(
                        history::Output {
                            output: out,
                            output_details: DataDetails::default(),
                        },
                    )),
                );
            } else {
                run.emit(
                    &mut th.prev,
                    "TaskSucceeded",
                    Some(EventDetails::TaskSucceededEventDetails(
                        history::TaskOutput {
                            resource_type: rtype,
                            resource: rname,
                            output: out,
                            output_details: DataDetails::default(),
                        },
                    )),
                );
            }
            Ok(v)
        }
        Err(mut f) => {
            sc.task_reported = true;
            let timed_out = matches!(f.name(), errors::TIMEOUT | errors::HEARTBEAT_TIMEOUT);
            if timed_out && f.cause.is_none() {
                f.cause = Some(String::new());
            }
            if lambda_direct {
                let ec = history::ErrorCause {
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                };
                if timed_out {
                    run.emit(
                        &mut th.prev,
                        "LambdaFunctionTimedOut",
                        Some(EventDetails::LambdaFunctionTimedOutEventDetails(ec)),
                    );
                } else {
                    run.emit(
                        &mut th.prev,
                        "LambdaFunctionFailed",
                        Some(EventDetails::LambdaFunctionFailedEventDetails(ec)),
                    );
                }
            } else {
                let te = history::TaskError {
                    resource_type: rtype,
                    resource: rname,
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                };
                if timed_out {
                    run.emit(
                        &mut th.prev,
                        "TaskTimedOut",
                        Some(EventDetails::TaskTimedOutEventDetails(te)),
                    );
                } else {
                    run.emit(
                        &mut th.prev,
                        "TaskFailed",
                        Some(EventDetails::TaskFailedEventDetails(te)),
                    );
                }
            }
            Err(f)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn wait_for_token(
    run: &Arc<Run>,
    spec: &TaskSpec,
    rtype: &str,
    rname: &str,
    params: Value,
    ctx: TaskContext,
    token: String,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
    th: &mut Thread,
) -> Result<Value, Failure> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    run.tokens.register(&token, &run.arn, tx);
    let submitted = run.handler.invoke(&spec.resource, params, ctx).await;
    match submitted {
        Ok(v) => {
            run.emit(
                &mut th.prev,
                "TaskSubmitted",
                Some(EventDetails::TaskSubmittedEventDetails(
                    history::TaskOutput {
                        resource_type: rtype.to_string(),
                        resource: rname.to_string(),
                        output: to_json(&v),
                        output_details: DataDetails::default(),
                    },
                )),
            );
        }
        Err(e) => {
            run.tokens.finish(&token);
            return Err(Failure {
                error: Some(e.error),
                cause: e.cause,
            });
        }
    }
    let start = run.clock.now();
    let timeout_at = timeout.map(|t| start + secs(t));
    let mut heartbeat_at = heartbeat.map(|h| start + secs(h));
    let result = loop {
        let deadline = match (timeout_at, heartbeat_at) {
            (Some(a), Some(b)) => Some((a.min(b), b < a)),
            (Some(a), None) => Some((a, false)),
            (None, Some(b)) => Some((b, true)),
            (None, None) => None,
        };
        let hold = std::mem::replace(&mut th.hold, Hold::none());
        let msg = match deadline {
            Some((d, is_hb)) => {
                let timer = run.clock.sleep_until(d, hold);
                tokio::select! {
                    biased;
                    m = rx.recv() => m,
                    h = timer => {
                        th.hold = h;
                        break Err(Failure::named(if is_hb { errors::HEARTBEAT_TIMEOUT } else { errors::TIMEOUT }));
                    }
                }
            }
            None => {
                drop(hold);
                rx.recv().await
            }
        };
        match msg {
            Some((TokenMsg::Success(v), h)) => {
                th.hold = h;
                break Ok(v);
            }
            Some((TokenMsg::Failure(f), h)) => {
                th.hold = h;
                break Err(f);
            }
            Some((TokenMsg::Heartbeat, h)) => {
                th.hold = h;
                if let Some(hb) = heartbeat {
                    heartbeat_at = Some(run.clock.now() + secs(hb));
                }
            }
            None => {
                th.hold = run.clock.hold();
                break Err(Failure::named(errors::TIMEOUT));
            }
        }
    };
    run.tokens.finish(&token);
    result
}

async fn parallel_attempt(
    run: &Arc<Run>,
    st: &State,
    branches: &[Arc<StateMachine>],
    eff: Value,
    th: &mut Thread,
    sc: &StateCtx,
) -> Result<Value, Failure> {
    let input = match (&st.jsonata, &st.parameters) {
        (Some(jf), _) => match &jf.arguments {
            Some(a) => q_eval(run, th, sc, a, "Arguments", &eff, None)?,
            None => eff,
        },
        (None, Some(p)) => eval_template(run, th, sc, p, &eff)?,
        (None, None) => eff,
    };
    let started = run.emit(&mut th.prev, "ParallelStateStarted", None);
    let mut set = JoinSet::new();
    for (i, b) in branches.iter().enumerate() {
        let child = Thread {
            prev: started,
            hold: run.clock.hold(),
            vars: th.vars.clone(),
        };
        let fut = run_machine(run.clone(), b.clone(), input.clone(), child);
        set.spawn(async move {
            let (r, th) = fut.await;
            (i, r, th.hold)
        });
    }
    drop(std::mem::replace(&mut th.hold, Hold::none()));
    let mut results = vec![Value::Null; branches.len()];
    let mut failure = None;
    while let Some(joined) = set.join_next().await {
        // A finished branch hands its hold over, so time cannot move before it is handled.
        match joined {
            Ok((i, Ok(v), hold)) => {
                results[i] = v;
                if set.is_empty() {
                    th.hold = hold;
                }
            }
            Ok((_, Err(f), hold)) => {
                th.hold = hold;
                failure = Some(f);
                break;
            }
            Err(e) => {
                failure = Some(Failure::new(
                    errors::RUNTIME,
                    format!("A branch panicked: {e}"),
                ));
                break;
            }
        }
    }
    set.abort_all();
    // Wait until the cancelled work is really dropped (its timers and holds with it).
    while set.join_next().await.is_some() {}
    if !th.hold.is_tracking() {
        th.hold = run.clock.hold();
    }
    match failure {
        Some(f) => {
            run.emit(&mut th.prev, "ParallelStateFailed", None);
            Err(f)
        }
        None => {
            run.emit(&mut th.prev, "ParallelStateSucceeded", None);
            Ok(Value::Array(results))
        }
    }
}

fn parse_count(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn map_attempt(
    run: &Arc<Run>,
    st: &State,
    spec: &MapSpec,
    eff: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Value, Failure> {
    let items_val = if st.jsonata.is_some() {
        let v = match &spec.items {
            Some(j) => {
                let v = q_eval(run, th, sc, j, "Items", &eff, None)?;
                if !v.is_array() {
                    let text = match j {
                        JValue::Expr(e) => e.text().to_string(),
                        _ => String::new(),
                    };
                    return Err(q_fail(
                        sc,
                        format!(
                            "The JSONata expression '{text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                            json_type(&v),
                            to_json(&v)
                        ),
                    ));
                }
                v
            }
            None => eff.clone(),
        };
        if !v.is_array() {
            return Err(q_fail(
                sc,
                format!("Map state input must be an array but was: {}", to_json(&v)),
            ));
        }
        v
    } else {
        match &spec.items_path {
            PathField::Path(p) if !p.is_root() => resolve_path(run, th, sc, p, &eff)?,
            _ => eff.clone(),
        }
    };
    let Value::Array(items) = items_val else {
        let path = match &spec.items_path {
            PathField::Path(p) => p.text.clone(),
            _ => "$".into(),
        };
        return Err(runtime(
            sc,
            format!("Invalid path '{path}': The Map state's ItemsPath field must reference an array, but the value is: {}", to_json(&items_val)),
        ));
    };
    let max_conc = match &spec.max_concurrency {
        None => 0,
        Some(NumberOrPath::Value(n)) => *n,
        Some(NumberOrPath::Expr(j)) => {
            let v = q_eval(run, th, sc, j, "MaxConcurrency", &eff, None)?;
            match parse_count(&v) {
                Some(n) if n >= 0 => n as u64,
                _ => {
                    return Err(q_fail(
                        sc,
                        format!(
                            "The MaxConcurrency field must be a non-negative integer, but was: {}",
                            to_json(&v)
                        ),
                    ))
                }
            }
        }
        Some(NumberOrPath::Path(p)) => {
            let v = resolve_path(run, th, sc, p, &eff)?;
            match parse_count(&v) {
                Some(n) if n >= 0 => n as u64,
                Some(_) => return Err(runtime(sc, "MaxConcurrency cannot be negative.")),
                None => {
                    return Err(runtime(
                        sc,
                        format!("The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {}", value_text(&v), p.text),
                    ))
                }
            }
        }
    };
    let tolerated_count = {
        let v = match (
            &spec.tolerated_failure_count,
            &spec.tolerated_failure_count_path,
        ) {
            (Some(v), _) => Some((
                jsonata_number_value(run, th, sc, v, "ToleratedFailureCount", &eff)?,
                None,
            )),
            (None, Some(p)) => Some((resolve_path(run, th, sc, p, &eff)?, Some(p))),
            _ => None,
        };
        match v {
            None => 0,
            Some((v, p)) => match parse_count(&v) {
                Some(n) if n >= 0 => n as u64,
                Some(_) => return Err(runtime(sc, "ToleratedFailureCount cannot be negative.")),
                None => {
                    return Err(runtime(
                        sc,
                        format!(
                            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: {}",
                            value_text(&v),
                            p.map(|p| p.text.as_str()).unwrap_or("")
                        ),
                    ))
                }
            },
        }
    };
    let tolerated_pct = {
        let v = match (
            &spec.tolerated_failure_percentage,
            &spec.tolerated_failure_percentage_path,
        ) {
            (Some(v), _) => Some((
                jsonata_number_value(run, th, sc, v, "ToleratedFailurePercentage", &eff)?,
                None,
            )),
            (None, Some(p)) => Some((resolve_path(run, th, sc, p, &eff)?, Some(p))),
            _ => None,
        };
        match v {
            None => 0.0,
            Some((v, p)) => match parse_float(&v) {
                Some(f) if (0.0..=100.0).contains(&f) => f,
                Some(_) => return Err(runtime(sc, "ToleratedFailurePercentage must be between 0 and 100.")),
                None => {
                    return Err(runtime(
                        sc,
                        format!(
                            "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                            value_text(&v),
                            p.map(|p| p.text.as_str()).unwrap_or("")
                        ),
                    ))
                }
            },
        }
    };
    // Item inputs are computed up front: a selector error fails the Map state itself.
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match &spec.item_selector {
            _ if st.jsonata.is_some() => match &spec.jsonata_item_selector {
                Some(j) => {
                    sc.map_item = Some((i, item));
                    let v = q_eval(run, th, sc, j, "ItemSelector", &eff, None);
                    sc.map_item = None;
                    inputs.push(v?);
                }
                None => inputs.push(item),
            },
            Some(t) => {
                sc.map_item = Some((i, item));
                let v = eval_template(run, th, sc, t, &eff);
                sc.map_item = None;
                inputs.push(v?);
            }
            None => inputs.push(item),
        }
    }
    let n = inputs.len();
    let started = run.emit(
        &mut th.prev,
        "MapStateStarted",
        Some(EventDetails::MapStateStartedEventDetails(
            history::MapStarted { length: n },
        )),
    );
    let limit = if max_conc == 0 {
        usize::MAX
    } else {
        max_conc as usize
    };
    let mut results = vec![Value::Null; n];
    let mut failures = 0u64;
    let mut failure: Option<Failure> = None;
    let mut set = JoinSet::new();
    let mut queue = inputs.into_iter().enumerate();
    let parent_hold = std::mem::replace(&mut th.hold, Hold::none());
    let spawn_one =
        |set: &mut JoinSet<(usize, Result<Value, Failure>, Hold)>, i: usize, input: Value| {
            let run2 = run.clone();
            let proc_sm = spec.processor.clone();
            let name = st.name.clone();
            let mut child = Thread {
                prev: started,
                hold: run.clock.hold(),
                vars: th.vars.clone(),
            };
            set.spawn(async move {
                run2.emit(
                    &mut child.prev,
                    "MapIterationStarted",
                    Some(EventDetails::MapIterationStartedEventDetails(
                        history::MapIteration {
                            name: name.clone(),
                            index: i,
                        },
                    )),
                );
                let (r, mut child) = run_machine(run2.clone(), proc_sm, input, child).await;
                let ty = if r.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let details = history::MapIteration { name, index: i };
                let d = if r.is_ok() {
                    EventDetails::MapIterationSucceededEventDetails(details)
                } else {
                    EventDetails::MapIterationFailedEventDetails(details)
                };
                run2.emit(&mut child.prev, ty, Some(d));
                (i, r, child.hold)
            });
        };
    for _ in 0..limit.min(n) {
        if let Some((i, input)) = queue.next() {
            spawn_one(&mut set, i, input);
        }
    }
    drop(parent_hold);
    while let Some(joined) = set.join_next().await {
        // A finished iteration hands its hold over until its result is handled.
        let hold = match joined {
            Ok((i, Ok(v), h)) => {
                results[i] = v;
                h
            }
            Ok((i, Err(f), h)) => {
                failures += 1;
                let pct = if n == 0 {
                    0.0
                } else {
                    failures as f64 * 100.0 / n as f64
                };
                let tolerated =
                    failures <= tolerated_count || (tolerated_pct > 0.0 && pct <= tolerated_pct);
                if tolerated && (tolerated_count > 0 || tolerated_pct > 0.0) {
                    results[i] = f.to_catch_output();
                    h
                } else {
                    failure = Some(f);
                    th.hold = h;
                    break;
                }
            }
            Err(e) => {
                failure = Some(Failure::new(
                    errors::RUNTIME,
                    format!("An iteration panicked: {e}"),
                ));
                break;
            }
        };
        if let Some((i, input)) = queue.next() {
            spawn_one(&mut set, i, input);
        }
        if set.is_empty() {
            th.hold = hold;
        } else {
            drop(hold);
        }
    }
    set.abort_all();
    // Wait until the cancelled work is really dropped (its timers and holds with it).
    while set.join_next().await.is_some() {}
    if !th.hold.is_tracking() {
        th.hold = run.clock.hold();
    }
    match failure {
        Some(f) => {
            run.emit(&mut th.prev, "MapStateFailed", None);
            Err(f)
        }
        None => {
            run.emit(&mut th.prev, "MapStateSucceeded", None);
            Ok(Value::Array(results))
        }
    }
}

/// Time and randomness of a run, for JSONata's `$now`, `$millis`, `$random` and `$uuid`.
struct RunHost<'a>(&'a Run);

impl Host for RunHost<'_> {
    fn random(&self) -> f64 {
        (self.0.random.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn now_millis(&self) -> i64 {
        self.0.clock.now().timestamp_millis()
    }

    fn uuid(&self) -> String {
        crate::rng::uuid_v4(self.0.random.next_u64(), self.0.random.next_u64())
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A `States.QueryEvaluationError` of the current state.
fn q_fail(sc: &StateCtx, msg: impl AsRef<str>) -> Failure {
    Failure::new(
        errors::QUERY_EVALUATION_ERROR,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            sc.name,
            sc.entered_id,
            msg.as_ref()
        ),
    )
}

/// Evaluates a JSONata template with `$states` (`input`, `context`, and `result` or
/// `errorOutput` when given) and the workflow variables.
fn q_eval(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    j: &JValue,
    field: &str,
    input: &Value,
    extra: Option<(&str, &Value)>,
) -> Result<Value, Failure> {
    if let JValue::Literal(v) = j {
        return Ok(v.clone());
    }
    let context = Env {
        input,
        run,
        vars: &th.vars,
        sc,
    }
    .context();
    let mut states = vec![
        ("input".to_string(), Val::from_json(input)),
        ("context".to_string(), Val::from_json(&context)),
    ];
    if let Some((k, v)) = extra {
        states.push((k.to_string(), Val::from_json(v)));
    }
    let mut bindings: Vec<(&str, Val)> = Vec::with_capacity(th.vars.len() + 1);
    for (k, v) in &th.vars {
        bindings.push((k.as_str(), Val::from_json(v)));
    }
    bindings.push(("states", Val::object(states)));
    j.eval(field, &bindings, &RunHost(run))
        .map_err(|e| q_fail(sc, e.message()))
}

/// A Map tolerance given as a number or a JSONata expression.
fn jsonata_number_value(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    v: &Value,
    field: &str,
    input: &Value,
) -> Result<Value, Failure> {
    match v.as_str().and_then(crate::query::expression_text) {
        Some(_) => match JValue::compile(v) {
            Ok(j) => q_eval(run, th, sc, &j, field, input, None),
            Err((_, m)) => Err(q_fail(sc, m)),
        },
        None => Ok(v.clone()),
    }
}

/// Evaluates `Assign` of a JSONata state or catcher into the assignments to apply.
fn q_assign(
    run: &Run,
    th: &Thread,
    sc: &StateCtx,
    assign: Option<&JValue>,
    input: &Value,
    extra: Option<(&str, &Value)>,
) -> Result<Option<Map<String, Value>>, Failure> {
    let Some(a) = assign else { return Ok(None) };
    match q_eval(run, th, sc, a, "Assign", input, extra)? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(None),
    }
}

/// `Output` (or the default) and `Assign` of a JSONata state; the variables change only
/// after both are evaluated.
#[allow(clippy::too_many_arguments)]
fn q_finish(
    run: &Run,
    th: &mut Thread,
    sc: &StateCtx,
    output: Option<&JValue>,
    assign: Option<&JValue>,
    input: &Value,
    default: Value,
    extra: Option<(&str, &Value)>,
) -> Result<Value, Failure> {
    let assigned = q_assign(run, th, sc, assign, input, extra)?;
    let out = match output {
        Some(o) => q_eval(run, th, sc, o, "Output", input, extra)?,
        None => default,
    };
    apply_assign(th, assigned);
    Ok(out)
}

/// Runs a state that uses JSONata.
async fn exec_jsonata(
    run: &Arc<Run>,
    st: &Arc<State>,
    jf: &JsonataFields,
    raw: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Step, Failure> {
    let step = |output: Value, next: Option<String>| Step {
        output,
        next,
        emit_exit: true,
    };
    match &st.kind {
        Kind::Pass { .. } => {
            let out = q_finish(
                run,
                th,
                sc,
                jf.output.as_ref(),
                jf.assign.as_ref(),
                &raw,
                raw.clone(),
                None,
            )?;
            Ok(step(out, st.next.clone()))
        }
        Kind::Succeed => {
            let out = match &jf.output {
                Some(o) => q_eval(run, th, sc, o, "Output", &raw, None)?,
                None => raw,
            };
            Ok(step(out, None))
        }
        Kind::Fail { error, cause } => Err(fail_failure(run, th, sc, error, cause, &raw)?),
        Kind::Choice { rules, default } => {
            for r in rules {
                let Some(jr) = &r.jsonata else { continue };
                let v = q_eval(run, th, sc, &jr.condition, "Condition", &raw, None)?;
                let hit = match v {
                    Value::Bool(b) => b,
                    other => {
                        let text = match &jr.condition {
                            JValue::Expr(e) => e.text().to_string(),
                            _ => String::new(),
                        };
                        return Err(q_fail(
                            sc,
                            format!(
                                "The JSONata expression '{text}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                                json_type(&other),
                                to_json(&other)
                            ),
                        ));
                    }
                };
                if hit {
                    let out = q_finish(
                        run,
                        th,
                        sc,
                        jr.output.as_ref().or(jf.output.as_ref()),
                        jr.assign.as_ref().or(jf.assign.as_ref()),
                        &raw,
                        raw.clone(),
                        None,
                    )?;
                    return Ok(step(out, Some(r.next.clone())));
                }
            }
            match default {
                Some(d) => {
                    let out = q_finish(
                        run,
                        th,
                        sc,
                        jf.output.as_ref(),
                        jf.assign.as_ref(),
                        &raw,
                        raw.clone(),
                        None,
                    )?;
                    Ok(step(out, Some(d.clone())))
                }
                None => Err(no_choice_matched(sc)),
            }
        }
        Kind::Wait(w) => {
            let now = run.clock.now();
            let deadline = match w {
                WaitFor::Seconds(s) => now + secs(*s),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsExpr(j) => {
                    let v = q_eval(run, th, sc, j, "Seconds", &raw, None)?;
                    match v.as_i64() {
                        Some(n) if n >= 0 => now + secs(n as u64),
                        _ => {
                            return Err(q_fail(
                                sc,
                                format!(
                                    "The Seconds field must be a non-negative integer, but was: {}",
                                    to_json(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::TimestampExpr(j) => {
                    let v = q_eval(run, th, sc, j, "Timestamp", &raw, None)?;
                    match v.as_str().and_then(crate::choice::parse_timestamp) {
                        Some(t) => t.with_timezone(&Utc),
                        None => {
                            return Err(q_fail(
                                sc,
                                format!(
                                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                                    value_text(&v)
                                ),
                            ))
                        }
                    }
                }
                WaitFor::SecondsPath(_) | WaitFor::TimestampPath(_) => now,
            };
            if deadline > now {
                pause_until(run, th, deadline).await;
            }
            let out = q_finish(
                run,
                th,
                sc,
                jf.output.as_ref(),
                jf.assign.as_ref(),
                &raw,
                raw.clone(),
                None,
            )?;
            Ok(step(out, st.next.clone()))
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            jsonata_with_retry(run, st, jf, raw, th, sc).await
        }
    }
}

/// Runs a JSONata Task, Parallel or Map state with its `Retry` and `Catch` rules.
async fn jsonata_with_retry(
    run: &Arc<Run>,
    st: &Arc<State>,
    jf: &JsonataFields,
    raw: Value,
    th: &mut Thread,
    sc: &mut StateCtx,
) -> Result<Step, Failure> {
    let mut counts = vec![0u32; st.retry.len()];
    loop {
        let attempt = async {
            let result = attempt_kind(run, st, raw.clone(), th, sc).await?;
            q_finish(
                run,
                th,
                sc,
                jf.output.as_ref(),
                jf.assign.as_ref(),
                &raw,
                result.clone(),
                Some(("result", &result)),
            )
        }
        .await;
        let f = match attempt {
            Ok(output) => {
                return Ok(Step {
                    output,
                    next: st.next.clone(),
                    emit_exit: true,
                })
            }
            Err(f) => f,
        };
        let Some((c, f)) = retry_or_catch(run, st, th, sc, &mut counts, f).await? else {
            continue;
        };
        let err_out = f.to_catch_output();
        let cj = c.jsonata.clone().unwrap_or_default();
        let output = q_finish(
            run,
            th,
            sc,
            cj.output.as_ref(),
            cj.assign.as_ref(),
            &raw,
            err_out.clone(),
            Some(("errorOutput", &err_out)),
        )?;
        return Ok(Step {
            output,
            next: Some(c.next.clone()),
            emit_exit: true,
        });
    }
}
