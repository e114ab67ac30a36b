//! The timer machinery behind [`fast_timeout`](crate::fast_timeout): a process-wide
//! [`TimerManager`] holding sharded timer wheels with [`TICK`]-sized slots, and the one
//! background thread that advances the clock and wakes the timers that are due.
//!
//! Users rarely touch this module: [`timeout`](crate::timeout) and [`sleep`](crate::sleep)
//! use it for them. It is public for diagnostics ([`TimerManager::armed_timers`]) and for
//! the fork hooks, which [`fast_timeout::pause_for_fork`](crate::fast_timeout::pause_for_fork)
//! and [`fast_timeout::unpause`](crate::fast_timeout::unpause) also expose.
//!
//! # How it works
//!
//! - Time is counted in ticks of [`TICK`] (10 ms) since the manager's first use. A timer's
//!   deadline is rounded *up* to a whole tick, so a timer never fires early, and all
//!   timers whose deadlines fall in the same tick are fired by the same step of the driver.
//! - Every thread is given one of [`SHARD_COUNT`] shards, each a hashed timer wheel behind
//!   its own mutex. Arming a timer locks only the current thread's shard (uncontended in
//!   practice), and reuses a slab slot, so it does not allocate. Disarming is an O(1)
//!   unlink from the shard the timer was armed in, even when the task has since moved to
//!   another thread.
//! - One driver thread, started when the first timer is armed, sleeps until the next tick
//!   boundary, publishes the tick it has reached, and wakes the due timers of every shard.
//!   A woken timer learns that it fired from that published tick, without taking a lock.

mod driver;
mod wheel;

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use driver::DriverControl;
use wheel::{EntryKey, Wheel};

/// The resolution of the fast timers: deadlines are rounded up to a multiple of this.
pub const TICK: Duration = Duration::from_millis(10);

const TICK_NANOS: u64 = TICK.as_nanos() as u64;

/// How many timer wheels the timers of a process are spread over. Threads take shards in
/// turn, so up to this many threads each arm timers without sharing a lock.
pub const SHARD_COUNT: usize = 64;

/// One timer wheel behind its own lock, padded so that two shards never share a cache line.
#[repr(align(128))]
struct Shard {
    wheel: Mutex<Wheel>,
}

