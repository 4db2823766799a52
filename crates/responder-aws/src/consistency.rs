//! Bounded waits for AWS's eventual consistency, inside one task invocation.
//!
//! EC2 documents that a resource just created may not be visible to the next call: "If you
//! try to use a resource immediately after you create it, the request might fail with a
//! `...NotFound` error" (Amazon EC2 API Reference, "Eventual consistency in the Amazon EC2
//! API"; it recommends retrying with capped exponential backoff). IAM says the same of
//! changes to policies ("Changes that I make are not always immediately visible", IAM User
//! Guide, Troubleshooting IAM). A task that just created a security group, or just changed an
//! interface and reads it back, therefore waits a few seconds in all before it calls the
//! resource missing or the change unverified. A resource that is really missing still fails
//! within that bound, with its own named error, and the state machine does not retry it.

use std::future::Future;
use std::time::Duration;

use responder_core::TaskError;

/// How long to wait: `attempts` tries, the delay doubling from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (at least one).
    pub attempts: u32,
    /// The delay after the first failed try.
    pub first: Duration,
    /// The longest delay between two tries.
    pub max: Duration,
}

impl Backoff {
    /// About eight seconds in all (0.25, 0.5, 1, 2, 2, 2 s): long enough for the consistency
    /// windows EC2 shows for a new security group, short against a task's timeout.
    pub const EVENTUAL_CONSISTENCY: Backoff = Backoff {
        attempts: 7,
        first: Duration::from_millis(250),
        max: Duration::from_secs(2),
    };

    /// No waiting at all: unit tests over in-memory fakes.
    pub const NONE: Backoff = Backoff {
        attempts: 7,
        first: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// The delay after failed try `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// The longest the waits add up to.
    pub fn total(&self) -> Duration {
        (1..self.attempts.max(1)).map(|n| self.delay(n)).sum()
    }
}

/// Runs `op` until it succeeds, fails with an error `retry_on` does not accept, or the tries
/// run out (the last error is returned). Returns the result and the number of tries made.
pub async fn retry<T, F, Fut>(
    backoff: Backoff,
    retry_on: impl Fn(&TaskError) -> bool,
    mut op: F,
) -> (Result<T, TaskError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TaskError>>,
{
    let attempts = backoff.attempts.max(1);
    let mut n = 1;
    loop {
        match op().await {
            Ok(v) => return (Ok(v), n),
            Err(e) if n < attempts && retry_on(&e) => {
                tracing::info!(
                    error = %e,
                    attempt = n,
                    "not visible yet (eventual consistency); trying again"
                );
                let delay = backoff.delay(n);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                n += 1;
            }
            Err(e) => return (Err(e), n),
        }
    }
}

/// Polls `check` until it answers `Some` or the tries run out (`None`).
pub async fn poll<T, F, Fut>(backoff: Backoff, mut check: F) -> Result<Option<T>, TaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, TaskError>>,
{
    let attempts = backoff.attempts.max(1);
    for n in 1..=attempts {
        if let Some(v) = check().await? {
            return Ok(Some(v));
        }
        if n < attempts {
            let delay = backoff.delay(n);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }
    Ok(None)
}

/// The EC2 error codes of a resource that is not visible (yet, or at all).
pub const EC2_NOT_VISIBLE_CODES: &[&str] = &[
    "InvalidGroup.NotFound",
    "InvalidGroupId.NotFound",
    "InvalidNetworkAclID.NotFound",
    "InvalidSnapshot.NotFound",
];

/// Whether `e` says a resource is not visible: the codes above.
pub fn not_visible(e: &TaskError) -> bool {
    e.aws_code
        .as_deref()
        .is_some_and(|c| EC2_NOT_VISIBLE_CODES.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use responder_core::names;
    use std::cell::Cell;

    fn missing_group() -> TaskError {
        TaskError::new(names::REMEDIATION_TARGET_NOT_FOUND, "no such group")
            .with_aws_code("InvalidGroup.NotFound")
    }

    #[test]
    fn the_default_backoff_is_bounded_to_a_few_seconds() {
        let b = Backoff::EVENTUAL_CONSISTENCY;
        assert_eq!(b.delay(1), Duration::from_millis(250));
        assert_eq!(b.delay(3), Duration::from_secs(1));
        assert_eq!(b.delay(10), Duration::from_secs(2));
        assert_eq!(b.total(), Duration::from_millis(7750));
        assert_eq!(Backoff::NONE.total(), Duration::ZERO);
    }

    #[tokio::test]
    async fn retries_a_resource_that_becomes_visible() {
        let calls = Cell::new(0);
        let (r, tries) = retry(Backoff::NONE, not_visible, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(missing_group())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
        assert_eq!(tries, 3);
    }

    #[tokio::test]
    async fn a_resource_that_stays_missing_fails_with_its_own_error_after_the_bound() {
        let (r, tries) = retry(Backoff::NONE, not_visible, || async {
            Err::<(), _>(missing_group())
        })
        .await;
        assert_eq!(tries, Backoff::NONE.attempts);
        assert_eq!(
            r.expect_err("missing").name,
            names::REMEDIATION_TARGET_NOT_FOUND
        );
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let (r, tries) = retry(Backoff::NONE, not_visible, || async {
            Err::<(), _>(TaskError::new(names::REMEDIATION_ACCESS_DENIED, "no"))
        })
        .await;
        assert_eq!(tries, 1);
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn poll_answers_the_first_some_or_none_after_the_bound() {
        let n = Cell::new(0);
        let got = poll(Backoff::NONE, || {
            n.set(n.get() + 1);
            let v = n.get();
            async move { Ok((v == 4).then_some(v)) }
        })
        .await;
        assert_eq!(got, Ok(Some(4)));
        let none: Result<Option<()>, TaskError> = poll(Backoff::NONE, || async { Ok(None) }).await;
        assert_eq!(none, Ok(None));
    }
}
