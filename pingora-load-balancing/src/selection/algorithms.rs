//! The pick sources behind the [`Weighted`](super::Weighted) selections.

use super::SelectionAlgorithm;
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A shared counter: each pick is the next number, whatever the key.
#[derive(Debug, Default)]
pub struct RoundRobin(AtomicUsize);

impl SelectionAlgorithm for RoundRobin {
    fn new() -> Self {
        RoundRobin(AtomicUsize::new(0))
    }

    fn next(&self, _key: &[u8]) -> u64 {
        // Relaxed is enough: the count only has to hand out distinct numbers, not order
        // anything else.
        self.0.fetch_add(1, Ordering::Relaxed) as u64
    }
}

/// A fast random number per pick (a per-thread SplitMix64 generator), whatever the key.
///
/// Not for cryptography: it only spreads load.
#[derive(Debug, Default)]
pub struct Random;

thread_local! {
    static RANDOM_STATE: Cell<u64> = Cell::new(random_seed());
}

/// A per-thread seed: std's `RandomState` is seeded from the OS once per process and
/// perturbed per instance, so each thread starts somewhere different.
fn random_seed() -> u64 {
    RandomState::new().hash_one(std::thread::current().id())
}

impl SelectionAlgorithm for Random {
    fn new() -> Self {
        Random
    }

    fn next(&self, _key: &[u8]) -> u64 {
        RANDOM_STATE.with(|state| {
            let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(next);
            let mut z = next;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
    }
}

/// The 64-bit FNV-1a hash: cheap and well spread for short keys.
#[derive(Debug, Clone, Copy)]
pub struct FnvHasher(u64);

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(FNV_OFFSET_BASIS)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_test_vectors() {
        let fnv = <FnvHasher as SelectionAlgorithm>::new();
        assert_eq!(fnv.next(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv.next(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv.next(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn round_robin_counts_up() {
        let rr = RoundRobin::new();
        let picks: Vec<u64> = (0..4).map(|_| rr.next(b"ignored")).collect();
        assert_eq!(picks, [0, 1, 2, 3]);
    }

    #[test]
    fn random_picks_differ() {
        let random = Random::new();
        let picks: std::collections::HashSet<u64> = (0..100).map(|_| random.next(b"")).collect();
        assert_eq!(picks.len(), 100);
    }
}
