//! Support for the end-to-end tests: each test starts its own local stack (the moto emulator
//! on a free port, a seeded estate, the real task binaries, the real state machines), sends
//! the project's fixture events through it and reads the effects back from the emulator.
//!
//! Nothing here is a fake: a missing emulator or task binary is a failure with the command
//! that fixes it, never a silent skip.

pub mod browser;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use responder::estate::SeededInstance;
use responder::harness::{Harness, HarnessOptions};
use responder::moto::Moto;
use responder::readback::{self, Notification};
use serde::Serialize;
use serde_json::Value;

/// How long one test may take before it is failed (a hung execution must not hang the suite).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// The repository root (this package is `<repo>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// `<repo>/statemachines`.
pub fn statemachines_dir() -> PathBuf {
    repo_root().join("statemachines")
}

/// `<repo>/fixtures/events`.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("fixtures/events")
}

/// A fixture event, parsed.
pub fn fixture(name: &str) -> Result<Value> {
    responder::scenario::load(&fixtures_dir(), name)
}

/// A fixture file as it is (for events that are not JSON).
pub fn fixture_text(name: &str) -> Result<String> {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Where cargo put the task binaries: the test executable is `target/<profile>/deps/<test>-hash`,
/// so the binaries are two folders up. Every function the state machines call must be there.
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .with_context(|| format!("{} has no target folder above it", exe.display()))?;
    let missing: Vec<String> = responder::runtime::FUNCTIONS
        .iter()
        .map(|(name, _, _)| dir.join(name))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "task binaries missing: {}\nthe end-to-end tests run the real task binaries: run \
             `cargo build --workspace --bins` first (`make test` does)",
            missing.join(", ")
        );
    }
    warn_if_stale(&dir);
    Ok(dir)
}

/// `cargo test` does not rebuild the task binaries: say so when a source under `tasks/` or
/// `crates/` (the libraries the tasks link) is newer than the oldest binary (shown with a
/// failing test's output, where it matters).
fn warn_if_stale(dir: &Path) {
    let oldest_binary = responder::runtime::FUNCTIONS
        .iter()
        .filter_map(|(name, _, _)| std::fs::metadata(dir.join(name)).ok()?.modified().ok())
        .min();
    let newest_source = ["tasks", "crates"]
        .iter()
        .filter_map(|d| newest_modification(&repo_root().join(d)))
        .max_by_key(|(when, _)| *when);
    if let (Some(bin), Some((src, path))) = (oldest_binary, newest_source) {
        if src > bin {
            eprintln!(
                "warning: {} is newer than the task binaries in {}: the tests run the binaries \
                 as last built; run `cargo build --workspace --bins`",
                path.display(),
                dir.display()
            );
        }
    }
}

fn newest_modification(dir: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                // Tests and fixtures of a task are not in its binary.
                if !path.ends_with("tests") && !path.ends_with("fixtures") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                if let Ok(m) = meta.modified() {
                    if newest.as_ref().is_none_or(|(t, _)| m > *t) {
                        newest = Some((m, path));
                    }
                }
            }
        }
    }
    newest
}

/// The emulator must be installed: `MOTO_SERVER`, or `<repo>/.venv/bin/moto_server`.
pub fn require_moto() -> Result<()> {
    let venv = repo_root().join(".venv/bin/moto_server");
    if std::env::var_os("MOTO_SERVER").is_none() && !venv.is_file() {
        bail!(
            "the moto server is not installed ({} is missing and MOTO_SERVER is not set): run \
             `make setup`",
            venv.display()
        );
    }
    Moto::locate()
        .map(|_| ())
        .context("the end-to-end tests need the moto server: run `make setup`")
}

/// What a test changes in the stack it starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The approval wait, in seconds.
    pub approval_timeout_seconds: u64,
    /// Extra task environment (`DRY_RUN`, ...).
    pub extra_env: BTreeMap<String, String>,
    /// A fault scenario (TOML) the tasks' calls go through, if any.
    pub faults: Option<String>,
    /// Executions see time run this many times faster (retry waits shortened), when set.
    pub time_factor: Option<u32>,
    /// How long the test body may take (default [`TEST_TIMEOUT`]).
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            approval_timeout_seconds: 3600,
            extra_env: BTreeMap::new(),
            faults: None,
            time_factor: None,
            timeout: TEST_TIMEOUT,
        }
    }
}