impl Shard {
    const fn new() -> Self {
        Shard {
            wheel: Mutex::new(Wheel::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Wheel> {
        // The only foreign code run under the lock is a waker's clone, which the wheel
        // calls before changing anything; a poisoned lock still guards a consistent wheel.
        self.wheel.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The process-wide owner of the fast timers: the sharded timer wheels, the tick clock,
/// and the driver thread that fires due timers.
///
/// There is exactly one, reached through [`TimerManager::global`].
///
/// ```
/// use pingora_timeout::timer::TimerManager;
///
/// let manager = TimerManager::global();
/// assert!(!manager.is_paused_for_fork());
/// ```
pub struct TimerManager {
    shards: [Shard; SHARD_COUNT],
    /// The instant that tick 0 starts at, fixed at first use.
    epoch: OnceLock<Instant>,
    /// The latest tick the driver has reached: every timer whose deadline tick is at or
    /// before it has fired (or is being fired right now).
    reached_tick: AtomicU64,
    /// Hands shards out to threads in turn.
    next_shard: AtomicU32,
    /// [`driver::IDLE`], [`driver::RUNNING`] or [`driver::PAUSED`]; read on every arm.
    driver_state: AtomicU8,
    /// The driver thread's handle and the pause bookkeeping; locked only off the hot path.
    control: Mutex<DriverControl>,
}

static GLOBAL: TimerManager = TimerManager::new();

thread_local! {
    /// The shard this thread arms its timers in; `u32::MAX` until the first timer.
    static LOCAL_SHARD: Cell<u32> = const { Cell::new(u32::MAX) };
}

impl TimerManager {
    const fn new() -> Self {
        TimerManager {
            shards: [const { Shard::new() }; SHARD_COUNT],
            epoch: OnceLock::new(),
            reached_tick: AtomicU64::new(0),
            next_shard: AtomicU32::new(0),
            driver_state: AtomicU8::new(driver::IDLE),
            control: Mutex::new(DriverControl::new()),
        }
    }

    /// The process-wide timer manager that [`fast_timeout`](crate::fast_timeout) uses.
    pub fn global() -> &'static TimerManager {
        &GLOBAL
    }

    /// Number of timers currently armed (registered and neither fired nor cancelled).
    ///
    /// This locks every shard in turn, so it is meant for diagnostics and tests, and the
    /// answer may be stale as soon as it is returned.
    pub fn armed_timers(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().len()).sum()
    }

    /// Whether [`pause_for_fork`](Self::pause_for_fork) has stopped the driver thread and
    /// [`unpause`](Self::unpause) has not yet been called.
    pub fn is_paused_for_fork(&self) -> bool {
        self.driver_state.load(Ordering::Acquire) == driver::PAUSED
    }

    /// Stops the driver thread, waiting until it has exited, so that the process can
    /// `fork()` (for example to daemonize) while holding no timer thread or timer lock.
    ///
    /// Timers armed while paused are kept but do not fire until [`unpause`](Self::unpause).
    /// Safe to call when the thread was never started, and more than once.
    pub fn pause_for_fork(&self) {
        self.pause_driver();
    }

    /// Undoes [`pause_for_fork`](Self::pause_for_fork): starts a new driver thread (in the
    /// parent, in a forked child, or both) if the old one was running or timers are armed.
    /// Does nothing if the manager is not paused.
    pub fn unpause(&'static self) {
        self.unpause_driver();
    }

    fn epoch(&self) -> Instant {
        *self.epoch.get_or_init(Instant::now)
    }

    /// Arms a timer for `duration` from now that wakes `waker` when it fires.
    ///
    /// Returns `None` if the deadline has already passed by the driver's clock (only
    /// possible for a zero or tiny duration); the caller treats the timer as fired.
    pub(crate) fn arm(&'static self, duration: Duration, waker: &Waker) -> Option<TimerEntry> {
        let since_epoch = Instant::now().saturating_duration_since(self.epoch());
        let deadline_tick = ticks_rounded_up(since_epoch.saturating_add(duration));
        let shard = self.local_shard();
        let key = {
            let mut wheel = shard.lock();
            // Read the clock under the shard lock: the driver publishes a tick before it
            // locks the shards to fire it, so either we see the tick here and report the
            // timer as fired, or the driver sees our entry when it scans this shard.
            if deadline_tick <= self.reached_tick.load(Ordering::Acquire) {
                return None;
            }
            wheel.insert(deadline_tick, waker)
        };
        if self.driver_state.load(Ordering::Acquire) != driver::RUNNING {
            self.start_driver_if_idle();
        }
        Some(TimerEntry {
            manager: self,
            shard,
            key,
            deadline_tick,
        })
    }

    fn local_shard(&self) -> &Shard {
        let index = LOCAL_SHARD.with(|local| {
            let mut index = local.get();
            if index == u32::MAX {
                index = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT as u32;
                local.set(index);
            }
            index
        });
        &self.shards[index as usize]
    }

    fn has_reached(&self, deadline_tick: u64) -> bool {
        deadline_tick <= self.reached_tick.load(Ordering::Acquire)
    }
}

impl fmt::Debug for TimerManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerManager")
            .field("reached_tick", &self.reached_tick.load(Ordering::Relaxed))
            .field("paused_for_fork", &self.is_paused_for_fork())
            .finish_non_exhaustive()
    }
}

/// An armed timer. Dropping it disarms the timer.
pub(crate) struct TimerEntry {
    manager: &'static TimerManager,
    shard: &'static Shard,
    key: EntryKey,
    deadline_tick: u64,
}

impl TimerEntry {
    /// `Ready` once the timer has fired; otherwise makes sure the timer wakes the waker in
    /// `cx` (the task may have moved since it armed the timer) and returns `Pending`.
    pub(crate) fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.manager.has_reached(self.deadline_tick) {
            return Poll::Ready(());
        }
        let updated = self.shard.lock().update_waker(self.key, cx.waker());
        match updated {
            // The replaced waker, if any, is dropped here, outside the lock.
            Some(_replaced) => Poll::Pending,
            // Only the driver disarms an entry behind our back, and only once it is due.
            None => Poll::Ready(()),
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        let waker = self.shard.lock().remove(self.key);
        // Dropping a waker may run arbitrary code; do it outside the lock.
        drop(waker);
    }
}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("deadline_tick", &self.deadline_tick)
            .finish_non_exhaustive()
    }
}

/// Whole ticks in `duration`, rounded up (a deadline must not move earlier).
fn ticks_rounded_up(duration: Duration) -> u64 {
    let whole = duration
        .as_secs()
        .saturating_mul(1_000_000_000 / TICK_NANOS);
    let part = u64::from(duration.subsec_nanos()).div_ceil(TICK_NANOS);
    whole.saturating_add(part)
}

/// Whole ticks in `duration`, rounded down (the driver has reached a tick only once the
/// tick has fully started).
fn ticks_rounded_down(duration: Duration) -> u64 {
    let whole = duration
        .as_secs()
        .saturating_mul(1_000_000_000 / TICK_NANOS);
    let part = u64::from(duration.subsec_nanos()) / TICK_NANOS;
    whole.saturating_add(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_the_clock_rounds_down() {
        let ms = Duration::from_millis;
        assert_eq!(ticks_rounded_up(ms(0)), 0);
        assert_eq!(ticks_rounded_up(Duration::from_nanos(1)), 1);
        assert_eq!(ticks_rounded_up(ms(10)), 1);
        assert_eq!(ticks_rounded_up(ms(11)), 2);
        assert_eq!(ticks_rounded_up(Duration::from_millis(2_005)), 201);
        assert_eq!(ticks_rounded_down(ms(9)), 0);
        assert_eq!(ticks_rounded_down(ms(10)), 1);
        assert_eq!(ticks_rounded_down(Duration::from_millis(2_019)), 201);
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        assert_eq!(ticks_rounded_up(Duration::MAX), u64::MAX);
        assert_eq!(ticks_rounded_down(Duration::MAX), u64::MAX);
    }

    #[test]
    fn threads_take_distinct_shards_in_turn() {
        let manager: &'static TimerManager = Box::leak(Box::new(TimerManager::new()));
        let first = manager.local_shard() as *const Shard as usize;
        let again = manager.local_shard() as *const Shard as usize;
        let other = std::thread::spawn(move || manager.local_shard() as *const Shard as usize)
            .join()
            .expect("the probe thread does not panic");
        assert_eq!(first, again);
        assert_ne!(first, other);
    }
}
