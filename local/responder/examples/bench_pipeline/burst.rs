//! The burst: many findings across many member accounts, at most C executions in flight; one
//! finding in 20 delivered twice, as EventBridge may deliver an event more than once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use fault_proxy::Scenario;
use responder::bench::{cpu_time, micros_since, Spread, Starter};
use responder::fleet::{self, MemberAccount};
use responder::{moto, pipeline, runtime, scenario};
use responder_core::markers;
use serde::Serialize;

use crate::Args;

/// One finding in this many is delivered twice.
const REDELIVER_EVERY: usize = 20;

/// Effects beyond one per resource.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Duplicates {
    /// Moves into the quarantine group beyond one per interface (from the journal).
    pub moves: u64,
    /// Snapshots beyond one per volume (read back).
    pub snapshots: u64,
    /// Quarantine groups beyond one per VPC (read back).
    pub quarantine_groups: u64,
}

impl Duplicates {
    fn total(&self) -> u64 {
        self.moves + self.snapshots + self.quarantine_groups
    }
}

/// The emulator's share of the wall time.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorShare {
    /// Time at least one call was waiting for the emulator, from the proxy's journal.
    pub busy_ms: u64,
    /// `busy_ms` over the wall time.
    pub busy_share: f64,
    /// The emulator's answer times summed (concurrent calls each count).
    pub upstream_sum_ms: u64,
    /// Latency the scenario added, summed.
    pub added_sum_ms: u64,
    /// CPU time of the emulator's process during the burst.
    pub cpu_ms: Option<u64>,
    /// `cpu_ms` over the wall time (1.0: one core busy all along).
    pub cpu_share: Option<f64>,
}

/// The figures of a burst.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Burst {
    pub scenario: String,
    pub findings: usize,
    pub redeliveries: usize,
    pub accounts: usize,
    pub concurrency: usize,
    pub wall_ms: u64,
    pub executions_per_s: f64,
    pub outcomes: BTreeMap<String, usize>,
    /// Interfaces in the quarantine group at the end, read back.
    pub contained_interfaces: usize,
    /// Milliseconds from a finding's first StartExecution to the end of its move at the proxy.
    pub moved_ms: Spread,
    pub calls: u64,
    pub calls_per_finding: f64,
    pub calls_by_service: BTreeMap<String, u64>,
    pub assume_role_calls: u64,
    pub assume_role_by_task: BTreeMap<String, u64>,
    pub processes_started: BTreeMap<String, u64>,
    pub duplicates: Duplicates,
    pub emulator: EmulatorShare,
}

struct Delivery {
    finding: usize,
    name: String,
    input: String,
}

