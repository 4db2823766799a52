//! Metrics without API calls: every task writes CloudWatch embedded metric format (EMF) lines
//! to its standard output, which Lambda sends to CloudWatch Logs, which extracts the metrics
//! ("CloudWatch automatically extracts the metric values [...] embedded metric format",
//! CloudWatch User Guide, "Embedding metrics within logs"). No `PutMetricData`, no permission,
//! no latency on the critical path.
//!
//! Namespace `GuardDutyResponder`:
//!
//! | metric | unit | dimensions | written by |
//! |---|---|---|---|
//! | `RemediationActions` | count | `Action`, `FindingType` | every task that changes something |
//! | `TimeToContain` | milliseconds | `Route`; none (all routes) | `isolate`, `revoke` |
//! | `Failures` | count | `Task`, `ErrorName`; none (the total) | every task, on a named error |
//! | `Skipped` | count | `Reason` | `notify`, for outcomes that change nothing |
//! | `ApprovalWait` | seconds | `Decision` | `approval-callback` |
//! | `FalsePositives` | count | `FindingType` | `feedback`, on a new false-positive mark |
//! | `AutomationTurnedDown` | count | `FindingType`; none (the total) | `feedback`, once when a type's false positives cross the threshold |
//!
//! The metrics go through the `metrics` facade; `metrics_cloudwatch_embedded` renders them as
//! EMF. [`Emf::flush`] writes one invocation's metrics, with the finding and execution as
//! properties (searchable in CloudWatch Logs Insights, not dimensions).

use std::sync::OnceLock;

use crate::report::{Outcome, TaskReport};

/// The default namespace of every metric.
pub const NAMESPACE: &str = "GuardDutyResponder";

/// The namespace the metrics go to: `METRICS_NAMESPACE` when set (the stack sets
/// `GuardDutyResponder/<stack>` so two stacks in one account keep apart), else [`NAMESPACE`].
pub fn namespace() -> String {
    std::env::var("METRICS_NAMESPACE")
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| NAMESPACE.to_string())
}

/// The metric names.
pub mod metric {
    /// Changes made, by action and finding type.
    pub const REMEDIATION_ACTIONS: &str = "RemediationActions";
    /// From the start of the execution to containment, by route.
    pub const TIME_TO_CONTAIN: &str = "TimeToContain";
    /// Named errors, by task and error name.
    pub const FAILURES: &str = "Failures";
    /// Outcomes that change nothing, by reason.
    pub const SKIPPED: &str = "Skipped";
    /// How long an approval request waited for an analyst, by decision.
    pub const APPROVAL_WAIT: &str = "ApprovalWait";
    /// Findings an analyst marked as false positives, by finding type.
    pub const FALSE_POSITIVES: &str = "FalsePositives";
    /// Finding types whose automatic containment turned to approval first, once per crossing
    /// of the false-positive threshold.
    pub const AUTOMATION_TURNED_DOWN: &str = "AutomationTurnedDown";
    /// Every metric above.
    pub const ALL: &[&str] = &[
        REMEDIATION_ACTIONS,
        TIME_TO_CONTAIN,
        FAILURES,
        SKIPPED,
        APPROVAL_WAIT,
        FALSE_POSITIVES,
        AUTOMATION_TURNED_DOWN,
    ];
}

/// The process's metrics collector.
#[derive(Clone, Copy)]
pub struct Emf {
    collector: &'static metrics_cloudwatch_embedded::Collector,
}

impl std::fmt::Debug for Emf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Emf")
    }
}

static COLLECTOR: OnceLock<Option<&'static metrics_cloudwatch_embedded::Collector>> =
    OnceLock::new();

impl Emf {
    /// Installs the collector as the process's metrics recorder (once; later calls return the
    /// same one). `None` when another recorder is installed already.
    pub fn init() -> Option<Emf> {
        let collector = *COLLECTOR.get_or_init(|| {
            metrics_cloudwatch_embedded::Builder::new()
                .cloudwatch_namespace(namespace())
                .init()
                .ok()
                .inspect(|_| describe())
        });
        collector.map(|collector| Emf { collector })
    }

    /// Writes the metrics recorded since the last flush to standard output, one EMF document
    /// per set of dimensions, with the finding and execution as properties.
    pub fn flush(&self, finding_id: Option<&str>, execution: Option<&str>) {
        let c = self.collector;
        c.set_property("FindingId", finding_id.unwrap_or("-"));
        c.set_property("Execution", execution.unwrap_or("-"));
        if let Err(e) = c.flush(std::io::stdout()) {
            tracing::warn!(error = %e, "metrics could not be written");
        }
    }
}

