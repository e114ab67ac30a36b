//! A count-min sketch over atomic counters: approximate per-key counts in fixed memory,
//! shared between threads without locks.

use std::hash::Hash;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Approximate counts for an unbounded set of keys in `hashes × slots` atomic counters.
///
/// Each key maps to one slot in every row (a row per hash function); updating a key updates
/// those slots and reading it takes the smallest of them. Other keys that share a slot only
/// ever add to it, so as long as counts only grow, an estimate is never below the true count
/// and overshoots by at most `e × total / slots` with probability at least `1 - e^-hashes`
/// (`total` being the sum of all counts). Decrements keep the estimate exact for a key that
/// is alone in its slots, and approximate otherwise.
///
/// Each row hashes with its own [`ahash`] keys, drawn at random when the estimator is
/// built: the rows act as independent hash functions (what the bound above assumes), and a
/// client cannot precompute keys that collide with another client's in every row.
///
/// ```
/// use pingora_limits::estimator::Estimator;
///
/// let counts = Estimator::new(4, 1024);
/// assert_eq!(counts.incr("10.0.0.1", 1), 1);
/// assert_eq!(counts.incr("10.0.0.1", 2), 3);
/// counts.decr("10.0.0.1", 1);
/// assert_eq!(counts.get("10.0.0.1"), 2);
/// ```
pub struct Estimator {
    rows: Box<[Row]>,
}

impl std::fmt::Debug for Estimator {
    // Thousands of counters say nothing to a reader: show the shape only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Estimator")
            .field("hashes", &self.rows.len())
            .field("slots", &self.rows[0].slots.len())
            .finish()
    }
}

struct Row {
    hasher: ahash::RandomState,
    slots: Box<[AtomicIsize]>,
}

impl Row {
    fn slot<T: Hash>(&self, key: &T) -> &AtomicIsize {
        let hash = self.hasher.hash_one(key);
        // Map the 64-bit hash onto 0..len with a multiply and shift: uniform for a uniform
        // hash, and cheaper than a division.
        let index = ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize;
        &self.slots[index]
    }
}

impl Estimator {
    /// An estimator with `hashes` rows of `slots` counters each, all zero.
    ///
    /// More slots make collisions rarer (the error shrinks in proportion); more hashes make
    /// a large error less likely. Memory is `hashes × slots × size_of::<isize>()`.
    ///
    /// # Panics
    ///
    /// Panics if `hashes` or `slots` is 0.
    pub fn new(hashes: usize, slots: usize) -> Self {
        assert!(
            hashes > 0 && slots > 0,
            "an estimator needs at least one hash and one slot"
        );
        let rows = (0..hashes)
            .map(|_| Row {
                // ahash gives every `RandomState::new()` its own keys (random per process,
                // mixed with a counter), so the rows hash independently.
                hasher: ahash::RandomState::new(),
                slots: (0..slots).map(|_| AtomicIsize::new(0)).collect(),
            })
            .collect();
        Estimator { rows }
    }

    /// Adds `value` to `key`'s count and returns the new estimate.
    pub fn incr<T: Hash>(&self, key: T, value: isize) -> isize {
        self.rows
            .iter()
            .map(|row| {
                row.slot(&key)
                    .fetch_add(value, Ordering::Relaxed)
                    .wrapping_add(value)
            })
            .min()
            .expect("invariant: an estimator has at least one row")
    }

    /// Subtracts `value` from `key`'s count.
    pub fn decr<T: Hash>(&self, key: T, value: isize) {
        for row in self.rows.iter() {
            row.slot(&key).fetch_sub(value, Ordering::Relaxed);
        }
    }

    /// The current estimate of `key`'s count.
    pub fn get<T: Hash>(&self, key: T) -> isize {
        self.rows
            .iter()
            .map(|row| row.slot(&key).load(Ordering::Relaxed))
            .min()
            .expect("invariant: an estimator has at least one row")
    }

