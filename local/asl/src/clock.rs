//! Injectable time.
//!
//! The interpreter never reads the system time or sleeps directly: it asks a [`Clock`].
//! [`RealClock`] follows the wall clock. [`VirtualClock`] starts at a fixed instant and, in its
//! auto-advancing mode, jumps to the next pending deadline as soon as nothing is running: a
//! one-hour Wait state finishes at once when it is the only thing left to do.
//!
//! Activity is tracked with [`Hold`] guards. Code that is doing work (running states, calling a
//! task handler) holds one; code that waits for a deadline or for an outside event gives its
//! hold back. A virtual clock advances only while no hold exists. A test that wants to act
//! before a timeout fires (for example, to send a task token) takes a hold with
//! [`Clock::hold`] and drops it when done.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::oneshot;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A guard that marks some activity as running. See the module documentation.
pub struct Hold {
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Hold {
    /// A hold that tracks nothing (used by clocks that do not need it).
    pub fn none() -> Self {
        Self { release: None }
    }

    /// Whether this guard tracks activity (false for [`Hold::none`]).
    pub fn is_tracking(&self) -> bool {
        self.release.is_some()
    }
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hold")
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// A source of time for executions.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Marks activity as running until the returned guard is dropped.
    fn hold(&self) -> Hold;

    /// Waits until `deadline`. The caller gives its `hold` back while waiting and receives a
    /// new one when the deadline is reached.
    fn sleep_until(&self, deadline: DateTime<Utc>, hold: Hold) -> BoxFuture<Hold>;
}

/// The wall clock, with tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn hold(&self) -> Hold {
        Hold::none()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>, hold: Hold) -> BoxFuture<Hold> {
        let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            hold
        })
    }
}

/// The wall clock, running `factor` times faster as the executions see it: every wait (a
/// retry interval, a Wait state, a timeout) takes `1/factor` of its time. For tests whose runs
/// retry a lot against a faulty endpoint; what happens is the same, only sooner.
#[derive(Debug, Clone, Copy)]
pub struct FastClock {
    started: std::time::Instant,
    start: DateTime<Utc>,
    factor: u32,
}

impl FastClock {
    /// A clock starting at the current time, running `factor` (at least 1) times faster.
    pub fn new(factor: u32) -> Self {
        FastClock {
            started: std::time::Instant::now(),
            start: Utc::now(),
            factor: factor.max(1),
        }
    }
}

impl Clock for FastClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.started.elapsed() * self.factor;
        self.start
            + chrono::Duration::from_std(elapsed).unwrap_or_else(|_| chrono::Duration::zero())
    }

    fn hold(&self) -> Hold {
        Hold::none()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>, hold: Hold) -> BoxFuture<Hold> {
        let wait = (deadline - self.now()).to_std().unwrap_or_default() / self.factor;
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            hold
        })
    }
}

#[derive(Default)]
struct VirtualState {
    now_ms: i64,
    busy: usize,
    seq: u64,
    sleepers: BTreeMap<(i64, u64), oneshot::Sender<Hold>>,
}

struct VirtualInner {
    state: Mutex<VirtualState>,
    auto_advance: bool,
}

/// A clock whose time moves only when told to, or (in auto-advance mode) when everything that
/// holds a [`Hold`] is idle. Cheap to clone: clones share the same time.
#[derive(Clone)]
pub struct VirtualClock {
    inner: Arc<VirtualInner>,
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualClock")
            .field("now", &self.now())
            .field("auto_advance", &self.inner.auto_advance)
            .finish()
    }
}

impl VirtualClock {
    /// A clock at `start` that jumps to the next deadline whenever nothing is running.
    pub fn auto(start: DateTime<Utc>) -> Self {
        Self::with_mode(start, true)
    }