/// Starts a stack, runs `body` against it, stops the stack, and fails with the task logs when
/// the body fails, panics or times out. The stack is stopped on every path.
pub async fn with_harness<F, Fut>(opts: Options, body: F) -> Result<()>
where
    F: FnOnce(Arc<Harness>) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    require_moto()?;
    let logs: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink_logs = logs.clone();
    let faults = match &opts.faults {
        Some(text) => Some(
            fault_proxy::Scenario::parse(text, "test")
                .map_err(|e| anyhow::anyhow!("the test's fault scenario: {e}"))?,
        ),
        None => None,
    };
    let h = Harness::start_with(
        HarnessOptions {
            clock: opts
                .time_factor
                .map(|f| Arc::new(asl::FastClock::new(f)) as Arc<dyn asl::Clock>),
            bin_dir: bin_dir()?,
            statemachines_dir: statemachines_dir(),
            approval_timeout_seconds: opts.approval_timeout_seconds,
            extra_env: opts.extra_env,
            log_sink: Some(Arc::new(move |function: &str, line: &str| {
                if let Ok(mut l) = sink_logs.lock() {
                    l.push(format!("[{function}] {line}"));
                }
            })),
        },
        faults,
    )
    .await
    .context("starting the local stack")?;
    let h = Arc::new(h);
    // A spawned task turns a panicking assertion into a JoinError, so the stack is still
    // stopped before the panic is passed on.
    let timeout = opts.timeout;
    let task = tokio::spawn(tokio::time::timeout(timeout, body(h.clone())));
    let joined = task.await;
    match Arc::try_unwrap(h) {
        Ok(h) => h.stop().await,
        Err(_) => eprintln!("the stack is still shared after the test; it stops when dropped"),
    }
    let failed = !matches!(joined, Ok(Ok(Ok(()))));
    if failed {
        let logs = logs.lock().map(|l| l.clone()).unwrap_or_default();
        let start = logs.len().saturating_sub(150);
        eprintln!("---- last task log lines ({} in all) ----", logs.len());
        for l in &logs[start..] {
            eprintln!("{l}");
        }
    }
    match joined {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => bail!("the test did not finish within {timeout:?}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => bail!("the test task was cancelled: {e}"),
    }
}

/// Everything the pipeline could change in the estate, read back from the emulator; equal
/// before and after means the run changed nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct World {
    /// Every seeded instance (security and member accounts), by name.
    pub instances: BTreeMap<String, readback::InstanceState>,
    /// Evidence snapshots by instance name.
    pub snapshots: BTreeMap<String, Vec<readback::SnapshotState>>,
    /// Security groups of the security account.
    pub security_groups: Vec<readback::SecurityGroupState>,
    /// Security groups of the member account.
    pub member_security_groups: Vec<readback::SecurityGroupState>,
    /// The Auto Scaling group.
    pub auto_scaling_group: readback::AutoScalingGroupState,
    /// The target group's members.
    pub target_group_members: Vec<String>,
    /// Users: keys and inline policies.
    pub users: BTreeMap<String, readback::UserState>,
    /// Users' inline policy documents.
    pub user_policies: BTreeMap<String, BTreeMap<String, Value>>,
    /// The role's inline policy documents.
    pub role_policies: BTreeMap<String, Value>,
    /// The main VPC's network ACLs, one line per entry.
    pub network_acls: BTreeMap<String, Vec<String>>,
}

/// The seeded instances with the SDK configuration of their account.
pub fn seeded(h: &Harness) -> Vec<(&SeededInstance, &aws_config::SdkConfig)> {
    let e = &h.estate;
    vec![
        (&e.web, &h.security),
        (&e.multi, &h.security),
        (&e.scaled, &h.security),
        (&e.exempt, &h.security),
        (&e.member, &h.member),
    ]
}

/// Reads the whole estate back.
pub async fn world(h: &Harness) -> Result<World> {
    let e = &h.estate;
    let mut instances = BTreeMap::new();
    let mut snapshots = BTreeMap::new();
    for (i, cfg) in seeded(h) {
        instances.insert(
            i.name.clone(),
            readback::instance(cfg, &i.instance_id).await?,
        );
        let mut snaps = readback::evidence_snapshots(cfg, &i.instance_id).await?;
        snaps.sort_by(|a, b| a.snapshot_id.cmp(&b.snapshot_id));
        snapshots.insert(i.name.clone(), snaps);
    }
    let mut users = BTreeMap::new();
    let mut user_policies = BTreeMap::new();
    for u in [&e.user_name, &e.exempt_user_name] {
        users.insert(u.clone(), readback::user(&h.security, u).await?);
        user_policies.insert(u.clone(), readback::user_policies(&h.security, u).await?);
    }
    let mut target_group_members =
        readback::target_group_members(&h.security, &e.target_group_arn).await?;
    target_group_members.sort();
    Ok(World {
        instances,
        snapshots,
        security_groups: readback::security_groups(&h.security).await?,
        member_security_groups: readback::security_groups(&h.member).await?,
        auto_scaling_group: readback::auto_scaling_group(&h.security, &e.auto_scaling_group)
            .await?,
        target_group_members,
        users,
        user_policies,
        role_policies: readback::role_policies(&h.security, &e.role_name).await?,
        network_acls: readback::network_acls(&h.security, &e.vpc_id).await?,
    })
}

