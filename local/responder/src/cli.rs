//! The `responder` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::faults::Faults;
use crate::harness::HarnessOptions;
use crate::runtime::{LocalRuntime, RuntimeConfig};
use crate::server::{self, Endpoint};

/// Run GuardDuty Responder locally: the real state machines and task binaries, against
/// whatever AWS endpoint the standard SDK environment names (`AWS_ENDPOINT_URL` -> an
/// emulator; unset -> real AWS).
#[derive(Debug, Parser)]
#[command(name = "responder", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Step Functions endpoint and the approval pages, running tasks locally.
    Serve {
        /// Address to listen on (loopback).
        #[arg(long, default_value = "127.0.0.1:8083")]
        listen: SocketAddr,
        /// Tasks call the emulator (AWS_ENDPOINT_URL) through a fault proxy playing this
        /// scenario: a file, or calm, slow, bad-day, flaky-network.
        #[arg(long, value_name = "SCENARIO")]
        faults: Option<String>,
    },
    /// Run EventBridge events through remediate-finding and report what happened.
    Run {
        /// One JSON object per event per line.
        #[arg(long)]
        json: bool,
        /// Tasks call the emulator (AWS_ENDPOINT_URL) through a fault proxy playing this
        /// scenario; what it injected is printed at the end (on stderr with --json).
        #[arg(long, value_name = "SCENARIO")]
        faults: Option<String>,
        /// Event files.
        #[arg(required = true)]
        events: Vec<PathBuf>,
    },
    /// Show an execution's history readably.
    History {
        /// The execution ARN (or a file with `GetExecutionHistory` JSON, with --file).
        execution: String,
        /// The Step Functions endpoint to ask (a running `responder serve`).
        #[arg(
            long,
            env = "RESPONDER_ENDPOINT",
            default_value = "http://127.0.0.1:8083"
        )]
        endpoint: String,
        /// Read the history from a file (`aws stepfunctions get-execution-history` output).
        #[arg(long)]
        file: bool,
        /// Do not shorten inputs and outputs.
        #[arg(long)]
        full: bool,
    },
    /// The local end-to-end demo: moto, a seeded estate, findings through the pipeline, a report.
    Demo {
        /// Tasks call moto through a fault proxy playing this scenario (a file, or calm, slow,
        /// bad-day, flaky-network); the report ends with what it injected.
        #[arg(long, value_name = "SCENARIO")]
        faults: Option<String>,
        /// After the report, keep the stack up and print the console's address, until Ctrl-C.
        #[arg(long)]
        keep_serving: bool,
    },
    /// The false-positive ledger: mark a finding, re-enable a finding type's automatic
    /// containment, or show a type's rate. Acts on `FALSE_POSITIVES_TABLE` with the caller's
    /// credentials (the security account).
    FalsePositive {
        /// The ledger table.
        #[arg(long, env = "FALSE_POSITIVES_TABLE")]
        table: String,
        /// What to do.
        #[command(subcommand)]
        action: crate::false_positives::Action,
    },
}

/// Runs the CLI; returns the process exit code.
pub async fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Serve { listen, faults } => serve(listen, faults).await.map(|_| 0),
        Command::Run {
            json,
            faults,
            events,
        } => run(json, faults, events).await,
        Command::History {
            execution,
            endpoint,
            file,
            full,
        } => history(&execution, &endpoint, file, full).await.map(|_| 0),
        Command::Demo {
            faults,
            keep_serving,
        } => demo(faults, keep_serving).await,
        Command::FalsePositive { table, action } => {
            crate::false_positives::run(&table, action).await
        }
    }
}