    /// A clock at `start` that moves only through [`VirtualClock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::with_mode(start, false)
    }

    /// An auto-advancing clock at 2024-01-01T00:00:00Z.
    pub fn new() -> Self {
        let start = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        Self::auto(start)
    }

    fn with_mode(start: DateTime<Utc>, auto_advance: bool) -> Self {
        Self {
            inner: Arc::new(VirtualInner {
                state: Mutex::new(VirtualState {
                    now_ms: start.timestamp_millis(),
                    ..VirtualState::default()
                }),
                auto_advance,
            }),
        }
    }

    /// Moves time forward by `by` and wakes every sleeper whose deadline has passed.
    pub fn advance(&self, by: std::time::Duration) {
        let fired = {
            let mut st = lock(&self.inner.state);
            st.now_ms += i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
            take_due(&mut st)
        };
        deliver(&self.inner, fired);
    }

    /// The number of pending sleepers.
    pub fn pending(&self) -> usize {
        lock(&self.inner.state).sleepers.len()
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn take_due(st: &mut VirtualState) -> Vec<oneshot::Sender<Hold>> {
    let mut fired = Vec::new();
    while let Some(entry) = st.sleepers.first_entry() {
        if entry.key().0 > st.now_ms {
            break;
        }
        fired.push(entry.remove());
        st.busy += 1;
    }
    fired
}

fn make_hold(inner: &Arc<VirtualInner>) -> Hold {
    let weak: Weak<VirtualInner> = Arc::downgrade(inner);
    Hold {
        release: Some(Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                release(&inner);
            }
        })),
    }
}

fn release(inner: &Arc<VirtualInner>) {
    let fired = {
        let mut st = lock(&inner.state);
        st.busy = st.busy.saturating_sub(1);
        maybe_advance(inner, &mut st)
    };
    deliver(inner, fired);
}

fn maybe_advance(inner: &VirtualInner, st: &mut VirtualState) -> Vec<oneshot::Sender<Hold>> {
    if !inner.auto_advance || st.busy > 0 {
        return Vec::new();
    }
    // Drop sleepers whose waiter is gone (a timeout that lost a race).
    st.sleepers.retain(|_, tx| !tx.is_closed());
    if let Some((&(deadline, _), _)) = st.sleepers.first_key_value() {
        if deadline > st.now_ms {
            st.now_ms = deadline;
        }
    }
    take_due(st)
}

fn deliver(inner: &Arc<VirtualInner>, fired: Vec<oneshot::Sender<Hold>>) {
    for tx in fired {
        // The busy count was raised for this sleeper in `take_due`; the hold carries it.
        let hold = make_hold(inner);
        if let Err(hold) = tx.send(hold) {
            drop(hold);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let ms = lock(&self.inner.state).now_ms;
        Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
    }

    fn hold(&self) -> Hold {
        lock(&self.inner.state).busy += 1;
        make_hold(&self.inner)
    }

    fn sleep_until(&self, deadline: DateTime<Utc>, hold: Hold) -> BoxFuture<Hold> {
        let deadline_ms = deadline.timestamp_millis();
        let (tx, rx) = oneshot::channel();
        {
            let mut st = lock(&self.inner.state);
            if deadline_ms <= st.now_ms {
                drop(st);
                return Box::pin(async move { hold });
            }
            st.seq += 1;
            let seq = st.seq;
            st.sleepers.insert((deadline_ms, seq), tx);
        }
        // Giving the hold back may advance time (and even fire this very sleeper).
        drop(hold);
        let inner = self.inner.clone();
        Box::pin(async move {
            match rx.await {
                Ok(hold) => hold,
                // Sender dropped without firing: the clock is gone; carry on.
                Err(_) => make_hold_counted(&inner),
            }
        })
    }
}

fn make_hold_counted(inner: &Arc<VirtualInner>) -> Hold {
    lock(&inner.state).busy += 1;
    make_hold(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn auto_clock_jumps_to_deadline_when_idle() {
        let clock = VirtualClock::new();
        let start = clock.now();
        let hold = clock.hold();
        let hold = clock
            .sleep_until(start + chrono::Duration::hours(1), hold)
            .await;
        assert_eq!(clock.now() - start, chrono::Duration::hours(1));
        drop(hold);
    }

    #[tokio::test]
    async fn held_clock_does_not_move() {
        let clock = VirtualClock::new();
        let start = clock.now();
        let outside = clock.hold();
        let c2 = clock.clone();
        let task = tokio::spawn(async move {
            let h = c2.hold();
            let _h = c2
                .sleep_until(start + chrono::Duration::seconds(10), h)
                .await;
        });
        tokio::task::yield_now().await;
        assert_eq!(clock.now(), start);
        drop(outside);
        task.await.ok();
        assert_eq!(clock.now() - start, chrono::Duration::seconds(10));
    }
}
