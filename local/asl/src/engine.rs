//! Many state machines and executions at once, addressed by ARN, with task tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use tokio::sync::watch;

use crate::clock::{Clock, RealClock};
use crate::definition::StateMachine;
use crate::errors::Failure;
use crate::executor::{self, Outcome, Run, TaskHandler, TokenError, TokenMsg, TokenRegistry};
use crate::history::{self, EventDetails, HistoryEvent};
use crate::rng::{OsRandom, Random};
use crate::validate::ValidationError;

/// Engine settings: time, randomness and the names used in ARNs.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Where randomness comes from (jitter, `States.UUID`, tokens, execution names).
    pub random: Arc<dyn Random>,
    /// Region used in ARNs and `taskScheduledEventDetails.region`.
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// Whether to keep full history events (turn off for throughput measurements; event ids
    /// are still counted).
    pub record_history: bool,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("clock", &self.clock)
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .finish()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            clock: Arc::new(RealClock),
            random: Arc::new(OsRandom::new()),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            record_history: true,
        }
    }
}

/// Errors of the engine's API, named after the Step Functions API errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// `InvalidDefinition`.
    #[error("{0}")]
    InvalidDefinition(ValidationError),
    /// `StateMachineDoesNotExist`.
    #[error("StateMachineDoesNotExist: State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    /// `StateMachineAlreadyExists`.
    #[error("StateMachineAlreadyExists: State Machine Already Exists: '{0}'")]
    StateMachineAlreadyExists(String),
    /// `ExecutionDoesNotExist`.
    #[error("ExecutionDoesNotExist: Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    /// `ExecutionAlreadyExists`.
    #[error("ExecutionAlreadyExists: Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
    /// `InvalidExecutionInput`.
    #[error("InvalidExecutionInput: {0}")]
    InvalidExecutionInput(String),
    /// `InvalidName`.
    #[error("InvalidName: {0}")]
    InvalidName(String),
    /// `InvalidArn`.
    #[error("InvalidArn: {0}")]
    InvalidArn(String),
}

impl EngineError {
    /// The AWS error code, e.g. `ExecutionDoesNotExist`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidDefinition(_) => "InvalidDefinition",
            EngineError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            EngineError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            EngineError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            EngineError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            EngineError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            EngineError::InvalidName(_) => "InvalidName",
            EngineError::InvalidArn(_) => "InvalidArn",
        }
    }
}

/// Execution status, as in `DescribeExecution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran past the machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped by `stop_execution`.
    Aborted,
}

impl ExecutionStatus {
    /// The AWS spelling, e.g. `TIMED_OUT`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Every status, in the API reference's order.
    pub const ALL: [ExecutionStatus; 5] = [
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
    ];

    /// The status an AWS spelling names (`None` for any other text).
    pub fn from_name(name: &str) -> Option<ExecutionStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

fn epoch<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.timestamp_millis() as f64 / 1000.0)
}

fn epoch_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => epoch(t, s),
        None => s.serialize_none(),
    }
}

/// A registered state machine, as in `DescribeStateMachine`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineInfo {
    /// ARN.
    pub state_machine_arn: String,
    /// Name.
    pub name: String,
    /// Definition text.
    pub definition: String,
    /// Role ARN.
    pub role_arn: String,
    /// Creation time.
    #[serde(serialize_with = "epoch")]
    pub creation_date: DateTime<Utc>,
    /// `STANDARD`.
    #[serde(rename = "type")]
    pub machine_type: String,
    /// `ACTIVE`.
    pub status: String,
}

/// An execution, as in `DescribeExecution`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    /// ARN.
    pub execution_arn: String,
    /// Its state machine.
    pub state_machine_arn: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: ExecutionStatus,
    /// Start time.
    #[serde(serialize_with = "epoch")]
    pub start_date: DateTime<Utc>,
    /// Stop time, once finished.
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
    /// Input (JSON text).
    pub input: String,
    /// Output (JSON text), when succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Error, when failed, timed out or aborted with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Cause, when failed, timed out or aborted with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl ExecutionDescription {
    /// The output parsed as JSON.
    pub fn output_json(&self) -> Option<Value> {
        self.output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
    }
}

