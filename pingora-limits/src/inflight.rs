//! Counts of work in progress per key, released automatically when the work ends.

use std::hash::Hash;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use crate::estimator::Estimator;

/// Hash functions of the estimator behind an [`Inflight`].
const HASHES: usize = 4;
/// Counters per hash function of the estimator behind an [`Inflight`].
const SLOTS: usize = 8192;

/// Approximate in-flight counts per key (requests per client, connections per upstream):
/// [`incr`](Inflight::incr) counts work in and hands back a [`Guard`] that counts it out when
/// dropped, so the count stays right on every exit path, early returns and panics included.
///
/// Counts live in a count-min [`Estimator`] of 4 hashes × 8192 slots, so memory is fixed
/// however many keys come and go; a key's count may read high when it shares slots with
/// busy keys, never low.
///
/// ```
/// use pingora_limits::inflight::Inflight;
///
/// let limiter = Inflight::new();
/// let (first, count) = limiter.incr("10.0.0.1", 1);
/// assert_eq!(count, 1);
/// {
///     let (_second, count) = limiter.incr("10.0.0.1", 1);
///     assert_eq!(count, 2);
/// } // `_second` dropped: that request is done
/// assert_eq!(first.get(), 1);
/// ```
#[derive(Debug)]
pub struct Inflight {
    estimator: Arc<Estimator>,
    /// Turns a key into the fixed-size id a [`Guard`] keeps to find the key's counters.
    key_hasher: ahash::RandomState,
}

impl Inflight {
    /// An empty set of counts.
    pub fn new() -> Self {
        Inflight {
            estimator: Arc::new(Estimator::new(HASHES, SLOTS)),
            key_hasher: ahash::RandomState::new(),
        }
    }

    /// Adds `value` to `key`'s count; returns a guard that takes it off again when dropped,
    /// and the key's new count.
    pub fn incr<T: Hash>(&self, key: T, value: isize) -> (Guard, isize) {
        // The guard cannot hold a `T`, so it keeps a 64-bit digest of the key, and the counts
        // are kept under that digest too.
        let id = self.key_hasher.hash_one(key);
        let count = self.estimator.incr(id, value);
        let guard = Guard {
            estimator: self.estimator.clone(),
            id,
            step: value,
            held: AtomicIsize::new(value),
        };
        (guard, count)
    }
}

impl Default for Inflight {
    fn default() -> Self {
        Self::new()
    }
}

/// One unit of work counted by [`Inflight::incr`]; dropping it takes what it added off the
/// key's count.
///
/// The guard is `Send + Sync`, so it can live in per-request state until the request ends.
#[derive(Debug)]
pub struct Guard {
    estimator: Arc<Estimator>,
    id: u64,
    /// The value given to [`Inflight::incr`], added again by each [`Guard::incr`].
    step: isize,
    /// Everything this guard added, to be taken off on drop.
    held: AtomicIsize,
}

impl Guard {
    /// Adds the guard's value (the one given to [`Inflight::incr`]) to the key's count once
    /// more and returns the new count. The drop takes this off as well.
    pub fn incr(&self) -> isize {
        self.held.fetch_add(self.step, Ordering::Relaxed);
        self.estimator.incr(self.id, self.step)
    }

    /// The key's current count.
    pub fn get(&self) -> isize {
        self.estimator.get(self.id)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.estimator.decr(self.id, *self.held.get_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_releases_the_count() {
        let inflight = Inflight::new();
        let (guard, count) = inflight.incr("a", 2);
        assert_eq!(count, 2);
        assert_eq!(guard.get(), 2);
        drop(guard);
        let (guard, count) = inflight.incr("a", 1);
        assert_eq!(count, 1);
        assert_eq!(guard.get(), 1);
    }

    #[test]
    fn guard_incr_adds_its_value_and_drop_removes_all_of_it() {
        let inflight = Inflight::new();
        let (guard, _) = inflight.incr("a", 3);
        assert_eq!(guard.incr(), 6);
        assert_eq!(guard.incr(), 9);
        let (other, count) = inflight.incr("a", 1);
        assert_eq!(count, 10);
        drop(guard);
        assert_eq!(other.get(), 1);
    }

    #[test]
    fn keys_are_counted_apart() {
        let inflight = Inflight::new();
        let (_a, _) = inflight.incr("a", 1);
        let (b, count) = inflight.incr("b", 1);
        assert_eq!(count, 1);
        assert_eq!(b.get(), 1);
    }

    #[test]
    fn guards_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Guard>();
        assert_send_sync::<Inflight>();
    }
}