/// Starts the runtime with the approval pages on a listener whose address is known first, so
/// the links the tasks sign point at it unless `APPROVAL_BASE_URL` says otherwise. With
/// `faults`, the tasks call the emulator named by `AWS_ENDPOINT_URL` through a fault proxy.
async fn start(
    listen: SocketAddr,
    faults: Option<String>,
) -> Result<(LocalRuntime, server::Server)> {
    let listener = server::bind(listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = RuntimeConfig::from_env()?;
    config
        .environment
        .entry("APPROVAL_BASE_URL".into())
        .or_insert_with(|| url.clone());
    // The executions the tasks ask about (a claim's holder) are this endpoint's.
    config
        .environment
        .entry(crate::runtime::SFN_ENDPOINT_ENV.into())
        .or_insert_with(|| url.clone());
    if let Some(scenario) = faults {
        let Some(upstream) = config.environment.get("AWS_ENDPOINT_URL").cloned() else {
            bail!("--faults needs AWS_ENDPOINT_URL naming an emulator (http://127.0.0.1:PORT); faults are never injected in front of AWS");
        };
        config.faults = Some(Faults::load(&scenario, &upstream).await?);
    }
    let runtime = LocalRuntime::start(config)?;
    let secret = crate::approval::secret_from_env()?;
    let sdk = crate::approval::sdk_config().await?;
    let approval = crate::approval::pages(&secret, &sdk, &url)?;
    let srv = server::serve_on(listener, Endpoint::local(&runtime, approval))?;
    Ok((runtime, srv))
}

async fn serve(listen: SocketAddr, faults: Option<String>) -> Result<()> {
    if !listen.ip().is_loopback() {
        bail!("--listen must be a loopback address (127.0.0.1:PORT); the endpoint has no authentication");
    }
    let (runtime, srv) = start(listen, faults).await?;
    println!(
        "Step Functions endpoint and approval pages on {}; console on {}{}",
        srv.url(),
        srv.url(),
        crate::console::PREFIX
    );
    if let Some(f) = &runtime.config.faults {
        println!(
            "Tasks call AWS through the fault proxy {} (scenario {}); its control API: {}/__faults/report, /__faults/counts, /__faults/rules",
            f.proxy.url(),
            f.proxy.scenario().name,
            f.proxy.url()
        );
    }
    let mut names: Vec<_> = runtime.machines.iter().collect();
    names.sort();
    for (name, arn) in names {
        println!("  {name}: {arn}");
    }
    println!(
        "Try: aws stepfunctions --endpoint-url {} start-execution --state-machine-arn {} --input file://fixtures/events/ec2-high-single-eni.json",
        srv.url(),
        runtime.machine("remediate-finding")?
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping");
    runtime.shutdown().await;
    srv.stop();
    if let Some(f) = &runtime.config.faults {
        print!("{}", f.report());
        f.stop();
    }
    Ok(())
}

async fn run(json: bool, faults: Option<String>, events: Vec<PathBuf>) -> Result<i32> {
    let (runtime, srv) = start(SocketAddr::from(([127, 0, 0, 1], 0)), faults).await?;
    let mut failed = 0;
    for path in &events {
        let label = path.display().to_string();
        let summary = match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).to_string();
                crate::pipeline::run_event(&runtime, &label, &text, None).await?
            }
            Err(e) => crate::pipeline::RunSummary {
                source: label.clone(),
                finding_id: None,
                finding_type: None,
                execution_arn: None,
                status: "FAILED".into(),
                tier: None,
                route: None,
                disposition: None,
                outcome: "unreadable".into(),
                reasons: Vec::new(),
                actions: Vec::new(),
                evidence: Value::Null,
                time_to_contain_ms: None,
                error: Some("Input.Unreadable".into()),
                cause: Some(e.to_string()),
            },
        };
        if summary.status == "FAILED" {
            failed += 1;
        }
        if json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            print!("{}", crate::pipeline::render(&summary));
            if let Some(arn) = &summary.execution_arn {
                for inv in runtime.tasks.invocations(arn) {
                    println!("  {:<16} {}", inv.function, inv.report);
                }
                let events = crate::pipeline::history_values(&runtime, arn)?;
                print!(
                    "{}",
                    indent(&crate::history_view::render(arn, &events, 160))
                );
            }
            println!();
        }
    }
    runtime.shutdown().await;
    srv.stop();
    if let Some(f) = &runtime.config.faults {
        // The JSON lines stay alone on stdout.
        if json {
            eprint!("{}", f.report());
        } else {
            print!("{}", f.report());
        }
        f.stop();
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

async fn history(execution: &str, endpoint: &str, file: bool, full: bool) -> Result<()> {
    let width = if full { 0 } else { 200 };
    let events: Vec<Value> = if file {
        let text =
            std::fs::read_to_string(execution).with_context(|| format!("reading {execution}"))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("{execution} is not JSON"))?;
        match v {
            Value::Array(a) => a,
            other => other
                .get("events")
                .and_then(Value::as_array)
                .cloned()
                .context("expected {\"events\": [...]} or an array of events")?,
        }
    } else {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = serde_json::json!({ "executionArn": execution, "maxResults": 1000 });
            if let Some(t) = &token {
                req["nextToken"] = Value::String(t.clone());
            }
            let resp = crate::http_client::request(
                "POST",
                endpoint,
                &[
                    ("X-Amz-Target", "AWSStepFunctions.GetExecutionHistory"),
                    ("Content-Type", "application/x-amz-json-1.0"),
                ],
                req.to_string().as_bytes(),
            )
            .await
            .with_context(|| format!("asking {endpoint} (is `responder serve` running?)"))?;
            let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
            if resp.status != 200 {
                bail!(
                    "{}: {}",
                    body.get("__type")
                        .and_then(Value::as_str)
                        .unwrap_or("error"),
                    body.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or(&resp.body)
                );
            }
            all.extend(
                body.get("events")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            token = body
                .get("nextToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        all
    };
    print!("{}", crate::history_view::render(execution, &events, width));
    Ok(())
}

async fn demo(faults: Option<String>, keep_serving: bool) -> Result<i32> {
    let faults = faults
        .map(|s| fault_proxy::Scenario::load(&s))
        .transpose()?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(PathBuf::from)
        .context("no folder for the responder binary")?;
    let config = RuntimeConfig::from_env().ok();
    let statemachines_dir = match config {
        Some(c) => c.statemachines_dir,
        None => PathBuf::from("statemachines"),
    };
    let log_path = PathBuf::from("target/demo-task-logs.jsonl");
    let log = std::sync::Mutex::new(
        std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?,
    );
    let sink: crate::runtime::TaskLogSink = Arc::new(move |function, line| {
        use std::io::Write;
        if let Ok(mut f) = log.lock() {
            let _ = writeln!(
                f,
                "{{\"function\":\"{function}\",\"line\":{}}}",
                serde_json::to_string(line).unwrap_or_default()
            );
        }
    });
    let checks = crate::demo::run(
        HarnessOptions {
            clock: None,
            bin_dir,
            statemachines_dir,
            approval_timeout_seconds: 3600,
            extra_env: Default::default(),
            log_sink: Some(sink),
        },
        faults,
        keep_serving,
    )
    .await?;
    println!("Task logs (JSON lines): {}", log_path.display());
    Ok(if checks.failed() == 0 { 0 } else { 1 })
}
