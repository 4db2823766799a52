//! One execution environment: a function process, its own Runtime API server,
//! and the capture of its output.

use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::api::{self, Answer, ApiServer, Event, InitSignal};
use crate::config::{process_environment, FunctionConfig, HostOptions};
use crate::crash::Crash;
use crate::error::{ErrorKind, FunctionError, HostError};
use crate::ids;
use crate::logs::{LogCapture, LogStream};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExitInfo {
    code: Option<i32>,
    signal: Option<i32>,
}

impl ExitInfo {
    fn from_status(status: std::io::Result<ExitStatus>) -> Self {
        match status {
            Ok(status) => ExitInfo {
                code: status.code(),
                signal: status.signal(),
            },
            Err(_) => ExitInfo {
                code: None,
                signal: None,
            },
        }
    }

    /// Worded like Lambda's `Runtime exited with error: ...`.
    pub(crate) fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => {
                let name = match signal {
                    6 => "aborted",
                    9 => "killed",
                    11 => "segmentation fault",
                    15 => "terminated",
                    _ => return format!("signal: {signal}"),
                };
                format!("signal: {name}")
            }
            (None, None) => "unknown exit status".to_owned(),
        }
    }
}

/// What became of an invocation handed to the process.
#[derive(Debug)]
pub(crate) enum RunOutcome {
    /// The runtime answered through `/response` or `/error`.
    Answered(Answer),
    /// The timeout passed first.
    TimedOut,
    /// The process exited first.
    Exited(ExitInfo),
    /// A crash was injected first; the process has been killed.
    Crashed(Crash),
    /// The host is shutting down.
    Shutdown,
}

/// A function process with its Runtime API. Dropping it kills the process; its
/// Runtime API server stops once the process has exited.
pub(crate) struct Sandbox {
    pub(crate) pid: u32,
    pub(crate) last_used: Instant,
    started: Instant,
    server: ApiServer,
    exit: watch::Receiver<Option<ExitInfo>>,
    /// Dropping this sender tells the waiter task to kill the process.
    kill: Option<oneshot::Sender<()>>,
    pub(crate) logs: Arc<LogCapture>,
    peak_kb: u64,
}

