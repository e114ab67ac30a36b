//! Hit ratio of TinyUFO against `lru` and `moka` on Zipf-distributed traces.
//!
//! Not a timing benchmark: it prints one table per Zipf exponent. Run with
//! `cargo bench -p tinyufo --bench hit_ratio`; set `HIT_RATIO_REQUESTS` to change the
//! trace length (default 5,000,000).

use std::num::NonZeroUsize;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DISTINCT_KEYS: usize = 10_000;
const CACHE_PERCENTS: [f64; 5] = [0.5, 1.0, 5.0, 10.0, 25.0];
const EXPONENTS: [f64; 3] = [0.9, 1.0, 1.1];

/// Samples ranks 0..n with probability proportional to 1 / (rank + 1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        Zipf {
            cumulative: cumulative.iter().map(|c| c / total).collect(),
        }
    }

    fn sample(&self, rng: &mut impl Rng) -> u64 {
        let u: f64 = rng.random();
        self.cumulative.partition_point(|&c| c < u) as u64
    }
}

fn trace(s: f64, requests: usize) -> Vec<u64> {
    let zipf = Zipf::new(DISTINCT_KEYS, s);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    (0..requests).map(|_| zipf.sample(&mut rng)).collect()
}

fn tinyufo_hits(trace: &[u64], size: usize, compact: bool) -> usize {
    let cache = if compact {
        tinyufo::TinyUfo::new_compact(size, size)
    } else {
        tinyufo::TinyUfo::new(size, size)
    };
    let mut hits = 0;
    for key in trace {
        if cache.get(key).is_some() {
            hits += 1;
        } else {
            cache.put(*key, *key, 1);
        }
    }
    hits
}

fn lru_hits(trace: &[u64], size: usize) -> usize {
    let mut cache = lru::LruCache::new(NonZeroUsize::new(size).expect("cache sizes are positive"));
    let mut hits = 0;
    for key in trace {
        if cache.get(key).is_some() {
            hits += 1;
        } else {
            cache.put(*key, *key);
        }
    }
    hits
}

fn moka_hits(trace: &[u64], size: usize) -> usize {
    let cache = moka::sync::Cache::new(size as u64);
    let mut hits = 0;
    for key in trace {
        if cache.get(key).is_some() {
            hits += 1;
        } else {
            cache.insert(*key, *key);
        }
    }
    hits
}

fn main() {
    let requests = std::env::var("HIT_RATIO_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000usize);
    println!("Zipf trace: {requests} requests over {DISTINCT_KEYS} keys; hit ratio in %\n");
    for s in EXPONENTS {
        let trace = trace(s, requests);
        println!("s = {s}");
        println!("| cache size | TinyUFO | TinyUFO compact | lru | moka | TinyUFO - lru | TinyUFO - moka |");
        println!("|---|---|---|---|---|---|---|");
        for percent in CACHE_PERCENTS {
            let size = (DISTINCT_KEYS as f64 * percent / 100.0) as usize;
            let ratio = |hits: usize| hits as f64 * 100.0 / requests as f64;
            let ufo = ratio(tinyufo_hits(&trace, size, false));
            let compact = ratio(tinyufo_hits(&trace, size, true));
            let lru = ratio(lru_hits(&trace, size));
            let moka = ratio(moka_hits(&trace, size));
            println!(
                "| {percent}% ({size}) | {ufo:.2} | {compact:.2} | {lru:.2} | {moka:.2} | {:+.2} | {:+.2} |",
                ufo - lru,
                ufo - moka
            );
        }
        println!();
    }
}
