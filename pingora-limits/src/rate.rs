//! Event rates per key over a sliding pair of fixed windows.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::estimator::Estimator;

/// Hash functions per window when none are given.
const DEFAULT_HASHES: usize = 4;
/// Counters per hash function and window when none are given.
const DEFAULT_SLOTS: usize = 1024;

/// The parts a rate is computed from, handed to the function given to [`Rate::rate_with`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RateComponents {
    /// The key's events in the previous (last full) window.
    pub prev_samples: isize,
    /// The key's events so far in the current window.
    pub curr_samples: isize,
    /// The window length.
    pub interval: Duration,
    /// How much of the current window has passed, from 0.0 (just begun) to 1.0.
    pub current_interval_fraction: f64,
}

/// A rate in events per second that slides smoothly instead of jumping at window edges.
///
/// It counts the current window in full and the previous window in the proportion that
/// still lies within the last `interval`: `(prev × (1 − fraction) + curr) / interval`. This
/// assumes the previous window's events were spread evenly over it.
///
/// ```
/// use std::time::Duration;
/// use pingora_limits::rate::{Rate, PROPORTIONAL_RATE_ESTIMATE_CALC_FN};
///
/// let rate = Rate::new(Duration::from_secs(1));
/// rate.observe(&"client", 10);
/// let per_second = rate.rate_with(&"client", PROPORTIONAL_RATE_ESTIMATE_CALC_FN);
/// assert!(per_second >= 10.0);
/// ```
pub const PROPORTIONAL_RATE_ESTIMATE_CALC_FN: fn(RateComponents) -> f64 = |parts| {
    let previous_share = parts.prev_samples as f64 * (1.0 - parts.current_interval_fraction);
    (previous_share + parts.curr_samples as f64) / parts.interval.as_secs_f64()
};

/// Per-key event counts over fixed windows of `interval`, with the previous window kept.
///
/// Two count-min [`Estimator`]s take turns: one counts the current window while the other
/// holds the window before it. When a window ends, the older one is cleared and becomes the
/// current one. The switch happens lazily, on the first call after the window's end, so an
/// idle `Rate` costs nothing.
///
/// Counts are estimates (see [`Estimator`]): never below the true count while counts only
/// grow. Events observed by a thread at the very moment a window ends may be counted in
/// either window.
///
/// ```
/// use std::time::Duration;
/// use pingora_limits::rate::Rate;
///
/// let limiter = Rate::new(Duration::from_secs(1));
/// let max_per_window = 3;
/// let allowed: Vec<bool> = (0..5).map(|_| limiter.observe(&"10.0.0.1", 1) <= max_per_window).collect();
/// assert_eq!(allowed, [true, true, true, false, false]);
/// ```
#[derive(Debug)]
pub struct Rate {
    /// `windows[n % 2]` counts window number `n`.
    windows: [Estimator; 2],
    interval: Duration,
    interval_nanos: u64,
    clock: Clock,
    /// The number of the window being filled: whole intervals since the clock's start.
    window: AtomicU64,
    /// Taken only to move to a new window, so that one thread clears the old counts.
    switching: Mutex<()>,
}

impl Rate {
    /// A rate over windows of `interval`, each counted by an estimator of 4 hashes × 1024
    /// slots.
    ///
    /// # Panics
    ///
    /// Panics if `interval` is zero.
    pub fn new(interval: Duration) -> Self {
        Self::new_with_estimator_config(interval, DEFAULT_HASHES, DEFAULT_SLOTS)
    }

    /// A rate over windows of `interval`, each counted by an estimator of `hashes` × `slots`
    /// (see [`Estimator::new`]). Use more slots when many keys are active in one window.
    ///
    /// # Panics
    ///
    /// Panics if `interval` is zero, or `hashes` or `slots` is 0.
    pub fn new_with_estimator_config(interval: Duration, hashes: usize, slots: usize) -> Self {
        Self::with_clock(interval, hashes, slots, Clock::system())
    }

