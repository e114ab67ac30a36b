//! The caches compared by the throughput benchmarks, behind one trait, and the Zipf(1.0)
//! key sequence they are read with. Included by `throughput.rs` and `ops_ratio.rs`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;
use tinyufo::TinyUfo;

/// Items the caches hold; reads draw Zipf(1.0) keys from twice as many.
pub const CACHE_SIZE: usize = 1_000;
pub const KEY_SPACE: usize = 2 * CACHE_SIZE;

/// One cache operation each way, so every cache runs the same loop.
pub trait Cache: Sync {
    fn read(&self, key: u64) -> Option<u64>;
    fn write(&self, key: u64, value: u64);
}

impl Cache for TinyUfo<u64, u64> {
    fn read(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
    fn write(&self, key: u64, value: u64) {
        self.put(key, value, 1);
    }
}

impl Cache for Mutex<lru::LruCache<u64, u64>> {
    fn read(&self, key: u64) -> Option<u64> {
        self.lock().ok()?.get(&key).copied()
    }
    fn write(&self, key: u64, value: u64) {
        if let Ok(mut cache) = self.lock() {
            cache.put(key, value);
        }
    }
}

impl Cache for moka::sync::Cache<u64, u64> {
    fn read(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
    fn write(&self, key: u64, value: u64) {
        self.insert(key, value);
    }
}

/// A Zipf(1.0) key sequence, long enough that threads start at different places.
pub fn keys() -> Vec<u64> {
    let mut total = 0.0;
    let cumulative: Vec<f64> = (1..=KEY_SPACE)
        .map(|rank| {
            total += 1.0 / rank as f64;
            total
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(7);
    (0..1 << 16)
        .map(|_| {
            let u: f64 = rng.random::<f64>() * total;
            cumulative.partition_point(|&c| c < u) as u64
        })
        .collect()
}