    /// Sets every count back to zero.
    ///
    /// Not atomic as a whole: updates racing with a reset may survive it in some rows.
    pub fn reset(&self) {
        for row in self.rows.iter() {
            for slot in row.slots.iter() {
                slot.store(0, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_a_lone_key_are_exact() {
        let estimator = Estimator::new(4, 64);
        assert_eq!(estimator.get("a"), 0);
        assert_eq!(estimator.incr("a", 5), 5);
        assert_eq!(estimator.incr("a", -2), 3);
        estimator.decr("a", 1);
        assert_eq!(estimator.get("a"), 2);
        estimator.reset();
        assert_eq!(estimator.get("a"), 0);
    }

    #[test]
    fn debug_output_shows_the_shape() {
        assert_eq!(
            format!("{:?}", Estimator::new(3, 16)),
            "Estimator { hashes: 3, slots: 16 }"
        );
    }

    #[test]
    fn single_slot_sums_every_key() {
        let estimator = Estimator::new(2, 1);
        estimator.incr(1u32, 1);
        estimator.incr(2u32, 2);
        assert_eq!(estimator.get(3u32), 3);
    }

    #[test]
    #[should_panic(expected = "at least one hash and one slot")]
    fn zero_slots_panics() {
        let _ = Estimator::new(4, 0);
    }

    #[test]
    fn estimates_are_never_below_the_true_count() {
        let estimator = Estimator::new(3, 128);
        let true_counts: Vec<isize> = (0..2_000).map(|key| 1 + key % 5).collect();
        for (key, &count) in true_counts.iter().enumerate() {
            let estimate = estimator.incr(key, count);
            assert!(estimate >= count);
        }
        for (key, &count) in true_counts.iter().enumerate() {
            assert!(estimator.get(key) >= count, "key {key} underestimated");
        }
    }

    /// Count-min bound: with `w` slots, `d` hashes and a total count `N`, each estimate
    /// exceeds the true count by more than `e·N/w` with probability at most `e^-d`.
    #[test]
    fn error_is_bounded_for_a_million_keys() {
        const KEYS: u64 = 1_000_000;
        const HASHES: usize = 4;
        const SLOTS: usize = 1 << 18;
        let estimator = Estimator::new(HASHES, SLOTS);
        for key in 0..KEYS {
            estimator.incr(key, 1);
        }
        let total = KEYS as f64;
        let bound = std::f64::consts::E * total / SLOTS as f64; // about 10.4
        let mut over_bound = 0u64;
        let mut error_sum = 0u64;
        for key in 0..KEYS {
            let estimate = estimator.get(key);
            assert!(estimate >= 1, "key {key} underestimated");
            let error = (estimate - 1) as u64;
            error_sum += error;
            if error as f64 > bound {
                over_bound += 1;
            }
        }
        let allowed_fraction = (-(HASHES as f64)).exp(); // about 1.8 %
        assert!(
            (over_bound as f64) / (KEYS as f64) <= allowed_fraction,
            "{over_bound} keys overshot by more than {bound:.1}"
        );
        // One row alone overshoots by (N - 1) / w on average; the minimum of four does better.
        let mean_error = error_sum as f64 / KEYS as f64;
        assert!(
            mean_error <= total / SLOTS as f64,
            "mean error {mean_error}"
        );
    }

    #[test]
    fn rows_hash_independently() {
        let estimator = Estimator::new(2, 1 << 16);
        let same_slot_in_both = (0u32..1_000)
            .filter(|key| {
                let first = estimator.rows[0].slot(key) as *const AtomicIsize as usize
                    - estimator.rows[0].slots.as_ptr() as usize;
                let second = estimator.rows[1].slot(key) as *const AtomicIsize as usize
                    - estimator.rows[1].slots.as_ptr() as usize;
                first == second
            })
            .count();
        // Independent rows put a key at the same index by chance only (~1000 / 65536).
        assert!(
            same_slot_in_both < 5,
            "{same_slot_in_both} keys share an index"
        );
    }
}