    fn with_clock(interval: Duration, hashes: usize, slots: usize, clock: Clock) -> Self {
        let interval_nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        assert!(interval_nanos > 0, "a rate needs a non-zero interval");
        Rate {
            windows: [Estimator::new(hashes, slots), Estimator::new(hashes, slots)],
            interval,
            interval_nanos,
            clock,
            window: AtomicU64::new(0),
            switching: Mutex::new(()),
        }
    }

    /// Records `events` for `key` and returns the key's count in the current window,
    /// these events included.
    pub fn observe<T: Hash>(&self, key: &T, events: isize) -> isize {
        let now = self.now();
        self.windows[now.current].incr(key, events)
    }

    /// The key's events per second over the last full window (the previous one).
    ///
    /// It reads 0 during the first window and after a full window without events.
    pub fn rate<T: Hash>(&self, key: &T) -> f64 {
        let now = self.now();
        self.windows[now.previous()].get(key) as f64 / self.interval.as_secs_f64()
    }

    /// Computes a rate with `rate_calc_fn` from the key's counts in both windows and the
    /// position within the current window, for example
    /// [`PROPORTIONAL_RATE_ESTIMATE_CALC_FN`].
    pub fn rate_with<F, T, K>(&self, key: &K, rate_calc_fn: F) -> T
    where
        F: FnOnce(RateComponents) -> T,
        K: Hash,
    {
        let now = self.now();
        rate_calc_fn(RateComponents {
            prev_samples: self.windows[now.previous()].get(key),
            curr_samples: self.windows[now.current].get(key),
            interval: self.interval,
            current_interval_fraction: now.fraction,
        })
    }

    /// Moves to the window the clock is in, if it changed, and says where we are.
    fn now(&self) -> Position {
        let elapsed = self.clock.elapsed_nanos();
        let clock_window = elapsed / self.interval_nanos;
        let mut window = self.window.load(Ordering::Acquire);
        if clock_window > window {
            window = self.switch_to(clock_window);
        }
        // A thread that read the clock just before another one switched windows sees a
        // window that has not begun for it yet: treat it as the start of that window.
        let into_window = elapsed.saturating_sub(window.saturating_mul(self.interval_nanos));
        Position {
            current: (window % 2) as usize,
            fraction: (into_window as f64 / self.interval_nanos as f64).min(1.0),
        }
    }

    /// Clears what is stale and makes `target` the current window; returns the current window.
    #[cold]
    fn switch_to(&self, target: u64) -> u64 {
        // The lock guards no data, so a panic elsewhere cannot leave it inconsistent.
        let _switching = self
            .switching
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = self.window.load(Ordering::Acquire);
        if target <= window {
            return window; // another thread switched while we waited
        }
        // The estimator for `target` still holds window `target - 2`: too old to keep. If
        // more than one window passed, the other one is stale too.
        self.windows[(target % 2) as usize].reset();
        if target > window + 1 {
            self.windows[((target + 1) % 2) as usize].reset();
        }
        // Clear before publishing, so no thread counts into a window before it is cleared.
        self.window.store(target, Ordering::Release);
        target
    }
}

/// Which estimator counts the current window, and how far into it we are.
struct Position {
    current: usize,
    fraction: f64,
}

impl Position {
    fn previous(&self) -> usize {
        1 - self.current
    }
}

/// Where a [`Rate`] reads the time: the monotonic clock, or in tests a hand-driven one.
#[derive(Debug)]
enum Clock {
    System(Instant),
    #[cfg(test)]
    Manual(std::sync::Arc<AtomicU64>),
}

impl Clock {
    fn system() -> Self {
        Clock::System(Instant::now())
    }