/// Seeds the accounts, runs the burst, reads back.
pub async fn measure(args: &Args, scenario: Scenario) -> Result<Burst> {
    let name = scenario.name.clone();
    let h = crate::start(args, scenario).await?;
    let result = async {
        let proxy = &h.faults.as_ref().context("the fault proxy")?.proxy;
        let per_account = args.burst.div_ceil(args.accounts);
        let mut accounts: Vec<MemberAccount> = Vec::new();
        for a in 0..args.accounts {
            eprint!("\rseeding account {}/{}", a + 1, args.accounts);
            accounts.push(
                fleet::seed_member(
                    &h.security,
                    moto::SECURITY_ACCOUNT,
                    &fleet::member_account_id(a),
                    "burst",
                    per_account,
                )
                .await?,
            );
        }
        eprintln!();
        let fixture = scenario::load(
            &args.repo.join("fixtures/events"),
            "ec2-high-single-eni.json",
        )?;
        // Finding n is about instance n / A of account n % A: the accounts interleave.
        let target = |n: usize| &accounts[n % args.accounts].instances[n / args.accounts];
        let mut deliveries = Vec::new();
        for n in 0..args.burst {
            let id = format!("burst{n:05}");
            let input = scenario::for_instance(fixture.clone(), &id, target(n), &h.estate.region)
                .to_string();
            deliveries.push(Delivery {
                finding: n,
                name: id.clone(),
                input: input.clone(),
            });
            if n % REDELIVER_EVERY == 0 {
                deliveries.push(Delivery {
                    finding: n,
                    name: format!("{id}-again"),
                    input,
                });
            }
        }
        let redeliveries = deliveries.len() - args.burst;
        let starter = Starter::new(
            &h.security,
            &h.server.url(),
            h.runtime.machine("remediate-finding")?,
        );
        proxy.reset();
        let cpu0 = h.moto.pid().and_then(cpu_time);
        let origin = proxy.origin();
        let t0 = Instant::now();
        let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
        let mut running = tokio::task::JoinSet::new();
        for d in deliveries {
            let permit = Arc::clone(&slots).acquire_owned().await?;
            let starter = starter.clone();
            let engine = h.runtime.engine.clone();
            running.spawn(async move {
                let started = Instant::now();
                let arn = starter.start(&d.name, &d.input).await?;
                engine
                    .wait_for_execution(&arn)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                drop(permit);
                Ok::<_, anyhow::Error>((d.finding, d.name, arn, started))
            });
        }
        let mut done = Vec::new();
        while let Some(r) = running.join_next().await {
            done.push(r.context("a delivery")??);
            eprint!("\rburst: {}/{}", done.len(), args.burst + redeliveries);
        }
        eprintln!();
        let t1 = Instant::now();
        let cpu1 = h.moto.pid().and_then(cpu_time);
        let wall = t1.duration_since(t0);

        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for (_, name, arn, _) in &done {
            let s = pipeline::summarize(&h.runtime, name, arn, None)?;
            *outcomes.entry(s.outcome).or_default() += 1;
        }
        let journal = proxy.journal();
        let counts = proxy.counts();

        // Read back: the quarantine groups of each account, the interfaces in them, the
        // snapshots per volume.
        let mut duplicates = Duplicates::default();
        let mut quarantine: Vec<String> = Vec::new();
        let mut contained_interfaces = 0;
        for a in &accounts {
            let ec2 = aws_sdk_ec2::Client::new(&a.config);
            let groups = ec2
                .describe_security_groups()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("group-name")
                        .values(markers::QUARANTINE_GROUP_NAME)
                        .build(),
                )
                .send()
                .await
                .context("DescribeSecurityGroups")?;
            let ids: Vec<String> = groups
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            duplicates.quarantine_groups += (ids.len() as u64).saturating_sub(1);
            let interfaces = ec2
                .describe_network_interfaces()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("vpc-id")
                        .values(&a.vpc_id)
                        .build(),
                )
                .send()
                .await
                .context("DescribeNetworkInterfaces")?;
            contained_interfaces += interfaces
                .network_interfaces()
                .iter()
                .filter(|n| {
                    let g = n.groups();
                    g.len() == 1
                        && g[0]
                            .group_id()
                            .is_some_and(|id| ids.iter().any(|q| q == id))
                })
                .count();
            let snapshots = ec2
                .describe_snapshots()
                .owner_ids("self")
                .send()
                .await
                .context("DescribeSnapshots")?;
            let mut per_volume: HashMap<&str, u64> = HashMap::new();
            for s in snapshots.snapshots() {
                *per_volume.entry(s.volume_id().unwrap_or("")).or_default() += 1;
            }
            duplicates.snapshots += per_volume.values().map(|n| n - 1).sum::<u64>();
            quarantine.extend(ids);
        }
        // Moves into a quarantine group, per interface, from the journal.
        let mut moves: HashMap<&str, Vec<u64>> = HashMap::new();
        for c in &journal.calls {
            if c.action == "ModifyNetworkInterfaceAttribute"
                && c.status == 200
                && c.ids.iter().any(|i| quarantine.contains(i))
            {
                if let Some(eni) = c.ids.iter().find(|i| i.starts_with("eni-")) {
                    moves.entry(eni.as_str()).or_default().push(c.end_us());
                }
            }
        }
        duplicates.moves = moves
            .values()
            .map(|m| (m.len() as u64).saturating_sub(1))
            .sum();
        let mut first_start: HashMap<usize, Instant> = HashMap::new();
        for (finding, _, _, started) in &done {
            let e = first_start.entry(*finding).or_insert(*started);
            *e = (*e).min(*started);
        }
        let moved: Vec<u64> = first_start
            .iter()
            .filter_map(|(n, started)| {
                let eni = &target(*n).interfaces.first()?.network_interface_id;
                let end = *moves.get(eni.as_str())?.iter().min()?;
                Some(end.saturating_sub(micros_since(origin, *started)) / 1000)
            })
            .collect();

        let mut calls_by_service: BTreeMap<String, u64> = BTreeMap::new();
        let mut assume_role_by_task: BTreeMap<String, u64> = BTreeMap::new();
        for r in &counts.rows {
            *calls_by_service.entry(r.service.clone()).or_default() += r.calls;
            if r.service == "sts" && r.action == "AssumeRole" {
                *assume_role_by_task.entry(r.task.clone()).or_default() += r.calls;
            }
        }
        let total = counts.total();
        let processes_started = runtime::FUNCTIONS
            .iter()
            .filter_map(|(f, _, _)| {
                let stats = h.runtime.tasks.host().stats(f)?;
                (stats.processes_started > 0).then(|| (f.to_string(), stats.processes_started))
            })
            .collect();
        let (from, to) = (micros_since(origin, t0), micros_since(origin, t1));
        let wall_ms = wall.as_millis() as u64;
        let share = |ms: u64| (ms as f64 / wall_ms.max(1) as f64 * 100.0).round() / 100.0;
        let busy_ms = journal.upstream_busy_us(from, to) / 1000;
        let cpu_ms = match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a).as_millis() as u64),
            _ => None,
        };
        Ok::<_, anyhow::Error>(Burst {
            scenario: name.clone(),
            findings: args.burst,
            redeliveries,
            accounts: args.accounts,
            concurrency: args.concurrency,
            wall_ms,
            executions_per_s: ((args.burst + redeliveries) as f64 / wall.as_secs_f64().max(1e-3)
                * 10.0)
                .round()
                / 10.0,
            outcomes,
            contained_interfaces,
            moved_ms: Spread::of(&moved),
            calls: total.calls,
            calls_per_finding: (total.calls as f64 / args.burst.max(1) as f64 * 10.0).round()
                / 10.0,
            calls_by_service,
            assume_role_calls: assume_role_by_task.values().sum(),
            assume_role_by_task,
            processes_started,
            duplicates,
            emulator: EmulatorShare {
                busy_ms,
                busy_share: share(busy_ms),
                upstream_sum_ms: total.upstream_us / 1000,
                added_sum_ms: total.latency_ms,
                cpu_ms,
                cpu_share: cpu_ms.map(share),
            },
        })
    }
    .await;
    h.stop().await;
    result
}

