//! A local AWS Lambda: runs real `lambda_runtime` function binaries as child
//! processes behind their own Lambda Runtime API, the way Lambda's
//! `provided.al2023` runtime runs a `bootstrap`, without AWS.
//!
//! - Each process gets its own Runtime API listener on 127.0.0.1 (ephemeral port),
//!   passed as `AWS_LAMBDA_RUNTIME_API`, and a cleared environment holding only
//!   what Lambda sets, the host-wide variables, the function's own and `PATH`.
//! - Warm processes are reused; a new one starts when all are busy, up to the
//!   concurrency limits; a process that timed out, crashed or ran out of memory is
//!   killed and replaced on the next invocation.
//! - Each [`Invocation`] carries the result, a [`Report`] (Lambda's `REPORT`
//!   line) and the last log lines; every line also goes to the [`LogSink`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), lambda_host::HostError> {
//! use lambda_host::{FunctionConfig, HostOptions, LambdaHost};
//! let host = LambdaHost::new(HostOptions::default().with_log_sink(|l| println!("{}", l.line)));
//! host.register(FunctionConfig::new("classify", "target/debug/classify"))?;
//! let run = host.invoke("classify", serde_json::json!({"detail": {}})).await?;
//! println!("{:?}\n{}", run.result, run.report);
//! host.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod config;
mod crash;
mod error;
mod ids;
mod logs;
mod report;
mod sandbox;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

pub use config::{
    FunctionConfig, HostOptions, InvokeOptions, MAX_PAYLOAD_BYTES, RESERVED_ENVIRONMENT,
};
pub use crash::{Crash, CrashPlan};
pub use error::{ErrorKind, FunctionError, HostError};
pub use logs::{LogLine, LogSink, LogStream};
pub use report::Report;

use api::{Answer, Event};
use sandbox::{ExitInfo, Injected, RunOutcome, Sandbox};

/// The result of one invocation, as Lambda's `Invoke` would return it plus what
/// Lambda logs about it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function invoked.
    pub function: String,
    /// The request id the runtime saw (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The response payload, or the function error (`FunctionError: Unhandled`).
    /// A response that is not JSON is returned as a JSON string; an empty one as `null`.
    pub result: Result<Value, FunctionError>,
    /// Lambda's `REPORT` figures.
    pub report: Report,
    /// The process that ran it.
    pub pid: u32,
    /// The last [`HostOptions::log_tail_lines`] lines the process wrote during
    /// this invocation (on a cold start, its init lines too).
    pub logs: Vec<LogLine>,
}

/// Counters of one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionStats {
    /// Warm processes waiting for work.
    pub idle: usize,
    /// Processes started so far (cold starts).
    pub processes_started: u64,
    /// Invocations run so far.
    pub invocations: u64,
}

/// The processes of one function.
struct Pool {
    config: FunctionConfig,
    function_arn: String,
    idle: Mutex<Vec<Sandbox>>,
    reserved: Option<Arc<Semaphore>>,
    /// Replaced by a new registration or removed: its processes are not reused.
    retired: AtomicBool,
    processes_started: AtomicU64,
    invocations: AtomicU64,
    /// The invocations running now, by request id, each with the way to crash it.
    running: Mutex<HashMap<String, mpsc::UnboundedSender<Crash>>>,
    /// Crashes planned for coming invocations.
    plans: Mutex<Vec<CrashPlan>>,
}

impl Pool {
    fn idle(&self) -> MutexGuard<'_, Vec<Sandbox>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Crash>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The crash planned for the nth invocation, taken out of the plans.
    fn take_plan(&self, invocation: u64) -> Option<CrashPlan> {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let i = plans.iter().position(|p| p.invocation == invocation)?;
        Some(plans.remove(i))
    }

    /// The most recently used live process, dropping (killing) dead or expired ones.
    fn take_idle(&self, idle_timeout: Option<Duration>) -> Option<Sandbox> {
        let mut idle = self.idle();
        while let Some(sandbox) = idle.pop() {
            let expired = idle_timeout.is_some_and(|t| sandbox.last_used.elapsed() >= t);
            if !expired && !sandbox.has_exited() {
                return Some(sandbox);
            }
        }
        None
    }
}

struct Inner {
    options: HostOptions,
    functions: RwLock<HashMap<String, Arc<Pool>>>,
    account: Arc<Semaphore>,
    shutdown: watch::Sender<bool>,
    /// Exit watches of every process started, to wait for them on shutdown.
    processes: Mutex<Vec<watch::Receiver<Option<ExitInfo>>>>,
}

impl Inner {
    fn pools(&self) -> Vec<Arc<Pool>> {
        self.functions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// A local Lambda service. Cheap to clone; clones share the same processes.
/// Dropping the last clone kills every process.
#[derive(Clone)]
pub struct LambdaHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LambdaHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaHost")
            .field("options", &self.inner.options)
            .field("functions", &self.functions())
            .finish()
    }
}

