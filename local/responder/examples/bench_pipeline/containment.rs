//! Containment, one finding at a time: cold (every function started afresh before each
//! finding), then warm.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fault_proxy::{Call, FaultProxy, Scenario};
use responder::bench::{
    by_action, calls_in, mean_tally, micros_since, move_into, Observer, Spread, Starter,
};
use responder::estate::SeededInstance;
use responder::harness::Harness;
use responder::{fleet, moto, pipeline, scenario};
use serde::Serialize;
use serde_json::Value;

use crate::Args;

/// How long the observer keeps looking once the execution has ended.
const OBSERVER_GRACE: Duration = Duration::from_secs(2);

/// One finding.
#[derive(Debug, Clone)]
struct Sample {
    contained: bool,
    /// StartExecution to the observer seeing the interface in the quarantine group.
    observed_ms: Option<u64>,
    /// StartExecution to the end of the move, at the proxy.
    moved_ms: Option<u64>,
    /// The start of the execution to the end of `Isolate`, from its history.
    isolate_ms: Option<u64>,
    calls: BTreeMap<String, u64>,
    /// The calls before the move, in order: `task service:Action`.
    before_move: Vec<String>,
    before_move_by_action: BTreeMap<String, u64>,
}

/// The figures of one phase (cold or warm).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    pub phase: String,
    pub findings: usize,
    pub contained: usize,
    /// Milliseconds, StartExecution to the observer seeing the quarantine group.
    pub observed_ms: Spread,
    /// Milliseconds, StartExecution to the end of the move at the endpoint.
    pub moved_ms: Spread,
    /// Milliseconds, start of the execution to the end of `Isolate` (all of containment).
    pub isolate_end_ms: Spread,
    pub calls_per_containment: f64,
    pub calls_by_action: BTreeMap<String, f64>,
    pub calls_before_move: Spread,
    pub calls_before_move_by_action: BTreeMap<String, f64>,
    /// The calls before the move of the finding with the median move time, in order.
    pub before_move_sequence: Vec<String>,
}

/// One scenario.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub scenario: String,
    pub poll_ms: u64,
    pub cold: Phase,
    pub warm: Phase,
}

struct Bench<'a> {
    h: &'a Harness,
    proxy: &'a FaultProxy,
    starter: Starter,
    observer: Observer,
    fixture: Value,
}

impl Bench<'_> {
    async fn one(&self, label: &str, inst: &SeededInstance) -> Result<Sample> {
        let eni = inst
            .interfaces
            .first()
            .context("an instance without an interface")?
            .network_interface_id
            .clone();
        let event =
            scenario::for_instance(self.fixture.clone(), label, inst, &self.h.estate.region);
        let origin = self.proxy.origin();
        let t0 = Instant::now();
        let arn = self.starter.start(label, &event.to_string()).await?;
        let observer = self.observer.clone();
        let watched = eni.clone();
        let watch = tokio::spawn(async move {
            observer
                .until_quarantined(&watched, Duration::from_secs(120))
                .await
        });
        self.h.runtime.wait(&arn).await?;
        let t1 = Instant::now();
        let seen = match tokio::time::timeout(OBSERVER_GRACE, watch).await {
            Ok(joined) => joined.context("the observer")??,
            Err(_) => None,
        };
        let summary = pipeline::summarize(&self.h.runtime, label, &arn, Some(label.into()))?;
        let journal = self.proxy.journal();
        let (from, to) = (micros_since(origin, t0), micros_since(origin, t1));
        let calls = calls_in(&journal, from, to);
        let moved = seen
            .as_ref()
            .and_then(|(_, group)| move_into(&journal, &eni, group, from));
        let before: Vec<&Call> = moved
            .map(|m| calls_in(&journal, from, m.at_us))
            .unwrap_or_default();
        Ok(Sample {
            contained: summary.outcome == "contained",
            observed_ms: seen.map(|(at, _)| at.duration_since(t0).as_millis() as u64),
            moved_ms: moved.map(|m| (m.end_us().saturating_sub(from)) / 1000),
            isolate_ms: summary.time_to_contain_ms,
            calls: by_action(calls.iter().copied()),
            before_move: before
                .iter()
                .map(|c| format!("{} {}:{}", c.task, c.service, c.action))
                .collect(),
            before_move_by_action: by_action(before.iter().copied()),
        })
    }
}

