//! How fast the pipeline contains, measured from outside: the real state machine and the
//! release task binaries behind the local Step Functions endpoint, moto behind the fault proxy
//! (which counts and journals every call), findings about instances of a member account reached
//! through the remediation role.
//!
//! Containment, once per scenario (`calm`, then a fixed latency on every call so that the
//! figures resemble AWS): N single-interface HIGH findings one after another with every
//! function started afresh (cold), then N with warm processes. For each: time to contain as an
//! observer polling the interface's groups sees it, as the proxy saw the move, and as the
//! execution history records the end of `Isolate`; the calls per containment by service and
//! action; the calls made before the interface moved, in order.
//!
//! Burst: F findings across A member accounts (some delivered twice, as EventBridge may), at
//! most C executions in flight. Wall time, executions per second, time to the move, STS
//! `AssumeRole` calls against the processes started, duplicate effects (moves and snapshots
//! beyond one per resource, read back from the emulator and the journal), and how much of the
//! wall time the emulator was busy: measured from the proxy's journal (time with a call at
//! the emulator) and from the emulator's CPU time.
//!
//! A benchmark, not a test: it prints a table and a JSON line and asserts nothing.
//!
//! `cargo run --release -p responder --example bench_pipeline -- [--findings N] [--latency-ms MS]
//! [--burst F] [--accounts A] [--concurrency C] [--poll-ms P] [--only containment|burst]`
//! (`make bench-pipeline`, `make bench-pipeline-burst`).

mod burst;
mod containment;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fault_proxy::{Latency, Scenario, ServiceFaults};
use responder::harness::{Harness, HarnessOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct Args {
    pub findings: usize,
    pub latency_ms: u64,
    pub burst: usize,
    pub accounts: usize,
    pub concurrency: usize,
    pub poll: Duration,
    pub containment: bool,
    pub run_burst: bool,
    pub repo: PathBuf,
    pub bin_dir: PathBuf,
}

fn parse_args() -> Result<Args> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut a = Args {
        findings: 20,
        latency_ms: 50,
        burst: 100,
        accounts: 5,
        concurrency: 16,
        poll: Duration::from_millis(5),
        containment: true,
        run_burst: true,
        bin_dir: std::env::var_os("RESPONDER_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("target/release")),
        repo,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} takes a value"))
                .cloned()
        };
        let number = |v: String| {
            v.parse::<u64>()
                .with_context(|| format!("{flag} takes a number, not {v:?}"))
        };
        match flag.as_str() {
            "--findings" => a.findings = number(value()?)? as usize,
            "--latency-ms" => a.latency_ms = number(value()?)?,
            "--burst" => a.burst = number(value()?)? as usize,
            "--accounts" => a.accounts = (number(value()?)? as usize).max(1),
            "--concurrency" => a.concurrency = (number(value()?)? as usize).max(1),
            "--poll-ms" => a.poll = Duration::from_millis(number(value()?)?.max(1)),
            "--only" => match value()?.as_str() {
                "containment" => a.run_burst = false,
                "burst" => a.containment = false,
                other => bail!("--only takes containment or burst, not {other:?}"),
            },
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(a)
}

/// `calm`, or `calm` with a fixed latency on every call.
pub fn scenario(latency_ms: u64) -> Result<Scenario> {
    let mut s = Scenario::named("calm").map_err(|e| anyhow::anyhow!("{e}"))?;
    if latency_ms > 0 {
        s.name = format!("latency-{latency_ms}ms");
        s.description = format!("{latency_ms} ms added to every call; nothing else");
        s.defaults = ServiceFaults {
            latency: Some(Latency {
                fixed_ms: Some(latency_ms as f64),
                ..Latency::default()
            }),
            ..ServiceFaults::default()
        };
    }
    Ok(s)
}

/// A local stack whose tasks call the emulator through the proxy playing `scenario`, with the
/// journal kept.
pub async fn start(args: &Args, scenario: Scenario) -> Result<Harness> {
    let missing: Vec<&str> = responder::runtime::FUNCTIONS
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| !args.bin_dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "task binaries missing in {}: {} (run `cargo build --release --workspace --bins`)",
            args.bin_dir.display(),
            missing.join(", ")
        );
    }
    let h = Harness::start_with(
        HarnessOptions {
            clock: None,
            bin_dir: args.bin_dir.clone(),
            statemachines_dir: args.repo.join("statemachines"),
            approval_timeout_seconds: 3600,
            extra_env: BTreeMap::new(),
            log_sink: Some(Arc::new(|_: &str, _: &str| {})),
        },
        Some(scenario),
    )
    .await?;
    if let Some(f) = &h.faults {
        f.proxy.keep_journal(5_000_000);
    }
    Ok(h)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let mut json = serde_json::Map::new();
    json.insert(
        "binaries".into(),
        serde_json::Value::String(args.bin_dir.display().to_string()),
    );
    if args.containment {
        let mut runs = Vec::new();
        let mut latencies = vec![0];
        if args.latency_ms > 0 {
            latencies.push(args.latency_ms);
        }
        for latency in latencies {
            runs.push(containment::measure(&args, scenario(latency)?).await?);
        }
        containment::print(&runs);
        json.insert("containment".into(), serde_json::to_value(&runs)?);
    }
    if args.run_burst && args.burst > 0 {
        let latency = if args.containment { 0 } else { args.latency_ms };
        let b = burst::measure(&args, scenario(latency)?).await?;
        burst::print(&b);
        json.insert("burst".into(), serde_json::to_value(&b)?);
    }
    println!("{}", serde_json::json!({ "benchPipeline": json }));
    Ok(())
}