/// The units CloudWatch shows (the crate writes a unit only for described metrics).
fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(metric::REMEDIATION_ACTIONS, Unit::Count, "changes made");
    metrics::describe_counter!(metric::FAILURES, Unit::Count, "named errors");
    metrics::describe_counter!(metric::SKIPPED, Unit::Count, "outcomes that change nothing");
    metrics::describe_counter!(metric::FALSE_POSITIVES, Unit::Count, "false-positive marks");
    metrics::describe_counter!(
        metric::AUTOMATION_TURNED_DOWN,
        Unit::Count,
        "finding types turned to approval first"
    );
    metrics::describe_histogram!(
        metric::TIME_TO_CONTAIN,
        Unit::Milliseconds,
        "execution start to containment"
    );
    metrics::describe_histogram!(metric::APPROVAL_WAIT, Unit::Seconds, "approval wait");
}

/// A task failed with a named error.
pub fn failure(task: &'static str, error_name: crate::ErrorName) {
    metrics::counter!(metric::FAILURES, "Task" => task, "ErrorName" => error_name.as_str())
        .increment(1);
    // Also without dimensions: the total an alarm can watch (alarms cannot search dimensions).
    metrics::counter!(metric::FAILURES).increment(1);
}

/// The changes of a report, counted by action (a dry run's would-be changes are not counted).
pub fn actions(report: &TaskReport, finding_type: &str) {
    for a in report
        .actions
        .iter()
        .filter(|a| a.outcome == Outcome::Changed)
    {
        metrics::counter!(
            metric::REMEDIATION_ACTIONS,
            "Action" => a.action.clone(),
            "FindingType" => finding_type.to_string()
        )
        .increment(1);
    }
}

/// Containment was in place `millis` after the execution started.
pub fn time_to_contain(route: &'static str, millis: f64) {
    metrics::histogram!(metric::TIME_TO_CONTAIN, "Route" => route).record(millis);
    metrics::histogram!(metric::TIME_TO_CONTAIN).record(millis);
}

/// After a containment task: the time to contain on `route`, from the execution's start
/// (`execution_start_time`, RFC 3339), when the task changed something for real (a dry run or
/// a target already contained is not a containment).
pub fn contained(report: &TaskReport, route: &'static str, execution_start_time: Option<&str>) {
    if report.dry_run || !report.changed() {
        return;
    }
    if let Some(ms) = execution_start_time.and_then(millis_since) {
        time_to_contain(route, ms);
    }
}

/// An outcome that changes nothing.
pub fn skipped(reason: &str) {
    metrics::counter!(metric::SKIPPED, "Reason" => reason.to_string()).increment(1);
}

/// An approval request was answered (or timed out) after `seconds`.
pub fn approval_wait(decision: &'static str, seconds: f64) {
    metrics::histogram!(metric::APPROVAL_WAIT, "Decision" => decision).record(seconds);
}

/// An analyst marked a finding of this type as a false positive.
pub fn false_positive(finding_type: &str) {
    metrics::counter!(metric::FALSE_POSITIVES, "FindingType" => finding_type.to_string())
        .increment(1);
}

/// Automatic containment of this finding type turned to approval first: its false positives
/// crossed the threshold (written once per crossing, by the execution that found it).
pub fn automation_turned_down(finding_type: &str) {
    metrics::counter!(metric::AUTOMATION_TURNED_DOWN, "FindingType" => finding_type.to_string())
        .increment(1);
    // Also without dimensions: the total the alarm watches.
    metrics::counter!(metric::AUTOMATION_TURNED_DOWN).increment(1);
}

/// Milliseconds from an execution's start time (`$$.Execution.StartTime`, RFC 3339) to now.
pub fn millis_since(start: &str) -> Option<f64> {
    let start = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let ms = (chrono::Utc::now() - start.with_timezone(&chrono::Utc)).num_milliseconds();
    (ms >= 0).then_some(ms as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_since_a_start_is_read_from_rfc3339() {
        let past = (chrono::Utc::now() - chrono::Duration::seconds(2)).to_rfc3339();
        let ms = millis_since(&past).expect("parsed");
        assert!((1900.0..10_000.0).contains(&ms), "{ms}");
        assert_eq!(millis_since("yesterday"), None);
        let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        assert_eq!(millis_since(&future), None);
    }
}