/// The burst's table.
pub fn print(b: &Burst) {
    let map = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nBurst: {} findings (+{} delivered twice) across {} member accounts, at most {} executions in flight, scenario {}",
        b.findings, b.redeliveries, b.accounts, b.concurrency, b.scenario
    );
    println!(
        "  wall time          {:.1} s, {:.1} executions/s",
        b.wall_ms as f64 / 1000.0,
        b.executions_per_s
    );
    println!(
        "  outcomes           {}; interfaces in quarantine at the end {}",
        b.outcomes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        b.contained_interfaces
    );
    println!(
        "  to the move        {} ms (p50 / p99, from the finding's first StartExecution)",
        b.moved_ms.cell()
    );
    println!(
        "  calls              {} ({:.1} per finding): {}",
        b.calls,
        b.calls_per_finding,
        map(&b.calls_by_service)
    );
    println!(
        "  STS AssumeRole     {} calls ({}); processes started: {} ({} accounts)",
        b.assume_role_calls,
        map(&b.assume_role_by_task),
        map(&b.processes_started),
        b.accounts
    );
    println!(
        "  duplicate effects  {} (moves beyond one per interface {}, snapshots beyond one per volume {}, quarantine groups beyond one per VPC {})",
        b.duplicates.total(),
        b.duplicates.moves,
        b.duplicates.snapshots,
        b.duplicates.quarantine_groups
    );
    let e = &b.emulator;
    println!(
        "  emulator           a call at moto {:.0}% of the wall time ({} ms); its answer times summed {} ms ({:.1}x the wall time); latency added {} ms; moto's CPU {}",
        e.busy_share * 100.0,
        e.busy_ms,
        e.upstream_sum_ms,
        e.upstream_sum_ms as f64 / b.wall_ms.max(1) as f64,
        e.added_sum_ms,
        match (e.cpu_ms, e.cpu_share) {
            (Some(ms), Some(s)) => format!("{ms} ms ({:.0}% of one core over the wall time)", s * 100.0),
            _ => "not measured".to_string(),
        }
    );
}