impl LambdaHost {
    /// A host with no functions yet. When called inside a Tokio runtime and
    /// [`HostOptions::idle_timeout`] is set, a background task stops idle processes
    /// (otherwise they are only dropped when next looked at).
    pub fn new(options: HostOptions) -> Self {
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            account: Arc::new(Semaphore::new(options.account_concurrency)),
            options,
            functions: RwLock::new(HashMap::new()),
            shutdown,
            processes: Mutex::new(Vec::new()),
        });
        if let (Some(timeout), Ok(runtime)) = (
            inner.options.idle_timeout,
            tokio::runtime::Handle::try_current(),
        ) {
            runtime.spawn(reap_idle(Arc::downgrade(&inner), timeout));
        }
        LambdaHost { inner }
    }

    /// Adds a function, or replaces one of the same name (its processes are
    /// stopped once idle). The executable must exist.
    pub fn register(&self, mut config: FunctionConfig) -> Result<(), HostError> {
        config.validate()?;
        // Absolute, because the process runs in its task root.
        config.executable =
            std::fs::canonicalize(&config.executable).map_err(|e| HostError::InvalidConfig {
                function: config.name.clone(),
                reason: format!("executable {}: {e}", config.executable.display()),
            })?;
        let options = &self.inner.options;
        let pool = Arc::new(Pool {
            function_arn: format!(
                "arn:{}:lambda:{}:{}:function:{}",
                options.partition, options.region, options.account_id, config.name
            ),
            reserved: config
                .reserved_concurrency
                .map(|n| Arc::new(Semaphore::new(n))),
            config,
            idle: Mutex::new(Vec::new()),
            retired: AtomicBool::new(false),
            processes_started: AtomicU64::new(0),
            invocations: AtomicU64::new(0),
            running: Mutex::new(HashMap::new()),
            plans: Mutex::new(Vec::new()),
        });
        let old = self
            .inner
            .functions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pool.config.name.clone(), pool);
        if let Some(old) = old {
            retire(&old);
        }
        Ok(())
    }

    /// Removes a function; its processes are stopped once idle.
    pub fn unregister(&self, function: &str) -> Result<(), HostError> {
        let old = self
            .inner
            .functions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(function);
        match old {
            Some(old) => {
                retire(&old);
                Ok(())
            }
            None => Err(HostError::FunctionNotFound(function.to_owned())),
        }
    }

    /// Names of the registered functions, sorted.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .functions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The configuration a function was registered with (executable made absolute).
    pub fn config(&self, function: &str) -> Option<FunctionConfig> {
        self.pool(function).ok().map(|p| p.config.clone())
    }

    /// Counters of a function.
    pub fn stats(&self, function: &str) -> Option<FunctionStats> {
        let pool = self.pool(function).ok()?;
        let idle = pool.idle().len();
        Some(FunctionStats {
            idle,
            processes_started: pool.processes_started.load(Ordering::SeqCst),
            invocations: pool.invocations.load(Ordering::SeqCst),
        })
    }

    /// Plans a crash: the `plan.invocation`th invocation of the function is killed
    /// `plan.after` into its run and reported as Lambda reports that kind of end. An
    /// invocation that answers first is not affected (and the plan is spent).
    pub fn plan_crash(&self, function: &str, plan: CrashPlan) -> Result<(), HostError> {
        let pool = self.pool(function)?;
        pool.plans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(plan);
        Ok(())
    }

    /// Kills every invocation of the function running now, reported as `crash` (its process
    /// is killed before the invocation returns; the next invocation starts a new process).
    /// Returns how many invocations were running. A fault-injecting endpoint calls this when
    /// it sees the call the crash is meant to interrupt.
    pub fn crash_running(&self, function: &str, crash: Crash) -> Result<usize, HostError> {
        let pool = self.pool(function)?;
        let running = pool.running();
        let mut told = 0;
        for sender in running.values() {
            if sender.send(crash).is_ok() {
                told += 1;
            }
        }
        Ok(told)
    }

    fn pool(&self, function: &str) -> Result<Arc<Pool>, HostError> {
        self.inner
            .functions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(function)
            .cloned()
            .ok_or_else(|| HostError::FunctionNotFound(function.to_owned()))
    }

    /// Invokes a function synchronously (`RequestResponse`), like Lambda's `Invoke`.
    ///
    /// A function failure (handler error, timeout, crash, init failure, out of
    /// memory) is `Ok` with `result: Err(FunctionError)`, as Lambda answers
    /// `200` with `FunctionError: Unhandled`; `Err(HostError)` is what Lambda
    /// would answer with an exception (unknown function, throttled, payload too
    /// large, shutting down).
    pub async fn invoke(&self, function: &str, payload: Value) -> Result<Invocation, HostError> {
        self.invoke_with(function, payload, InvokeOptions::default())
            .await
    }

    /// [`LambdaHost::invoke`] with a client context, Cognito identity or trace id.
    pub async fn invoke_with(
        &self,
        function: &str,
        payload: Value,
        invoke: InvokeOptions,
    ) -> Result<Invocation, HostError> {
        let inner = &self.inner;
        let mut shutdown = inner.shutdown.subscribe();
        if *shutdown.borrow() {
            return Err(HostError::ShuttingDown);
        }
        let pool = self.pool(function)?;
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(HostError::RequestTooLarge {
                size: payload.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        let _permits = self.acquire(&pool).await?;
        let nth = pool.invocations.fetch_add(1, Ordering::SeqCst) + 1;
        let request_id = ids::request_id();
        let (crash_tx, mut crashes) = mpsc::unbounded_channel();
        let _running = Running::register(&pool, &request_id, crash_tx);
        let planned = pool.take_plan(nth).map(|p| (p.after, p.crash));
        let config = &pool.config;
        let options = &inner.options;

        let (mut sandbox, init_duration) = match pool.take_idle(options.idle_timeout) {
            Some(sandbox) => (sandbox, None),
            None => {
                let mut sandbox = Sandbox::spawn(config, options).await?;
                pool.processes_started.fetch_add(1, Ordering::SeqCst);
                self.track(&sandbox);
                match sandbox
                    .init(options.init_timeout, &request_id, &mut shutdown)
                    .await
                {
                    Ok(init) => {
                        tracing::debug!(
                            function = %config.name,
                            pid = sandbox.pid,
                            init_ms = init.as_secs_f64() * 1e3,
                            "function process started"
                        );
                        (sandbox, Some(init))
                    }
                    Err((error, init)) => {
                        if *shutdown.borrow() {
                            return Err(HostError::ShuttingDown);
                        }
                        tracing::warn!(
                            function = %config.name,
                            pid = sandbox.pid,
                            error_type = %error.error_type,
                            "function init failed"
                        );
                        sandbox.sample_memory();
                        let mut report = Report::new(
                            request_id.clone(),
                            Some(init),
                            Duration::ZERO,
                            config.memory_mb,
                            sandbox.peak_mb(),
                        );
                        report.status = Some("error");
                        report.error_type = Some(error.error_type.clone());
                        return Ok(Invocation {
                            function: config.name.clone(),
                            request_id,
                            result: Err(error),
                            report,
                            pid: sandbox.pid,
                            logs: sandbox.logs.take_tail(),
                        });
                    }
                }
            }
        };

        let deadline = SystemTime::now() + config.timeout;
        let event = Event {
            request_id: request_id.clone(),
            payload: payload.into(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or_default(),
            function_arn: pool.function_arn.clone(),
            trace_id: invoke.trace_id.unwrap_or_else(ids::trace_id),
            client_context: invoke.client_context,
            cognito_identity: invoke.cognito_identity,
        };
        let (outcome, duration) = sandbox
            .run(
                event,
                config.timeout,
                init_duration.is_some(),
                Injected {
                    crashes: &mut crashes,
                    planned,
                },
                &mut shutdown,
            )
            .await;

        let mut keep = true;
        let mut status = None;
        let result = match outcome {
            RunOutcome::Answered(Answer::Response(body)) => Ok(parse_response(&body)),
            RunOutcome::Answered(Answer::Error(header, body)) => Err(
                FunctionError::from_runtime_body(ErrorKind::Function, header.as_deref(), &body),
            ),
            RunOutcome::Answered(Answer::TooLarge) => Err(FunctionError::new(
                ErrorKind::ResponseTooLarge,
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
                ),
            )),
            RunOutcome::TimedOut => {
                keep = false;
                status = Some("timeout");
                Err(FunctionError::new(
                    ErrorKind::Timeout,
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                        config.timeout.as_secs_f64()
                    ),
                ))
            }
            RunOutcome::Exited(info) => {
                keep = false;
                status = Some("error");
                Err(FunctionError::new(
                    ErrorKind::Crash,
                    "Runtime.ExitError",
                    format!(
                        "RequestId: {request_id} Error: Runtime exited with error: {}",
                        info.describe()
                    ),
                ))
            }
            RunOutcome::Crashed(crash) => {
                keep = false;
                status = Some(crash.status());
                tracing::info!(
                    function = %config.name,
                    pid = sandbox.pid,
                    request_id = %request_id,
                    ?crash,
                    "injected crash: the process was killed"
                );
                Err(crash.error(&request_id, config.timeout))
            }
            RunOutcome::Shutdown => return Err(HostError::ShuttingDown),
        };
        let max_memory = sandbox.peak_mb();
        let result = if keep && options.enforce_memory_limit && max_memory > config.memory_mb {
            keep = false;
            status = Some("error");
            Err(FunctionError::new(
                ErrorKind::OutOfMemory,
                "Runtime.OutOfMemory",
                format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            ))
        } else {
            result
        };

        if !keep {
            if let Err(error) = &result {
                tracing::warn!(
                    function = %config.name,
                    pid = sandbox.pid,
                    request_id = %request_id,
                    error_type = %error.error_type,
                    "execution environment failed; its process is discarded"
                );
            }
        }
        let mut report = Report::new(
            request_id.clone(),
            init_duration,
            duration,
            config.memory_mb,
            max_memory,
        );
        report.status = status;
        if status == Some("error") {
            report.error_type = result.as_ref().err().map(|e| e.error_type.clone());
        }
        let invocation = Invocation {
            function: config.name.clone(),
            request_id,
            result,
            report,
            pid: sandbox.pid,
            logs: sandbox.logs.take_tail(),
        };
        if keep && !pool.retired.load(Ordering::SeqCst) && !*shutdown.borrow() {
            sandbox.last_used = Instant::now();
            pool.idle().push(sandbox);
        }
        Ok(invocation)
    }

    /// Takes a concurrency slot of the function (if it has reserved concurrency)
    /// and of the host.
    async fn acquire(
        &self,
        pool: &Pool,
    ) -> Result<(Option<OwnedSemaphorePermit>, OwnedSemaphorePermit), HostError> {
        let wait = self.inner.options.wait_when_throttled;
        let take = |semaphore: &Arc<Semaphore>, limit: usize| {
            let semaphore = Arc::clone(semaphore);
            let function = pool.config.name.clone();
            async move {
                let throttled = || HostError::TooManyRequests { function, limit };
                if wait {
                    semaphore.acquire_owned().await.map_err(|_| throttled())
                } else {
                    semaphore.try_acquire_owned().map_err(|_| throttled())
                }
            }
        };
        let reserved = match (&pool.reserved, pool.config.reserved_concurrency) {
            (Some(semaphore), Some(limit)) => Some(take(semaphore, limit).await?),
            _ => None,
        };
        let account = take(&self.inner.account, self.inner.options.account_concurrency).await?;
        Ok((reserved, account))
    }

    fn track(&self, sandbox: &Sandbox) {
        let mut processes = self
            .inner
            .processes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        processes.retain(|exit| exit.borrow().is_none());
        processes.push(sandbox.exit_watch());
    }

    /// Stops everything: refuses new invocations, ends running ones with
    /// [`HostError::ShuttingDown`], kills every process and waits (up to 5 s)
    /// until all have exited.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.send_replace(true);
        for pool in inner.pools() {
            retire(&pool);
        }
        let processes: Vec<_> = inner
            .processes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            for mut exit in processes {
                let _ = exit.wait_for(Option::is_some).await;
            }
        })
        .await;
    }
}

