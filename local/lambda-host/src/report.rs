//! The figures Lambda writes in its `REPORT` log line after each invocation.

use std::fmt;
use std::time::Duration;

/// Outcome and cost of one invocation, like Lambda's `REPORT` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// Time from process start until the runtime asked for its first event;
    /// only on a cold start.
    pub init_duration: Option<Duration>,
    /// Time from handing the event to the runtime until its response or error
    /// arrived (or the timeout / crash was noticed).
    pub duration: Duration,
    /// What Lambda would bill: `duration` plus `init_duration` (custom runtimes
    /// such as `provided.al2023` are billed for their init phase), rounded up to
    /// the next millisecond.
    pub billed_duration: Duration,
    /// The function's configured memory size.
    pub memory_size_mb: u32,
    /// Peak resident memory of the process so far (`VmHWM`), in MB rounded up.
    /// Like Lambda, this is the peak of the execution environment, not of this
    /// invocation alone.
    pub max_memory_used_mb: u32,
    /// A new process was started for this invocation.
    pub cold_start: bool,
    /// `Some("timeout")`, `Some("error")` when the environment failed
    /// (timeout, crash, out of memory, init failure); `None` when the runtime
    /// answered (even with a handler error), like Lambda's `Status:` field.
    pub status: Option<&'static str>,
    /// The `errorType` of an environment failure, printed as `Error Type:`.
    pub error_type: Option<String>,
}

impl Report {
    /// Builds a report, computing the billed duration.
    pub(crate) fn new(
        request_id: String,
        init_duration: Option<Duration>,
        duration: Duration,
        memory_size_mb: u32,
        max_memory_used_mb: u32,
    ) -> Self {
        let total = duration + init_duration.unwrap_or_default();
        let billed_ms = total.as_nanos().div_ceil(1_000_000);
        Report {
            request_id,
            cold_start: init_duration.is_some(),
            init_duration,
            duration,
            billed_duration: Duration::from_millis(u64::try_from(billed_ms).unwrap_or(u64::MAX)),
            memory_size_mb,
            max_memory_used_mb,
            status: None,
            error_type: None,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Formats the line exactly as Lambda writes it: tab separated, durations with
/// two decimals, `Init Duration` only on cold starts, `Status` only on failures.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            ms(self.duration),
            self.billed_duration.as_millis(),
            self.memory_size_mb,
            self.max_memory_used_mb,
        )?;
        if let Some(init) = self.init_duration {
            write!(f, "\tInit Duration: {:.2} ms", ms(init))?;
        }
        if let Some(status) = self.status {
            write!(f, "\tStatus: {status}")?;
            if let Some(error_type) = &self.error_type {
                write!(f, "\tError Type: {error_type}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_report_line() {
        let r = Report::new(
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into(),
            None,
            Duration::from_micros(12_340),
            128,
            20,
        );
        assert!(!r.cold_start);
        assert_eq!(r.billed_duration, Duration::from_millis(13));
        assert_eq!(
            r.to_string(),
            "REPORT RequestId: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB"
        );
    }

    #[test]
    fn cold_report_line_bills_init() {
        let r = Report::new(
            "id".into(),
            Some(Duration::from_micros(45_670)),
            Duration::from_micros(12_340),
            256,
            21,
        );
        assert!(r.cold_start);
        // 12.34 + 45.67 = 58.01 -> 59 ms
        assert_eq!(r.billed_duration, Duration::from_millis(59));
        assert_eq!(
            r.to_string(),
            "REPORT RequestId: id\tDuration: 12.34 ms\tBilled Duration: 59 ms\tMemory Size: 256 MB\tMax Memory Used: 21 MB\tInit Duration: 45.67 ms"
        );
    }

    #[test]
    fn exact_milliseconds_are_not_rounded_up() {
        let r = Report::new("id".into(), None, Duration::from_millis(3), 128, 1);
        assert_eq!(r.billed_duration, Duration::from_millis(3));
    }

    #[test]
    fn failure_status() {
        let mut r = Report::new("id".into(), None, Duration::from_millis(1_000), 128, 5);
        r.status = Some("timeout");
        r.error_type = Some("Sandbox.Timedout".into());
        assert!(r
            .to_string()
            .ends_with("Max Memory Used: 5 MB\tStatus: timeout\tError Type: Sandbox.Timedout"));
    }
}