    /// Nanoseconds since the clock's start.
    fn elapsed_nanos(&self) -> u64 {
        match self {
            Clock::System(start) => u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
            #[cfg(test)]
            Clock::Manual(nanos) => nanos.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SECOND: u64 = 1_000_000_000;

    /// A rate with 1 s windows and a clock the test moves by hand.
    fn manual_rate() -> (Rate, Arc<AtomicU64>) {
        let time = Arc::new(AtomicU64::new(0));
        let rate = Rate::with_clock(
            Duration::from_secs(1),
            DEFAULT_HASHES,
            DEFAULT_SLOTS,
            Clock::Manual(time.clone()),
        );
        (rate, time)
    }

    fn parts(rate: &Rate, key: &str) -> RateComponents {
        rate.rate_with(&key, |parts| parts)
    }

    #[test]
    fn observe_counts_within_the_current_window() {
        let (rate, time) = manual_rate();
        assert_eq!(rate.observe(&"a", 1), 1);
        time.store(SECOND / 2, Ordering::Relaxed);
        assert_eq!(rate.observe(&"a", 2), 3);
        assert_eq!(rate.observe(&"b", 1), 1);
        // Nothing has finished yet.
        assert_eq!(rate.rate(&"a"), 0.0);
    }

    #[test]
    fn finished_window_becomes_the_rate_and_the_new_one_starts_empty() {
        let (rate, time) = manual_rate();
        rate.observe(&"a", 5);
        time.store(SECOND, Ordering::Relaxed);
        assert_eq!(rate.rate(&"a"), 5.0);
        assert_eq!(rate.observe(&"a", 1), 1);
        let now = parts(&rate, "a");
        assert_eq!((now.prev_samples, now.curr_samples), (5, 1));
    }

    #[test]
    fn windows_keep_rolling() {
        let (rate, time) = manual_rate();
        for window in 0..6u64 {
            time.store(window * SECOND + SECOND / 4, Ordering::Relaxed);
            let events = window as isize + 1;
            assert_eq!(rate.observe(&"k", events), events);
            assert_eq!(rate.rate(&"k"), window as f64);
        }
    }

    #[test]
    fn a_skipped_window_clears_both() {
        let (rate, time) = manual_rate();
        rate.observe(&"a", 7);
        time.store(2 * SECOND + 1, Ordering::Relaxed);
        assert_eq!(parts(&rate, "a").prev_samples, 0);
        assert_eq!(parts(&rate, "a").curr_samples, 0);
        assert_eq!(rate.rate(&"a"), 0.0);
    }

    #[test]
    fn fraction_tracks_the_position_in_the_window() {
        let (rate, time) = manual_rate();
        time.store(3 * SECOND + SECOND / 4, Ordering::Relaxed);
        let now = parts(&rate, "a");
        assert!((now.current_interval_fraction - 0.25).abs() < 1e-9);
        assert_eq!(now.interval, Duration::from_secs(1));
    }

    #[test]
    fn proportional_estimate_blends_the_windows() {
        let (rate, time) = manual_rate();
        rate.observe(&"a", 100);
        time.store(SECOND + SECOND / 4, Ordering::Relaxed);
        rate.observe(&"a", 10);
        // A quarter into the new window, three quarters of the old one still count.
        let estimate = rate.rate_with(&"a", PROPORTIONAL_RATE_ESTIMATE_CALC_FN);
        assert!((estimate - 85.0).abs() < 1e-9, "{estimate}");
    }

    #[test]
    fn proportional_estimate_scales_by_the_interval() {
        let parts = RateComponents {
            prev_samples: 40,
            curr_samples: 10,
            interval: Duration::from_secs(10),
            current_interval_fraction: 0.5,
        };
        assert_eq!(PROPORTIONAL_RATE_ESTIMATE_CALC_FN(parts), 3.0);
    }

    #[test]
    fn concurrent_observers_lose_no_events_within_a_window() {
        let (rate, _time) = manual_rate();
        let rate = Arc::new(rate);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let rate = rate.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        rate.observe(&"shared", 1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("observer thread panicked");
        }
        assert_eq!(parts(&rate, "shared").curr_samples, 4_000);
    }

    #[test]
    fn system_clock_starts_in_the_first_window() {
        let rate = Rate::new(Duration::from_secs(3600));
        assert_eq!(rate.observe(&1u8, 2), 2);
        assert_eq!(rate.rate(&1u8), 0.0);
    }

    #[test]
    #[should_panic(expected = "non-zero interval")]
    fn zero_interval_panics() {
        let _ = Rate::new(Duration::ZERO);
    }
}
