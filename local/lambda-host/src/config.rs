//! Configuration of the host and of each function, and the environment a
//! function process gets.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::HostError;
use crate::logs::{LogLine, LogSink};

/// Environment variables Lambda sets itself and refuses in a function's
/// configuration (`InvalidParameterValueException`).
pub const RESERVED_ENVIRONMENT: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "TZ",
];

/// Lambda's synchronous invocation payload limit (request and response): 6 MB.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// One function: which executable runs it and how it is configured, like
/// Lambda's `CreateFunction` for a `provided.al2023` function whose `bootstrap`
/// is `executable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// Function name (letters, digits, `-`, `_`; at most 64 characters).
    pub name: String,
    /// The binary to run (built with `lambda_runtime`).
    pub executable: PathBuf,
    /// The function's own environment variables (reserved names are refused).
    pub environment: BTreeMap<String, String>,
    /// Invocation timeout: the process is killed when an invocation runs longer.
    /// At most 900 s. Lambda's minimum is 1 s; shorter values are accepted here
    /// so tests can run fast.
    pub timeout: Duration,
    /// Memory size in MB (128 to 10240), reported and enforced on the peak RSS.
    pub memory_mb: u32,
    /// Reserved concurrency: the most processes (concurrent invocations) this
    /// function may have; more are throttled. `None` means only the host-wide limit.
    pub reserved_concurrency: Option<usize>,
}

impl FunctionConfig {
    /// A function with Lambda's defaults: 3 s timeout, 128 MB, no environment,
    /// no reserved concurrency.
    pub fn new(name: impl Into<String>, executable: impl Into<PathBuf>) -> Self {
        FunctionConfig {
            name: name.into(),
            executable: executable.into(),
            environment: BTreeMap::new(),
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            reserved_concurrency: None,
        }
    }

    /// Checks what Lambda's `CreateFunction` would check.
    pub fn validate(&self) -> Result<(), HostError> {
        let invalid = |reason: String| HostError::InvalidConfig {
            function: self.name.clone(),
            reason,
        };
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "the name must be 1 to 64 letters, digits, '-' or '_'".into(),
            ));
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(900) {
            return Err(invalid(
                "the timeout must be above 0 and at most 900 s".into(),
            ));
        }
        if !(128..=10_240).contains(&self.memory_mb) {
            return Err(invalid("the memory size must be 128 to 10240 MB".into()));
        }
        if let Some(key) = self
            .environment
            .keys()
            .find(|k| RESERVED_ENVIRONMENT.contains(&k.as_str()))
        {
            return Err(invalid(format!(
                "environment variable {key} is reserved by Lambda"
            )));
        }
        if let Some(key) = self
            .environment
            .keys()
            .find(|k| k.is_empty() || k.contains('=') || k.contains('\0'))
        {
            return Err(invalid(format!(
                "invalid environment variable name {key:?}"
            )));
        }
        if !self.executable.is_file() {
            return Err(invalid(format!(
                "executable {} does not exist",
                self.executable.display()
            )));
        }
        Ok(())
    }

    /// The directory the function runs in (`LAMBDA_TASK_ROOT`, like `/var/task`).
    pub(crate) fn task_root(&self) -> PathBuf {
        self.executable
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// Settings of the whole host (what the AWS account and the execution role give
/// a function on AWS).
#[derive(Clone)]
pub struct HostOptions {
    /// `AWS_REGION` / `AWS_DEFAULT_REGION` of every function; also in the ARN.
    pub region: String,
    /// Account id in the invoked function ARN.
    pub account_id: String,
    /// Partition in the invoked function ARN (`aws`, `aws-us-gov`, ...).
    pub partition: String,
    /// Variables every function gets, set before the function's own, and allowed
    /// to use reserved names such as `AWS_ACCESS_KEY_ID`: on AWS these come
    /// from the execution role; locally, e.g. credentials and `AWS_ENDPOINT_URL`
    /// of an emulator.
    pub environment: BTreeMap<String, String>,
    /// Pass the host's `PATH` to functions (the rest of the host environment
    /// never is).
    pub pass_path: bool,
    /// Receives every captured log line.
    pub log_sink: Option<LogSink>,
    /// How many log lines each [`crate::Invocation`] keeps (the last ones).
    pub log_tail_lines: usize,
    /// Idle processes older than this are stopped (Lambda recycles idle
    /// environments after some minutes). `None`: kept until shutdown.
    pub idle_timeout: Option<Duration>,
    /// How long a new process may take to ask for its first event (Lambda: 10 s).
    pub init_timeout: Duration,
    /// Concurrent invocations over all functions (Lambda's account limit).
    pub account_concurrency: usize,
    /// At a concurrency limit, wait for a free slot instead of failing with
    /// [`HostError::TooManyRequests`] as Lambda does.
    pub wait_when_throttled: bool,
    /// Treat a peak RSS above the memory size as `Runtime.OutOfMemory` (the
    /// process is killed), as Lambda does.
    pub enforce_memory_limit: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            partition: "aws".into(),
            environment: BTreeMap::new(),
            pass_path: true,
            log_sink: None,
            log_tail_lines: 200,
            idle_timeout: None,
            init_timeout: Duration::from_secs(10),
            account_concurrency: 1000,
            wait_when_throttled: false,
            enforce_memory_limit: true,
        }
    }
}