fn phase(name: &str, samples: &[Sample]) -> Phase {
    let values = |f: fn(&Sample) -> Option<u64>| samples.iter().filter_map(f).collect::<Vec<_>>();
    let contained: Vec<&Sample> = samples.iter().filter(|s| s.contained).collect();
    let calls: Vec<BTreeMap<String, u64>> = contained.iter().map(|s| s.calls.clone()).collect();
    let total: u64 = calls.iter().flat_map(|t| t.values()).sum();
    let before: Vec<BTreeMap<String, u64>> = contained
        .iter()
        .map(|s| s.before_move_by_action.clone())
        .collect();
    // The finding whose move time is the median's.
    let mut by_move: Vec<&&Sample> = contained.iter().filter(|s| s.moved_ms.is_some()).collect();
    by_move.sort_by_key(|s| s.moved_ms);
    let median = by_move.get(by_move.len() / 2);
    Phase {
        phase: name.to_string(),
        findings: samples.len(),
        contained: contained.len(),
        observed_ms: Spread::of(&values(|s| s.observed_ms)),
        moved_ms: Spread::of(&values(|s| s.moved_ms)),
        isolate_end_ms: Spread::of(&values(|s| s.isolate_ms)),
        calls_per_containment: (total as f64 / contained.len().max(1) as f64 * 10.0).round() / 10.0,
        calls_by_action: mean_tally(&calls),
        calls_before_move: Spread::of(
            &contained
                .iter()
                .filter(|s| s.moved_ms.is_some())
                .map(|s| s.before_move.len() as u64)
                .collect::<Vec<_>>(),
        ),
        calls_before_move_by_action: mean_tally(&before),
        before_move_sequence: median.map(|s| s.before_move.clone()).unwrap_or_default(),
    }
}

/// Cold then warm containment under `scenario`.
pub async fn measure(args: &Args, scenario: Scenario) -> Result<Run> {
    let name = scenario.name.clone();
    let h = crate::start(args, scenario).await?;
    let result = async {
        let proxy = &h.faults.as_ref().context("the fault proxy")?.proxy;
        let member = fleet::seed_member(
            &h.security,
            moto::SECURITY_ACCOUNT,
            &fleet::member_account_id(0),
            "bench",
            2 * args.findings + 1,
        )
        .await?;
        let bench = Bench {
            h: &h,
            proxy,
            starter: Starter::new(
                &h.security,
                &h.server.url(),
                h.runtime.machine("remediate-finding")?,
            ),
            observer: Observer::new(&member.config, args.poll),
            fixture: scenario::load(
                &args.repo.join("fixtures/events"),
                "ec2-high-single-eni.json",
            )?,
        };
        let mut instances = member.instances.iter();
        let mut next = || instances.next().context("not enough seeded instances");
        let mut cold = Vec::new();
        for n in 0..args.findings {
            h.runtime.retire_processes()?;
            cold.push(bench.one(&format!("bench-cold-{n:04}"), next()?).await?);
            eprint!("\r{name}: cold {}/{}", n + 1, args.findings);
        }
        eprintln!();
        // One finding to warm every function up; not counted.
        bench.one("bench-warm-up", next()?).await?;
        let mut warm = Vec::new();
        for n in 0..args.findings {
            warm.push(bench.one(&format!("bench-warm-{n:04}"), next()?).await?);
            eprint!("\r{name}: warm {}/{}", n + 1, args.findings);
        }
        eprintln!();
        Ok::<_, anyhow::Error>(Run {
            scenario: name.clone(),
            poll_ms: args.poll.as_millis() as u64,
            cold: phase("cold", &cold),
            warm: phase("warm", &warm),
        })
    }
    .await;
    h.stop().await;
    result
}

/// The table, then the calls of each warm phase.
pub fn print(runs: &[Run]) {
    println!("Time to contain, one finding at a time (ms, p50 / p99), and calls per containment");
    println!(
        "{:<16} {:<5} {:>9} {:>15} {:>15} {:>15} {:>8} {:>12}",
        "scenario",
        "phase",
        "contained",
        "observed",
        "moved (proxy)",
        "isolate end",
        "calls",
        "before move"
    );
    for r in runs {
        for p in [&r.cold, &r.warm] {
            println!(
                "{:<16} {:<5} {:>9} {:>15} {:>15} {:>15} {:>8.1} {:>12}",
                r.scenario,
                p.phase,
                format!("{}/{}", p.contained, p.findings),
                p.observed_ms.cell(),
                p.moved_ms.cell(),
                p.isolate_end_ms.cell(),
                p.calls_per_containment,
                p.calls_before_move.cell(),
            );
        }
    }
    println!(
        "(observed: StartExecution until an observer polling every {} ms sees the interface in the quarantine group; moved: until the proxy answered the move; isolate end: the execution's start to the end of Isolate)",
        runs.first().map_or(0, |r| r.poll_ms)
    );
    for r in runs {
        let p = &r.warm;
        println!(
            "\n{} warm: calls per containment by service and action",
            r.scenario
        );
        for (action, n) in &p.calls_by_action {
            let before = p
                .calls_before_move_by_action
                .get(action)
                .copied()
                .unwrap_or(0.0);
            println!("  {action:<50} {n:>5.1}   before the move {before:>4.1}");
        }
        println!(
            "{} warm: the {} calls before the move (median finding), in order",
            r.scenario,
            p.before_move_sequence.len()
        );
        for (i, c) in p.before_move_sequence.iter().enumerate() {
            println!("  {:>2}. {c}", i + 1);
        }
    }
}
