//! What the proxy saw and did, per task, service and action, and the table it renders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// The caller of calls no task could be named for.
pub const UNATTRIBUTED: &str = "-";

/// The figures of one (task, service, action).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The task (or `-`).
    pub task: String,
    /// The service.
    pub service: String,
    /// The action.
    pub action: String,
    /// Calls received.
    pub calls: u64,
    /// Calls forwarded to the emulator.
    pub forwarded: u64,
    /// Errors answered by the proxy, by code.
    pub errors: BTreeMap<String, u64>,
    /// Connections closed without an answer.
    pub resets: u64,
    /// Calls whose caller was killed.
    pub crashes: u64,
    /// Latency added, in milliseconds.
    pub latency_ms: u64,
    /// Time the emulator took to answer the forwarded calls, in microseconds.
    pub upstream_us: u64,
}

/// Every figure, plus the proxy's own reads of the emulator (for quotas).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// One row per (task, service, action), sorted.
    pub rows: Vec<Row>,
    /// Reads the proxy made itself to check quotas (not calls of any task).
    pub quota_reads: u64,
    /// Eventual-consistency windows opened, by kind.
    pub windows_opened: BTreeMap<String, u64>,
    /// Refusals by quota name.
    pub quota_refusals: BTreeMap<String, u64>,
    /// How often each rule fired, by its description.
    pub rules_fired: BTreeMap<String, u64>,
}

impl Counts {
    /// The row of one (task, service, action).
    pub fn row(&self, task: &str, service: &str, action: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.task == task && r.service == service && r.action == action)
    }

    /// Calls of a service and action over every task.
    pub fn calls(&self, service: &str, action: &str) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.service == service && r.action == action)
            .map(|r| r.calls)
            .sum()
    }

    /// Errors of a code over everything.
    pub fn errors(&self, code: &str) -> u64 {
        self.rows.iter().filter_map(|r| r.errors.get(code)).sum()
    }

    /// Sum of every row.
    pub fn total(&self) -> Row {
        let mut t = Row {
            task: "total".into(),
            ..Row::default()
        };
        for r in &self.rows {
            t.calls += r.calls;
            t.forwarded += r.forwarded;
            t.resets += r.resets;
            t.crashes += r.crashes;
            t.latency_ms += r.latency_ms;
            t.upstream_us += r.upstream_us;
            for (code, n) in &r.errors {
                *t.errors.entry(code.clone()).or_default() += n;
            }
        }
        t
    }

    /// A table of every row, then the totals, windows, quota refusals and rules.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<18} {:<20} {:<34} {:>6} {:>6} {:>6} {:>6} {:>9}  errors",
            "task", "service", "action", "calls", "fwd", "resets", "crash", "added ms"
        );
        let total = self.total();
        for r in self.rows.iter().chain(std::iter::once(&total)) {
            let errors: Vec<String> = r.errors.iter().map(|(c, n)| format!("{c}={n}")).collect();
            let _ = writeln!(
                out,
                "{:<18} {:<20} {:<34} {:>6} {:>6} {:>6} {:>6} {:>9}  {}",
                r.task,
                r.service,
                r.action,
                r.calls,
                r.forwarded,
                r.resets,
                r.crashes,
                r.latency_ms,
                if errors.is_empty() {
                    "-".to_owned()
                } else {
                    errors.join(" ")
                }
            );
        }
        let map = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !self.windows_opened.is_empty() {
            let _ = writeln!(
                out,
                "consistency windows opened: {}",
                map(&self.windows_opened)
            );
        }
        if !self.quota_refusals.is_empty() || self.quota_reads > 0 {
            let _ = writeln!(
                out,
                "quota refusals: {} ({} reads of the emulator to check them)",
                if self.quota_refusals.is_empty() {
                    "none".to_owned()
                } else {
                    map(&self.quota_refusals)
                },
                self.quota_reads
            );
        }
        for (rule, n) in &self.rules_fired {
            let _ = writeln!(out, "rule fired {n}x: {rule}");
        }
        out
    }
}