/// The answer to `start_execution`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedExecution {
    /// ARN of the new execution.
    pub execution_arn: String,
    /// Its start time.
    #[serde(serialize_with = "epoch")]
    pub start_date: DateTime<Utc>,
}

struct MachineRecord {
    info: StateMachineInfo,
    model: Arc<StateMachine>,
}

struct ExecState {
    status: ExecutionStatus,
    stop_date: Option<DateTime<Utc>>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

struct ExecRecord {
    run: Arc<Run>,
    /// The input exactly as given, which a repeated `StartExecution` is compared with.
    input_text: String,
    state: Mutex<ExecState>,
    done: watch::Sender<bool>,
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

/// Marks an execution as finished when its task ends in any way.
struct DoneGuard(Arc<ExecRecord>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        {
            let mut st = lock(&self.0.state);
            if st.status == ExecutionStatus::Running {
                st.status = ExecutionStatus::Failed;
                st.stop_date = Some(self.0.run.clock.now());
                st.error = Some(crate::errors::RUNTIME.into());
                st.cause = Some("The execution ended unexpectedly (internal error).".into());
            }
        }
        self.0.tokens_done();
        self.0.done.send_replace(true);
    }
}

impl ExecRecord {
    fn tokens_done(&self) {
        self.run.tokens.finish_execution(&self.run.arn);
    }
}

struct Inner {
    cfg: EngineConfig,
    machines: RwLock<HashMap<String, Arc<MachineRecord>>>,
    executions: RwLock<HashMap<String, Arc<ExecRecord>>>,
    order: Mutex<Vec<String>>,
    tokens: Arc<TokenRegistry>,
}

/// Owns state machines and their executions. Cheap to clone (clones share everything).
///
/// Executions run as tokio tasks: create the engine inside a tokio runtime.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.cfg)
            .finish()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `name` is a valid state machine or execution name: 1 to 80 characters, none of
/// which is white space, a bracket, a wildcard, one of the listed special characters, a control
/// character or a noncharacter. This is the rule of the `name` member of `StartExecution` and
/// `CreateStateMachine` in the Step Functions API reference: a name such as `run.1` or `café`
/// is valid, although CloudWatch Logs prefers `[0-9A-Za-z_-]`.
fn valid_name(name: &str) -> bool {
    let forbidden = |c: char| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            || matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' | '\u{10ffff}')
    };
    !name.is_empty() && name.chars().count() <= 80 && !name.chars().any(forbidden)
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(cfg: EngineConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                machines: RwLock::new(HashMap::new()),
                executions: RwLock::new(HashMap::new()),
                order: Mutex::new(Vec::new()),
                tokens: Arc::new(TokenRegistry::default()),
            }),
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.cfg.clock.clone()
    }

    /// Validates a definition without registering it (like `ValidateStateMachineDefinition`).
    pub fn validate_definition(definition: &str) -> Result<(), ValidationError> {
        StateMachine::parse(definition).map(|_| ())
    }

    /// Registers a state machine (like `CreateStateMachine`). Refuses invalid definitions.
    /// Creating the same name with the same definition again returns the existing machine.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
        role_arn: &str,
    ) -> Result<StateMachineInfo, EngineError> {
        if !valid_name(name) {
            return Err(EngineError::InvalidName(format!("Invalid Name: '{name}'")));
        }
        let model = StateMachine::parse(definition).map_err(EngineError::InvalidDefinition)?;
        let arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.inner.cfg.region, self.inner.cfg.account_id
        );
        let mut machines = write(&self.inner.machines);
        if let Some(existing) = machines.get(&arn) {
            if existing.info.definition == definition && existing.info.role_arn == role_arn {
                return Ok(existing.info.clone());
            }
            return Err(EngineError::StateMachineAlreadyExists(arn));
        }
        let info = StateMachineInfo {
            state_machine_arn: arn.clone(),
            name: name.to_string(),
            definition: definition.to_string(),
            role_arn: role_arn.to_string(),
            creation_date: self.inner.cfg.clock.now(),
            machine_type: "STANDARD".into(),
            status: "ACTIVE".into(),
        };
        machines.insert(
            arn,
            Arc::new(MachineRecord {
                info: info.clone(),
                model: Arc::new(model),
            }),
        );
        Ok(info)
    }

    /// Replaces a machine's definition (like `UpdateStateMachine`); running executions keep
    /// the definition they started with.
    pub fn update_state_machine(
        &self,
        arn: &str,
        definition: &str,
    ) -> Result<StateMachineInfo, EngineError> {
        let model = StateMachine::parse(definition).map_err(EngineError::InvalidDefinition)?;
        let mut machines = write(&self.inner.machines);
        let old = machines
            .get(arn)
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))?;
        let mut info = old.info.clone();
        info.definition = definition.to_string();
        machines.insert(
            arn.to_string(),
            Arc::new(MachineRecord {
                info: info.clone(),
                model: Arc::new(model),
            }),
        );
        Ok(info)
    }

    /// Removes a machine (like `DeleteStateMachine`).
    pub fn delete_state_machine(&self, arn: &str) -> Result<(), EngineError> {
        write(&self.inner.machines)
            .remove(arn)
            .map(|_| ())
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))
    }

    /// Describes a machine.
    pub fn describe_state_machine(&self, arn: &str) -> Result<StateMachineInfo, EngineError> {
        read(&self.inner.machines)
            .get(arn)
            .map(|m| m.info.clone())
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))
    }

    /// Lists machines, sorted by name.
    pub fn list_state_machines(&self) -> Vec<StateMachineInfo> {
        let mut v: Vec<StateMachineInfo> = read(&self.inner.machines)
            .values()
            .map(|m| m.info.clone())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Starts an execution (like `StartExecution`). `name` defaults to a random UUID;
    /// `input` is JSON text (AWS's default is `{}`). Task states call `handler`. Starting a
    /// name again with the same input while it runs returns the running execution.
    pub fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: &str,
        handler: Arc<dyn TaskHandler>,
    ) -> Result<StartedExecution, EngineError> {
        let machine = read(&self.inner.machines)
            .get(state_machine_arn)
            .cloned()
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(state_machine_arn.to_string()))?;
        let input_value: Value = serde_json::from_str(input).map_err(|e| {
            EngineError::InvalidExecutionInput(format!(
                "Invalid State Machine Execution Input: '{e}'"
            ))
        })?;
        if input.len() > executor::MAX_PAYLOAD_BYTES {
            return Err(EngineError::InvalidExecutionInput(
                "The input exceeds the maximum size of 262144 bytes".into(),
            ));
        }
        let cfg = &self.inner.cfg;
        let name = match name {
            Some(n) if valid_name(n) => n.to_string(),
            Some(n) => return Err(EngineError::InvalidName(format!("Invalid Name: '{n}'"))),
            None => crate::rng::uuid_v4(cfg.random.next_u64(), cfg.random.next_u64()),
        };
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            cfg.region, cfg.account_id, machine.info.name
        );
        let start = cfg.clock.now();
        let run = Arc::new(Run {
            arn: arn.clone(),
            name,
            state_machine_arn: machine.info.state_machine_arn.clone(),
            state_machine_name: machine.info.name.clone(),
            role_arn: machine.info.role_arn.clone(),
            region: cfg.region.clone(),
            start,
            input: input_value,
            handler,
            clock: cfg.clock.clone(),
            random: cfg.random.clone(),
            history: Mutex::new(Vec::new()),
            tokens: self.inner.tokens.clone(),
            record_history: cfg.record_history,
        });
        let (done, _) = watch::channel(false);
        let rec = Arc::new(ExecRecord {
            run: run.clone(),
            input_text: input.to_string(),
            state: Mutex::new(ExecState {
                status: ExecutionStatus::Running,
                stop_date: None,
                output: None,
                error: None,
                cause: None,
            }),
            done,
            abort: Mutex::new(None),
        });
        {
            let mut execs = write(&self.inner.executions);
            if let Some(existing) = execs.get(&arn) {
                // StartExecution is idempotent for STANDARD workflows: the same name and input
                // as a running execution answers with that execution; another input, or an
                // execution that has closed, is refused (API reference, StartExecution).
                let running = lock(&existing.state).status == ExecutionStatus::Running;
                if running && existing.input_text == input {
                    return Ok(StartedExecution {
                        execution_arn: arn,
                        start_date: existing.run.start,
                    });
                }
                return Err(EngineError::ExecutionAlreadyExists(arn));
            }
            execs.insert(arn.clone(), rec.clone());
        }
        lock(&self.inner.order).push(arn.clone());
        // Hold the clock until the task has started, so virtual time cannot jump past the
        // start of a freshly created execution.
        let starting = cfg.clock.hold();
        let model = machine.model.clone();
        let rec2 = rec.clone();
        let handle = tokio::spawn(async move {
            // Whatever happens to this task (end, abort, panic), waiters are released.
            let _done = DoneGuard(rec2.clone());
            let outcome = executor::execute(run.clone(), model, starting).await;
            let now = run.clock.now();
            let mut st = lock(&rec2.state);
            if st.status == ExecutionStatus::Running {
                st.stop_date = Some(now);
                match outcome {
                    Outcome::Succeeded(v) => {
                        st.status = ExecutionStatus::Succeeded;
                        st.output = Some(serde_json::to_string(&v).unwrap_or_default());
                    }
                    Outcome::Failed(f) => {
                        st.status = ExecutionStatus::Failed;
                        st.error = f.error;
                        st.cause = f.cause;
                    }
                    Outcome::TimedOut => {
                        st.status = ExecutionStatus::TimedOut;
                        st.error = Some(crate::errors::TIMEOUT.into());
                        st.cause = Some("The execution timed out.".into());
                    }
                }
            }
            drop(st);
        });
        *lock(&rec.abort) = Some(handle.abort_handle());
        if lock(&rec.state).status == ExecutionStatus::Aborted {
            handle.abort();
        }
        Ok(StartedExecution {
            execution_arn: arn,
            start_date: start,
        })
    }

    /// Registers `definition` under a fresh name, runs it with `input` and waits for the end.
    /// A shortcut for tests and tools.
    pub async fn run_definition(
        &self,
        definition: &str,
        input: &str,
        handler: Arc<dyn TaskHandler>,
    ) -> Result<ExecutionDescription, EngineError> {
        let cfg = &self.inner.cfg;
        let name = format!("sm-{:016x}", cfg.random.next_u64());
        let sm = self.create_state_machine(
            &name,
            definition,
            &format!("arn:aws:iam::{}:role/asl", cfg.account_id),
        )?;
        let started = self.start_execution(&sm.state_machine_arn, None, input, handler)?;
        self.wait_for_execution(&started.execution_arn).await
    }

    fn record(&self, arn: &str) -> Result<Arc<ExecRecord>, EngineError> {
        read(&self.inner.executions)
            .get(arn)
            .cloned()
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))
    }

    fn describe(rec: &ExecRecord) -> ExecutionDescription {
        let st = lock(&rec.state);
        ExecutionDescription {
            execution_arn: rec.run.arn.clone(),
            state_machine_arn: rec.run.state_machine_arn.clone(),
            name: rec.run.name.clone(),
            status: st.status,
            start_date: rec.run.start,
            stop_date: st.stop_date,
            input: serde_json::to_string(&rec.run.input).unwrap_or_default(),
            output: st.output.clone(),
            error: st.error.clone(),
            cause: st.cause.clone(),
        }
    }

    /// Describes an execution (like `DescribeExecution`).
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        let rec = self.record(arn)?;
        Ok(Self::describe(&rec))
    }

    /// Lists executions, newest first, optionally of one machine and/or one status.
    pub fn list_executions(
        &self,
        state_machine_arn: Option<&str>,
        status: Option<ExecutionStatus>,
    ) -> Vec<ExecutionDescription> {
        let order = lock(&self.inner.order).clone();
        let execs = read(&self.inner.executions);
        order
            .iter()
            .rev()
            .filter_map(|a| execs.get(a))
            .filter(|r| state_machine_arn.is_none_or(|s| r.run.state_machine_arn == s))
            .map(|r| Self::describe(r))
            .filter(|d| status.is_none_or(|s| d.status == s))
            .collect()
    }

    /// The execution's history events so far (like `GetExecutionHistory`, oldest first).
    pub fn get_execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, EngineError> {
        let rec = self.record(arn)?;
        let h = lock(&rec.run.history).clone();
        Ok(h)
    }

    /// Waits until the execution is no longer running and describes it.
    pub async fn wait_for_execution(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        let rec = self.record(arn)?;
        let mut rx = rec.done.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        Ok(Self::describe(&rec))
    }

    /// Stops a running execution (like `StopExecution`): it ends `ABORTED` with an
    /// `ExecutionAborted` event. Returns the stop date. Stopping a finished execution changes
    /// nothing and returns its stop date.
    pub fn stop_execution(
        &self,
        arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<DateTime<Utc>, EngineError> {
        let rec = self.record(arn)?;
        let now = self.inner.cfg.clock.now();
        {
            let mut st = lock(&rec.state);
            if st.status != ExecutionStatus::Running {
                return Ok(st.stop_date.unwrap_or(now));
            }
            st.status = ExecutionStatus::Aborted;
            st.stop_date = Some(now);
            st.error = error.map(String::from);
            st.cause = cause.map(String::from);
        }
        if let Some(h) = lock(&rec.abort).take() {
            h.abort();
        }
        let mut prev = lock(&rec.run.history).len() as u64;
        rec.run.emit(
            &mut prev,
            "ExecutionAborted",
            Some(EventDetails::ExecutionAbortedEventDetails(
                history::ErrorCause {
                    error: error.map(String::from),
                    cause: cause.map(String::from),
                },
            )),
        );
        self.inner.tokens.finish_execution(arn);
        rec.done.send_replace(true);
        Ok(now)
    }

    /// Completes a `.waitForTaskToken` task with an output (JSON text), like `SendTaskSuccess`.
    pub fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), TokenError> {
        let v: Value = serde_json::from_str(output)
            .map_err(|e| TokenError::InvalidOutput(format!("Invalid output: {e}")))?;
        let hold = self.inner.cfg.clock.hold();
        self.inner
            .tokens
            .send(task_token, TokenMsg::Success(v), hold)
    }

    /// Fails a `.waitForTaskToken` task, like `SendTaskFailure`.
    pub fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), TokenError> {
        let hold = self.inner.cfg.clock.hold();
        let f = Failure {
            error: error.map(String::from),
            cause: cause.map(String::from),
        };
        self.inner
            .tokens
            .send(task_token, TokenMsg::Failure(f), hold)
    }

    /// Records a heartbeat for a `.waitForTaskToken` task, like `SendTaskHeartbeat`.
    pub fn send_task_heartbeat(&self, task_token: &str) -> Result<(), TokenError> {
        let hold = self.inner.cfg.clock.hold();
        self.inner
            .tokens
            .send(task_token, TokenMsg::Heartbeat, hold)
    }
}
