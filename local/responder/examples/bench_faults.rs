//! The pipeline under AWS's failure modes, measured: N single-interface HIGH findings, one
//! after another, through the real state machine and task binaries, against moto behind the
//! fault proxy, once per scenario (`calm`, `bad-day` by default). Prints, per scenario:
//! executions finished / started, time to contain (p50, p99; from the start of the execution
//! to the end of `Isolate`, as the execution history records it), API calls per containment by
//! service, and retries per containment (calls the proxy answered with an error, a reset or a
//! crash: each is retried by the SDK, the task or the state machine). Then a JSON line.
//!
//! A benchmark, not a test: it asserts nothing. The wall clock is real (the state machine's
//! retry waits included), so the figures are what a bad day costs.
//!
//! `cargo run -p responder --example bench_faults -- [--findings N] [SCENARIO...]`
//! (`make bench-faults`; needs the task binaries built and moto installed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use fault_proxy::Scenario;
use responder::bench::percentile;
use responder::estate;
use responder::harness::{Harness, HarnessOptions};
use responder::scenario::for_instance;

struct Figures {
    scenario: String,
    started: usize,
    finished: usize,
    contained: usize,
    ttc_ms: Vec<u64>,
    calls_by_service: BTreeMap<String, u64>,
    retried: u64,
}

async fn measure(
    scenario: Scenario,
    findings: usize,
    bin_dir: PathBuf,
    repo: PathBuf,
) -> Result<Figures> {
    let name = scenario.name.clone();
    let h = Harness::start_with(
        HarnessOptions {
            clock: None,
            bin_dir,
            statemachines_dir: repo.join("statemachines"),
            approval_timeout_seconds: 3600,
            extra_env: BTreeMap::new(),
            log_sink: Some(Arc::new(|_: &str, _: &str| {})),
        },
        Some(scenario),
    )
    .await?;
    let result = async {
        let fixture =
            responder::scenario::load(&repo.join("fixtures/events"), "ec2-high-single-eni.json")?;
        let mut instances = Vec::new();
        for n in 0..findings {
            instances.push(
                estate::extra_instance(&h.security, &h.estate, &format!("bench-{n:03}")).await?,
            );
        }
        // What the harness's seeding cost is not the pipeline's.
        let faults = h.faults.as_ref().context("faults")?;
        faults.proxy.reset();
        let mut fig = Figures {
            scenario: name.clone(),
            started: 0,
            finished: 0,
            contained: 0,
            ttc_ms: Vec::new(),
            calls_by_service: BTreeMap::new(),
            retried: 0,
        };
        for (n, inst) in instances.iter().enumerate() {
            let id = format!("bench{n:04}");
            let event = for_instance(fixture.clone(), &id, inst, &h.estate.region);
            fig.started += 1;
            let s = h.run(&id, &event).await?;
            if s.status == "SUCCEEDED" || s.status == "FAILED" {
                fig.finished += 1;
            }
            if matches!(s.outcome.as_str(), "contained" | "partially-contained") {
                fig.contained += 1;
            }
            if let Some(t) = s.time_to_contain_ms {
                fig.ttc_ms.push(t);
            }
            eprint!("\r{name}: {}/{findings}", n + 1);
        }
        eprintln!();
        let counts = faults.proxy.counts();
        for r in &counts.rows {
            *fig.calls_by_service.entry(r.service.clone()).or_default() += r.calls;
            fig.retried += r.errors.values().sum::<u64>() + r.resets + r.crashes;
        }
        fig.ttc_ms.sort_unstable();
        Ok::<_, anyhow::Error>(fig)
    }
    .await;
    h.stop().await;
    result
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut findings = 20usize;
    if let Some(i) = args.iter().position(|a| a == "--findings") {
        findings = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .context("--findings takes a number")?;
        args.drain(i..=i + 1);
    }
    let scenarios = if args.is_empty() {
        vec!["calm".to_string(), "bad-day".to_string()]
    } else {
        args
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin_dir = std::env::var_os("RESPONDER_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/debug"));
    let mut all = Vec::new();
    for name in &scenarios {
        let scenario = Scenario::load(name).map_err(|e| anyhow::anyhow!("{e}"))?;
        all.push(measure(scenario, findings, bin_dir.clone(), repo.clone()).await?);
    }
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>13} {:>12}  calls per containment by service",
        "scenario",
        "started",
        "finished",
        "contained",
        "ttc p50",
        "ttc p99",
        "calls/contain",
        "retries/cont"
    );
    let mut json = Vec::new();
    for f in &all {
        let per = |n: u64| n as f64 / f.contained.max(1) as f64;
        let total: u64 = f.calls_by_service.values().sum();
        let by_service: BTreeMap<&String, f64> = f
            .calls_by_service
            .iter()
            .map(|(s, n)| (s, (per(*n) * 10.0).round() / 10.0))
            .collect();
        let p50 = percentile(&f.ttc_ms, 50.0);
        let p99 = percentile(&f.ttc_ms, 99.0);
        println!(
            "{:<10} {:>9} {:>9} {:>9} {:>8}ms {:>8}ms {:>13.1} {:>12.1}  {}",
            f.scenario,
            f.started,
            f.finished,
            f.contained,
            p50.map(|v| v.to_string()).unwrap_or("-".into()),
            p99.map(|v| v.to_string()).unwrap_or("-".into()),
            per(total),
            per(f.retried),
            by_service
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        json.push(serde_json::json!({
            "scenario": f.scenario,
            "started": f.started,
            "finished": f.finished,
            "contained": f.contained,
            "timeToContainMs": { "p50": p50, "p99": p99 },
            "callsPerContainment": per(total),
            "callsPerContainmentByService": by_service,
            "retriesPerContainment": per(f.retried),
        }));
    }
    println!("{}", serde_json::json!({ "benchFaults": json }));
    Ok(())
}