impl Sandbox {
    /// Starts the Runtime API server and the process, with a cleared environment.
    pub(crate) async fn spawn(
        config: &FunctionConfig,
        options: &HostOptions,
    ) -> Result<Sandbox, HostError> {
        let spawn_error = |source| HostError::Spawn {
            function: config.name.clone(),
            executable: config.executable.clone(),
            source,
        };
        let (server, server_task) = api::start().await.map_err(spawn_error)?;
        let env = process_environment(
            config,
            options,
            &server.addr.to_string(),
            &ids::log_stream_name(),
        );
        // The pid is known only after the spawn; the capture learns it then.
        let logs = LogCapture::new(
            config.name.clone(),
            options.log_sink.clone(),
            options.log_tail_lines,
        );
        let stdout = logs.attach(LogStream::Stdout).map_err(spawn_error)?;
        let stderr = logs.attach(LogStream::Stderr).map_err(spawn_error)?;
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&config.executable)
            .env_clear()
            .envs(&env)
            .current_dir(config.task_root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(OwnedFd::from(stdout)))
            .stderr(Stdio::from(OwnedFd::from(stderr)))
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let pid = child.id().unwrap_or_default();
        logs.set_pid(pid);
        let (exit_tx, exit_rx) = watch::channel(None);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = kill_rx => {
                    // SIGKILL, as Lambda ends an execution environment: the runtime
                    // gets no answer and no closed connection first.
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            // Only now that the process is gone: it must not see its server stop.
            drop(server_task);
            let _ = exit_tx.send(Some(ExitInfo::from_status(status)));
        });
        Ok(Sandbox {
            pid,
            last_used: started,
            started,
            server,
            exit: exit_rx,
            kill: Some(kill_tx),
            logs,
            peak_kb: 0,
        })
    }

    /// A receiver that turns `Some` when the process has exited (and was reaped).
    pub(crate) fn exit_watch(&self) -> watch::Receiver<Option<ExitInfo>> {
        self.exit.clone()
    }

    /// Kills the process (SIGKILL) and waits until it is gone, so that it makes no call after
    /// its invocation has been reported.
    pub(crate) async fn kill(&mut self) {
        self.kill.take();
        Self::wait_exit(&mut self.exit).await;
    }

    /// The process has exited (e.g. crashed while idle).
    pub(crate) fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    async fn wait_exit(exit: &mut watch::Receiver<Option<ExitInfo>>) -> ExitInfo {
        match exit.wait_for(Option::is_some).await {
            Ok(info) => info.unwrap_or(ExitInfo {
                code: None,
                signal: None,
            }),
            Err(_) => ExitInfo {
                code: None,
                signal: None,
            },
        }
    }

    /// Waits for the end of the init phase: the runtime's first
    /// `/invocation/next`. Returns the init duration, or the error Lambda would
    /// report for the invocation that started this process (with the time init took).
    pub(crate) async fn init(
        &mut self,
        timeout: Duration,
        request_id: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Duration, (FunctionError, Duration)> {
        let outcome = tokio::select! {
            biased;
            signal = self.server.init.recv() => match signal {
                Some(InitSignal::Ready) => return Ok(self.started.elapsed()),
                Some(InitSignal::Failed(header, body)) => {
                    // The runtime exits after reporting; give it a moment so its
                    // last log lines are captured, then it is killed with the sandbox.
                    let _ = tokio::time::timeout(
                        Duration::from_millis(500),
                        Self::wait_exit(&mut self.exit),
                    )
                    .await;
                    FunctionError::from_runtime_body(ErrorKind::Init, header.as_deref(), &body)
                }
                None => FunctionError::new(
                    ErrorKind::Init,
                    "Runtime.ExitError",
                    format!("RequestId: {request_id} Error: Runtime API server stopped"),
                ),
            },
            info = Self::wait_exit(&mut self.exit) => FunctionError::new(
                ErrorKind::Init,
                "Runtime.ExitError",
                format!(
                    "RequestId: {request_id} Error: Runtime exited with error: {}",
                    info.describe()
                ),
            ),
            () = tokio::time::sleep(timeout) => FunctionError::new(
                ErrorKind::Init,
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Init phase timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                ),
            ),
            () = stopped(shutdown) => FunctionError::new(
                ErrorKind::Init,
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: the host is shutting down"),
            ),
        };
        let init_duration = self.started.elapsed();
        if self.has_exited() {
            self.logs.wait_closed(Duration::from_millis(200)).await;
        } else {
            self.logs.settle();
        }
        Err((outcome, init_duration))
    }

    /// Hands one event to the runtime and waits for its answer, the timeout, the process's
    /// exit, an injected crash (from `crashes`, or `planned` after its delay), or shutdown.
    /// Returns the outcome and the invocation's duration. After a timeout or a crash the
    /// process is already dead.
    pub(crate) async fn run(
        &mut self,
        event: Event,
        timeout: Duration,
        keep_init_logs: bool,
        injected: Injected<'_>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> (RunOutcome, Duration) {
        self.logs.begin(&event.request_id, keep_init_logs);
        let answer = self.server.state.expect(&event.request_id);
        let start = Instant::now();
        if self.server.events.send(event).await.is_err() {
            return (
                RunOutcome::Exited(Self::wait_exit(&mut self.exit).await),
                start.elapsed(),
            );
        }
        let planned = async {
            match injected.planned {
                Some((after, crash)) => {
                    tokio::time::sleep(after).await;
                    crash
                }
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            biased;
            answer = answer => match answer {
                Ok(answer) => RunOutcome::Answered(answer),
                Err(_) => RunOutcome::Exited(Self::wait_exit(&mut self.exit).await),
            },
            info = Self::wait_exit(&mut self.exit) => RunOutcome::Exited(info),
            Some(crash) = injected.crashes.recv() => RunOutcome::Crashed(crash),
            crash = planned => RunOutcome::Crashed(crash),
            () = tokio::time::sleep(timeout) => RunOutcome::TimedOut,
            () = stopped(shutdown) => RunOutcome::Shutdown,
        };
        let duration = start.elapsed();
        // Sample the peak before the process is killed.
        self.sample_memory();
        match outcome {
            RunOutcome::TimedOut | RunOutcome::Crashed(_) => {
                // Like Lambda, the environment is stopped before the invocation is reported:
                // a process left running could still call AWS while its retry runs.
                self.kill().await;
                self.logs.wait_closed(Duration::from_millis(200)).await;
            }
            RunOutcome::Exited(_) => self.logs.wait_closed(Duration::from_millis(200)).await,
            _ => self.logs.settle(),
        }
        (outcome, duration)
    }

    /// Reads the process's peak RSS (`VmHWM`); keeps the last known value once
    /// the process is gone.
    pub(crate) fn sample_memory(&mut self) {
        if let Some(kb) = peak_rss_kb(self.pid) {
            self.peak_kb = self.peak_kb.max(kb);
        }
    }

    /// Peak RSS in MB, rounded up.
    pub(crate) fn peak_mb(&self) -> u32 {
        u32::try_from(self.peak_kb.div_ceil(1024)).unwrap_or(u32::MAX)
    }
}

/// Crashes that may be injected into one invocation.
pub(crate) struct Injected<'a> {
    /// Crashes asked for while it runs ([`crate::LambdaHost::crash_running`]).
    pub(crate) crashes: &'a mut mpsc::UnboundedReceiver<Crash>,
    /// A crash planned this long after the event is handed over.
    pub(crate) planned: Option<(Duration, Crash)>,
}

/// Resolves once the host's shutdown flag is set (never if the host is gone,
/// which cannot happen while an invocation borrows it).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `VmHWM` of `/proc/<pid>/status`, in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_descriptions_match_lambdas_wording() {
        let code = ExitInfo {
            code: Some(1),
            signal: None,
        };
        assert_eq!(code.describe(), "exit status 1");
        let killed = ExitInfo {
            code: None,
            signal: Some(9),
        };
        assert_eq!(killed.describe(), "signal: killed");
    }

    #[test]
    fn own_peak_rss_is_readable() {
        let kb = peak_rss_kb(std::process::id()).unwrap_or_default();
        assert!(kb > 0);
    }
}