impl HostOptions {
    /// Sets the log sink.
    pub fn with_log_sink(mut self, sink: impl Fn(LogLine) + Send + Sync + 'static) -> Self {
        self.log_sink = Some(Arc::new(sink));
        self
    }
}

impl fmt::Debug for HostOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostOptions")
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("partition", &self.partition)
            .field("environment", &self.environment.keys().collect::<Vec<_>>())
            .field("pass_path", &self.pass_path)
            .field("log_sink", &self.log_sink.is_some())
            .field("log_tail_lines", &self.log_tail_lines)
            .field("idle_timeout", &self.idle_timeout)
            .field("init_timeout", &self.init_timeout)
            .field("account_concurrency", &self.account_concurrency)
            .field("wait_when_throttled", &self.wait_when_throttled)
            .field("enforce_memory_limit", &self.enforce_memory_limit)
            .finish()
    }
}

/// Per-invocation extras of Lambda's `Invoke` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeOptions {
    /// `Lambda-Runtime-Client-Context` (JSON text).
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity` (JSON text).
    pub cognito_identity: Option<String>,
    /// `Lambda-Runtime-Trace-Id`; generated when absent.
    pub trace_id: Option<String>,
}

/// The whole environment of a function process: the host's `PATH`, the host-wide
/// variables, the function's own, then what Lambda sets (which always wins).
pub(crate) fn process_environment(
    config: &FunctionConfig,
    options: &HostOptions,
    runtime_api: &str,
    log_stream: &str,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("LANG".to_owned(), "en_US.UTF-8".to_owned());
    if options.pass_path {
        if let Ok(path) = std::env::var("PATH") {
            env.insert("PATH".to_owned(), path);
        }
    }
    env.extend(options.environment.clone());
    env.extend(config.environment.clone());
    let task_root = config.task_root().display().to_string();
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_REGION", options.region.clone()),
        ("AWS_DEFAULT_REGION", options.region.clone()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        ("TZ", ":UTC".to_owned()),
    ];
    for (key, value) in lambda {
        env.insert(key.to_owned(), value);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FunctionConfig {
        let mut c = FunctionConfig::new("isolate", "/bin/sh");
        c.environment.insert("DRY_RUN".into(), "true".into());
        c
    }

    #[test]
    fn environment_is_lambdas() {
        let mut options = HostOptions {
            region: "eu-west-1".into(),
            pass_path: false,
            ..HostOptions::default()
        };
        options
            .environment
            .insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
        let env = process_environment(&config(), &options, "127.0.0.1:9001", "stream");
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("isolate"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("128"));
        assert_eq!(
            get("AWS_LAMBDA_LOG_GROUP_NAME"),
            Some("/aws/lambda/isolate")
        );
        assert_eq!(get("AWS_LAMBDA_LOG_STREAM_NAME"), Some("stream"));
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_provided.al2023"));
        assert_eq!(get("_HANDLER"), Some("bootstrap"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("/bin"));
        assert_eq!(get("DRY_RUN"), Some("true"));
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("testing"));
        assert_eq!(get("PATH"), None);
    }

    #[test]
    fn validation_refuses_what_lambda_refuses() {
        assert!(config().validate().is_ok());
        type Change = Box<dyn Fn(&mut FunctionConfig)>;
        let cases: Vec<Change> = vec![
            Box::new(|c| c.name = String::new()),
            Box::new(|c| c.name = "has space".into()),
            Box::new(|c| c.name = "x".repeat(65)),
            Box::new(|c| c.timeout = Duration::ZERO),
            Box::new(|c| c.timeout = Duration::from_secs(901)),
            Box::new(|c| c.memory_mb = 64),
            Box::new(|c| c.memory_mb = 10_241),
            Box::new(|c| {
                c.environment.insert("AWS_REGION".into(), "x".into());
            }),
            Box::new(|c| {
                c.environment.insert("A=B".into(), "x".into());
            }),
            Box::new(|c| c.executable = "/nonexistent/bootstrap".into()),
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut c = config();
            change(&mut c);
            assert!(
                matches!(c.validate(), Err(HostError::InvalidConfig { .. })),
                "case {i} accepted"
            );
        }
    }
}
