//! Identifiers Lambda hands out: request ids, X-Ray trace headers, log stream names.
//!
//! They only need to be unique and shaped like AWS's, not unpredictable, so a
//! per-process `RandomState` hasher seeded with a counter and the clock is enough
//! (no extra dependency).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// A request id shaped like Lambda's: a version 4 UUID.
pub(crate) fn request_id() -> String {
    let hi = (random_u64() & !0xF000) | 0x4000;
    let lo = (random_u64() & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// An X-Ray trace header as Lambda passes it to the runtime (not sampled).
pub(crate) fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let root = (u128::from(random_u64()) << 64 | u128::from(random_u64())) & ((1 << 96) - 1);
    format!(
        "Root=1-{:08x}-{root:024x};Parent={:016x};Sampled=0",
        secs & 0xFFFF_FFFF,
        random_u64()
    )
}

/// A log stream name like Lambda's: `YYYY/MM/DD/[$LATEST]<32 hex digits>`, one per process.
pub(crate) fn log_stream_name() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or_default();
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}/{month:02}/{day:02}/[$LATEST]{:016x}{:016x}",
        random_u64(),
        random_u64()
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (days-from-civil inverse).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_uuids_and_unique() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn trace_ids_have_the_xray_shape() {
        let t = trace_id();
        let root = t
            .strip_prefix("Root=1-")
            .and_then(|r| r.split(';').next())
            .unwrap_or_default();
        assert_eq!(root.len(), 8 + 1 + 24, "{t}");
        assert!(t.ends_with(";Sampled=0"), "{t}");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_753), (2024, 1, 31));
        assert_eq!(civil_from_days(20_089), (2025, 1, 1));
    }

    #[test]
    fn log_stream_names_look_like_lambdas() {
        let name = log_stream_name();
        assert_eq!(name.len(), "2024/01/31/[$LATEST]".len() + 32, "{name}");
        assert!(name[10..].starts_with("/[$LATEST]"), "{name}");
    }
}
