//! The journal: every call in the order it arrived, with when it arrived, how long it took, how
//! much of that the emulator took, and the resource ids it named. Benchmarks read it to tell
//! which calls came before a given one (the calls made before an interface moved) and how much
//! of a run's wall time the emulator was busy.
//!
//! Off until asked for ([`crate::FaultProxy::keep_journal`]): the counts are enough for tests,
//! and a long run would otherwise hold every call in memory. It keeps at most `limit` calls;
//! later ones are counted in `dropped`.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::request::AwsRequest;

/// At most this many resource ids are kept per call.
const MAX_IDS: usize = 8;

/// One call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// Its place in the journal, from 0.
    pub seq: u64,
    /// When it arrived, in microseconds since the proxy started.
    pub at_us: u64,
    /// How long until it was answered (or dropped), in microseconds, added latency included.
    pub took_us: u64,
    /// How long the emulator took to answer it, in microseconds (0 when not forwarded).
    pub upstream_us: u64,
    /// Latency the scenario added, in microseconds.
    pub added_us: u64,
    /// The task (or `-`).
    pub task: String,
    /// The service (signing name).
    pub service: String,
    /// The action.
    pub action: String,
    /// The access key the call was signed with (tells member-account sessions apart).
    pub access_key_id: Option<String>,
    /// Resource ids and ARNs among its parameters, in order (`eni-...`, `sg-...`, `i-...`,
    /// `arn:...`), at most eight.
    pub ids: Vec<String>,
    /// The HTTP status answered; 0 when the connection was closed without an answer.
    pub status: u16,
}

impl Call {
    /// Whether the call names `id` among its parameters.
    pub fn names(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }

    /// When the answer left the proxy, in microseconds since the proxy started.
    pub fn end_us(&self) -> u64 {
        self.at_us + self.took_us
    }
}

/// The calls kept, and how many did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Journal {
    /// The calls, in order of arrival.
    pub calls: Vec<Call>,
    /// Calls not kept because the journal was full.
    pub dropped: u64,
}

impl Journal {
    /// Microseconds during which at least one call was waiting for the emulator, between
    /// `from_us` and `to_us` (the union of the forwarded calls' upstream intervals, each taken
    /// to end when the call was answered). A sum of the intervals would count calls the
    /// emulator served concurrently twice; this is the time it was busy.
    pub fn upstream_busy_us(&self, from_us: u64, to_us: u64) -> u64 {
        let mut spans: Vec<(u64, u64)> = self
            .calls
            .iter()
            .filter(|c| c.upstream_us > 0)
            .map(|c| {
                let end = c.end_us();
                (
                    end.saturating_sub(c.upstream_us).max(from_us),
                    end.min(to_us),
                )
            })
            .filter(|(a, b)| a < b)
            .collect();
        spans.sort_unstable();
        let mut busy = 0;
        let mut current: Option<(u64, u64)> = None;
        for (a, b) in spans {
            match current {
                Some((s, e)) if a <= e => current = Some((s, e.max(b))),
                Some((s, e)) => {
                    busy += e - s;
                    current = Some((a, b));
                }
                None => current = Some((a, b)),
            }
        }
        if let Some((s, e)) = current {
            busy += e - s;
        }
        busy
    }
}

/// What is recorded about one call once it is answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timing {
    /// When it arrived.
    pub arrived: Option<Instant>,
    /// Time waiting for the emulator.
    pub upstream: Duration,
    /// The status answered (0: none).
    pub status: u16,
}

/// The running journal.
#[derive(Debug)]
pub(crate) struct Recorder {
    origin: Instant,
    limit: usize,
    journal: Journal,
}

impl Recorder {
    pub fn new(origin: Instant, limit: usize) -> Self {
        Recorder {
            origin,
            limit,
            journal: Journal::default(),
        }
    }

    pub fn record(
        &mut self,
        request: &AwsRequest,
        task: &str,
        timing: &Timing,
        added: Duration,
        now: Instant,
    ) {
        if self.journal.calls.len() >= self.limit {
            self.journal.dropped += 1;
            return;
        }
        let arrived = timing.arrived.unwrap_or(now);
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let call = Call {
            seq: self.journal.calls.len() as u64 + self.journal.dropped,
            at_us: micros(arrived.saturating_duration_since(self.origin)),
            took_us: micros(now.saturating_duration_since(arrived)),
            upstream_us: micros(timing.upstream),
            added_us: micros(added),
            task: task.to_owned(),
            service: request.service.clone(),
            action: request.action.clone(),
            access_key_id: request.access_key_id.clone(),
            ids: resource_ids(request),
            status: timing.status,
        };
        self.journal.calls.push(call);
    }

