//! Measuring the pipeline from outside, for the benchmarks (`examples/bench_faults.rs`,
//! `examples/bench_pipeline.rs`): percentiles, a client that starts executions through the
//! local Step Functions endpoint, an observer that polls an interface's groups the way someone
//! watching the account would, the fault proxy's journal read as "what happened before the
//! interface moved", and the emulator's own CPU time.
//!
//! Benchmarks print figures; nothing here asserts a time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use fault_proxy::{Call, Journal};
use responder_core::markers;
use serde::Serialize;

/// The `p`th percentile (0 to 100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(i).copied()
}

/// The median and 99th percentile of some values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// How many values.
    pub n: usize,
    /// The median.
    pub p50: Option<u64>,
    /// The 99th percentile.
    pub p99: Option<u64>,
}

impl Spread {
    /// The spread of `values` (in any order).
    pub fn of(values: &[u64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Spread {
            n: sorted.len(),
            p50: percentile(&sorted, 50.0),
            p99: percentile(&sorted, 99.0),
        }
    }

    /// `p50 / p99` for a table cell.
    pub fn cell(&self) -> String {
        let v = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
        format!("{} / {}", v(self.p50), v(self.p99))
    }
}

/// Starts `remediate-finding` executions through the local Step Functions endpoint, as a
/// client outside the runtime would (EventBridge's target, or an operator's CLI).
#[derive(Debug, Clone)]
pub struct Starter {
    sfn: aws_sdk_sfn::Client,
    machine_arn: String,
}

impl Starter {
    /// A client of the endpoint at `url`, with the credentials and region of `config`.
    pub fn new(config: &SdkConfig, url: &str, machine_arn: &str) -> Self {
        let conf = aws_sdk_sfn::config::Builder::from(config)
            .endpoint_url(url)
            .build();
        Starter {
            sfn: aws_sdk_sfn::Client::from_conf(conf),
            machine_arn: machine_arn.to_string(),
        }
    }

    /// `StartExecution`; returns the execution's ARN.
    pub async fn start(&self, name: &str, input: &str) -> Result<String> {
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .with_context(|| format!("StartExecution {name}"))?;
        Ok(out.execution_arn().to_string())
    }
}

/// Watches an interface from outside: polls its groups straight at the emulator (not through
/// the fault proxy, so it is neither counted nor delayed) until it is in the quarantine group.
#[derive(Debug, Clone)]
pub struct Observer {
    ec2: aws_sdk_ec2::Client,
    interval: Duration,
}

impl Observer {
    /// An observer acting with `config` (the interface's account), polling every `interval`.
    pub fn new(config: &SdkConfig, interval: Duration) -> Self {
        Observer {
            ec2: aws_sdk_ec2::Client::new(config),
            interval,
        }
    }