/// What happened to one call, for the tally.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Forwarded to the emulator.
    pub forwarded: bool,
    /// The error code answered by the proxy.
    pub error: Option<String>,
    /// Closed without an answer.
    pub reset: bool,
    /// The caller was killed.
    pub crash: bool,
    /// Latency added.
    pub latency: Duration,
    /// Time the emulator took to answer.
    pub upstream: Duration,
}

/// The running tally.
#[derive(Debug, Default)]
pub struct Tally {
    rows: BTreeMap<(String, String, String), Row>,
    /// Reads made for quota checks.
    pub quota_reads: u64,
    /// Windows opened by kind.
    pub windows_opened: BTreeMap<String, u64>,
    /// Refusals by quota.
    pub quota_refusals: BTreeMap<String, u64>,
    /// Rule firings by description.
    pub rules_fired: BTreeMap<String, u64>,
}

impl Tally {
    /// Adds one call.
    pub fn record(&mut self, task: &str, service: &str, action: &str, outcome: &Outcome) {
        let key = (task.to_owned(), service.to_owned(), action.to_owned());
        let row = self.rows.entry(key).or_insert_with(|| Row {
            task: task.to_owned(),
            service: service.to_owned(),
            action: action.to_owned(),
            ..Row::default()
        });
        row.calls += 1;
        row.forwarded += u64::from(outcome.forwarded);
        row.resets += u64::from(outcome.reset);
        row.crashes += u64::from(outcome.crash);
        row.latency_ms += u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX);
        row.upstream_us += u64::try_from(outcome.upstream.as_micros()).unwrap_or(u64::MAX);
        if let Some(code) = &outcome.error {
            *row.errors.entry(code.clone()).or_default() += 1;
        }
    }

    /// A copy of every figure.
    pub fn snapshot(&self) -> Counts {
        Counts {
            rows: self.rows.values().cloned().collect(),
            quota_reads: self.quota_reads,
            windows_opened: self.windows_opened.clone(),
            quota_refusals: self.quota_refusals.clone(),
            rules_fired: self.rules_fired.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn the_table_lists_every_row_and_the_totals() {
        let mut t = Tally::default();
        let ok = Outcome {
            forwarded: true,
            latency: Duration::from_millis(40),
            ..Outcome::default()
        };
        let throttled = Outcome {
            error: Some("RequestLimitExceeded".into()),
            latency: Duration::from_millis(35),
            ..Outcome::default()
        };
        t.record("isolate", "ec2", "ModifyNetworkInterfaceAttribute", &ok);
        t.record(
            "isolate",
            "ec2",
            "ModifyNetworkInterfaceAttribute",
            &throttled,
        );
        t.record("-", "sts", "AssumeRole", &ok);
        t.record(
            "snapshot",
            "ec2",
            "CreateSnapshots",
            &Outcome {
                reset: true,
                ..Outcome::default()
            },
        );
        t.windows_opened.insert("security-group".into(), 1);
        t.quota_reads = 3;
        t.rules_fired.insert(
            "isolate ec2:ModifyNetworkInterfaceAttribute #2 -> InternalError".into(),
            1,
        );
        let counts = t.snapshot();
        assert_eq!(counts.calls("ec2", "ModifyNetworkInterfaceAttribute"), 2);
        assert_eq!(counts.errors("RequestLimitExceeded"), 1);
        assert_eq!(
            counts.row("-", "sts", "AssumeRole").map(|r| r.forwarded),
            Some(1)
        );
        expect![[r#"
            task               service              action                              calls    fwd resets  crash  added ms  errors
            -                  sts                  AssumeRole                              1      1      0      0        40  -
            isolate            ec2                  ModifyNetworkInterfaceAttribute         2      1      0      0        75  RequestLimitExceeded=1
            snapshot           ec2                  CreateSnapshots                         1      0      1      0         0  -
            total                                                                           4      2      1      0       115  RequestLimitExceeded=1
            consistency windows opened: security-group=1
            quota refusals: none (3 reads of the emulator to check them)
            rule fired 1x: isolate ec2:ModifyNetworkInterfaceAttribute #2 -> InternalError
        "#]]
        .assert_eq(&counts.render());
    }
}
