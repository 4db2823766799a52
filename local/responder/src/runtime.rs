//! The local runtime: the state machines from `statemachines/`, run by the ASL interpreter,
//! whose Task states invoke the real task binaries through the local Lambda host.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use asl::{Clock, Engine, EngineConfig, ExecutionDescription, RealClock, TaskHandler};
use lambda_host::{FunctionConfig, HostOptions, LambdaHost};

use crate::lambda_bridge::LambdaTasks;

/// The Lambda functions the state machines call, with their timeouts and memory sizes as
/// deployed (`infra/template.yaml`).
pub const FUNCTIONS: &[(&str, u64, u32)] = &[
    ("classify", 10, 128),
    ("check-exemption", 30, 128),
    ("isolate", 120, 256),
    ("snapshot", 60, 128),
    ("tag", 30, 128),
    ("restore", 120, 256),
    ("revoke", 60, 128),
    ("contain-function", 60, 128),
    ("contain-bucket", 60, 128),
    ("contain-database", 120, 128),
    ("contain-task", 120, 128),
    ("notify", 30, 128),
    ("await-approval", 30, 128),
    ("update-security-hub", 20, 128),
    ("feedback", 10, 128),
];

/// Settings the tasks read, forwarded from the runtime's environment when set. The same names
/// as the Lambdas use in AWS.
pub const TASK_SETTINGS: &[&str] = &[
    "SNS_TOPIC_ARN",
    "CLAIMS_TABLE",
    "FALSE_POSITIVES_TABLE",
    "APPROVAL_SECRET",
    "APPROVAL_BASE_URL",
    "REMEDIATION_ROLE_NAME",
    "REMEDIATION_EXTERNAL_ID",
    "REMEDIATION_SESSION_SECONDS",
    "PIPELINE_ACCOUNT_ID",
    "DRY_RUN",
    "POLICY_FILE",
    "POLICY_JSON",
    "EXEMPTION_TAG_KEY",
    "EXEMPTION_TAG_VALUE",
    "ALLOWED_REGIONS",
    "QUARANTINE_EGRESS_CIDRS",
    "CUT_TRACKED_CONNECTIONS",
    "NETWORK_ACL_DENY",
    "SHORTEN_CONNECTION_TRACKING",
    "SECURITY_HUB_UPDATES",
    "RUST_LOG",
];

/// The SDK's Step Functions endpoint variable: the tasks that read executions (a claim's
/// holder) reach the local Step Functions endpoint through it, not the emulator.
pub const SFN_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_SFN";

/// The standard AWS SDK environment, forwarded to the tasks when set: on AWS the execution
/// role provides credentials; locally they come from here.
pub const SDK_SETTINGS: &[&str] = &[
    "AWS_ENDPOINT_URL",
    SFN_ENDPOINT_ENV,
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "HOME",
];

/// Receives every task log line: (function, line).
pub type TaskLogSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// How to set up the runtime.
#[derive(Clone)]
pub struct RuntimeConfig {
    /// Where the task binaries are.
    pub bin_dir: PathBuf,
    /// Where the `*.asl.json` files are.
    pub statemachines_dir: PathBuf,
    /// Region of the pipeline (and of the ARNs).
    pub region: String,
    /// The security account (in ARNs; the tasks read `PIPELINE_ACCOUNT_ID`).
    pub account_id: String,
    /// Environment every task gets (settings and SDK environment).
    pub environment: BTreeMap<String, String>,
    /// The approval wait, in seconds.
    pub approval_timeout_seconds: u64,
    /// Time source (the real clock, or a virtual one in tests).
    pub clock: Arc<dyn Clock>,
    /// Receives every task log line (`function`, line).
    pub log_sink: Option<TaskLogSink>,
    /// The fault proxy the tasks call AWS through, if faults are injected.
    pub faults: Option<crate::faults::Faults>,
}