    /// The groups of an interface: (id, name) pairs.
    pub async fn groups(&self, eni: &str) -> Result<Vec<(String, String)>> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .network_interface_ids(eni)
            .send()
            .await
            .context("DescribeNetworkInterfaces")?;
        Ok(out
            .network_interfaces()
            .iter()
            .flat_map(|n| n.groups())
            .map(|g| {
                (
                    g.group_id().unwrap_or_default().to_string(),
                    g.group_name().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// Polls until the interface's only group is its VPC's quarantine group; returns when it
    /// was first seen there and the group's id, or `None` after `timeout`.
    pub async fn until_quarantined(
        &self,
        eni: &str,
        timeout: Duration,
    ) -> Result<Option<(Instant, String)>> {
        let deadline = Instant::now() + timeout;
        loop {
            let groups = self.groups(eni).await?;
            if let [(id, name)] = groups.as_slice() {
                if name == markers::QUARANTINE_GROUP_NAME {
                    return Ok(Some((Instant::now(), id.clone())));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`; `None` where there is
/// no such file (not Linux, or the process is gone).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // start at field 3, so utime and stime (fields 14 and 15) are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, the unit of these fields, is 100 on every Linux architecture a benchmark here
    // runs on (the kernel's ABI fixes it, whatever HZ the kernel ticks at).
    Some(Duration::from_millis(ticks * 10))
}

/// Microseconds from the proxy's origin to `t` (0 before it).
pub fn micros_since(origin: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(origin).as_micros()).unwrap_or(u64::MAX)
}

/// Whether a call moved `eni` into `group` successfully.
pub fn is_move_into(call: &Call, eni: &str, group: &str) -> bool {
    call.action == "ModifyNetworkInterfaceAttribute"
        && call.status == 200
        && call.names(eni)
        && call.names(group)
}

/// The first successful move of `eni` into `group` that arrived at or after `from_us`.
pub fn move_into<'a>(
    journal: &'a Journal,
    eni: &str,
    group: &str,
    from_us: u64,
) -> Option<&'a Call> {
    journal
        .calls
        .iter()
        .filter(|c| c.at_us >= from_us)
        .find(|c| is_move_into(c, eni, group))
}

/// The calls that arrived between `from_us` (included) and `to_us` (excluded).
pub fn calls_in(journal: &Journal, from_us: u64, to_us: u64) -> Vec<&Call> {
    journal
        .calls
        .iter()
        .filter(|c| c.at_us >= from_us && c.at_us < to_us)
        .collect()
}

/// `service:Action` of a call.
pub fn call_name(c: &Call) -> String {
    format!("{}:{}", c.service, c.action)
}

/// How many calls of each `service:Action`.
pub fn by_action<'a>(calls: impl IntoIterator<Item = &'a Call>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for c in calls {
        *out.entry(call_name(c)).or_default() += 1;
    }
    out
}

/// The averages of several per-run tallies (each missing key counts as 0), rounded to a tenth.
pub fn mean_tally(tallies: &[BTreeMap<String, u64>]) -> BTreeMap<String, f64> {
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for t in tallies {
        for (k, n) in t {
            *sum.entry(k.clone()).or_default() += n;
        }
    }
    let runs = tallies.len().max(1) as f64;
    sum.into_iter()
        .map(|(k, n)| (k, (n as f64 / runs * 10.0).round() / 10.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at_us: u64, action: &str, ids: &[&str], status: u16) -> Call {
        Call {
            seq: 0,
            at_us,
            took_us: 1,
            upstream_us: 1,
            added_us: 0,
            task: "isolate".into(),
            service: "ec2".into(),
            action: action.into(),
            access_key_id: None,
            ids: ids.iter().map(|s| s.to_string()).collect(),
            status,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_and_spreads_sort_first() {
        assert_eq!(percentile(&[], 50.0), None);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(51));
        assert_eq!(percentile(&v, 99.0), Some(99));
        let s = Spread::of(&[30, 10, 20]);
        assert_eq!((s.n, s.p50, s.p99), (3, Some(20), Some(30)));
        assert_eq!(s.cell(), "20 / 30");
        assert_eq!(Spread::of(&[]).cell(), "- / -");
    }

    #[test]
    fn the_move_is_the_first_successful_one_into_the_group_after_the_start() {
        let j = Journal {
            calls: vec![
                call(
                    5,
                    "ModifyNetworkInterfaceAttribute",
                    &["eni-00000001", "sg-0000000q"],
                    200,
                ),
                call(10, "DescribeInstances", &["i-00000001"], 200),
                call(
                    20,
                    "ModifyNetworkInterfaceAttribute",
                    &["eni-00000001", "sg-0000000u"],
                    200,
                ),
                call(
                    30,
                    "ModifyNetworkInterfaceAttribute",
                    &["eni-00000001", "sg-0000000q"],
                    503,
                ),
                call(
                    40,
                    "ModifyNetworkInterfaceAttribute",
                    &["eni-00000001", "sg-0000000q"],
                    200,
                ),
            ],
            dropped: 0,
        };
        let m = move_into(&j, "eni-00000001", "sg-0000000q", 8).expect("a move");
        assert_eq!(m.at_us, 40);
        let before = calls_in(&j, 8, m.at_us);
        assert_eq!(before.len(), 3);
        let tally = by_action(before);
        assert_eq!(tally.get("ec2:ModifyNetworkInterfaceAttribute"), Some(&2));
        assert_eq!(tally.get("ec2:DescribeInstances"), Some(&1));
        assert!(move_into(&j, "eni-00000002", "sg-0000000q", 0).is_none());
    }

    #[test]
    fn mean_tallies_count_missing_keys_as_zero() {
        let a = BTreeMap::from([("ec2:A".to_string(), 3), ("sts:B".to_string(), 1)]);
        let b = BTreeMap::from([("ec2:A".to_string(), 2)]);
        let m = mean_tally(&[a, b]);
        assert_eq!(m.get("ec2:A"), Some(&2.5));
        assert_eq!(m.get("sts:B"), Some(&0.5));
    }

    #[test]
    fn cpu_time_of_this_process_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_time(std::process::id()).is_some());
        }
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