/// Fails with the first difference when two readings of the estate differ.
pub fn assert_unchanged(before: &World, after: &World, what: &str) {
    if before == after {
        return;
    }
    let b = serde_json::to_value(before).unwrap_or_default();
    let a = serde_json::to_value(after).unwrap_or_default();
    let mut diffs = Vec::new();
    diff("", &b, &a, &mut diffs);
    panic!(
        "{what}: the estate changed:\n  {}",
        diffs.into_iter().take(20).collect::<Vec<_>>().join("\n  ")
    );
}

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff(
                    &format!("{path}/{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}/{i}"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}

/// The `outcome` attribute of a notification.
pub fn outcome(n: &Notification) -> &str {
    n.attributes
        .get("outcome")
        .map(String::as_str)
        .unwrap_or("")
}

/// The notifications about one finding (by the finding id in the message).
pub async fn notifications_for(h: &Harness, finding_id: &str) -> Result<Vec<Notification>> {
    Ok(h.notifications()
        .await?
        .into_iter()
        .filter(|n| {
            n.json()
                .and_then(|j| {
                    j.pointer("/finding/id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .as_deref()
                == Some(finding_id)
                || (outcome(n) == "approval-requested" && n.message.contains(finding_id))
        })
        .collect())
}

/// Runs a rollback request through `restore-instance` as execution `name`, and fails, naming
/// the execution's error, unless it succeeded.
pub async fn restored(h: &Harness, name: &str, request: &Value) -> Result<()> {
    let (_, d) = h.restore(name, request).await?;
    anyhow::ensure!(
        d.status.as_str() == "SUCCEEDED",
        "restore-instance {name} ended {}: {:?} {:?}",
        d.status.as_str(),
        d.error,
        d.cause
    );
    Ok(())
}

/// The outcomes of the notifications about one finding, in order.
pub async fn outcomes_for(h: &Harness, finding_id: &str) -> Result<Vec<String>> {
    Ok(notifications_for(h, finding_id)
        .await?
        .iter()
        .map(|n| outcome(n).to_string())
        .collect())
}

/// The actions of a run with this outcome (`changed`, `would-change`, ...), as
/// `task/action` strings.
pub fn actions_with(s: &responder::pipeline::RunSummary, outcome: &str) -> Vec<String> {
    s.actions
        .iter()
        .filter(|a| a.get("outcome").and_then(Value::as_str) == Some(outcome))
        .map(|a| {
            format!(
                "{}/{}",
                a.get("task").and_then(Value::as_str).unwrap_or(""),
                a.get("action").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect()
}

/// An analyst opens an approval link (the confirmation page). Returns the HTTP status and body.
pub async fn open_link(link: &str) -> Result<(u16, String)> {
    let r = responder::http_client::request("GET", link, &[], b"").await?;
    Ok((r.status, r.body))
}

/// An analyst confirms a decision with the page's form. Returns the HTTP status.
pub async fn post_decision(link: &str, approve: bool) -> Result<u16> {
    let form = format!(
        "decision={}&analyst=analyst%40example.com&comment=end-to-end+test",
        if approve { "approve" } else { "reject" }
    );
    let r = responder::http_client::request(
        "POST",
        link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .await?;
    Ok(r.status)
}

/// Whether an execution is parked waiting for its task token.
pub fn waiting_for_approval(
    h: &Harness,
    summary: &responder::pipeline::RunSummary,
) -> Result<bool> {
    let arn = summary
        .execution_arn
        .as_deref()
        .context("the run started no execution")?;
    let d = h
        .runtime
        .engine
        .describe_execution(arn)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(d.status == asl::ExecutionStatus::Running
        && responder::pipeline::waiting_for_token(&h.runtime, arn)?)
}

/// The notifications received since `seen` of them were read; moves `seen` on.
pub async fn new_notifications(h: &Harness, seen: &mut usize) -> Result<Vec<Notification>> {
    let all = h.notifications().await?;
    let fresh = all.get(*seen..).map(<[_]>::to_vec).unwrap_or_default();
    *seen = all.len();
    Ok(fresh)
}