impl std::fmt::Debug for RuntimeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeConfig")
            .field("bin_dir", &self.bin_dir)
            .field("statemachines_dir", &self.statemachines_dir)
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("environment", &self.environment.keys().collect::<Vec<_>>())
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl RuntimeConfig {
    /// Defaults: binaries next to the running executable, `statemachines/` found from the
    /// current directory upwards, the environment's settings.
    pub fn from_env() -> Result<Self> {
        let bin_dir = match std::env::var_os("RESPONDER_BIN_DIR") {
            Some(d) => PathBuf::from(d),
            None => std::env::current_exe()
                .context("locating the responder binary")?
                .parent()
                .map(Path::to_path_buf)
                .context("the responder binary has no folder")?,
        };
        let statemachines_dir = match std::env::var_os("RESPONDER_STATEMACHINES") {
            Some(d) => PathBuf::from(d),
            None => find_upwards("statemachines")
                .context("statemachines/ not found from the current folder; run from the repository or set RESPONDER_STATEMACHINES")?,
        };
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| crate::moto::REGION.to_string());
        let mut environment = BTreeMap::new();
        for k in TASK_SETTINGS.iter().chain(SDK_SETTINGS) {
            if let Ok(v) = std::env::var(k) {
                environment.insert(k.to_string(), v);
            }
        }
        let approval_timeout_seconds = match std::env::var("APPROVAL_TIMEOUT_SECONDS") {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=604_800).contains(s))
                .with_context(|| {
                    format!("APPROVAL_TIMEOUT_SECONDS is {v:?}; expected 60 to 604800 seconds")
                })?,
            Err(_) => 3600,
        };
        let account_id = std::env::var("PIPELINE_ACCOUNT_ID")
            .unwrap_or_else(|_| crate::moto::SECURITY_ACCOUNT.to_string());
        Ok(RuntimeConfig {
            bin_dir,
            statemachines_dir,
            region,
            account_id,
            environment,
            approval_timeout_seconds,
            clock: Arc::new(RealClock),
            log_sink: None,
            faults: None,
        })
    }

    /// Checks the settings the tasks need, naming each missing or invalid one.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        let get = |k: &str| self.environment.get(k).filter(|v| !v.trim().is_empty());
        match get("SNS_TOPIC_ARN") {
            None => problems
                .push("SNS_TOPIC_ARN is not set (the topic notifications go to)".to_string()),
            Some(v) if !v.starts_with("arn:") => {
                problems.push(format!("SNS_TOPIC_ARN is {v:?}; expected an SNS topic ARN"))
            }
            _ => {}
        }
        match get("APPROVAL_SECRET") {
            None => problems.push("APPROVAL_SECRET is not set (at least 32 bytes)".to_string()),
            Some(v) if v.len() < 32 => problems.push(format!(
                "APPROVAL_SECRET is {} bytes; at least 32 are required",
                v.len()
            )),
            _ => {}
        }
        match get("APPROVAL_BASE_URL") {
            None => problems.push("APPROVAL_BASE_URL is not set".to_string()),
            Some(v) if !(v.starts_with("http://") || v.starts_with("https://")) => problems.push(
                format!("APPROVAL_BASE_URL is {v:?}; expected an http(s) URL"),
            ),
            _ => {}
        }
        if let Some(v) = get("DRY_RUN") {
            if responder_core::policy::parse_bool("DRY_RUN", v).is_err() {
                problems.push(format!("DRY_RUN is {v:?}; expected true or false"));
            }
        }
        for (name, _, _) in FUNCTIONS {
            let exe = self.bin_dir.join(name);
            if !exe.is_file() {
                problems.push(format!(
                    "task binary {} is missing; build with `cargo build --workspace --bins` (or set RESPONDER_BIN_DIR)",
                    exe.display()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("invalid configuration:\n  - {}", problems.join("\n  - "))
        }
    }
}

fn find_upwards(name: &str) -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let c = d.join(name);
        if c.is_dir() {
            return Some(c);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

/// The substitution name of a function in the state machines: `check-exemption` ->
/// `CheckExemptionFunctionArn`.
pub fn substitution_name(function: &str) -> String {
    let mut out = String::new();
    for part in function.split('-') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out.push_str("FunctionArn");
    out
}

/// Replaces `${Name}` in a definition, like CloudFormation's `DefinitionSubstitutions`, and
/// fails on any name left unknown.
pub fn substitute(definition: &str, values: &HashMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').context("unterminated ${ in definition")?;
        let name = &after[..end];
        let value = values
            .get(name)
            .with_context(|| format!("definition uses ${{{name}}}, which has no substitution"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The running local runtime.
pub struct LocalRuntime {
    /// The Step Functions engine.
    pub engine: Engine,
    /// The Lambda bridge (and through it the host).
    pub tasks: Arc<LambdaTasks>,
    /// State machine ARNs by name (`remediate-finding`, `restore-instance`).
    pub machines: HashMap<String, String>,
    /// The configuration it was started with.
    pub config: RuntimeConfig,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("machines", &self.machines)
            .finish_non_exhaustive()
    }
}

impl LocalRuntime {
    /// Registers the task binaries and loads every state machine.
    pub fn start(config: RuntimeConfig) -> Result<Self> {
        config.validate()?;
        let mut options = HostOptions {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            environment: config.environment.clone(),
            ..HostOptions::default()
        };
        options
            .environment
            .entry("AWS_EC2_METADATA_DISABLED".into())
            .or_insert_with(|| "true".into());
        if let Some(sink) = config.log_sink.clone() {
            options = options.with_log_sink(move |l| sink(&l.function, &l.line));
        }
        let host = Arc::new(LambdaHost::new(options));
        for (name, timeout, memory) in FUNCTIONS {
            let mut f = FunctionConfig::new(*name, config.bin_dir.join(name));
            f.timeout = Duration::from_secs(*timeout);
            f.memory_mb = *memory;
            // With faults, each function calls AWS through its own endpoint on the proxy.
            if let Some(url) = config.faults.as_ref().and_then(|x| x.endpoints.get(*name)) {
                f.environment.insert("AWS_ENDPOINT_URL".into(), url.clone());
            }
            host.register(f)
                .with_context(|| format!("registering the {name} function"))?;
        }
        if let Some(faults) = &config.faults {
            faults.connect_crashes(Arc::clone(&host));
        }
        let engine = Engine::new(EngineConfig {
            clock: config.clock.clone(),
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            ..EngineConfig::default()
        });
        let mut values = HashMap::new();
        for (name, _, _) in FUNCTIONS {
            values.insert(
                substitution_name(name),
                format!(
                    "arn:aws:lambda:{}:{}:function:{name}",
                    config.region, config.account_id
                ),
            );
        }
        values.insert(
            "ApprovalTimeoutSeconds".into(),
            config.approval_timeout_seconds.to_string(),
        );
        let mut machines = HashMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(&config.statemachines_dir)
            .with_context(|| format!("reading {}", config.statemachines_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
            .collect();
        entries.sort();
        for path in entries {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let name = file.trim_end_matches(".asl.json").to_string();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let definition =
                substitute(&text, &values).with_context(|| format!("in {}", path.display()))?;
            let role = format!(
                "arn:aws:iam::{}:role/guardduty-responder-{name}",
                config.account_id
            );
            let info = engine
                .create_state_machine(&name, &definition, &role)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            machines.insert(name, info.state_machine_arn);
        }
        if !machines.contains_key("remediate-finding") {
            bail!(
                "{} has no remediate-finding.asl.json",
                config.statemachines_dir.display()
            );
        }
        Ok(LocalRuntime {
            engine,
            tasks: Arc::new(LambdaTasks::new(host)),
            machines,
            config,
        })
    }

    /// The task handler for executions.
    pub fn handler(&self) -> Arc<dyn TaskHandler> {
        self.tasks.clone()
    }

    /// The ARN of a state machine by name.
    pub fn machine(&self, name: &str) -> Result<&str> {
        self.machines
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("no state machine named {name}"))
    }

    /// Starts an execution of a machine with an input text.
    pub fn start_execution(
        &self,
        machine: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<String> {
        let arn = self.machine(machine)?.to_string();
        let started = self
            .engine
            .start_execution(&arn, name, input, self.handler())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(started.execution_arn)
    }

    /// Waits for an execution to finish.
    pub async fn wait(&self, execution_arn: &str) -> Result<ExecutionDescription> {
        self.engine
            .wait_for_execution(execution_arn)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Starts every function afresh, as a deployment does: its warm processes are stopped
    /// once idle and the next invocation of each function is a cold start.
    pub fn retire_processes(&self) -> Result<()> {
        let host = self.tasks.host();
        for name in host.functions() {
            if let Some(config) = host.config(&name) {
                host.register(config)
                    .with_context(|| format!("registering the {name} function again"))?;
            }
        }
        Ok(())
    }

    /// Stops the task processes.
    pub async fn shutdown(&self) {
        self.tasks.host().shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_names_match_the_state_machines() {
        assert_eq!(
            substitution_name("check-exemption"),
            "CheckExemptionFunctionArn"
        );
        assert_eq!(
            substitution_name("await-approval"),
            "AwaitApprovalFunctionArn"
        );
        assert_eq!(substitution_name("classify"), "ClassifyFunctionArn");
        assert_eq!(
            substitution_name("update-security-hub"),
            "UpdateSecurityHubFunctionArn"
        );
    }

    #[test]
    fn substitute_fills_names_and_refuses_unknown_ones() {
        let mut v = HashMap::new();
        v.insert("A".to_string(), "x".to_string());
        assert_eq!(substitute("${A}-${A}", &v).expect("known"), "x-x");
        let e = substitute("${B}", &v).expect_err("unknown");
        assert!(e.to_string().contains("${B}"));
    }

    #[test]
    fn every_substitution_in_the_state_machines_is_known() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines");
        let mut values = HashMap::new();
        for (name, _, _) in FUNCTIONS {
            values.insert(
                substitution_name(name),
                format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            );
        }
        values.insert("ApprovalTimeoutSeconds".into(), "3600".into());
        for entry in std::fs::read_dir(dir).expect("statemachines/") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let out = substitute(&text, &values).expect("every name known");
            asl::Engine::validate_definition(&out)
                .unwrap_or_else(|e| panic!("{} is not valid ASL: {e}", path.display()));
        }
    }
}