/// An invocation's entry among the running ones, removed when the invocation ends (whichever
/// way it returns).
struct Running {
    pool: Arc<Pool>,
    request_id: String,
}

impl Running {
    fn register(pool: &Arc<Pool>, request_id: &str, sender: mpsc::UnboundedSender<Crash>) -> Self {
        pool.running().insert(request_id.to_owned(), sender);
        Running {
            pool: Arc::clone(pool),
            request_id: request_id.to_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.pool.running().remove(&self.request_id);
    }
}

/// Marks a pool retired and kills its idle processes.
fn retire(pool: &Pool) {
    pool.retired.store(true, Ordering::SeqCst);
    let idle: Vec<Sandbox> = pool.idle().drain(..).collect();
    drop(idle);
}

/// Parses a `/response` body: JSON, or the text as a JSON string, `null` when empty.
fn parse_response(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Stops idle processes unused for `timeout`, until the host is dropped.
async fn reap_idle(inner: Weak<Inner>, timeout: Duration) {
    let period = (timeout / 2).clamp(Duration::from_millis(10), Duration::from_secs(5));
    loop {
        tokio::time::sleep(period).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if *inner.shutdown.borrow() {
            return;
        }
        for pool in inner.pools() {
            let expired: Vec<Sandbox> = {
                let mut idle = pool.idle();
                let (old, fresh): (Vec<_>, Vec<_>) = idle
                    .drain(..)
                    .partition(|s| s.last_used.elapsed() >= timeout || s.has_exited());
                *idle = fresh;
                old
            };
            drop(expired);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_parsed_like_lambda_returns_them() {
        assert_eq!(parse_response(b""), Value::Null);
        assert_eq!(parse_response(br#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(parse_response(b"plain"), Value::String("plain".into()));
    }
}
