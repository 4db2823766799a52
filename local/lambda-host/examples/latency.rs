//! Cold-start and warm invocation latency of the `lambda-host-echo` function.
//!
//! ```text
//! cargo build -p lambda-host --release --bins
//! cargo run -p lambda-host --release --example latency [-- <path to lambda-host-echo>]
//! ```
//!
//! (`cargo run --example` does not build the crate's binaries: build them first.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_host::{FunctionConfig, HostOptions, LambdaHost};
use serde_json::json;

const COLD_RUNS: usize = 20;
const WARM_RUNS: usize = 2_000;
const PARALLEL: usize = 8;
const PARALLEL_RUNS_EACH: usize = 250;

fn echo_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::args().nth(1) {
        return Ok(path.into());
    }
    // target/<profile>/examples/latency -> target/<profile>/lambda-host-echo
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("lambda-host-echo"))
        .ok_or_else(|| anyhow::anyhow!("cannot locate the target directory"))?;
    anyhow::ensure!(
        path.is_file(),
        "{} not found: run `cargo build -p lambda-host --bins` (same profile) first",
        path.display()
    );
    Ok(path)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label:<34} n={:<5} mean={:>8.3} ms  p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        mean.as_secs_f64() * 1e3,
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let echo = echo_path()?;
    println!("function binary: {}", echo.display());
    let host = Arc::new(LambdaHost::new(HostOptions::default()));
    let config = FunctionConfig::new("echo", &echo);
    let payload = json!({"finding": {"id": "bench", "severity": 8.0}, "n": 1});

    // Cold starts: re-registering retires the warm process, so the next
    // invocation starts a new one.
    let mut cold_total = Vec::new();
    let mut cold_init = Vec::new();
    let mut cold_invoke = Vec::new();
    for _ in 0..COLD_RUNS {
        host.register(config.clone())?;
        let start = Instant::now();
        let run = host.invoke("echo", payload.clone()).await?;
        cold_total.push(start.elapsed());
        anyhow::ensure!(run.report.cold_start && run.result.is_ok(), "bad cold run");
        cold_init.push(run.report.init_duration.unwrap_or_default());
        cold_invoke.push(run.report.duration);
    }
    summary("cold: invoke() wall time", cold_total);
    summary("cold: Init Duration (REPORT)", cold_init);
    summary("cold: Duration (REPORT)", cold_invoke);

    // Warm, one at a time.
    host.register(config.clone())?;
    host.invoke("echo", payload.clone()).await?;
    let mut warm_total = Vec::new();
    let mut warm_duration = Vec::new();
    for _ in 0..WARM_RUNS {
        let start = Instant::now();
        let run = host.invoke("echo", payload.clone()).await?;
        warm_total.push(start.elapsed());
        warm_duration.push(run.report.duration);
        anyhow::ensure!(!run.report.cold_start && run.result.is_ok(), "bad warm run");
    }
    let started = host.stats("echo").map(|s| s.processes_started);
    summary("warm: invoke() wall time", warm_total);
    summary("warm: Duration (REPORT)", warm_duration);
    println!("warm: processes started = {started:?}");

    // Warm, PARALLEL callers at once.
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..PARALLEL {
        let host = Arc::clone(&host);
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for _ in 0..PARALLEL_RUNS_EACH {
                let t = Instant::now();
                host.invoke("echo", payload.clone()).await?;
                samples.push(t.elapsed());
            }
            anyhow::Ok(samples)
        }));
    }
    let mut parallel = Vec::new();
    for task in tasks {
        parallel.extend(task.await??);
    }
    let elapsed = start.elapsed();
    let count = parallel.len();
    summary(
        &format!("parallel x{PARALLEL}: invoke() wall time"),
        parallel,
    );
    println!(
        "parallel x{PARALLEL}: {count} invocations in {:.2} s = {:.0} invocations/s, processes started = {:?}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        host.stats("echo").map(|s| s.processes_started)
    );
    host.shutdown().await;
    Ok(())
}