    pub fn snapshot(&self) -> Journal {
        self.journal.clone()
    }

    /// Takes over what another recorder kept (up to this one's limit).
    pub fn restore(&mut self, mut kept: Journal) {
        if kept.calls.len() > self.limit {
            kept.dropped += (kept.calls.len() - self.limit) as u64;
            kept.calls.truncate(self.limit);
        }
        self.journal = kept;
    }

    pub fn clear(&mut self) {
        self.journal = Journal::default();
    }
}

/// Whether a value reads as an AWS resource id (`eni-0a1b2c3d`, `sg-12345678`,
/// `vpc-endpoint-...` excepted) or an ARN.
fn is_resource_id(value: &str) -> bool {
    if value.starts_with("arn:") {
        return true;
    }
    let Some((prefix, hex)) = value.rsplit_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && (8..=17).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The resource ids among a request's parameters (form values, or JSON strings).
fn resource_ids(request: &AwsRequest) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for v in request.values() {
        if ids.len() == MAX_IDS {
            break;
        }
        if is_resource_id(v) && !ids.iter().any(|i| i == v) {
            ids.push(v.to_owned());
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    fn request(body: &'static str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=ASIAX/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        AwsRequest::parse(&h, None, Bytes::from_static(body.as_bytes()))
    }

    #[test]
    fn calls_are_kept_in_order_with_their_resource_ids_up_to_the_limit() {
        let origin = Instant::now();
        let mut r = Recorder::new(origin, 2);
        let move_call = request(
            "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-0123abcd&SecurityGroupId.1=sg-89abcdef&SecurityGroupId.2=sg-89abcdef",
        );
        let timing = Timing {
            arrived: Some(origin + Duration::from_millis(5)),
            upstream: Duration::from_millis(3),
            status: 200,
        };
        r.record(
            &move_call,
            "isolate",
            &timing,
            Duration::from_millis(1),
            origin + Duration::from_millis(9),
        );
        let describe = request("Action=DescribeTargetGroups&Version=2015-12-01&Marker=abc");
        r.record(&describe, "-", &Timing::default(), Duration::ZERO, origin);
        r.record(&describe, "-", &Timing::default(), Duration::ZERO, origin);
        let j = r.snapshot();
        assert_eq!(j.dropped, 1);
        assert_eq!(j.calls.len(), 2);
        let c = &j.calls[0];
        assert_eq!(
            (c.seq, c.at_us, c.took_us, c.upstream_us, c.added_us),
            (0, 5_000, 4_000, 3_000, 1_000)
        );
        assert_eq!(c.ids, ["eni-0123abcd", "sg-89abcdef"]);
        assert!(c.names("sg-89abcdef") && !c.names("sg-0"));
        assert_eq!(c.access_key_id.as_deref(), Some("ASIAX"));
        assert!(j.calls[1].ids.is_empty(), "{:?}", j.calls[1].ids);
    }

    #[test]
    fn resource_ids_are_ids_and_arns_not_other_values() {
        for (value, is_id) in [
            ("eni-0123abcd", true),
            ("i-0123456789abcdef0", true),
            ("sg-1234567", false),
            (
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/a/b",
                true,
            ),
            ("2016-11-15", false),
            ("quarantine-group", false),
            ("-01234567", false),
        ] {
            assert_eq!(is_resource_id(value), is_id, "{value}");
        }
    }

    fn call(at_us: u64, took_us: u64, upstream_us: u64) -> Call {
        Call {
            seq: 0,
            at_us,
            took_us,
            upstream_us,
            added_us: 0,
            task: "t".into(),
            service: "ec2".into(),
            action: "A".into(),
            access_key_id: None,
            ids: Vec::new(),
            status: 200,
        }
    }

    #[test]
    fn busy_time_counts_overlapping_calls_once_and_only_within_the_window() {
        let j = Journal {
            calls: vec![
                call(0, 10, 10),  // 0..10
                call(5, 10, 10),  // 5..15, overlaps
                call(30, 10, 5),  // 35..40 (5 of latency added first)
                call(50, 10, 0),  // not forwarded
                call(90, 20, 20), // 90..110, cut at 100
            ],
            dropped: 0,
        };
        assert_eq!(j.upstream_busy_us(0, 100), 15 + 5 + 10);
        assert_eq!(j.upstream_busy_us(8, 38), 7 + 3);
    }
}
